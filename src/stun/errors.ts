import { PortholeError } from '../errors/index.ts';

/**
 * Codes of {@link ParseError}s thrown by the STUN decoder and attribute accessors. Each is listed in
 * docs/stun.md "## Errors".
 */
export const StunParseCode = {
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
} as const;
/** One of the {@link StunParseCode} values. */
export type StunParseCodeType = (typeof StunParseCode)[keyof typeof StunParseCode];

/** Codes of {@link StunAuthError}. */
export const StunAuthCode = {
  /** The message has no MESSAGE-INTEGRITY(-SHA256) to check. */
  INTEGRITY_MISSING: 'ERR_STUN_INTEGRITY_MISSING',
  /** The HMAC does not match: wrong key, or the message was altered. RFC 8489 §14.5/§14.6. */
  INTEGRITY_MISMATCH: 'ERR_STUN_INTEGRITY_MISMATCH',
  /** The message has no FINGERPRINT. */
  FINGERPRINT_MISSING: 'ERR_STUN_FINGERPRINT_MISSING',
  /** The FINGERPRINT does not match the message's CRC-32. RFC 8489 §14.7. */
  FINGERPRINT_MISMATCH: 'ERR_STUN_FINGERPRINT_MISMATCH',
} as const;
/** One of the {@link StunAuthCode} values. */
export type StunAuthCodeType = (typeof StunAuthCode)[keyof typeof StunAuthCode];

/** A message failed an integrity or fingerprint check; `code` is one of {@link StunAuthCode}. */
export class StunAuthError extends PortholeError {
  constructor(code: StunAuthCodeType, message: string) {
    super(code, message);
  }
}
