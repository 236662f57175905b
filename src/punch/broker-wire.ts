/**
 * Wire format of broker signalling (`PortholeFrame.BROKER`, 0x05): registration, keepalive,
 * connect requests, introductions and acknowledgements. Every frame but ACK carries a sequence
 * number and is retransmitted until an ACK with that number comes back.
 *
 * ```
 *  0        1        2        3
 * +--------+--------+--------+--------+
 * |  0x05  | ver=2  |  type  |   0    |
 * +--------+--------+--------+--------+
 * |       sequence (ACK: acked seq)   |
 * +-----------------------------------+
 * | body (by type):
 * |  REGISTER  1: idLen u8 | peer id | tokenLen u16 | token | nat u8 | fpLen u8 | fingerprint
 * |              | candidates
 * |              (token: empty, or nonce (8) ‖ proof after an ACK CHALLENGE — see BrokerStatus)
 * |  KEEPALIVE 2: session (8)
 * |  CONNECT   3: session (8) | idLen u8 | target id
 * |  INTRODUCE 4: link id (8) | role u8 | secret (32) | nat u8 | idLen u8 | peer id
 * |              | fpLen u8 | fingerprint | candidates | mac (16)
 * |              (mac: HMAC-SHA256 under the recipient's credential, see `registration.ts`)
 * |  ACK       5: status u8 | session (8) | observed? u8 | [family u8 | port u16 | address]
 * |  UNREGISTER 6: session (8)   (sent once by a closing peer; the broker forgets it at once)
 * ```
 * Peer ids are 1–64 visible ASCII bytes (0x21–0x7e). Candidates: see `candidates.ts`. A
 * fingerprint is the SHA-256 digest of the peer's DTLS certificate (fpLen 32) or absent (fpLen 0):
 * what the peer registers, the broker hands to whoever it introduces it to (see `fingerprint.ts`).
 * Version 2 added the fingerprints and the INTRODUCE MAC; a version-1 frame is refused
 * (`ERR_PUNCH_FRAME_VERSION`).
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { FrameReader } from '../internal/frame-reader.ts';
import { PortholeFrame } from '../mux/index.ts';
import type { NatClassType, NatEndpoint } from '../nat/index.ts';
import {
  type Candidate,
  candidatesSize,
  endpointSize,
  readCandidates,
  readEndpoint,
  writeCandidates,
  writeEndpoint,
} from './candidates.ts';
import { PunchErrorCode } from './error-codes.ts';
import { FINGERPRINT_BYTES } from './fingerprint.ts';
import { INTRODUCTION_MAC_BYTES } from './registration.ts';

/** Version byte of punch frames (`wire.ts`). */
export const PUNCH_WIRE_VERSION = 1;
/** Version byte of broker frames: 2 since REGISTER and INTRODUCE carry a certificate fingerprint. */
export const BROKER_WIRE_VERSION = 2;
/** Bytes of the broker frame header. */
export const BROKER_HEADER_BYTES = 8;
/** Longest peer id, in bytes. */
export const MAX_PEER_ID_BYTES = 64;
/** Longest registration token, in bytes. */
export const MAX_TOKEN_BYTES = 512;
/** Most candidates in one frame. */
export const MAX_WIRE_CANDIDATES = 16;
/** Bytes of a session id, a link id. */
export const SESSION_ID_BYTES = 8;
/** Bytes of a punch secret (HMAC-SHA256 key). */
export const PUNCH_SECRET_BYTES = 32;

/** Broker message types. */
export const BrokerMessage = {
  REGISTER: 1,
  KEEPALIVE: 2,
  CONNECT: 3,
  INTRODUCE: 4,
  ACK: 5,
  UNREGISTER: 6,
} as const;
/** One of the {@link BrokerMessage} values. */
export type BrokerMessageType = (typeof BrokerMessage)[keyof typeof BrokerMessage];

/** Status of an ACK. */
export const BrokerStatus = {
  OK: 0,
  /** CONNECT named a peer that is not registered. */
  UNKNOWN_PEER: 1,
  /** The session is unknown (expired, or the broker restarted): register again. */
  NOT_REGISTERED: 2,
  /** The broker's pending-introduction table is full: try later. */
  BUSY: 3,
  /** The broker holds its maximum number of peers. */
  FULL: 4,
  /**
   * Prove it (answer to a REGISTER): `session` holds a nonce bound to the source address; register
   * again with token = nonce ‖ HMAC-SHA256(token, "porthole-register" ‖ nonce ‖ peer id). Sent only
   * to the address the REGISTER came from, no larger than it: an address that never receives it
   * can never register (return routability), and a replayed REGISTER from another address gets a
   * different nonce its sender cannot answer without the credential.
   */
  CHALLENGE: 5,
  /** As {@link CHALLENGE}, for a broker that checks tokens itself: token = nonce ‖ token. */
  CHALLENGE_TOKEN: 6,
} as const;
/** One of the {@link BrokerStatus} values. */
export type BrokerStatusType = (typeof BrokerStatus)[keyof typeof BrokerStatus];

/** Which side of a link a peer is: the initiator nominates the path (RFC 8445 "controlling"). */
export const LinkRole = { INITIATOR: 0, RESPONDER: 1 } as const;
/** One of the {@link LinkRole} values. */
export type LinkRoleType = (typeof LinkRole)[keyof typeof LinkRole];

const NAT_CODES: readonly NatClassType[] = [
  'unknown',
  'open',
  'firewalled',
  'full-cone',
  'address-restricted',
  'port-restricted',
  'symmetric',
  'blocked',
];

/** A decoded broker frame. */
export type BrokerFrame =
  | {
      readonly type: typeof BrokerMessage.REGISTER;
      readonly seq: number;
      readonly peerId: string;
      readonly token: Buffer;
      readonly natClass: NatClassType;
      /** SHA-256 digest of the peer's DTLS certificate (absent: none registered). */
      readonly fingerprint?: Buffer;
      readonly candidates: readonly Candidate[];
    }
  | { readonly type: typeof BrokerMessage.KEEPALIVE; readonly seq: number; readonly session: Buffer }
  | {
      readonly type: typeof BrokerMessage.CONNECT;
      readonly seq: number;
      readonly session: Buffer;
      readonly target: string;
    }
  | {
      readonly type: typeof BrokerMessage.INTRODUCE;
      readonly seq: number;
      readonly linkId: Buffer;
      readonly role: LinkRoleType;
      readonly secret: Buffer;
      readonly natClass: NatClassType;
      readonly peerId: string;
      /** SHA-256 digest of the certificate `peerId` registered (absent: none). */
      readonly fingerprint?: Buffer;
      readonly candidates: readonly Candidate[];
      /** The MAC that ends the frame (encoding: zeros unless given; the broker seals it). */
      readonly mac?: Buffer;
    }
  | {
      readonly type: typeof BrokerMessage.ACK;
      readonly seq: number;
      readonly status: BrokerStatusType;
      readonly session: Buffer;
      readonly observed: NatEndpoint | null;
    }
  | { readonly type: typeof BrokerMessage.UNREGISTER; readonly seq: number; readonly session: Buffer };

function checkId(id: string): void {
  if (!isPeerId(id)) throw new RangeError(`peer id must be 1-${MAX_PEER_ID_BYTES} visible ASCII bytes`);
}

/** Whether `id` is a valid peer id (1–64 bytes of 0x21–0x7e). Never throws. */
export function isPeerId(id: unknown): id is string {
  return (
    typeof id === 'string' && id.length >= 1 && id.length <= MAX_PEER_ID_BYTES && /^[\x21-\x7e]+$/.test(id)
  );
}

function fingerprintSize(fingerprint: Buffer | undefined): number {
  const length = fingerprint?.length ?? 0;
  if (length !== 0 && length !== FINGERPRINT_BYTES)
    throw new RangeError(`a fingerprint is a ${FINGERPRINT_BYTES}-byte SHA-256 digest`);
  return 1 + length;
}

function writeFingerprint(out: Buffer, at: number, fingerprint: Buffer | undefined): number {
  const length = fingerprint?.length ?? 0;
  out[at] = length;
  if (length > 0) fingerprint!.copy(out, at + 1);
  return at + 1 + length;
}

/** Encodes one broker frame into a fresh Buffer sized once. Throws RangeError on invalid fields. */
export function encodeBrokerFrame(frame: BrokerFrame): Buffer {
  let size = BROKER_HEADER_BYTES;
  switch (frame.type) {
    case BrokerMessage.REGISTER:
      checkId(frame.peerId);
      if (frame.token.length > MAX_TOKEN_BYTES) throw new RangeError('token too long');
      size += 1 + frame.peerId.length + 2 + frame.token.length + 1 + fingerprintSize(frame.fingerprint);
      size += candidatesSize(frame.candidates);
      break;
    case BrokerMessage.KEEPALIVE:
    case BrokerMessage.UNREGISTER:
      size += SESSION_ID_BYTES;
      break;
    case BrokerMessage.CONNECT:
      checkId(frame.target);
      size += SESSION_ID_BYTES + 1 + frame.target.length;
      break;
    case BrokerMessage.INTRODUCE:
      checkId(frame.peerId);
      size += SESSION_ID_BYTES + 1 + PUNCH_SECRET_BYTES + 1 + 1 + frame.peerId.length;
      size += fingerprintSize(frame.fingerprint) + candidatesSize(frame.candidates) + INTRODUCTION_MAC_BYTES;
      if (frame.mac !== undefined && frame.mac.length !== INTRODUCTION_MAC_BYTES)
        throw new RangeError(`an INTRODUCE MAC is ${INTRODUCTION_MAC_BYTES} bytes`);
      break;
    case BrokerMessage.ACK:
      size += 1 + SESSION_ID_BYTES + 1 + (frame.observed === null ? 0 : endpointSize(frame.observed));
      break;
  }
  if (
    (frame.type === BrokerMessage.REGISTER || frame.type === BrokerMessage.INTRODUCE) &&
    frame.candidates.length > MAX_WIRE_CANDIDATES
  ) {
    throw new RangeError(`at most ${MAX_WIRE_CANDIDATES} candidates`);
  }
  const out = Buffer.alloc(size);
  out[0] = PortholeFrame.BROKER;
  out[1] = BROKER_WIRE_VERSION;
  out[2] = frame.type;
  out.writeUInt32BE(frame.seq >>> 0, 4);
  let o = BROKER_HEADER_BYTES;
  switch (frame.type) {
    case BrokerMessage.REGISTER:
      out[o++] = frame.peerId.length;
      o += out.write(frame.peerId, o, 'latin1');
      out.writeUInt16BE(frame.token.length, o);
      o += 2;
      o += frame.token.copy(out, o);
      out[o++] = NAT_CODES.indexOf(frame.natClass);
      o = writeFingerprint(out, o, frame.fingerprint);
      writeCandidates(out, o, frame.candidates);
      break;
    case BrokerMessage.KEEPALIVE:
    case BrokerMessage.UNREGISTER:
      frame.session.copy(out, o, 0, SESSION_ID_BYTES);
      break;
    case BrokerMessage.CONNECT:
      frame.session.copy(out, o, 0, SESSION_ID_BYTES);
      o += SESSION_ID_BYTES;
      out[o++] = frame.target.length;
      out.write(frame.target, o, 'latin1');
      break;
    case BrokerMessage.INTRODUCE:
      frame.linkId.copy(out, o, 0, SESSION_ID_BYTES);
      o += SESSION_ID_BYTES;
      out[o++] = frame.role;
      frame.secret.copy(out, o, 0, PUNCH_SECRET_BYTES);
      o += PUNCH_SECRET_BYTES;
      out[o++] = NAT_CODES.indexOf(frame.natClass);
      out[o++] = frame.peerId.length;
      o += out.write(frame.peerId, o, 'latin1');
      o = writeFingerprint(out, o, frame.fingerprint);
      o = writeCandidates(out, o, frame.candidates);
      frame.mac?.copy(out, o);
      break;
    case BrokerMessage.ACK:
      out[o++] = frame.status;
      frame.session.copy(out, o, 0, SESSION_ID_BYTES);
      o += SESSION_ID_BYTES;
      out[o++] = frame.observed === null ? 0 : 1;
      if (frame.observed !== null) writeEndpoint(out, o, frame.observed);
      break;
  }
  return out;
}

function readId(reader: FrameReader): string {
  const at = reader.offset;
  const length = reader.u8('peer id length');
  if (length === 0 || length > MAX_PEER_ID_BYTES) {
    throw new ParseError(PunchErrorCode.FRAME_BAD_ID, `peer id of ${length} bytes`, at);
  }
  const bytes = reader.bytes(length, 'peer id');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x21 || b > 0x7e)
      throw new ParseError(PunchErrorCode.FRAME_BAD_ID, 'peer id not visible ASCII', at + 1 + i);
  }
  return bytes.toString('latin1');
}

function readNat(reader: FrameReader): NatClassType {
  const at = reader.offset;
  const nat = NAT_CODES[reader.u8('NAT class')];
  if (nat === undefined) throw new ParseError(PunchErrorCode.FRAME_BAD_FIELD, 'unknown NAT class', at);
  return nat;
}

/** A fingerprint field: absent (length 0) or a SHA-256 digest; other lengths are refused. */
function readFingerprint(reader: FrameReader): { fingerprint?: Buffer } {
  const at = reader.offset;
  const length = reader.u8('fingerprint length');
  if (length === 0) return {};
  if (length !== FINGERPRINT_BYTES)
    throw new ParseError(PunchErrorCode.FRAME_BAD_FIELD, `fingerprint of ${length} bytes`, at);
  return { fingerprint: reader.bytes(length, 'fingerprint') };
}

/**
 * Decodes one broker frame. Total: a frame or a {@link ParseError} with code and offset —
 * `ERR_PUNCH_FRAME_TRUNCATED`, `ERR_PUNCH_FRAME_VERSION`, `ERR_PUNCH_FRAME_TYPE`, `ERR_PUNCH_FRAME_BAD_FIELD`,
 * `ERR_PUNCH_FRAME_BAD_ID`, `ERR_PUNCH_FRAME_BAD_ADDRESS`, `ERR_PUNCH_FRAME_BAD_CANDIDATE`,
 * `ERR_PUNCH_FRAME_TRAILING`. Byte strings in the result are slices of `data`.
 */
export function decodeBrokerFrame(data: Buffer): BrokerFrame {
  const r = new FrameReader(data, 0, PunchErrorCode.FRAME_TRUNCATED);
  if (r.u8('frame type') !== PortholeFrame.BROKER) {
    throw new ParseError(PunchErrorCode.FRAME_TYPE, 'not a broker frame', 0);
  }
  const version = r.u8('version');
  if (version !== BROKER_WIRE_VERSION)
    throw new ParseError(
      PunchErrorCode.FRAME_VERSION,
      `broker wire version ${version}, this side speaks ${BROKER_WIRE_VERSION}`,
      1,
    );
  const type = r.u8('message type');
  if (r.u8('reserved') !== 0)
    throw new ParseError(PunchErrorCode.FRAME_BAD_FIELD, 'reserved byte not zero', 3);
  const seq = r.u32('sequence');
  let frame: BrokerFrame;
  switch (type) {
    case BrokerMessage.REGISTER: {
      const peerId = readId(r);
      const tokenLength = r.u16('token length');
      if (tokenLength > MAX_TOKEN_BYTES) {
        throw new ParseError(PunchErrorCode.FRAME_BAD_FIELD, 'token too long', r.offset - 2);
      }
      const token = r.bytes(tokenLength, 'token');
      const natClass = readNat(r);
      const fingerprint = readFingerprint(r);
      const candidates = readCandidates(r, MAX_WIRE_CANDIDATES);
      frame = { type, seq, peerId, token, natClass, ...fingerprint, candidates };
      break;
    }
    case BrokerMessage.KEEPALIVE:
    case BrokerMessage.UNREGISTER:
      frame = { type, seq, session: r.bytes(SESSION_ID_BYTES, 'session') };
      break;
    case BrokerMessage.CONNECT: {
      const session = r.bytes(SESSION_ID_BYTES, 'session');
      frame = { type, seq, session, target: readId(r) };
      break;
    }
    case BrokerMessage.INTRODUCE: {
      const linkId = r.bytes(SESSION_ID_BYTES, 'link id');
      const roleAt = r.offset;
      const role = r.u8('role');
      if (role !== 0 && role !== 1)
        throw new ParseError(PunchErrorCode.FRAME_BAD_FIELD, 'unknown role', roleAt);
      const secret = r.bytes(PUNCH_SECRET_BYTES, 'secret');
      const natClass = readNat(r);
      const peerId = readId(r);
      const fingerprint = readFingerprint(r);
      const candidates = readCandidates(r, MAX_WIRE_CANDIDATES);
      const mac = r.bytes(INTRODUCTION_MAC_BYTES, 'introduction MAC');
      frame = { type, seq, linkId, role, secret, natClass, peerId, ...fingerprint, candidates, mac };
      break;
    }
    case BrokerMessage.ACK: {
      const statusAt = r.offset;
      const status = r.u8('status');
      if (status > 6) throw new ParseError(PunchErrorCode.FRAME_BAD_FIELD, 'unknown status', statusAt);
      const session = r.bytes(SESSION_ID_BYTES, 'session');
      const flagAt = r.offset;
      const flag = r.u8('observed flag');
      if (flag > 1) throw new ParseError(PunchErrorCode.FRAME_BAD_FIELD, 'observed flag not 0/1', flagAt);
      const observed = flag === 1 ? readEndpoint(r) : null;
      frame = { type, seq, status: status as BrokerStatusType, session, observed };
      break;
    }
    default:
      throw new ParseError(PunchErrorCode.FRAME_TYPE, `unknown broker message ${type}`, 2);
  }
  r.end(PunchErrorCode.FRAME_TRAILING);
  return frame;
}
