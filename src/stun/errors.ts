import { PortholeError } from '../errors/index.ts';

/**
 * Specific codes of the STUN layer, each listed in docs/stun.md "## Errors": the ParseErrors of the
 * decoder and attribute accessors, the {@link StunAuthError}s, and the failures of the client and
 * server. A bad option or argument (a port, an address, a method, a password, …) is
 * `ERR_INVALID_OPTION` (`ErrorCode.INVALID_OPTION` of porthole/errors) naming it.
 */
export const StunErrorCode = {
  /** Shorter than the header, or than the header's length field says. */
  TRUNCATED: 'ERR_STUN_TRUNCATED',
  /** The two top bits of the first byte are not zero: not STUN. RFC 8489 §5. */
  NOT_STUN: 'ERR_STUN_NOT_STUN',
  /** Bytes 4–7 are not 0x2112A442. RFC 8489 §5. */
  BAD_COOKIE: 'ERR_STUN_BAD_COOKIE',
  /** The length field is not a multiple of 4 or disagrees with the datagram size. RFC 8489 §5. */
  BAD_LENGTH: 'ERR_STUN_BAD_LENGTH',
  /** An attribute runs past the message, or its value has a length its type does not allow. */
  ATTRIBUTE_LENGTH: 'ERR_STUN_ATTRIBUTE_LENGTH',
  /** More attributes than `maxAttributes`. */
  TOO_MANY_ATTRIBUTES: 'ERR_STUN_TOO_MANY_ATTRIBUTES',
  /** An address attribute with a family other than 0x01 (IPv4) or 0x02 (IPv6). RFC 8489 §14.1. */
  BAD_ADDRESS_FAMILY: 'ERR_STUN_BAD_ADDRESS_FAMILY',
  /** A text attribute that is not valid UTF-8. RFC 8489 §14.3. */
  BAD_UTF8: 'ERR_STUN_BAD_UTF8',
  /** An attribute value whose fields are out of range (e.g. ERROR-CODE class outside 3–6). */
  BAD_ATTRIBUTE_VALUE: 'ERR_STUN_BAD_ATTRIBUTE_VALUE',
  /** The message has no MESSAGE-INTEGRITY(-SHA256) to check. */
  INTEGRITY_MISSING: 'ERR_STUN_INTEGRITY_MISSING',
  /** The HMAC does not match: wrong key, or the message was altered. RFC 8489 §14.5/§14.6. */
  INTEGRITY_MISMATCH: 'ERR_STUN_INTEGRITY_MISMATCH',
  /** The message has no FINGERPRINT. */
  FINGERPRINT_MISSING: 'ERR_STUN_FINGERPRINT_MISSING',
  /** The FINGERPRINT does not match the message's CRC-32. RFC 8489 §14.7. */
  FINGERPRINT_MISMATCH: 'ERR_STUN_FINGERPRINT_MISMATCH',
  /** ConfigError: the encoded message body would exceed 65535 bytes. RFC 8489 §5. */
  MESSAGE_TOO_LARGE: 'ERR_STUN_MESSAGE_TOO_LARGE',
  /** `maxTransactions` requests are in flight on one client. */
  TOO_MANY_TRANSACTIONS: 'ERR_STUN_TOO_MANY_TRANSACTIONS',
  /** The socket refused a send; `cause` has the error. */
  SEND_FAILED: 'ERR_STUN_SEND_FAILED',
  /** An RFC 5780 server found no free port pair on both addresses. */
  NO_PORT_PAIR: 'ERR_STUN_NO_PORT_PAIR',
} as const;
/** One of the {@link StunErrorCode} values. */
export type StunErrorCodeValue = (typeof StunErrorCode)[keyof typeof StunErrorCode];

/** The codes a {@link StunAuthError} carries. */
export type StunAuthErrorCode =
  | typeof StunErrorCode.INTEGRITY_MISSING
  | typeof StunErrorCode.INTEGRITY_MISMATCH
  | typeof StunErrorCode.FINGERPRINT_MISSING
  | typeof StunErrorCode.FINGERPRINT_MISMATCH;

/** A message failed an integrity or fingerprint check; `code` is one of {@link StunAuthErrorCode}. */
export class StunAuthError extends PortholeError {
  declare readonly code: StunAuthErrorCode;

  constructor(code: StunAuthErrorCode, message: string) {
    super(code, message);
  }
}
