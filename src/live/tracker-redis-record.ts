/**
 * The node record a Redis tracker store keeps per node (the value of its field in
 * `{p}nodes:{channel}`, and the `node` of a `joined` event): one line of `|`-separated fields, no
 * field names, about 80 bytes where the JSON object it replaces took about 250.
 * ```
 * 2|<instance>|<role>|<nat>|<relay>|<spare bps>|<cap bps>|<edge host:port or empty>|<host:port>|<joined ms>|<last seen ms>|<fingerprint>|<candidates>
 *   role: TrackerRole (0 peer, 1 edge, 2 source); nat: index in TRACKER_NAT_CLASSES; relay: 0 or 1
 *   fingerprint: the 64 hex digits of the SHA-256 digest of the certificate the peer registered
 *     at the broker, or empty; candidates: the candidates it registered there (host and relay,
 *     after the broker's checks), `<h|s|p|r><host:port>` joined by commas, or empty
 * ```
 * The last two fields are what another instance's broker needs to introduce the peer as fully as
 * its own broker would (a peer it dials pins the fingerprint; host candidates reach a peer on the
 * same LAN). Version 1 records (the first eleven fields) still decode, without them. The node id
 * is the hash field, not repeated in the value. The instance comes first, so a record's owner is a
 * prefix match (the store's delete-if-mine script).
 * @module
 */
import { ParseError } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import type { Candidate, CandidateKindType } from '../punch/index.ts';
import { LiveParseCode } from './errors.ts';
import type { TrackerNode } from './tracker-channel.ts';
import {
  TRACKER_NAT_CLASSES,
  type TrackerNatClass,
  TrackerRole,
  type TrackerRoleValue,
} from './tracker-wire.ts';

/** Version of the record format (its first field). */
export const REDIS_RECORD_VERSION = '2';
/** Longest record decoded, characters (sixteen IPv6 candidates and the rest fit). */
const RECORD_MAX_CHARS = 1024;
/** Fields of a version 1 record (no fingerprint, no candidates) and of a version 2 one. */
const FIELDS_V1 = 11;
const FIELDS = 13;
/** Most candidates a record carries (as the broker wire). */
export const REDIS_RECORD_MAX_CANDIDATES = 16;
const ROLES: readonly TrackerRoleValue[] = ['peer', 'edge', 'source'];
const KINDS: Readonly<Record<string, CandidateKindType>> = { h: 'host', s: 'srflx', p: 'prflx', r: 'relay' };
const KIND_LETTERS: Readonly<Record<CandidateKindType, string>> = {
  host: 'h',
  srflx: 's',
  prflx: 'p',
  relay: 'r',
};
const FINGERPRINT_HEX = /^[0-9a-f]{64}$/;

/** A node record in Redis: what another instance needs to offer, sample and introduce the node. */
export interface RedisNodeRecord {
  readonly instance: string;
  readonly role: TrackerNode['role'];
  readonly nat: TrackerNatClass;
  readonly relay: boolean;
  readonly spare: number;
  readonly cap: number;
  readonly edge: Endpoint | null;
  readonly address: Endpoint;
  readonly joinedAtMs: number;
  readonly lastSeenMs: number;
  /** SHA-256 digest of the certificate registered at the broker, 64 lower-case hex digits, or null. */
  readonly fingerprint: string | null;
  /** The candidates registered at the broker (none for a node that has not registered). */
  readonly candidates: readonly Candidate[];
}

/** The record's text. */
export function encodeRedisRecord(r: RedisNodeRecord): string {
  const edge = r.edge === null ? '' : `${r.edge.address}:${r.edge.port}`;
  let candidates = '';
  const n = Math.min(r.candidates.length, REDIS_RECORD_MAX_CANDIDATES);
  for (let i = 0; i < n; i++) {
    const c = r.candidates[i]!;
    candidates += `${i === 0 ? '' : ','}${KIND_LETTERS[c.kind]}${c.address}:${c.port}`;
  }
  return `${REDIS_RECORD_VERSION}|${r.instance}|${TrackerRole[r.role]}|${TRACKER_NAT_CLASSES.indexOf(r.nat)}|${
    r.relay ? 1 : 0
  }|${r.spare}|${r.cap}|${edge}|${r.address.address}:${r.address.port}|${r.joinedAtMs}|${r.lastSeenMs}|${
    r.fingerprint ?? ''
  }|${candidates}`;
}

/** The prefix every record of `instance` starts with. */
export function redisRecordOwnerPrefix(instance: string): string {
  return `${REDIS_RECORD_VERSION}|${instance}|`;
}

/**
 * Reads a record.
 * @throws ParseError `ERR_LIVE_BAD_LENGTH` (too long), `ERR_LIVE_BAD_VERSION`, `ERR_LIVE_TRUNCATED`
 *   (fields missing), `ERR_LIVE_TRAILING_BYTES` (fields over), `ERR_LIVE_BAD_VALUE` (a field out of
 *   range); `offset` is the character where the field starts.
 */
export function decodeRedisRecord(text: string): RedisNodeRecord {
  if (text.length > RECORD_MAX_CHARS)
    throw new ParseError(LiveParseCode.BAD_LENGTH, `node record of ${text.length} characters`, 0);
  const f = text.split('|', FIELDS + 1);
  const fields = f[0] === REDIS_RECORD_VERSION ? FIELDS : f[0] === '1' ? FIELDS_V1 : -1;
  if (fields < 0) throw new ParseError(LiveParseCode.BAD_VERSION, `node record version ${f[0]}`, 0);
  if (f.length < fields)
    throw new ParseError(LiveParseCode.TRUNCATED, 'node record fields missing', text.length);
  if (f.length > fields) throw new ParseError(LiveParseCode.TRAILING, 'node record fields over', text.length);
  const at = (i: number): number => {
    let offset = 0;
    for (let k = 0; k < i; k++) offset += f[k]!.length + 1;
    return offset;
  };
  const bad = (i: number, what: string): never => {
    throw new ParseError(LiveParseCode.BAD_VALUE, `node record ${what}`, at(i));
  };
  const integer = (i: number, what: string): number => {
    const s = f[i]!;
    const n = Number(s);
    return /^\d{1,16}$/.test(s) && Number.isSafeInteger(n) ? n : bad(i, what);
  };
  const endpointIn = (s: string, i: number, what: string): Endpoint => {
    const colon = s.lastIndexOf(':');
    const port = Number(s.slice(colon + 1));
    if (colon <= 0 || !/^\d{1,5}$/.test(s.slice(colon + 1)) || port > 65_535) bad(i, what);
    return { address: s.slice(0, colon), port };
  };
  const endpoint = (i: number, what: string): Endpoint => endpointIn(f[i]!, i, what);
  const candidates = (i: number): Candidate[] => {
    const s = f[i] ?? '';
    if (s === '') return [];
    const list = s.split(',', REDIS_RECORD_MAX_CANDIDATES + 1);
    if (list.length > REDIS_RECORD_MAX_CANDIDATES) bad(i, 'candidates (too many)');
    return list.map((c) => {
      const kind = KINDS[c[0] ?? ''] ?? bad(i, 'candidate kind');
      return { kind, ...endpointIn(c.slice(1), i, 'candidate') };
    });
  };
  const fingerprint = f[11] ?? '';
  if (fingerprint !== '' && !FINGERPRINT_HEX.test(fingerprint)) bad(11, 'fingerprint');
  const instance = f[1]!;
  if (instance.length === 0) bad(1, 'instance');
  const role = ROLES[integer(2, 'role')] ?? bad(2, 'role');
  const nat = TRACKER_NAT_CLASSES[integer(3, 'NAT class')] ?? bad(3, 'NAT class');
  if (f[4] !== '0' && f[4] !== '1') bad(4, 'relay flag');
  return {
    instance,
    role,
    nat,
    relay: f[4] === '1',
    spare: integer(5, 'spare upload'),
    cap: integer(6, 'upload cap'),
    edge: f[7] === '' ? null : endpoint(7, 'edge endpoint'),
    address: endpoint(8, 'address'),
    joinedAtMs: integer(9, 'join time'),
    lastSeenMs: integer(10, 'last seen time'),
    fingerprint: fingerprint === '' ? null : fingerprint,
    candidates: candidates(12),
  };
}
