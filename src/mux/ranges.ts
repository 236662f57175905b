/**
 * First-byte ranges that tell protocols apart on one UDP socket.
 *
 * RFC 7983 §7 (updated by RFC 9443 §3) assigns:
 *
 * ```
 *   0 –   3  STUN                     (RFC 8489: the two top bits of a STUN message are zero)
 *  16 –  19  ZRTP
 *  20 –  63  DTLS                     (content types)
 *  64 –  79  TURN ChannelData         (channel numbers 0x4000–0x4FFF)
 *  80 – 127  QUIC short header        (RFC 9443)
 * 128 – 191  RTP / RTCP               (version 2)
 * 192 – 255  QUIC long header         (RFC 9443)
 * ```
 *
 * Bytes 4–15 are left unassigned by both RFCs. porthole's own frames live there, one byte of
 * frame type in front of the frame body, so they never collide with any protocol above.
 * @module
 */

/** An inclusive range of first-byte values. */
export interface ByteRange {
  /** First byte value of the range, 0–255. */
  readonly first: number;
  /** Last byte value of the range (inclusive), 0–255, ≥ `first`. */
  readonly last: number;
}

/** STUN. RFC 7983 §7. */
export const STUN_RANGE: ByteRange = { first: 0, last: 3 };
/** ZRTP. RFC 7983 §7. */
export const ZRTP_RANGE: ByteRange = { first: 16, last: 19 };
/** DTLS. RFC 7983 §7. */
export const DTLS_RANGE: ByteRange = { first: 20, last: 63 };
/** TURN ChannelData. RFC 7983 §7. */
export const TURN_CHANNEL_RANGE: ByteRange = { first: 64, last: 79 };
/** RTP and RTCP (version 2). RFC 7983 §7. */
export const RTP_RANGE: ByteRange = { first: 128, last: 191 };
/** porthole's own frames: the bytes RFC 7983 and RFC 9443 leave free. */
export const PORTHOLE_RANGE: ByteRange = { first: 4, last: 15 };

/**
 * porthole frame types (the first byte of a porthole frame). Each layer owns its bytes;
 * docs/mux.md is the registry. Unlisted bytes in {@link PORTHOLE_RANGE} are reserved.
 */
export const PortholeFrame = {
  /** punch/: hole-punch probe and its answer (HMAC-authenticated). */
  PUNCH: 0x04,
  /** punch/: broker signalling (register, keepalive, connect, candidates). */
  BROKER: 0x05,
  /** arq/: one KCP segment in muxed framing. */
  ARQ_SEGMENT: 0x06,
  /** arq/: conversation control outside KCP (close, close-ack). */
  ARQ_CONTROL: 0x07,
  /** server/: stateless address-verification cookie exchange. */
  SERVER_COOKIE: 0x08,
  /** live/: chunk and control frames (reserved for the live layer). */
  LIVE: 0x09,
  /** live/: reserved. */
  LIVE_CONTROL: 0x0a,
  /** live/: tracker frames (join, keepalive, sample, report); beside BROKER on a tracker's socket. */
  TRACKER: 0x0b,
  /** Free for applications: never used by porthole itself. */
  APPLICATION: 0x0f,
} as const;
/** One of the {@link PortholeFrame} values. */
export type PortholeFrameType = (typeof PortholeFrame)[keyof typeof PortholeFrame];

/** A {@link ByteRange} of exactly one porthole frame type. */
export function frameRange(frame: PortholeFrameType): ByteRange {
  return { first: frame, last: frame };
}
