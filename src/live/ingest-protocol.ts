/**
 * The source → edge ingest protocol's constants (docs/live.md "Source and ingest").
 *
 * One ARQ conversation per publisher and edge, message mode, over the ingest frames of
 * ingest-link.ts. The publisher opens it with a conversation id {@link INGEST_CONV_TAG} | 24 random
 * bits, fresh on every (re)connection so a restarted side never resumes a stale conversation.
 * Messages: a signed chunk (its first byte is the chunk version, 2) or a heartbeat (one byte,
 * {@link INGEST_HEARTBEAT}); both sides send a heartbeat each {@link INGEST_HEARTBEAT_MS}, and a
 * side that hears nothing for {@link INGEST_IDLE_TIMEOUT_MS} ends the conversation (the publisher
 * then reconnects).
 * @module
 */
import { ARQ_TURBO, type ArqTuning, KCP_OVERHEAD, KCP_WND_RCV } from '../arq/index.ts';
import { CHUNK_PAYLOAD_OFFSET } from './chunk.ts';
import { CHUNK_PIECE_DEFAULT_PACKETS, PIECE_HASH_BYTES, TS_PACKET_BYTES } from './constants.ts';
import { INGEST_HEADER_BYTES } from './ingest-link.ts';

/** Top byte of every ingest conversation id ('I'). */
export const INGEST_CONV_TAG = 0x49_00_00_00;
/** Mask of the tag byte of a conversation id. */
export const INGEST_CONV_TAG_MASK = 0xff_00_00_00;
/** The heartbeat message. */
export const INGEST_HEARTBEAT = Buffer.from([0x00]);
/** Heartbeat period, ms. */
export const INGEST_HEARTBEAT_MS = 1000;
/** Silence after which a side ends the conversation, ms (three heartbeats). */
export const INGEST_IDLE_TIMEOUT_MS = 3000;
/** Bytes of a piece of the default size. */
const PIECE_BYTES = CHUNK_PIECE_DEFAULT_PACKETS * TS_PACKET_BYTES;
/** Largest ingest datagram, bytes (the 2-byte ingest header included). */
export const INGEST_MTU_BYTES = 1400;
/** ARQ settings of both ends: the low-latency preset, wide windows, datagrams ≤ {@link INGEST_MTU_BYTES}. */
export const INGEST_ARQ: ArqTuning = {
  ...ARQ_TURBO,
  mode: 'message',
  sendWindow: 256,
  receiveWindow: 256,
  maxWaitSegments: 256,
  mtu: INGEST_MTU_BYTES - INGEST_HEADER_BYTES,
};
/** Largest message of one ingest conversation (127 fragments: the KCP limit), bytes. */
export const INGEST_MAX_MESSAGE_BYTES =
  (KCP_WND_RCV - 1) * (INGEST_MTU_BYTES - INGEST_HEADER_BYTES - 1 - KCP_OVERHEAD);
/**
 * Largest chunk payload that fits one ingest message with its head (one 32-byte hash per piece of
 * the default size, and one for a last partial piece), bytes (whole TS packets).
 */
export const INGEST_MAX_PAYLOAD_BYTES =
  Math.floor(
    ((INGEST_MAX_MESSAGE_BYTES - CHUNK_PAYLOAD_OFFSET - PIECE_HASH_BYTES) * PIECE_BYTES) /
      (PIECE_BYTES + PIECE_HASH_BYTES) /
      TS_PACKET_BYTES,
  ) * TS_PACKET_BYTES;

/** A fresh ingest conversation id. */
export function newIngestConv(random: () => number = Math.random): number {
  return (INGEST_CONV_TAG | Math.floor(random() * 0x1_00_00_00)) >>> 0;
}

/** Whether `conv` is an ingest conversation id. */
export function isIngestConv(conv: number): boolean {
  return (conv & INGEST_CONV_TAG_MASK) >>> 0 === INGEST_CONV_TAG;
}
