/**
 * Error codes of the live layer. Every code is listed in docs/live.md, "Errors".
 * @module
 */
import { ErrorCode } from '../errors/index.ts';

/** Stable codes of the {@link ParseError}s the live decoders throw. */
export const LiveParseCode = {
  /** Fewer bytes than the structure needs. */
  TRUNCATED: 'ERR_LIVE_TRUNCATED',
  /** A version byte this implementation does not speak. */
  BAD_VERSION: 'ERR_LIVE_BAD_VERSION',
  /** A reserved field or flag bit is not zero. */
  RESERVED: 'ERR_LIVE_RESERVED',
  /** A length field disagrees with the bytes present or exceeds its limit. */
  BAD_LENGTH: 'ERR_LIVE_BAD_LENGTH',
  /** A chunk payload that is not whole 188-byte MPEG-TS packets starting with 0x47. */
  BAD_TS: 'ERR_LIVE_BAD_TS',
  /** An unknown peer-protocol frame type. */
  BAD_TYPE: 'ERR_LIVE_BAD_TYPE',
  /** A field outside its allowed range (a timestamp past 2^53, an empty buffer map...). */
  BAD_VALUE: 'ERR_LIVE_BAD_VALUE',
  /** Bytes left over after a complete frame. */
  TRAILING: 'ERR_LIVE_TRAILING_BYTES',
} as const;
/** One of the {@link LiveParseCode} values. */
export type LiveParseCodeType = (typeof LiveParseCode)[keyof typeof LiveParseCode];

/** Why a decoded chunk was refused by {@link verifyChunk}. */
export const ChunkRejection = {
  /** The chunk belongs to another channel. */
  WRONG_CHANNEL: 'wrong-channel',
  /** SHA-256 of the payload differs from the header's payload hash. */
  PAYLOAD_HASH: 'payload-hash',
  /** The Ed25519 signature does not verify under the channel's public key. */
  SIGNATURE: 'signature',
} as const;
/** One of the {@link ChunkRejection} values. */
export type ChunkRejectionType = (typeof ChunkRejection)[keyof typeof ChunkRejection];

/**
 * The shared code the live layer throws besides its ParseErrors (`ErrorCode` of porthole/errors):
 * `InvalidOptionError` for an option that can never work (`option` names it).
 */
export const LiveErrorCode = {
  /** `InvalidOptionError`: an option that can never work. */
  INVALID_OPTION: ErrorCode.INVALID_OPTION,
} as const;

/** Stable codes of the {@link ParseError}s the MPEG-TS parsers (mpegts-*.ts) throw. */
export const MpegTsParseCode = {
  /** Fewer bytes than a TS packet, a section or a PES header needs. */
  TRUNCATED: 'ERR_LIVE_TS_TRUNCATED',
  /** A TS packet that does not start with the sync byte 0x47. */
  SYNC: 'ERR_LIVE_TS_SYNC',
  /** An adaptation field whose length or flags do not fit its packet (or the reserved control 00). */
  BAD_ADAPTATION: 'ERR_LIVE_TS_BAD_ADAPTATION',
  /** A PSI section with a bad table id, syntax bit or length. */
  BAD_SECTION: 'ERR_LIVE_TS_BAD_SECTION',
  /** A PSI section whose CRC-32 does not match (ISO/IEC 13818-1 Annex A). */
  BAD_CRC: 'ERR_LIVE_TS_BAD_CRC',
  /** A PES header without its start code prefix or with lengths past its packet. */
  BAD_PES: 'ERR_LIVE_TS_BAD_PES',
} as const;
/** One of the {@link MpegTsParseCode} values. */
export type MpegTsParseCodeType = (typeof MpegTsParseCode)[keyof typeof MpegTsParseCode];

/** Codes of the source and ingest (source-*.ts, ingest-*.ts, ffmpeg.ts). */
export const LiveSourceErrorCode = {
  /** No ffmpeg: neither the optional @ffmpeg-installer/ffmpeg package nor `ffmpeg` on the PATH. */
  FFMPEG_MISSING: 'ERR_LIVE_FFMPEG_MISSING',
  /** An input process or socket failed (ffmpeg exited, a file could not be read). */
  INPUT_FAILED: 'ERR_LIVE_INPUT_FAILED',
  /** A channel key file that is not an Ed25519 private key in PEM (PKCS#8). */
  BAD_KEY_FILE: 'ERR_LIVE_BAD_KEY_FILE',
} as const;
/** One of the {@link LiveSourceErrorCode} values. */
export type LiveSourceErrorCodeType = (typeof LiveSourceErrorCode)[keyof typeof LiveSourceErrorCode];

/** Codes of the `TokenError`s `verifyToken` throws (docs/live.md, "Tokens"). */
export const LiveTokenCode = {
  /** Not base64url, a size no token has, an unknown version or role, a bad peer id. */
  MALFORMED: 'ERR_LIVE_TOKEN_MALFORMED',
  /** The MAC (or the holder's proof) does not verify under this secret: forged, or another secret. */
  BAD_MAC: 'ERR_LIVE_TOKEN_BAD_MAC',
  /** The token's deadline has passed. */
  EXPIRED: 'ERR_LIVE_TOKEN_EXPIRED',
} as const;
/** One of the {@link LiveTokenCode} values. */
export type LiveTokenCodeType = (typeof LiveTokenCode)[keyof typeof LiveTokenCode];

/** Codes of the `TrackerError`s a `TrackerSession` rejects with (docs/live.md, "Tracker"). */
export const LiveTrackerCode = {
  /** The tracker did not answer the JOIN (wrong address, down, or every datagram lost). */
  UNREACHABLE: 'ERR_LIVE_TRACKER_UNREACHABLE',
  /** The tracker refused the JOIN: the token or the channel key did not prove the claim. */
  REFUSED: 'ERR_LIVE_TRACKER_REFUSED',
  /** The tracker is full (nodes, channels, or the channel's nodes). */
  FULL: 'ERR_LIVE_TRACKER_FULL',
} as const;
/** One of the {@link LiveTrackerCode} values. */
export type LiveTrackerCodeType = (typeof LiveTrackerCode)[keyof typeof LiveTrackerCode];
