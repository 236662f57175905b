/**
 * The tracker's frames (docs/live.md, "Tracker"): first byte {@link TRACKER_FRAME} (0x0b, in
 * porthole's range of the Demux, beside the punch broker's 0x05 on the same socket). Every frame
 * starts with the same 8 bytes:
 *
 * ```
 *  0  0x0b        frame byte
 *  1  version     1
 *  2  type        TrackerMessage
 *  3  status      TrackerStatus in answers, 0 in requests
 *  4  seq         u32: a request's number, echoed by its answer
 * ```
 * @module
 */
import { ParseError } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { FrameReader } from '../internal/frame-reader.ts';
import { formatIp, parseIp } from '../stun/index.ts';
import { CHANNEL_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './constants.ts';
import { LiveParseCode } from './errors.ts';
import { TOKEN_MAC_BYTES, TOKEN_MAX_BYTES, TOKEN_MAX_PEER_ID_BYTES } from './token.ts';

/** First byte of every tracker frame (`PortholeFrame.TRACKER`). */
export const TRACKER_FRAME = 0x0b;
/** Version byte of the tracker frames. */
export const TRACKER_WIRE_VERSION = 1;
/** Bytes of a session id. */
export const TRACKER_SESSION_BYTES = 8;
/** Bytes of a join nonce. */
export const TRACKER_NONCE_BYTES = 8;
/** Most edges in one frame. */
export const TRACKER_MAX_EDGES = 8;
/** Most candidates in one SAMPLE answer (fewer when their ids are long: answers stay ≤ 1200 bytes). */
export const TRACKER_MAX_SAMPLE = 32;
/** Largest answer the tracker sends: 1200 bytes (no IP fragmentation on any path worth having). */
export const TRACKER_MAX_ANSWER_BYTES = 1200;
const HEADER = 8;
const MAX_TOKEN_PAYLOAD = TOKEN_MAX_BYTES - TOKEN_MAC_BYTES;

/** Frame types. */
export const TrackerMessage = {
  JOIN: 1,
  CHALLENGE: 2,
  JOINED: 3,
  KEEPALIVE: 4,
  ACK: 5,
  SAMPLE: 6,
  SAMPLE_RESULT: 7,
  REPORT: 8,
  FORGED: 9,
  LEAVE: 10,
} as const;
/** One of the {@link TrackerMessage} values. */
export type TrackerMessageType = (typeof TrackerMessage)[keyof typeof TrackerMessage];

/** Statuses of answers. */
export const TrackerStatus = {
  OK: 0,
  /** The session is unknown (tracker restarted, node expired) or came from another address: join again. */
  NOT_JOINED: 1,
  /** The token or channel key did not prove the claim. */
  REFUSED: 2,
  /** The token has expired. */
  EXPIRED: 3,
  /** No room (nodes, channels, or the channel's nodes). */
  FULL: 4,
} as const;
/** One of the {@link TrackerStatus} values. */
export type TrackerStatusType = (typeof TrackerStatus)[keyof typeof TrackerStatus];

/** Roles on the wire. */
export const TrackerRole = { peer: 0, edge: 1, source: 2 } as const;
/** A node's role. */
export type TrackerRoleValue = keyof typeof TrackerRole;
const ROLE_NAMES: readonly TrackerRoleValue[] = ['peer', 'edge', 'source'];

/** NAT classes on the wire: the nat layer's names plus the live layer's `restricted`. */
export const TRACKER_NAT_CLASSES = [
  'unknown',
  'open',
  'firewalled',
  'full-cone',
  'address-restricted',
  'restricted',
  'port-restricted',
  'symmetric',
  'blocked',
] as const;
/** A NAT class a node declares. */
export type TrackerNatClass = (typeof TRACKER_NAT_CLASSES)[number];

/** JOIN flag bits. */
const JOIN_RELAY = 0x01;
const JOIN_EDGE = 0x02;
const JOIN_SOURCE = 0x04;
const SAMPLE_UPLOADS = 0x01;

/** An edge of a channel. */
export interface TrackerEdge {
  readonly id: string;
  readonly endpoint: Endpoint;
}

/** A node offered to a joiner. */
export interface TrackerCandidateWire {
  readonly id: string;
  readonly nat: TrackerNatClass;
  readonly uploads: boolean;
  /** Spare upload it announced, bits/s. */
  readonly spareUploadBps: number;
}

/** A decoded tracker frame. */
export type TrackerFrame =
  | {
      readonly type: typeof TrackerMessage.JOIN;
      readonly seq: number;
      readonly role: TrackerRoleValue;
      readonly nat: TrackerNatClass;
      readonly relay: boolean;
      /** Bits/s; 0xffffffff when not said. */
      readonly uploadCapBps: number;
      readonly channelId: Buffer;
      /** Zeros until the tracker sent a CHALLENGE. */
      readonly nonce: Buffer;
      readonly peerId: string;
      /** The token's payload (its bytes before the MAC); empty for a source proving the key instead. */
      readonly tokenPayload: Buffer;
      /** HMAC of the nonce under the token's MAC (`tokenProof`); empty with no token. */
      readonly proof: Buffer;
      readonly edgeEndpoint: Endpoint | null;
      /** A source's proof: the channel's public key and an Ed25519 signature (see `sourceProofMessage`). */
      readonly source: { readonly publicKey: Buffer; readonly signature: Buffer } | null;
    }
  | { readonly type: typeof TrackerMessage.CHALLENGE; readonly seq: number; readonly nonce: Buffer }
  | {
      readonly type: typeof TrackerMessage.JOINED;
      readonly seq: number;
      readonly status: TrackerStatusType;
      readonly session: Buffer;
      /** How long the tracker keeps a silent node, ms. */
      readonly nodeTimeoutMs: number;
      readonly publicKey: Buffer | null;
      readonly observed: Endpoint | null;
      readonly edgesVersion: number;
      readonly edges: readonly TrackerEdge[];
    }
  | {
      readonly type: typeof TrackerMessage.KEEPALIVE;
      readonly seq: number;
      readonly session: Buffer;
      readonly spareUploadBps: number;
    }
  | {
      readonly type: typeof TrackerMessage.ACK;
      readonly seq: number;
      readonly status: TrackerStatusType;
      readonly session: Buffer;
      readonly edgesVersion: number;
    }
  | {
      readonly type: typeof TrackerMessage.SAMPLE;
      readonly seq: number;
      readonly session: Buffer;
      readonly want: number;
    }
  | {
      readonly type: typeof TrackerMessage.SAMPLE_RESULT;
      readonly seq: number;
      readonly status: TrackerStatusType;
      readonly edgesVersion: number;
      readonly edges: readonly TrackerEdge[];
      readonly candidates: readonly TrackerCandidateWire[];
    }
  | {
      readonly type: typeof TrackerMessage.REPORT;
      readonly seq: number;
      readonly session: Buffer;
      readonly report: Buffer;
    }
  | {
      readonly type: typeof TrackerMessage.FORGED;
      readonly seq: number;
      readonly session: Buffer;
      readonly peerId: string;
    }
  | { readonly type: typeof TrackerMessage.LEAVE; readonly seq: number; readonly session: Buffer };

/** Whether `data` starts like a tracker frame (never throws). */
export function isTrackerFrame(data: Uint8Array): boolean {
  return data.length >= HEADER && data[0] === TRACKER_FRAME;
}

function endpointSize(e: Endpoint | null): number {
  return e === null ? 0 : e.address.includes(':') ? 19 : 7;
}
function idSize(id: string): number {
  return 1 + id.length;
}
function edgesSize(edges: readonly TrackerEdge[]): number {
  let n = 1;
  for (const e of edges) n += idSize(e.id) + endpointSize(e.endpoint);
  return n;
}

/** Bytes {@link encodeTrackerFrame} writes for `frame`. */
export function trackerFrameBytes(frame: TrackerFrame): number {
  switch (frame.type) {
    case TrackerMessage.JOIN:
      return (
        HEADER +
        8 +
        CHANNEL_ID_BYTES +
        TRACKER_NONCE_BYTES +
        idSize(frame.peerId) +
        1 +
        frame.tokenPayload.length +
        frame.proof.length +
        endpointSize(frame.edgeEndpoint) +
        (frame.source === null ? 0 : PUBLIC_KEY_BYTES + SIGNATURE_BYTES)
      );
    case TrackerMessage.CHALLENGE:
      return HEADER + TRACKER_NONCE_BYTES;
    case TrackerMessage.JOINED:
      return (
        HEADER +
        TRACKER_SESSION_BYTES +
        4 +
        1 +
        (frame.publicKey === null ? 0 : PUBLIC_KEY_BYTES) +
        1 +
        endpointSize(frame.observed) +
        4 +
        edgesSize(frame.edges)
      );
    case TrackerMessage.KEEPALIVE:
      return HEADER + TRACKER_SESSION_BYTES + 4;
    case TrackerMessage.ACK:
      return HEADER + TRACKER_SESSION_BYTES + 4;
    case TrackerMessage.SAMPLE:
      return HEADER + TRACKER_SESSION_BYTES + 1;
    case TrackerMessage.SAMPLE_RESULT: {
      let n = HEADER + 4 + edgesSize(frame.edges) + 1;
      for (const c of frame.candidates) n += idSize(c.id) + 6;
      return n;
    }
    case TrackerMessage.REPORT:
      return HEADER + TRACKER_SESSION_BYTES + frame.report.length;
    case TrackerMessage.FORGED:
      return HEADER + TRACKER_SESSION_BYTES + idSize(frame.peerId);
    case TrackerMessage.LEAVE:
      return HEADER + TRACKER_SESSION_BYTES;
  }
}

/** Encodes `frame` into one right-sized Buffer (fields are the caller's to keep in range). */
export function encodeTrackerFrame(frame: TrackerFrame): Buffer {
  const out = Buffer.allocUnsafe(trackerFrameBytes(frame));
  out[0] = TRACKER_FRAME;
  out[1] = TRACKER_WIRE_VERSION;
  out[2] = frame.type;
  out[3] = 'status' in frame ? frame.status : 0;
  out.writeUInt32BE(frame.seq >>> 0, 4);
  let o = HEADER;
  switch (frame.type) {
    case TrackerMessage.JOIN: {
      out[o++] = TrackerRole[frame.role];
      out[o++] = natIndex(frame.nat);
      out[o++] =
        (frame.relay ? JOIN_RELAY : 0) |
        (frame.edgeEndpoint !== null ? JOIN_EDGE : 0) |
        (frame.source !== null ? JOIN_SOURCE : 0);
      out[o++] = 0;
      out.writeUInt32BE(frame.uploadCapBps >>> 0, o);
      o += 4;
      o += frame.channelId.copy(out, o, 0, CHANNEL_ID_BYTES);
      o += frame.nonce.copy(out, o, 0, TRACKER_NONCE_BYTES);
      o = writeId(out, o, frame.peerId);
      out[o++] = frame.tokenPayload.length;
      o += frame.tokenPayload.copy(out, o);
      o += frame.proof.copy(out, o);
      if (frame.edgeEndpoint !== null) o = writeEndpoint(out, o, frame.edgeEndpoint);
      if (frame.source !== null) {
        o += frame.source.publicKey.copy(out, o, 0, PUBLIC_KEY_BYTES);
        o += frame.source.signature.copy(out, o, 0, SIGNATURE_BYTES);
      }
      break;
    }
    case TrackerMessage.CHALLENGE:
      o += frame.nonce.copy(out, o, 0, TRACKER_NONCE_BYTES);
      break;
    case TrackerMessage.JOINED:
      o += frame.session.copy(out, o, 0, TRACKER_SESSION_BYTES);
      out.writeUInt32BE(frame.nodeTimeoutMs >>> 0, o);
      o += 4;
      out[o++] = frame.publicKey === null ? 0 : 1;
      if (frame.publicKey !== null) o += frame.publicKey.copy(out, o, 0, PUBLIC_KEY_BYTES);
      out[o++] = frame.observed === null ? 0 : 1;
      if (frame.observed !== null) o = writeEndpoint(out, o, frame.observed);
      out.writeUInt32BE(frame.edgesVersion >>> 0, o);
      o = writeEdges(out, o + 4, frame.edges);
      break;
    case TrackerMessage.KEEPALIVE:
      o += frame.session.copy(out, o, 0, TRACKER_SESSION_BYTES);
      out.writeUInt32BE(frame.spareUploadBps >>> 0, o);
      o += 4;
      break;
    case TrackerMessage.ACK:
      o += frame.session.copy(out, o, 0, TRACKER_SESSION_BYTES);
      out.writeUInt32BE(frame.edgesVersion >>> 0, o);
      o += 4;
      break;
    case TrackerMessage.SAMPLE:
      o += frame.session.copy(out, o, 0, TRACKER_SESSION_BYTES);
      out[o++] = frame.want;
      break;
    case TrackerMessage.SAMPLE_RESULT:
      out.writeUInt32BE(frame.edgesVersion >>> 0, o);
      o = writeEdges(out, o + 4, frame.edges);
      out[o++] = frame.candidates.length;
      for (const c of frame.candidates) {
        o = writeId(out, o, c.id);
        out[o++] = natIndex(c.nat);
        out[o++] = c.uploads ? SAMPLE_UPLOADS : 0;
        out.writeUInt32BE(c.spareUploadBps >>> 0, o);
        o += 4;
      }
      break;
    case TrackerMessage.REPORT:
      o += frame.session.copy(out, o, 0, TRACKER_SESSION_BYTES);
      o += frame.report.copy(out, o);
      break;
    case TrackerMessage.FORGED:
      o += frame.session.copy(out, o, 0, TRACKER_SESSION_BYTES);
      o = writeId(out, o, frame.peerId);
      break;
    case TrackerMessage.LEAVE:
      o += frame.session.copy(out, o, 0, TRACKER_SESSION_BYTES);
      break;
  }
  return out;
}

/**
 * Decodes one tracker frame; byte fields are slices of `data`.
 * @throws ParseError with a `LiveParseCode` and the offset where it failed.
 */
export function decodeTrackerFrame(data: Buffer): TrackerFrame {
  const r = new FrameReader(data, 0, LiveParseCode.TRUNCATED);
  if (r.u8('frame byte') !== TRACKER_FRAME) bad(LiveParseCode.BAD_TYPE, 'not a tracker frame', 0);
  const version = r.u8('version');
  if (version !== TRACKER_WIRE_VERSION) bad(LiveParseCode.BAD_VERSION, `tracker wire version ${version}`, 1);
  const type = r.u8('type');
  const status = r.u8('status');
  const seq = r.u32('seq');
  if (status > TrackerStatus.FULL) bad(LiveParseCode.BAD_VALUE, `status ${status}`, 3);
  const st = status as TrackerStatusType;
  const isAnswer =
    type === TrackerMessage.CHALLENGE ||
    type === TrackerMessage.JOINED ||
    type === TrackerMessage.ACK ||
    type === TrackerMessage.SAMPLE_RESULT;
  if (!isAnswer && status !== 0) bad(LiveParseCode.RESERVED, 'status in a request', 3);
  let frame: TrackerFrame;
  switch (type) {
    case TrackerMessage.JOIN: {
      const roleAt = r.offset;
      const role = ROLE_NAMES[r.u8('role')];
      if (role === undefined) bad(LiveParseCode.BAD_VALUE, 'unknown role', roleAt);
      const nat = readNat(r);
      const flagsAt = r.offset;
      const flags = r.u8('flags');
      if ((flags & ~(JOIN_RELAY | JOIN_EDGE | JOIN_SOURCE)) !== 0)
        bad(LiveParseCode.RESERVED, 'JOIN flags', flagsAt);
      if (r.u8('reserved') !== 0) bad(LiveParseCode.RESERVED, 'reserved byte', flagsAt + 1);
      const uploadCapBps = r.u32('upload cap');
      const channelId = r.bytes(CHANNEL_ID_BYTES, 'channel id');
      const nonce = r.bytes(TRACKER_NONCE_BYTES, 'nonce');
      const peerId = readId(r);
      const tokenAt = r.offset;
      const tokenLength = r.u8('token length');
      if (tokenLength !== 0 && (tokenLength < 44 || tokenLength > MAX_TOKEN_PAYLOAD))
        bad(LiveParseCode.BAD_LENGTH, `token payload of ${tokenLength} bytes`, tokenAt);
      const tokenPayload = r.bytes(tokenLength, 'token payload');
      const proof = r.bytes(tokenLength === 0 ? 0 : TOKEN_MAC_BYTES, 'proof');
      const edgeEndpoint = (flags & JOIN_EDGE) !== 0 ? readEndpoint(r) : null;
      const source =
        (flags & JOIN_SOURCE) !== 0
          ? {
              publicKey: r.bytes(PUBLIC_KEY_BYTES, 'public key'),
              signature: r.bytes(SIGNATURE_BYTES, 'signature'),
            }
          : null;
      if (tokenLength === 0 && source === null)
        bad(LiveParseCode.BAD_VALUE, 'JOIN without token or key', tokenAt);
      frame = {
        type,
        seq,
        role: role as TrackerRoleValue,
        nat,
        relay: (flags & JOIN_RELAY) !== 0,
        uploadCapBps,
        channelId,
        nonce,
        peerId,
        tokenPayload,
        proof,
        edgeEndpoint,
        source,
      };
      break;
    }
    case TrackerMessage.CHALLENGE:
      frame = { type, seq, nonce: r.bytes(TRACKER_NONCE_BYTES, 'nonce') };
      break;
    case TrackerMessage.JOINED: {
      const session = r.bytes(TRACKER_SESSION_BYTES, 'session');
      const nodeTimeoutMs = r.u32('node timeout');
      const publicKey = readFlag(r) ? r.bytes(PUBLIC_KEY_BYTES, 'public key') : null;
      const observed = readFlag(r) ? readEndpoint(r) : null;
      const edgesVersion = r.u32('edges version');
      const edges = readEdges(r);
      frame = { type, seq, status: st, session, nodeTimeoutMs, publicKey, observed, edgesVersion, edges };
      break;
    }
    case TrackerMessage.KEEPALIVE:
      frame = {
        type,
        seq,
        session: r.bytes(TRACKER_SESSION_BYTES, 'session'),
        spareUploadBps: r.u32('spare upload'),
      };
      break;
    case TrackerMessage.ACK:
      frame = {
        type,
        seq,
        status: st,
        session: r.bytes(TRACKER_SESSION_BYTES, 'session'),
        edgesVersion: r.u32('edges version'),
      };
      break;
    case TrackerMessage.SAMPLE: {
      const session = r.bytes(TRACKER_SESSION_BYTES, 'session');
      const at = r.offset;
      const want = r.u8('want');
      if (want > TRACKER_MAX_SAMPLE) bad(LiveParseCode.BAD_VALUE, `want ${want}`, at);
      frame = { type, seq, session, want };
      break;
    }
    case TrackerMessage.SAMPLE_RESULT: {
      const edgesVersion = r.u32('edges version');
      const edges = readEdges(r);
      const at = r.offset;
      const count = r.u8('candidate count');
      if (count > TRACKER_MAX_SAMPLE) bad(LiveParseCode.BAD_LENGTH, `${count} candidates`, at);
      const candidates: TrackerCandidateWire[] = [];
      for (let i = 0; i < count; i++) {
        const id = readId(r);
        const nat = readNat(r);
        const flagAt = r.offset;
        const f = r.u8('candidate flags');
        if ((f & ~SAMPLE_UPLOADS) !== 0) bad(LiveParseCode.RESERVED, 'candidate flags', flagAt);
        candidates.push({ id, nat, uploads: f !== 0, spareUploadBps: r.u32('spare upload') });
      }
      frame = { type, seq, status: st, edgesVersion, edges, candidates };
      break;
    }
    case TrackerMessage.REPORT: {
      const session = r.bytes(TRACKER_SESSION_BYTES, 'session');
      frame = { type, seq, session, report: r.bytes(r.remaining, 'report') };
      return frame;
    }
    case TrackerMessage.FORGED:
      frame = { type, seq, session: r.bytes(TRACKER_SESSION_BYTES, 'session'), peerId: readId(r) };
      break;
    case TrackerMessage.LEAVE:
      frame = { type, seq, session: r.bytes(TRACKER_SESSION_BYTES, 'session') };
      break;
    default:
      return bad(LiveParseCode.BAD_TYPE, `tracker frame type ${type}`, 2);
  }
  r.end(LiveParseCode.TRAILING);
  return frame;
}

function bad(code: string, message: string, offset: number): never {
  throw new ParseError(code, `tracker frame: ${message}`, offset);
}

function natIndex(nat: TrackerNatClass): number {
  const i = TRACKER_NAT_CLASSES.indexOf(nat);
  return Math.max(0, i);
}

function readNat(r: FrameReader): TrackerNatClass {
  const at = r.offset;
  const nat = TRACKER_NAT_CLASSES[r.u8('NAT class')];
  if (nat === undefined) bad(LiveParseCode.BAD_VALUE, 'unknown NAT class', at);
  return nat as TrackerNatClass;
}

function readFlag(r: FrameReader): boolean {
  const at = r.offset;
  const f = r.u8('flag');
  if (f > 1) bad(LiveParseCode.RESERVED, `flag byte ${f}`, at);
  return f === 1;
}

function writeId(out: Buffer, o: number, id: string): number {
  out[o] = id.length;
  return o + 1 + out.write(id, o + 1, 'latin1');
}

function readId(r: FrameReader): string {
  const at = r.offset;
  const n = r.u8('id length');
  if (n === 0 || n > TOKEN_MAX_PEER_ID_BYTES) bad(LiveParseCode.BAD_LENGTH, `id of ${n} bytes`, at);
  const bytes = r.bytes(n, 'id');
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (c < 0x21 || c > 0x7e) bad(LiveParseCode.BAD_VALUE, 'id not visible ASCII', at + 1 + i);
  }
  return bytes.toString('latin1');
}

function writeEndpoint(out: Buffer, o: number, e: Endpoint): number {
  const ip = parseIp(e.address);
  out[o] = ip.length === 4 ? 4 : 6;
  out.writeUInt16BE(e.port, o + 1);
  ip.copy(out, o + 3);
  return o + 3 + ip.length;
}

function readEndpoint(r: FrameReader): Endpoint {
  const at = r.offset;
  const family = r.u8('address family');
  if (family !== 4 && family !== 6) bad(LiveParseCode.BAD_VALUE, `address family ${family}`, at);
  const port = r.u16('port');
  if (port === 0) bad(LiveParseCode.BAD_VALUE, 'port 0', at + 1);
  return { address: formatIp(r.bytes(family === 4 ? 4 : 16, 'address')), port };
}

function writeEdges(out: Buffer, o: number, edges: readonly TrackerEdge[]): number {
  out[o++] = edges.length;
  for (const e of edges) o = writeEndpoint(out, writeId(out, o, e.id), e.endpoint);
  return o;
}

function readEdges(r: FrameReader): TrackerEdge[] {
  const at = r.offset;
  const count = r.u8('edge count');
  if (count > TRACKER_MAX_EDGES) bad(LiveParseCode.BAD_LENGTH, `${count} edges`, at);
  const edges: TrackerEdge[] = [];
  for (let i = 0; i < count; i++) edges.push({ id: readId(r), endpoint: readEndpoint(r) });
  return edges;
}
