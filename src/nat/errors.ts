/**
 * Codes of the NAT discovery layer (docs/nat.md, "Errors"). Bad options are `ERR_INVALID_OPTION`
 * (`ErrorCode.INVALID_OPTION` of porthole/errors) naming the option.
 * @module
 */

/** Specific codes of NAT behaviour discovery. */
export const NatErrorCode = {
  /** The STUN server's host name did not resolve (for the socket family). */
  SERVER_UNRESOLVED: 'ERR_NAT_SERVER_UNRESOLVED',
  /** The server answered a Binding request with an error response (e.g. 420 for CHANGE-REQUEST). */
  SERVER_ERROR: 'ERR_NAT_SERVER_ERROR',
  /** A Binding success response had no (XOR-)MAPPED-ADDRESS. */
  BAD_RESPONSE: 'ERR_NAT_BAD_RESPONSE',
} as const;
/** One of the {@link NatErrorCode} values. */
export type NatErrorCodeValue = (typeof NatErrorCode)[keyof typeof NatErrorCode];
