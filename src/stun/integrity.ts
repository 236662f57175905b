import { createHmac, timingSafeEqual } from 'node:crypto';
import { STUN_ATTRIBUTE_HEADER_BYTES, STUN_HEADER_BYTES, StunAttr } from './constants.ts';
import { StunAuthError, StunErrorCode } from './errors.ts';
import { getAttribute, type StunAttribute, type StunMessage } from './message.ts';

/**
 * MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5) and MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
 *
 * The HMAC covers the message from the header up to (not including) the integrity attribute, with
 * the header's length field set as if the message ended right after the integrity attribute.
 * @module
 */

/** Which HMAC an integrity attribute carries. */
export type IntegrityAlgorithm = 'sha1' | 'sha256';

/** Value size of MESSAGE-INTEGRITY (HMAC-SHA1) in bytes. RFC 8489 §14.5. */
export const INTEGRITY_SHA1_BYTES = 20;
/** Value size of MESSAGE-INTEGRITY-SHA256 in bytes (the full HMAC; RFC 8489 §14.6 allows 16–32). */
export const INTEGRITY_SHA256_BYTES = 32;

/**
 * The HMAC of `data[0, end)` with `key`. The caller has set `data`'s length field to end after the
 * integrity attribute that starts at `end`.
 */
export function computeIntegrity(
  algorithm: IntegrityAlgorithm,
  key: Uint8Array,
  data: Uint8Array,
  end: number,
): Buffer {
  return createHmac(algorithm, key).update(data.subarray(0, end)).digest();
}

/**
 * Whether `message`'s MESSAGE-INTEGRITY (or, with `algorithm: 'sha256'`, MESSAGE-INTEGRITY-SHA256)
 * matches `key`. Compares in constant time. Returns false when the attribute is missing. Never throws.
 */
export function hasValidIntegrity(
  message: StunMessage,
  key: Uint8Array,
  algorithm: IntegrityAlgorithm = 'sha1',
): boolean {
  const attr = getAttribute(
    message,
    algorithm === 'sha1' ? StunAttr.MESSAGE_INTEGRITY : StunAttr.MESSAGE_INTEGRITY_SHA256,
  );
  if (attr === undefined) return false;
  return checkAttribute(message, attr, key, algorithm);
}

function checkAttribute(
  message: StunMessage,
  attr: StunAttribute,
  key: Uint8Array,
  algorithm: IntegrityAlgorithm,
): boolean {
  const size = attr.value.length;
  // RFC 8489 §14.5: exactly 20 bytes; §14.6: 16 to 32 bytes, a multiple of 4.
  if (algorithm === 'sha1' ? size !== INTEGRITY_SHA1_BYTES : size < 16 || size > 32 || (size & 3) !== 0)
    return false;
  const raw = message.raw;
  // 1. Copy the covered bytes so that the received Buffer is never written to.
  const covered = Buffer.from(raw.subarray(0, attr.offset));
  // 2. Set the length field to end after this attribute.
  covered.writeUInt16BE(attr.offset + STUN_ATTRIBUTE_HEADER_BYTES + size - STUN_HEADER_BYTES, 2);
  // 3. HMAC, truncated to the attribute's size (SHA-256 only), compared in constant time.
  const mac = computeIntegrity(algorithm, key, covered, covered.length);
  return timingSafeEqual(mac.subarray(0, size), attr.value);
}

/**
 * Checks the strongest integrity attribute `message` carries against `key`: MESSAGE-INTEGRITY-SHA256
 * when present, else MESSAGE-INTEGRITY. RFC 8489 §9.1.3 / §9.2.4.
 * @throws StunAuthError `ERR_STUN_INTEGRITY_MISSING` when it has neither, `ERR_STUN_INTEGRITY_MISMATCH`
 *   when the HMAC does not match (wrong key, altered message).
 */
export function verifyIntegrity(message: StunMessage, key: Uint8Array): IntegrityAlgorithm {
  const sha256 = getAttribute(message, StunAttr.MESSAGE_INTEGRITY_SHA256);
  const sha1 = getAttribute(message, StunAttr.MESSAGE_INTEGRITY);
  const attr = sha256 ?? sha1;
  if (attr === undefined) {
    throw new StunAuthError(
      StunErrorCode.INTEGRITY_MISSING,
      'the message has no MESSAGE-INTEGRITY attribute',
    );
  }
  const algorithm: IntegrityAlgorithm = sha256 !== undefined ? 'sha256' : 'sha1';
  if (!checkAttribute(message, attr, key, algorithm)) {
    throw new StunAuthError(
      StunErrorCode.INTEGRITY_MISMATCH,
      `MESSAGE-INTEGRITY${algorithm === 'sha256' ? '-SHA256' : ''} does not match: wrong key or altered message`,
    );
  }
  return algorithm;
}
