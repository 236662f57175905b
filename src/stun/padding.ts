import { InvalidOptionError } from '../errors/index.ts';
import { STUN_MAX_BODY_BYTES, StunAttr } from './constants.ts';
import type { StunAttributeInit } from './encode.ts';
import { getAttribute, type StunMessage } from './message.ts';

/**
 * PADDING: filler bytes that make a message large enough to be fragmented (to test a NAT's handling
 * of fragments). The server answers with PADDING of the same length. RFC 5780 §7.6.
 * @module
 */

/**
 * PADDING of `bytes` zero bytes (a multiple of 4 is recommended by RFC 5780 §7.6).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` for a negative or too large size.
 */
export function makePadding(bytes: number): StunAttributeInit {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > STUN_MAX_BODY_BYTES - 4) {
    throw new InvalidOptionError('bytes', `PADDING of ${bytes} bytes`);
  }
  return {
    type: StunAttr.PADDING,
    length: bytes,
    write(message: Buffer, offset: number): void {
      message.fill(0, offset, offset + bytes);
    },
  };
}

/** Length in bytes of the PADDING attribute's value, if present. Never throws. */
export function getPaddingLength(message: StunMessage): number | undefined {
  return getAttribute(message, StunAttr.PADDING)?.value.length;
}
