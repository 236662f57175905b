/**
 * Wire constants and defaults of the live layer. Each default is justified in docs/live.md
 * ("Scheduler parameters") by the swarm simulator's figures.
 * @module
 */

/** Chunk wire-format version. */
export const CHUNK_VERSION = 2;
/** Peer-protocol version carried in HELLO. */
export const PEER_PROTOCOL_VERSION = 2;
/** MPEG-TS packet size, ISO/IEC 13818-1 §2.4.3.2. */
export const TS_PACKET_BYTES = 188;
/** MPEG-TS sync byte. */
export const TS_SYNC_BYTE = 0x47;
/** Bytes of a channel id (SHA-256 of the raw Ed25519 public key). */
export const CHANNEL_ID_BYTES = 32;
/** Bytes of a raw Ed25519 public key, RFC 8032 §5.1.5. */
export const PUBLIC_KEY_BYTES = 32;
/** Bytes of an Ed25519 signature, RFC 8032 §5.1.6. */
export const SIGNATURE_BYTES = 64;
/** Bytes of the signed chunk header (payload hash included). */
export const CHUNK_HEADER_BYTES = 88;
/** Largest chunk payload accepted by the decoder: 4 MiB rounded down to whole TS packets. */
export const CHUNK_MAX_PAYLOAD_BYTES = Math.floor((4 * 1024 * 1024) / TS_PACKET_BYTES) * TS_PACKET_BYTES;
/** Most pieces one chunk may be cut into (the head carries one 32-byte hash per piece). */
export const CHUNK_MAX_PIECES = 1024;
/**
 * Default piece size, TS packets (5264 bytes, four ARQ segments): a 250 ms chunk at 2 Mbit/s is
 * 12 pieces, 384 bytes of hashes (docs/live.md, "Parameters").
 */
export const CHUNK_PIECE_DEFAULT_PACKETS = 28;
/** Bytes of a piece hash (SHA-256). */
export const PIECE_HASH_BYTES = 32;
/** Default chunk duration, ms. */
export const CHUNK_DURATION_DEFAULT_MS = 250;

/** Chunk header flag: the payload starts with a random-access point (an IDR frame). */
export const CHUNK_FLAG_RANDOM_ACCESS = 0x01;
/** Chunk header flag: the source's stream is discontinuous before this chunk. */
export const CHUNK_FLAG_DISCONTINUITY = 0x02;
/** Flag bits defined by version 1; the rest must be zero. */
export const CHUNK_FLAGS_KNOWN = CHUNK_FLAG_RANDOM_ACCESS | CHUNK_FLAG_DISCONTINUITY;

/** Most chunks a buffer map can describe (its bitmap is at most this many bits). */
export const BUFFER_MAP_MAX_CHUNKS = 4096;
/** Default sliding window of a node's buffer, chunks (64 s at 250 ms). */
export const BUFFER_WINDOW_DEFAULT_CHUNKS = 256;
/** Chunks a peer keeps behind its playout point for others (`keepBehindChunks`). */
export const KEEP_BEHIND_DEFAULT_CHUNKS = 16;
