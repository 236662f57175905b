/**
 * Edge admission: before an edge keeps any state for a remote address or serves it a byte, the
 * remote presents its application token in an ADMIT frame and the edge answers ADMITTED with a
 * status. Both are porthole frames of type `LIVE_CONTROL` (0x0a, mux/ranges.ts), so they share the
 * edge's one socket with the ARQ segments (0x06/0x07) of the admitted links.
 *
 * ```
 *  ADMIT     0a | 01 | version u8 = 1 | nonce u32 | token length u16 (1..1024) | token
 *  ADMITTED  0a | 02 | version u8 = 1 | nonce u32 | status u8 (0 ok, 1 bad token, 2 full, 3 wrong channel, 4 banned) | instance u32
 * ```
 * The dialler repeats ADMIT (same nonce) until it hears ADMITTED with that nonce; an edge answers
 * a repeated ADMIT from an admitted address again without a second link. The dialler repeats it
 * every 250 ms as a keepalive; `instance` (random per edge process) tells it the edge restarted
 * (its ARQ state is gone: the dialler opens a fresh link). Big-endian.
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { FrameReader } from '../internal/frame-reader.ts';
import { PortholeFrame } from '../mux/index.ts';
import { LiveParseCode } from './errors.ts';

/** Version byte of the admission frames. */
export const EDGE_ADMIT_VERSION = 1;
/** Longest token an ADMIT carries, bytes. */
export const EDGE_TOKEN_MAX_BYTES = 1024;

/** Admission frame types (the byte after 0x0a). */
export const EdgeAdmitType = { ADMIT: 1, ADMITTED: 2 } as const;

/** ADMITTED status byte. */
export const AdmitStatus = {
  OK: 0,
  BAD_TOKEN: 1,
  FULL: 2,
  WRONG_CHANNEL: 3,
  BANNED: 4,
} as const;
/** One of the {@link AdmitStatus} values. */
export type AdmitStatusValue = (typeof AdmitStatus)[keyof typeof AdmitStatus];

/** A decoded admission frame. */
export type EdgeAdmitFrame =
  | { readonly type: 'admit'; readonly nonce: number; readonly token: Buffer }
  | {
      readonly type: 'admitted';
      readonly nonce: number;
      readonly status: AdmitStatusValue;
      readonly instance: number;
    };

/** Encodes ADMIT. */
export function encodeAdmit(nonce: number, token: Buffer): Buffer {
  const out = Buffer.allocUnsafe(9 + token.length);
  out[0] = PortholeFrame.LIVE_CONTROL;
  out[1] = EdgeAdmitType.ADMIT;
  out[2] = EDGE_ADMIT_VERSION;
  out.writeUInt32BE(nonce >>> 0, 3);
  out.writeUInt16BE(token.length, 7);
  token.copy(out, 9);
  return out;
}

/** Encodes ADMITTED. */
export function encodeAdmitted(nonce: number, status: AdmitStatusValue, instance: number): Buffer {
  const out = Buffer.allocUnsafe(12);
  out[0] = PortholeFrame.LIVE_CONTROL;
  out[1] = EdgeAdmitType.ADMITTED;
  out[2] = EDGE_ADMIT_VERSION;
  out.writeUInt32BE(nonce >>> 0, 3);
  out[7] = status;
  out.writeUInt32BE(instance >>> 0, 8);
  return out;
}

/**
 * Decodes an admission frame (the whole datagram, 0x0a included).
 * @throws ParseError `ERR_LIVE_TRUNCATED`, `ERR_LIVE_BAD_TYPE`, `ERR_LIVE_BAD_VERSION`,
 *   `ERR_LIVE_BAD_LENGTH`, `ERR_LIVE_BAD_VALUE`, `ERR_LIVE_TRAILING_BYTES`, with the offset.
 */
export function decodeAdmitFrame(data: Buffer): EdgeAdmitFrame {
  const r = new FrameReader(data, 0, LiveParseCode.TRUNCATED);
  if (r.u8('frame byte') !== PortholeFrame.LIVE_CONTROL)
    throw new ParseError(LiveParseCode.BAD_TYPE, 'not a live control frame', 0);
  const type = r.u8('type');
  if (type !== EdgeAdmitType.ADMIT && type !== EdgeAdmitType.ADMITTED)
    throw new ParseError(LiveParseCode.BAD_TYPE, `unknown admission frame ${type}`, 1);
  if (r.u8('version') !== EDGE_ADMIT_VERSION)
    throw new ParseError(LiveParseCode.BAD_VERSION, 'unknown admission version', 2);
  const nonce = r.u32('nonce');
  if (type === EdgeAdmitType.ADMIT) {
    const length = r.u16('token length');
    if (length === 0 || length > EDGE_TOKEN_MAX_BYTES)
      throw new ParseError(LiveParseCode.BAD_LENGTH, `token length ${length} outside 1-1024`, 7);
    const token = r.bytes(length, 'token');
    r.end(LiveParseCode.TRAILING);
    return { type: 'admit', nonce, token };
  }
  const status = r.u8('status');
  if (status > AdmitStatus.BANNED)
    throw new ParseError(LiveParseCode.BAD_VALUE, `unknown status ${status}`, 7);
  const instance = r.u32('instance');
  r.end(LiveParseCode.TRAILING);
  return { type: 'admitted', nonce, status: status as AdmitStatusValue, instance };
}
