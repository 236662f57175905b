import { ParseError } from '../errors/index.ts';
import { StunAttr } from './constants.ts';
import type { StunAttributeInit } from './encode.ts';
import { StunErrorCode } from './errors.ts';
import { getAttribute, type StunMessage } from './message.ts';

/**
 * UNKNOWN-ATTRIBUTES: the 16-bit types of the comprehension-required attributes a server did not
 * understand, sent with a 420 error. RFC 8489 §14.13.
 * @module
 */

/** UNKNOWN-ATTRIBUTES listing `types`. RFC 8489 §14.13. */
export function makeUnknownAttributes(types: readonly number[]): StunAttributeInit {
  return {
    type: StunAttr.UNKNOWN_ATTRIBUTES,
    length: types.length * 2,
    write(message: Buffer, offset: number): void {
      for (let i = 0; i < types.length; i++) message.writeUInt16BE(types[i]! & 0xffff, offset + i * 2);
    },
  };
}

/**
 * UNKNOWN-ATTRIBUTES, if present.
 * @throws ParseError `ERR_STUN_ATTRIBUTE_LENGTH` for an odd length.
 */
export function getUnknownAttributes(message: StunMessage): number[] | undefined {
  const attr = getAttribute(message, StunAttr.UNKNOWN_ATTRIBUTES);
  if (attr === undefined) return undefined;
  if ((attr.value.length & 1) !== 0) {
    throw new ParseError(
      StunErrorCode.ATTRIBUTE_LENGTH,
      `UNKNOWN-ATTRIBUTES of ${attr.value.length} bytes`,
      attr.offset + 2,
    );
  }
  const types: number[] = [];
  for (let i = 0; i < attr.value.length; i += 2) types.push(attr.value.readUInt16BE(i));
  return types;
}
