/**
 * The signed chunk: a numbered piece of a channel's MPEG-TS stream, signed by the source.
 *
 * ```
 *  0       1       2               4
 *  +-------+-------+---------------+
 *  |version| flags |  reserved = 0 |
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
 *  |   SHA-256 of the payload (32 bytes)                     |  56
 *  +-------------------------------+
 *  |   Ed25519 signature (64 bytes) over                      |  88
 *  |   "porthole-live-chunk-v1" || bytes 0..88                |
 *  +-------------------------------+
 *  |   payload: MPEG-TS packets (188 bytes, each 0x47 ...)    |  152
 *  +-------------------------------+
 * ```
 *
 * Integers are big-endian. flags: bit 0 = starts with a random-access point, bit 1 =
 * discontinuity; bits 2–7 are zero in version 1. The header is signed, and it carries the
 * payload's hash, so one signature covers every byte (PPSPP's "sign all", RFC 7574 §6.1). The
 * signature sits before the payload so a receiver can check the header before the payload ends.
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
  CHUNK_VERSION,
  SIGNATURE_BYTES,
  TS_PACKET_BYTES,
  TS_SYNC_BYTE,
} from './constants.ts';
import { ChunkRejection, type ChunkRejectionType, LiveParseCode } from './errors.ts';

/** Domain separation: a chunk signature can never be replayed as another porthole signature. */
const SIGNING_CONTEXT = Buffer.from('porthole-live-chunk-v1', 'ascii');
/** Offset of the payload: header then signature. */
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
}

/** A decoded chunk. Its Buffers are slices of the decoded bytes, never copies. */
export interface Chunk {
  readonly version: number;
  readonly flags: number;
  readonly channelId: Buffer;
  readonly seq: number;
  readonly timestampMs: number;
  readonly durationMs: number;
  readonly payloadHash: Buffer;
  readonly signature: Buffer;
  readonly payload: Buffer;
  /** The whole encoded chunk, forwarded as received. */
  readonly bytes: Buffer;
}

/**
 * Encodes and signs a chunk for `channel`.
 * @throws ConfigError `ERR_INVALID_OPTION` for a field outside its range or a payload that is not
 *   whole MPEG-TS packets.
 */
export function signChunk(channel: ChannelSigner, init: ChunkInit): Buffer {
  const { seq, timestampMs, durationMs, flags, payload } = init;
  if (!Number.isInteger(seq) || seq < 0 || seq >= TWO_32) invalid('seq', 'a u32');
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) invalid('timestampMs', 'an integer 0 to 2^53-1');
  if (!Number.isInteger(durationMs) || durationMs < 1 || durationMs >= TWO_32)
    invalid('durationMs', '1 to 2^32-1');
  if (!Number.isInteger(flags) || (flags & ~CHUNK_FLAGS_KNOWN) !== 0) invalid('flags', 'CHUNK_FLAG_* bits');
  if (payload.length > CHUNK_MAX_PAYLOAD_BYTES || checkTsPackets(payload, 0, payload.length) >= 0) {
    invalid('payload', `whole 188-byte MPEG-TS packets, at most ${CHUNK_MAX_PAYLOAD_BYTES} bytes`);
  }
  const out = Buffer.allocUnsafe(CHUNK_PAYLOAD_OFFSET + payload.length);
  out[0] = CHUNK_VERSION;
  out[1] = flags;
  out.writeUInt16BE(0, 2);
  channel.id.copy(out, 4);
  out.writeUInt32BE(seq, 36);
  out.writeUInt32BE(Math.floor(timestampMs / TWO_32), 40);
  out.writeUInt32BE(timestampMs % TWO_32, 44);
  out.writeUInt32BE(durationMs, 48);
  out.writeUInt32BE(payload.length, 52);
  createHash('sha256').update(payload).digest().copy(out, 56);
  const signature = sign(null, signedBytes(out), channel.privateKey);
  signature.copy(out, CHUNK_HEADER_BYTES);
  out.set(payload, CHUNK_PAYLOAD_OFFSET);
  return out;
}

/**
 * Decodes the structure of a chunk (not its signature: see {@link verifyChunk}).
 * @throws ParseError `ERR_LIVE_TRUNCATED`, `ERR_LIVE_BAD_VERSION` (offset 0), `ERR_LIVE_RESERVED`
 *   (unknown flag bits at 1, reserved bytes at 2), `ERR_LIVE_BAD_VALUE` (a timestamp past 2^53 at
 *   40, a zero duration at 48), `ERR_LIVE_BAD_LENGTH` (payload length at 52), `ERR_LIVE_BAD_TS`
 *   (at the first packet without its sync byte).
 */
export function decodeChunk(data: Buffer): Chunk {
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
  if (data[2] !== 0 || data[3] !== 0)
    throw new ParseError(LiveParseCode.RESERVED, 'reserved bytes not zero', 2);
  const high = data.readUInt32BE(40);
  if (high >= 2 ** 21) throw new ParseError(LiveParseCode.BAD_VALUE, 'timestamp past 2^53 ms', 40);
  const durationMs = data.readUInt32BE(48);
  if (durationMs === 0) throw new ParseError(LiveParseCode.BAD_VALUE, 'zero chunk duration', 48);
  const length = data.readUInt32BE(52);
  if (length !== data.length - CHUNK_PAYLOAD_OFFSET || length > CHUNK_MAX_PAYLOAD_BYTES) {
    throw new ParseError(LiveParseCode.BAD_LENGTH, `payload length ${length} disagrees with the chunk`, 52);
  }
  const bad = checkTsPackets(data, CHUNK_PAYLOAD_OFFSET, length);
  if (bad >= 0) throw new ParseError(LiveParseCode.BAD_TS, 'payload is not whole MPEG-TS packets', bad);
  return {
    version,
    flags,
    channelId: data.subarray(4, 4 + CHANNEL_ID_BYTES),
    seq: data.readUInt32BE(36),
    timestampMs: high * TWO_32 + data.readUInt32BE(44),
    durationMs,
    payloadHash: data.subarray(56, CHUNK_HEADER_BYTES),
    signature: data.subarray(CHUNK_HEADER_BYTES, CHUNK_PAYLOAD_OFFSET),
    payload: data.subarray(CHUNK_PAYLOAD_OFFSET),
    bytes: data,
  };
}

/**
 * Checks a decoded chunk against its channel: channel id, payload hash, then the Ed25519
 * signature. Returns `null` when every byte is the source's, else why not.
 */
export function verifyChunk(chunk: Chunk, channel: ChannelKey): ChunkRejectionType | null {
  if (!timingSafeEqual(chunk.channelId, channel.id)) return ChunkRejection.WRONG_CHANNEL;
  const hash = createHash('sha256').update(chunk.payload).digest();
  if (!timingSafeEqual(hash, chunk.payloadHash)) return ChunkRejection.PAYLOAD_HASH;
  if (!verify(null, signedBytes(chunk.bytes), channel.keyObject, chunk.signature))
    return ChunkRejection.SIGNATURE;
  return null;
}

/** The chunk's sequence number without decoding it, or -1 when too short. Never throws. */
export function peekChunkSeq(data: Buffer): number {
  return data.length < CHUNK_PAYLOAD_OFFSET ? -1 : data.readUInt32BE(36);
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
