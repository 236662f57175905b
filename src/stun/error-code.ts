import { InvalidOptionError, ParseError } from '../errors/index.ts';
import { STUN_REASON_PHRASES, StunAttr } from './constants.ts';
import type { StunAttributeInit } from './encode.ts';
import { StunErrorCode } from './errors.ts';
import { getAttribute, type StunMessage } from './message.ts';
import { decodeUtf8, MAX_TEXT_BYTES } from './text.ts';

/**
 * ERROR-CODE. RFC 8489 §14.8.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Reserved, should be 0         |Class|     Number    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Reason Phrase (variable)                                ..
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * @module
 */

/** The value of an ERROR-CODE attribute. */
export interface StunErrorValue {
  /** 300–699 (class × 100 + number). */
  readonly code: number;
  /** UTF-8 reason phrase, possibly empty. */
  readonly reason: string;
}

/**
 * ERROR-CODE with `code` (300–699) and `reason` (default: the RFC's phrase for the code).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` outside 300–699, `ERR_INVALID_OPTION` for a
 *   reason longer than 763 bytes.
 */
export function makeErrorCode(code: number, reason?: string): StunAttributeInit {
  if (!Number.isInteger(code) || code < 300 || code > 699) {
    throw new InvalidOptionError('code', `STUN error codes are 300-699, not ${code}`);
  }
  const text = Buffer.from(reason ?? STUN_REASON_PHRASES.get(code) ?? '', 'utf8');
  if (text.length > MAX_TEXT_BYTES) {
    throw new InvalidOptionError('reason', `reason phrase of ${text.length} bytes`);
  }
  return {
    type: StunAttr.ERROR_CODE,
    length: 4 + text.length,
    write(message: Buffer, offset: number): void {
      message.writeUInt16BE(0, offset);
      message[offset + 2] = Math.floor(code / 100);
      message[offset + 3] = code % 100;
      text.copy(message, offset + 4);
    },
  };
}

/**
 * ERROR-CODE, if present.
 * @throws ParseError `ERR_STUN_ATTRIBUTE_LENGTH`, `ERR_STUN_BAD_ATTRIBUTE_VALUE` (class outside 3–6
 *   or number above 99), `ERR_STUN_BAD_UTF8`.
 */
export function getErrorCode(message: StunMessage): StunErrorValue | undefined {
  const attr = getAttribute(message, StunAttr.ERROR_CODE);
  if (attr === undefined) return undefined;
  const value = attr.value;
  const at = attr.offset + 4;
  if (value.length < 4 || value.length > 4 + MAX_TEXT_BYTES) {
    throw new ParseError(
      StunErrorCode.ATTRIBUTE_LENGTH,
      `ERROR-CODE of ${value.length} bytes`,
      attr.offset + 2,
    );
  }
  const cls = value[2]! & 0x07;
  const number = value[3]!;
  if (cls < 3 || cls > 6 || number > 99) {
    throw new ParseError(
      StunErrorCode.BAD_ATTRIBUTE_VALUE,
      `ERROR-CODE class ${cls} number ${number}`,
      at + 2,
    );
  }
  return { code: cls * 100 + number, reason: decodeUtf8(value.subarray(4), at + 4) };
}
