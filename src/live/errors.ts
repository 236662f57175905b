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
