/**
 * The peer protocol's frames. Each frame is one ARQ message (message mode), so a frame's length
 * is its message's length; the first byte is the frame type, the rest is the body. Integers are
 * big-endian. Control frames travel on the control conversation, DATA on the data conversation.
 *
 * ```
 *  HELLO      01 | version u8 | role u8 | seed per-mille u16 | channel id (32) | public key (32) | peer id (16)
 *  BUFFER_MAP 02 | base u32 | count u16 | held bitmap ceil(count/8) | random-access bitmap ceil(count/8)
 *  HAVE       03 | seq u32 | flags u8 (bit 0: the chunk starts with a random-access point)
 *  REQUEST    04 | seq u32 | flags u8 (bit 0: urgent, the deadline forced it; bit 1: ahead, send it when it arrives;
 *                                      bit 2: resume, the requester holds part of it) [| from piece u16, with resume only]
 *  CANCEL     05 | seq u32
 *  DATA       06 | chunk (see chunk.ts), to the end of the message
 *  REJECT     07 | seq u32 | reason u8 (1 not held, 2 busy, 3 over the requester's share, 4 banned)
 *  CHOKE      08 | ms u32 (send no REQUEST for this long)
 *  BYE        09 | reason u8 (0 leaving, 1 protocol error, 2 banned, 3 replaced)
 *  HEAD       0A | chunk head (header, signature, piece hashes: see chunk.ts), to the end of the message
 *  PIECE      0B | seq u32 | index u16 | the piece's bytes, to the end of the message
 * ```
 * A chunk travels as HEAD then its PIECEs (or, whole, as one DATA frame), all on the data
 * conversation: the receiver verifies the head, then each piece against it, and forwards each
 * verified piece at once.
 * HELLO opens both sides; its version is {@link PEER_PROTOCOL_VERSION}. A peer that receives any
 * other frame before HELLO, or a HELLO of another channel, says BYE.
 * @module
 */
import { ParseError } from '../errors/index.ts';
import {
  BUFFER_MAP_MAX_CHUNKS,
  CHANNEL_ID_BYTES,
  CHUNK_MAX_PIECES,
  PEER_PROTOCOL_VERSION,
  PUBLIC_KEY_BYTES,
} from './constants.ts';
import { LiveParseCode } from './errors.ts';

/** Frame type bytes. */
export const PeerFrameType = {
  HELLO: 1,
  BUFFER_MAP: 2,
  HAVE: 3,
  REQUEST: 4,
  CANCEL: 5,
  DATA: 6,
  REJECT: 7,
  CHOKE: 8,
  BYE: 9,
  HEAD: 10,
  PIECE: 11,
} as const;
/** One of the {@link PeerFrameType} values. */
export type PeerFrameTypeValue = (typeof PeerFrameType)[keyof typeof PeerFrameType];

/** HELLO role byte. */
export const PeerRole = { PEER: 0, EDGE: 1 } as const;
/** One of the {@link PeerRole} values. */
export type PeerRoleValue = (typeof PeerRole)[keyof typeof PeerRole];

/** REJECT reason byte. */
export const RejectReason = { NOT_HELD: 1, BUSY: 2, OVER_SHARE: 3, BANNED: 4 } as const;
/** One of the {@link RejectReason} values. */
export type RejectReasonValue = (typeof RejectReason)[keyof typeof RejectReason];

/** BYE reason byte. */
export const ByeReason = { LEAVING: 0, PROTOCOL_ERROR: 1, BANNED: 2, REPLACED: 3 } as const;
/** One of the {@link ByeReason} values. */
export type ByeReasonValue = (typeof ByeReason)[keyof typeof ByeReason];

/** HAVE flag: the chunk starts with a random-access point (a joiner may start there). */
export const HAVE_FLAG_RANDOM_ACCESS = 0x01;
/** REQUEST flag: the requester's deadline forced this request (edge fallback or a duplicate). */
export const REQUEST_FLAG_URGENT = 0x01;
/**
 * REQUEST flag: a standing request for a chunk the receiver does not hold yet (the next chunk of a
 * substream): send it as soon as it arrives, before announcing it. Push without unsolicited data.
 */
export const REQUEST_FLAG_AHEAD = 0x02;
/**
 * REQUEST flag: the requester holds part of the chunk (its head, some pieces: it announced it) and
 * its transfer stalled. Without it, a request for a chunk the requester announced is a lie.
 */
export const REQUEST_FLAG_RESUME = 0x04;
/** Bytes of a peer id. */
export const PEER_ID_BYTES = 16;
/** Largest control frame: a BUFFER_MAP of 4096 chunks. */
export const CONTROL_FRAME_MAX_BYTES = 7 + BUFFER_MAP_MAX_CHUNKS / 4;

/** A decoded frame. Buffers are slices of the input. */
export type PeerFrame =
  | {
      readonly type: typeof PeerFrameType.HELLO;
      readonly version: number;
      readonly role: PeerRoleValue;
      /** Edge only: the share of peers (per mille) that should fetch each fresh chunk from the edge. */
      readonly seedPermille: number;
      readonly channelId: Buffer;
      readonly publicKey: Buffer;
      readonly peerId: Buffer;
    }
  | {
      readonly type: typeof PeerFrameType.BUFFER_MAP;
      readonly base: number;
      readonly count: number;
      /** Bit i (MSB first): chunk base + i is held. */
      readonly bitmap: Buffer;
      /** Bit i (MSB first): chunk base + i starts with a random-access point. */
      readonly rapBitmap: Buffer;
    }
  | { readonly type: typeof PeerFrameType.HAVE; readonly seq: number; readonly randomAccess: boolean }
  | {
      readonly type: typeof PeerFrameType.REQUEST;
      readonly seq: number;
      readonly urgent: boolean;
      /** A standing request for a chunk not held yet ({@link REQUEST_FLAG_AHEAD}); default false. */
      readonly ahead?: boolean;
      /** The requester holds part of the chunk ({@link REQUEST_FLAG_RESUME}); default false. */
      readonly resume?: boolean;
      /**
       * With `resume`: the requester holds the head and every piece before this one, so the
       * sender sends the head and the pieces from here on; default 0 (the whole chunk).
       */
      readonly fromPiece?: number;
    }
  | { readonly type: typeof PeerFrameType.CANCEL; readonly seq: number }
  | { readonly type: typeof PeerFrameType.DATA; readonly chunk: Buffer }
  | { readonly type: typeof PeerFrameType.REJECT; readonly seq: number; readonly reason: RejectReasonValue }
  | { readonly type: typeof PeerFrameType.CHOKE; readonly ms: number }
  | { readonly type: typeof PeerFrameType.BYE; readonly reason: ByeReasonValue }
  /** A chunk's head, as a slice: the receiver decodes and verifies it (chunk.ts). */
  | { readonly type: typeof PeerFrameType.HEAD; readonly head: Buffer }
  | {
      readonly type: typeof PeerFrameType.PIECE;
      readonly seq: number;
      readonly index: number;
      /** A slice of the input (on encode: copied after the 7-byte prefix). */
      readonly piece: Buffer;
    };

/** Whether frames of `type` travel on the data conversation (DATA, HEAD, PIECE). */
export function isDataFrameType(type: number): boolean {
  return type === PeerFrameType.DATA || type === PeerFrameType.HEAD || type === PeerFrameType.PIECE;
}

const HELLO_BYTES = 5 + CHANNEL_ID_BYTES + PUBLIC_KEY_BYTES + PEER_ID_BYTES;

/** Bytes {@link encodePeerFrame} writes for `frame`. */
export function peerFrameBytes(frame: PeerFrame): number {
  switch (frame.type) {
    case PeerFrameType.HELLO:
      return HELLO_BYTES;
    case PeerFrameType.BUFFER_MAP:
      return 7 + 2 * Math.ceil(frame.count / 8);
    case PeerFrameType.REQUEST:
      return frame.resume === true ? 8 : 6;
    case PeerFrameType.HAVE:
    case PeerFrameType.REJECT:
      return 6;
    case PeerFrameType.DATA:
      return 1 + frame.chunk.length;
    case PeerFrameType.HEAD:
      return 1 + frame.head.length;
    case PeerFrameType.PIECE:
      return 7 + frame.piece.length;
    case PeerFrameType.BYE:
      return 2;
    default:
      return 5;
  }
}

/** Encodes one frame into a new Buffer (sized once). DATA, HEAD and PIECE copy their bytes. */
export function encodePeerFrame(frame: PeerFrame): Buffer {
  const out = Buffer.allocUnsafe(peerFrameBytes(frame));
  out[0] = frame.type;
  switch (frame.type) {
    case PeerFrameType.HELLO:
      out[1] = frame.version;
      out[2] = frame.role;
      out.writeUInt16BE(frame.seedPermille, 3);
      frame.channelId.copy(out, 5);
      frame.publicKey.copy(out, 5 + CHANNEL_ID_BYTES);
      frame.peerId.copy(out, 5 + CHANNEL_ID_BYTES + PUBLIC_KEY_BYTES);
      break;
    case PeerFrameType.BUFFER_MAP:
      out.writeUInt32BE(frame.base, 1);
      out.writeUInt16BE(frame.count, 5);
      out.fill(0, 7);
      frame.bitmap.copy(out, 7, 0, Math.ceil(frame.count / 8));
      frame.rapBitmap.copy(out, 7 + Math.ceil(frame.count / 8), 0, Math.ceil(frame.count / 8));
      break;
    case PeerFrameType.HAVE:
      out.writeUInt32BE(frame.seq, 1);
      out[5] = frame.randomAccess ? HAVE_FLAG_RANDOM_ACCESS : 0;
      break;
    case PeerFrameType.CANCEL:
      out.writeUInt32BE(frame.seq, 1);
      break;
    case PeerFrameType.REQUEST:
      out.writeUInt32BE(frame.seq, 1);
      out[5] =
        (frame.urgent ? REQUEST_FLAG_URGENT : 0) |
        (frame.ahead === true ? REQUEST_FLAG_AHEAD : 0) |
        (frame.resume === true ? REQUEST_FLAG_RESUME : 0);
      if (frame.resume === true) out.writeUInt16BE(frame.fromPiece ?? 0, 6);
      break;
    case PeerFrameType.DATA:
      frame.chunk.copy(out, 1);
      break;
    case PeerFrameType.HEAD:
      frame.head.copy(out, 1);
      break;
    case PeerFrameType.PIECE:
      out.writeUInt32BE(frame.seq, 1);
      out.writeUInt16BE(frame.index, 5);
      frame.piece.copy(out, 7);
      break;
    case PeerFrameType.REJECT:
      out.writeUInt32BE(frame.seq, 1);
      out[5] = frame.reason;
      break;
    case PeerFrameType.CHOKE:
      out.writeUInt32BE(frame.ms, 1);
      break;
    case PeerFrameType.BYE:
      out[1] = frame.reason;
      break;
  }
  return out;
}

/**
 * Decodes one frame (a whole ARQ message). The chunk of a DATA frame, the head of a HEAD frame
 * and the bytes of a PIECE are returned as slices, not decoded: the receiver decodes and verifies
 * them (chunk.ts) before anything else.
 * @throws ParseError `ERR_LIVE_TRUNCATED` (at the length), `ERR_LIVE_BAD_TYPE` (0),
 *   `ERR_LIVE_BAD_VERSION` (HELLO at 1), `ERR_LIVE_BAD_VALUE` (an unknown role, reason or flag,
 *   a seed share over 1000, a map of more than 4096 chunks, a piece index past 1023), `ERR_LIVE_BAD_LENGTH` (a bitmap of
 *   the wrong size), `ERR_LIVE_TRAILING_BYTES` (bytes after a fixed-size frame).
 */
export function decodePeerFrame(data: Buffer): PeerFrame {
  if (data.length < 1) throw new ParseError(LiveParseCode.TRUNCATED, 'an empty frame', 0);
  const type = data[0]!;
  switch (type) {
    case PeerFrameType.HELLO: {
      fixed(data, HELLO_BYTES);
      if (data[1] !== PEER_PROTOCOL_VERSION)
        throw new ParseError(LiveParseCode.BAD_VERSION, `version ${data[1]}`, 1);
      const role = data[2]!;
      if (role !== PeerRole.PEER && role !== PeerRole.EDGE) throw bad('role', 2);
      const seedPermille = data.readUInt16BE(3);
      if (seedPermille > 1000) throw bad('seed share', 3);
      const key = 5 + CHANNEL_ID_BYTES;
      return {
        type,
        version: PEER_PROTOCOL_VERSION,
        role,
        seedPermille,
        channelId: data.subarray(5, key),
        publicKey: data.subarray(key, key + PUBLIC_KEY_BYTES),
        peerId: data.subarray(key + PUBLIC_KEY_BYTES, HELLO_BYTES),
      };
    }
    case PeerFrameType.BUFFER_MAP: {
      if (data.length < 7)
        throw new ParseError(LiveParseCode.TRUNCATED, 'a BUFFER_MAP needs 7 bytes', data.length);
      const count = data.readUInt16BE(5);
      if (count > BUFFER_MAP_MAX_CHUNKS) throw bad('buffer map size', 5);
      const bytes = Math.ceil(count / 8);
      if (data.length !== 7 + 2 * bytes) {
        throw new ParseError(
          LiveParseCode.BAD_LENGTH,
          `a map of ${count} chunks needs ${2 * bytes} bytes`,
          7,
        );
      }
      const base = data.readUInt32BE(1);
      if (base + count > 2 ** 32) throw bad('buffer map range', 1);
      return { type, base, count, bitmap: data.subarray(7, 7 + bytes), rapBitmap: data.subarray(7 + bytes) };
    }
    case PeerFrameType.HAVE: {
      fixed(data, 6);
      const flags = data[5]!;
      if ((flags & ~HAVE_FLAG_RANDOM_ACCESS) !== 0)
        throw new ParseError(LiveParseCode.RESERVED, 'have flags', 5);
      return { type, seq: data.readUInt32BE(1), randomAccess: flags !== 0 };
    }
    case PeerFrameType.CANCEL:
      fixed(data, 5);
      return { type, seq: data.readUInt32BE(1) };
    case PeerFrameType.REQUEST: {
      if (data.length < 6) fixed(data, 6);
      const flags = data[5]!;
      if ((flags & ~(REQUEST_FLAG_URGENT | REQUEST_FLAG_AHEAD | REQUEST_FLAG_RESUME)) !== 0)
        throw new ParseError(LiveParseCode.RESERVED, 'request flags', 5);
      const resume = (flags & REQUEST_FLAG_RESUME) !== 0;
      fixed(data, resume ? 8 : 6);
      const seq = data.readUInt32BE(1);
      const urgent = (flags & REQUEST_FLAG_URGENT) !== 0;
      if ((flags & (REQUEST_FLAG_AHEAD | REQUEST_FLAG_RESUME)) === 0) return { type, seq, urgent };
      const fromPiece = resume ? data.readUInt16BE(6) : 0;
      if (fromPiece >= CHUNK_MAX_PIECES) throw bad('request from piece', 6);
      return {
        type,
        seq,
        urgent,
        ...((flags & REQUEST_FLAG_AHEAD) !== 0 ? { ahead: true } : {}),
        ...(resume ? { resume: true, fromPiece } : {}),
      };
    }
    case PeerFrameType.DATA:
      if (data.length < 2) throw new ParseError(LiveParseCode.TRUNCATED, 'an empty DATA frame', 1);
      return { type, chunk: data.subarray(1) };
    case PeerFrameType.HEAD:
      if (data.length < 2) throw new ParseError(LiveParseCode.TRUNCATED, 'an empty HEAD frame', 1);
      return { type, head: data.subarray(1) };
    case PeerFrameType.PIECE: {
      if (data.length < 8)
        throw new ParseError(LiveParseCode.TRUNCATED, 'a PIECE needs 8 bytes', data.length);
      const index = data.readUInt16BE(5);
      if (index >= CHUNK_MAX_PIECES) throw bad('piece index', 5);
      return { type, seq: data.readUInt32BE(1), index, piece: data.subarray(7) };
    }
    case PeerFrameType.REJECT: {
      fixed(data, 6);
      const reason = data[5]!;
      if (reason < RejectReason.NOT_HELD || reason > RejectReason.BANNED) throw bad('reject reason', 5);
      return { type, seq: data.readUInt32BE(1), reason: reason as RejectReasonValue };
    }
    case PeerFrameType.CHOKE:
      fixed(data, 5);
      return { type, ms: data.readUInt32BE(1) };
    case PeerFrameType.BYE: {
      fixed(data, 2);
      const reason = data[1]!;
      if (reason > ByeReason.REPLACED) throw bad('bye reason', 1);
      return { type, reason: reason as ByeReasonValue };
    }
    default:
      throw new ParseError(LiveParseCode.BAD_TYPE, `unknown frame type ${type}`, 0);
  }
}

function fixed(data: Buffer, bytes: number): void {
  if (data.length < bytes)
    throw new ParseError(LiveParseCode.TRUNCATED, `frame needs ${bytes} bytes`, data.length);
  if (data.length > bytes) throw new ParseError(LiveParseCode.TRAILING, `frame is ${bytes} bytes`, bytes);
}

function bad(what: string, offset: number): ParseError {
  return new ParseError(LiveParseCode.BAD_VALUE, `bad ${what}`, offset);
}
