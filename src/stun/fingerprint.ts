import { crc32 } from 'node:zlib';
import { STUN_ATTRIBUTE_HEADER_BYTES, STUN_FINGERPRINT_XOR, StunAttr } from './constants.ts';
import { StunAuthError, StunErrorCode } from './errors.ts';
import { getAttribute, type StunMessage } from './message.ts';

/**
 * FINGERPRINT: CRC-32 (ISO 3309, as zlib computes it) of the message up to the attribute, XOR
 * 0x5354554E, with the header's length field covering the FINGERPRINT attribute. RFC 8489 §14.7.
 * @module
 */

/** Size of the FINGERPRINT attribute on the wire (header + 4-byte value). */
export const FINGERPRINT_ATTRIBUTE_BYTES = STUN_ATTRIBUTE_HEADER_BYTES + 4;

/**
 * The FINGERPRINT value of `data[0, end)`, where `data`'s length field already counts the
 * FINGERPRINT attribute that starts at `end`. RFC 8489 §14.7.
 */
export function computeFingerprint(data: Uint8Array, end: number): number {
  return (crc32(data.subarray(0, end)) ^ STUN_FINGERPRINT_XOR) >>> 0;
}

/**
 * Whether `message` carries a FINGERPRINT that matches its bytes. Returns false when it has none.
 * Never throws.
 */
export function hasValidFingerprint(message: StunMessage): boolean {
  const attr = getAttribute(message, StunAttr.FINGERPRINT);
  if (attr === undefined || attr.value.length !== 4) return false;
  const raw = message.raw;
  // The FINGERPRINT is the last attribute the decoder kept; the length field must end at it. RFC 8489 §14.7.
  const lengthField = raw.readUInt16BE(2);
  const expectedLength = attr.offset + FINGERPRINT_ATTRIBUTE_BYTES - 20;
  if (lengthField === expectedLength)
    return computeFingerprint(raw, attr.offset) === attr.value.readUInt32BE(0);
  const copy = Buffer.from(raw.subarray(0, attr.offset));
  copy.writeUInt16BE(expectedLength, 2);
  return computeFingerprint(copy, attr.offset) === attr.value.readUInt32BE(0);
}

/**
 * Checks `message`'s FINGERPRINT.
 * @throws StunAuthError `ERR_STUN_FINGERPRINT_MISSING` or `ERR_STUN_FINGERPRINT_MISMATCH`.
 */
export function verifyFingerprint(message: StunMessage): void {
  if (getAttribute(message, StunAttr.FINGERPRINT) === undefined) {
    throw new StunAuthError(StunErrorCode.FINGERPRINT_MISSING, 'the message has no FINGERPRINT');
  }
  if (!hasValidFingerprint(message)) {
    throw new StunAuthError(StunErrorCode.FINGERPRINT_MISMATCH, 'FINGERPRINT does not match the message');
  }
}
