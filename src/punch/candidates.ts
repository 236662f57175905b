/**
 * Candidates of a punching peer (RFC 8445 §5.1.1 terms): host, server-reflexive, peer-reflexive
 * and relayed transport addresses, their wire form and their order of preference.
 *
 * ```
 *  0        1        2        3
 * +--------+--------+--------+--------+
 * |  kind  | family |      port       |   family 4: 4 address bytes follow,
 * +--------+--------+--------+--------+   family 6: 16 address bytes follow
 * |        address (4 or 16 bytes)    |
 * +-----------------------------------+
 * ```
 * @module
 */
import { ParseError } from '../errors/index.ts';
import type { FrameReader } from '../internal/frame-reader.ts';
import type { NatEndpoint } from '../nat/index.ts';
import { formatIp, parseIp } from '../stun/index.ts';
import { PunchErrorCode } from './error-codes.ts';

/** The kind of a candidate. RFC 8445 §5.1.1. */
export const CandidateKind = {
  /** An address of a local interface. */
  HOST: 'host',
  /** The peer's public mapping as the broker saw it. */
  SERVER_REFLEXIVE: 'srflx',
  /** An address learned from an authenticated punch (RFC 8445 §7.3.1.3). */
  PEER_REFLEXIVE: 'prflx',
  /** A TURN relayed address. */
  RELAY: 'relay',
} as const;
/** One of the {@link CandidateKind} values. */
export type CandidateKindType = (typeof CandidateKind)[keyof typeof CandidateKind];

/** One transport address a peer may be reached at. */
export interface Candidate extends NatEndpoint {
  readonly kind: CandidateKindType;
}

const KIND_CODES: readonly CandidateKindType[] = ['host', 'srflx', 'prflx', 'relay'];

/** Type preference, higher first. RFC 8445 §5.1.2.2 (host 126, prflx 110, srflx 100, relay 0). */
export function candidatePreference(kind: CandidateKindType): number {
  switch (kind) {
    case 'host':
      return 126;
    case 'prflx':
      return 110;
    case 'srflx':
      return 100;
    case 'relay':
      return 0;
  }
}

/** The `address:port` key of an endpoint (IPv6 in brackets). */
export { endpointKey } from '../internal/endpoint.ts';

/** Encoded size of an endpoint (family, port and address; no kind byte). */
export function endpointSize(endpoint: NatEndpoint): number {
  return endpoint.address.includes(':') ? 19 : 7;
}

/**
 * Writes family, port and address of `endpoint` at `offset`; returns the offset after it.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` when the address is not an IP address.
 */
export function writeEndpoint(out: Buffer, offset: number, endpoint: NatEndpoint): number {
  const ip = parseIp(endpoint.address);
  out[offset] = ip.length === 4 ? 4 : 6;
  out.writeUInt16BE(endpoint.port, offset + 1);
  ip.copy(out, offset + 3);
  return offset + 3 + ip.length;
}

/**
 * Reads what {@link writeEndpoint} wrote.
 * @throws ParseError `ERR_PUNCH_FRAME_BAD_ADDRESS` for an unknown family or port 0, or the reader's code.
 */
export function readEndpoint(reader: FrameReader): NatEndpoint {
  const at = reader.offset;
  const family = reader.u8('address family');
  if (family !== 4 && family !== 6) {
    throw new ParseError(PunchErrorCode.FRAME_BAD_ADDRESS, `unknown address family ${family}`, at);
  }
  const port = reader.u16('port');
  if (port === 0) throw new ParseError(PunchErrorCode.FRAME_BAD_ADDRESS, 'port 0', at + 1);
  const address = formatIp(reader.bytes(family === 4 ? 4 : 16, 'address'));
  return { address, port };
}

/** Encoded size of a candidate list (count byte included). */
export function candidatesSize(list: readonly Candidate[]): number {
  let size = 1;
  for (const c of list) size += 1 + endpointSize(c);
  return size;
}

/** Writes a count byte and the candidates; returns the offset after them. */
export function writeCandidates(out: Buffer, offset: number, list: readonly Candidate[]): number {
  out[offset++] = list.length;
  for (const c of list) {
    out[offset++] = KIND_CODES.indexOf(c.kind) + 1;
    offset = writeEndpoint(out, offset, c);
  }
  return offset;
}

/**
 * Reads a list written by {@link writeCandidates}, at most `max` entries.
 * @throws ParseError `ERR_PUNCH_FRAME_BAD_CANDIDATE` (unknown kind, too many), `ERR_PUNCH_FRAME_BAD_ADDRESS`.
 */
export function readCandidates(reader: FrameReader, max: number): Candidate[] {
  const countAt = reader.offset;
  const count = reader.u8('candidate count');
  if (count > max) {
    throw new ParseError(PunchErrorCode.FRAME_BAD_CANDIDATE, `${count} candidates, at most ${max}`, countAt);
  }
  const out: Candidate[] = [];
  for (let i = 0; i < count; i++) {
    const at = reader.offset;
    const kind = KIND_CODES[reader.u8('candidate kind') - 1];
    if (kind === undefined)
      throw new ParseError(PunchErrorCode.FRAME_BAD_CANDIDATE, 'unknown candidate kind', at);
    out.push({ kind, ...readEndpoint(reader) });
  }
  return out;
}
