/**
 * The signed chunk: a numbered piece of a channel's MPEG-TS stream, signed by the source, cut into
 * pieces that are each verifiable on their own.
 *
 * ```
 *  0       1       2               4
 *  +-------+-------+---------------+
 *  |version| flags | piece packets |  version 2; piece size in 188-byte packets, u16 > 0
 *  +-------+-------+---------------+
 *  |    channel id (32 bytes: SHA-256 of the public key)     |  4
 *  +-------------------------------+
 *  |       sequence number         |  36  u32
 *  +-------------------------------+
 *  |   source timestamp, ms (u64)  |  40  Unix ms when the source cut the chunk
 *  |                               |
 *  +-------------------------------+
 *  |         duration, ms          |  48  u32
 *  +-------------------------------+
 *  |    payload length, bytes      |  52  u32, a multiple of 188
 *  +-------------------------------+
 *  |   SHA-256 of the piece hashes (32 bytes)                |  56
 *  +-------------------------------+
 *  |   Ed25519 signature (64 bytes) over                      |  88
 *  |   "porthole-live-chunk-v2" || bytes 0..88                |
 *  +-------------------------------+
 *  |   piece hashes: SHA-256 of each piece, 32 bytes each     |  152
 *  +-------------------------------+
 *  |   payload: MPEG-TS packets (188 bytes, each 0x47 ...)    |  152 + 32 × pieces
 *  +-------------------------------+
 * ```
 *
 * Integers are big-endian. flags: bit 0 = starts with a random-access point, bit 1 =
 * discontinuity; bits 2–7 are zero. The payload is cut into pieces of `piece packets` × 188 bytes
 * (the last one shorter); pieces = ceil(payload length / piece bytes), at most 1024. The bytes before
 * the payload are the chunk's **head**: the signature covers the header, the header the hash list,
 * the list every piece (PPSPP's "sign all" with a one-level hash list, RFC 7574 §6.1, §5.5): a
 * receiver verifies the head once, then each piece as it arrives, and forwards a piece the moment
 * it is verified instead of after the whole chunk.
 * @module
 */
import { createHash, sign, timingSafeEqual, verify } from 'node:crypto';
import { InvalidOptionError, ParseError } from '../errors/index.ts';
import type { ChannelKey, ChannelSigner } from './channel.ts';
import {
  CHANNEL_ID_BYTES,
  CHUNK_FLAGS_KNOWN,
  CHUNK_HEADER_BYTES,
  CHUNK_MAX_PAYLOAD_BYTES,
  CHUNK_MAX_PIECES,
  CHUNK_PIECE_DEFAULT_PACKETS,
  CHUNK_VERSION,
  PIECE_HASH_BYTES,
  SIGNATURE_BYTES,
  TS_PACKET_BYTES,
  TS_SYNC_BYTE,
} from './constants.ts';
import { ChunkRejection, type ChunkRejectionType, LiveParseCode } from './errors.ts';

/** Domain separation: a chunk signature can never be replayed as another porthole signature. */
const SIGNING_CONTEXT = Buffer.from('porthole-live-chunk-v2', 'ascii');
/** Offset of the piece hashes (the head's fixed part): header then signature. */
export const CHUNK_PAYLOAD_OFFSET = CHUNK_HEADER_BYTES + SIGNATURE_BYTES;
const TWO_32 = 2 ** 32;

/** What the source puts in a chunk. */
export interface ChunkInit {
  /** Sequence number, u32. */
  readonly seq: number;
  /** Unix ms when the source cut the chunk, 0 to 2^53-1. */
  readonly timestampMs: number;
  /** Media duration, ms, 1 to 2^32-1. */
  readonly durationMs: number;
  /** Bit set of `CHUNK_FLAG_*`. */
  readonly flags: number;
  /** Whole MPEG-TS packets. */
  readonly payload: Uint8Array;
  /** Piece size, TS packets, 1 to 65535; default {@link CHUNK_PIECE_DEFAULT_PACKETS} (at most 1024 pieces). */
  readonly piecePackets?: number;
}

/** A decoded chunk head: everything but the payload. Its Buffers are slices of the input. */
export interface ChunkHead {
  readonly version: number;
  readonly flags: number;
  readonly channelId: Buffer;
  readonly seq: number;
  readonly timestampMs: number;
  readonly durationMs: number;
  /** Payload length, bytes. */
  readonly payloadBytes: number;
  /** Bytes of every piece but the last. */
  readonly pieceBytes: number;
  readonly pieceCount: number;
  /** Header bytes 56..88: SHA-256 of {@link pieceHashes}. */
  readonly payloadHash: Buffer;
  readonly signature: Buffer;
  /** 32 bytes per piece. */
  readonly pieceHashes: Buffer;
  /** The whole head (header, signature, piece hashes), forwarded as received. */
  readonly head: Buffer;
}

/** A decoded chunk. Its Buffers are slices of the decoded bytes, never copies. */
export interface Chunk extends ChunkHead {
  readonly payload: Buffer;
  /** The whole encoded chunk (head then payload). */
  readonly bytes: Buffer;
}

/**
 * Encodes and signs a chunk for `channel`.
 * @throws ConfigError `ERR_INVALID_OPTION` for a field outside its range, a payload that is not
 *   whole MPEG-TS packets, or a piece size that cuts it into more than 1024 pieces.
 */
export function signChunk(channel: ChannelSigner, init: ChunkInit): Buffer {
  const { seq, timestampMs, durationMs, flags, payload } = init;
  const piecePackets = init.piecePackets ?? CHUNK_PIECE_DEFAULT_PACKETS;
  if (!Number.isInteger(seq) || seq < 0 || seq >= TWO_32) invalid('seq', 'a u32');
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) invalid('timestampMs', 'an integer 0 to 2^53-1');
  if (!Number.isInteger(durationMs) || durationMs < 1 || durationMs >= TWO_32)
    invalid('durationMs', '1 to 2^32-1');
  if (!Number.isInteger(flags) || (flags & ~CHUNK_FLAGS_KNOWN) !== 0) invalid('flags', 'CHUNK_FLAG_* bits');
  if (payload.length > CHUNK_MAX_PAYLOAD_BYTES || checkTsPackets(payload, 0, payload.length) >= 0) {
    invalid('payload', `whole 188-byte MPEG-TS packets, at most ${CHUNK_MAX_PAYLOAD_BYTES} bytes`);
  }
  if (!Number.isInteger(piecePackets) || piecePackets < 1 || piecePackets > 0xffff)
    invalid('piecePackets', '1 to 65535');
  const pieceBytes = piecePackets * TS_PACKET_BYTES;
  const count = piecesOf(payload.length, pieceBytes);
  if (count > CHUNK_MAX_PIECES)
    invalid('piecePackets', `large enough for at most ${CHUNK_MAX_PIECES} pieces`);
  const offset = CHUNK_PAYLOAD_OFFSET + count * PIECE_HASH_BYTES;
  const out = Buffer.allocUnsafe(offset + payload.length);
  out[0] = CHUNK_VERSION;
  out[1] = flags;
  out.writeUInt16BE(piecePackets, 2);
  channel.id.copy(out, 4);
  out.writeUInt32BE(seq, 36);
  out.writeUInt32BE(Math.floor(timestampMs / TWO_32), 40);
  out.writeUInt32BE(timestampMs % TWO_32, 44);
  out.writeUInt32BE(durationMs, 48);
  out.writeUInt32BE(payload.length, 52);
  for (let i = 0; i < count; i++) {
    const from = i * pieceBytes;
    createHash('sha256')
      .update(payload.subarray(from, Math.min(payload.length, from + pieceBytes)))
      .digest()
      .copy(out, CHUNK_PAYLOAD_OFFSET + i * PIECE_HASH_BYTES);
  }
  createHash('sha256').update(out.subarray(CHUNK_PAYLOAD_OFFSET, offset)).digest().copy(out, 56);
  const signature = sign(null, signedBytes(out), channel.privateKey);
  signature.copy(out, CHUNK_HEADER_BYTES);
  out.set(payload, offset);
  return out;
}

/**
 * Decodes the structure of a chunk head: exactly the head's bytes, or with `whole` a head
 * followed by its whole payload (not the signature: see {@link verifyChunkHead}).
 * @throws ParseError `ERR_LIVE_TRUNCATED`, `ERR_LIVE_BAD_VERSION` (offset 0), `ERR_LIVE_RESERVED`
 *   (unknown flag bits at 1), `ERR_LIVE_BAD_VALUE` (a zero piece size at 2, a timestamp past 2^53
 *   at 40, a zero duration at 48, more than 1024 pieces at 52), `ERR_LIVE_BAD_LENGTH` (payload
 *   length at 52, or bytes that are not the head at 152).
 */
export function decodeChunkHead(data: Buffer, whole = false): ChunkHead {
  if (data.length < CHUNK_PAYLOAD_OFFSET) {
    throw new ParseError(
      LiveParseCode.TRUNCATED,
      `a chunk needs at least ${CHUNK_PAYLOAD_OFFSET} bytes`,
      data.length,
    );
  }
  const version = data[0]!;
  if (version !== CHUNK_VERSION)
    throw new ParseError(LiveParseCode.BAD_VERSION, `chunk version ${version}`, 0);
  const flags = data[1]!;
  if ((flags & ~CHUNK_FLAGS_KNOWN) !== 0)
    throw new ParseError(LiveParseCode.RESERVED, 'unknown chunk flags', 1);
  const piecePackets = data.readUInt16BE(2);
  if (piecePackets === 0) throw new ParseError(LiveParseCode.BAD_VALUE, 'zero piece size', 2);
  const high = data.readUInt32BE(40);
  if (high >= 2 ** 21) throw new ParseError(LiveParseCode.BAD_VALUE, 'timestamp past 2^53 ms', 40);
  const durationMs = data.readUInt32BE(48);
  if (durationMs === 0) throw new ParseError(LiveParseCode.BAD_VALUE, 'zero chunk duration', 48);
  const length = data.readUInt32BE(52);
  if (length > CHUNK_MAX_PAYLOAD_BYTES || length % TS_PACKET_BYTES !== 0)
    throw new ParseError(LiveParseCode.BAD_LENGTH, `payload length ${length}`, 52);
  const pieceBytes = piecePackets * TS_PACKET_BYTES;
  const count = piecesOf(length, pieceBytes);
  if (count > CHUNK_MAX_PIECES)
    throw new ParseError(LiveParseCode.BAD_VALUE, `${count} pieces, at most ${CHUNK_MAX_PIECES}`, 52);
  const headBytes = CHUNK_PAYLOAD_OFFSET + count * PIECE_HASH_BYTES;
  if (data.length !== headBytes + (whole ? length : 0)) {
    if (whole) {
      throw new ParseError(LiveParseCode.BAD_LENGTH, `payload length ${length} disagrees with the chunk`, 52);
    }
    throw new ParseError(LiveParseCode.BAD_LENGTH, `a head of ${count} pieces is ${headBytes} bytes`, 152);
  }
  return {
    version,
    flags,
    channelId: data.subarray(4, 4 + CHANNEL_ID_BYTES),
    seq: data.readUInt32BE(36),
    timestampMs: high * TWO_32 + data.readUInt32BE(44),
    durationMs,
    payloadBytes: length,
    pieceBytes,
    pieceCount: count,
    payloadHash: data.subarray(56, CHUNK_HEADER_BYTES),
    signature: data.subarray(CHUNK_HEADER_BYTES, CHUNK_PAYLOAD_OFFSET),
    pieceHashes: data.subarray(CHUNK_PAYLOAD_OFFSET, headBytes),
    // A head decoded alone is the input itself: forwarded as received, one object (the simulator
    // memoises its verification by it).
    head: whole ? data.subarray(0, headBytes) : data,
  };
}

/**
 * Decodes the structure of a whole chunk (not its signature: see {@link verifyChunk}).
 * @throws ParseError as {@link decodeChunkHead}, and `ERR_LIVE_BAD_TS` (at the first packet
 *   without its sync byte).
 */
export function decodeChunk(data: Buffer): Chunk {
  const head = decodeChunkHead(data, true);
  const offset = head.head.length;
  const bad = checkTsPackets(data, offset, head.payloadBytes);
  if (bad >= 0) throw new ParseError(LiveParseCode.BAD_TS, 'payload is not whole MPEG-TS packets', bad);
  return { ...head, payload: data.subarray(offset), bytes: data };
}

/** A chunk from a verified head and its assembled payload (the caller verified every piece). */
export function chunkOf(head: ChunkHead, payload: Buffer, bytes: Buffer): Chunk {
  return { ...head, payload, bytes };
}

/**
 * Checks a decoded head against its channel: channel id, the hash of its piece hashes, then the
 * Ed25519 signature. Returns `null` when the head is the source's, else why not.
 */
export function verifyChunkHead(head: ChunkHead, channel: ChannelKey): ChunkRejectionType | null {
  if (!timingSafeEqual(head.channelId, channel.id)) return ChunkRejection.WRONG_CHANNEL;
  const hash = createHash('sha256').update(head.pieceHashes).digest();
  if (!timingSafeEqual(hash, head.payloadHash)) return ChunkRejection.PAYLOAD_HASH;
  if (!verify(null, signedBytes(head.head), channel.keyObject, head.signature))
    return ChunkRejection.SIGNATURE;
  return null;
}

/**
 * Checks a decoded chunk against its channel: the head ({@link verifyChunkHead}) and every
 * piece. Returns `null` when every byte is the source's, else why not.
 */
export function verifyChunk(chunk: Chunk, channel: ChannelKey): ChunkRejectionType | null {
  const head = verifyChunkHead(chunk, channel);
  if (head !== null) return head;
  for (let i = 0; i < chunk.pieceCount; i++) {
    const from = i * chunk.pieceBytes;
    const piece = chunk.payload.subarray(from, Math.min(chunk.payloadBytes, from + chunk.pieceBytes));
    if (!verifyPiece(chunk, i, piece)) return ChunkRejection.PAYLOAD_HASH;
  }
  return null;
}

/** Bytes of piece `index` of a chunk with this head (the last piece may be shorter); 0 past the end. */
export function pieceLength(head: ChunkHead, index: number): number {
  if (index < 0 || index >= head.pieceCount) return 0;
  return Math.min(head.pieceBytes, head.payloadBytes - index * head.pieceBytes);
}

/**
 * Whether `piece` is piece `index` of the chunk whose (verified) head is `head`: its length, its
 * TS packets' sync bytes and its SHA-256 against the head's list. Never throws.
 */
export function verifyPiece(head: ChunkHead, index: number, piece: Uint8Array): boolean {
  const length = pieceLength(head, index);
  if (length === 0 || piece.length !== length || checkTsPackets(piece, 0, length) >= 0) return false;
  const hash = createHash('sha256').update(piece).digest();
  const at = index * PIECE_HASH_BYTES;
  return timingSafeEqual(hash, head.pieceHashes.subarray(at, at + PIECE_HASH_BYTES));
}

/** The chunk's sequence number without decoding it, or -1 when too short. Never throws. */
export function peekChunkSeq(data: Buffer): number {
  return data.length < CHUNK_PAYLOAD_OFFSET ? -1 : data.readUInt32BE(36);
}

function piecesOf(length: number, pieceBytes: number): number {
  return Math.ceil(length / pieceBytes);
}

/** Index of the first byte that breaks the 188-byte packet structure, or -1 when whole. */
function checkTsPackets(data: Uint8Array, offset: number, length: number): number {
  if (length % TS_PACKET_BYTES !== 0) return offset + length - (length % TS_PACKET_BYTES);
  for (let i = offset; i < offset + length; i += TS_PACKET_BYTES) if (data[i] !== TS_SYNC_BYTE) return i;
  return -1;
}

function signedBytes(chunk: Buffer): Buffer {
  return Buffer.concat([SIGNING_CONTEXT, chunk.subarray(0, CHUNK_HEADER_BYTES)]);
}

function invalid(name: string, what: string): never {
  throw new InvalidOptionError(name, `${name}: must be ${what}`);
}
