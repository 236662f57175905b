/**
 * Codes of the rist layer (docs/rist.md, "Errors"). A bad option is `ERR_INVALID_OPTION`
 * (`ErrorCode.INVALID_OPTION` of porthole/errors) naming it; a send after close is `ERR_CLOSED`.
 * @module
 */

/** Why a RIST decoder refused its input: the `code` of the ParseError it throws. */
export const RistParseCode = {
  /** Shorter than its fixed header, or than a length field says. */
  TRUNCATED: 'ERR_RIST_TRUNCATED',
  /** Version bits are not 2 (RTP/RTCP) or 0 (GRE). */
  VERSION: 'ERR_RIST_VERSION',
  /** A length, count or padding field that does not fit the packet. */
  LENGTH: 'ERR_RIST_LENGTH',
} as const;
/** One of the {@link RistParseCode} values. */
export type RistParseCodeValue = (typeof RistParseCode)[keyof typeof RistParseCode];
