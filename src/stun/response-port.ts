import { InvalidOptionError, ParseError } from '../errors/index.ts';
import { StunAttr } from './constants.ts';
import type { StunAttributeInit } from './encode.ts';
import { StunErrorCode } from './errors.ts';
import { getAttribute, type StunMessage } from './message.ts';

/**
 * RESPONSE-PORT: asks the server to send the response to this port of the request's source IP.
 * RFC 5780 §7.5: a 16-bit port followed by 2 bytes of padding; encoded with length 2 (the padding is
 * the ordinary attribute padding), read from a value of 2 or 4 bytes.
 * @module
 */

/**
 * RESPONSE-PORT of `port` (1–65535).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` outside 1–65535.
 */
export function makeResponsePort(port: number): StunAttributeInit {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidOptionError('port', `RESPONSE-PORT must be 1-65535, not ${port}`);
  }
  return {
    type: StunAttr.RESPONSE_PORT,
    length: 2,
    write(message: Buffer, offset: number): void {
      message.writeUInt16BE(port, offset);
    },
  };
}

/**
 * RESPONSE-PORT, if present.
 * @throws ParseError `ERR_STUN_ATTRIBUTE_LENGTH` unless the value is 2 or 4 bytes.
 */
export function getResponsePort(message: StunMessage): number | undefined {
  const attr = getAttribute(message, StunAttr.RESPONSE_PORT);
  if (attr === undefined) return undefined;
  if (attr.value.length !== 2 && attr.value.length !== 4) {
    throw new ParseError(
      StunErrorCode.ATTRIBUTE_LENGTH,
      `RESPONSE-PORT of ${attr.value.length} bytes`,
      attr.offset + 2,
    );
  }
  return attr.value.readUInt16BE(0);
}
