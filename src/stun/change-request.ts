import { ParseError } from '../errors/index.ts';
import { StunAttr } from './constants.ts';
import type { StunAttributeInit } from './encode.ts';
import { StunErrorCode } from './errors.ts';
import { getAttribute, type StunMessage } from './message.ts';

/**
 * CHANGE-REQUEST: asks the server to answer from its other IP address and/or port. RFC 5780 §7.2.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 A B 0|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * A: change IP, B: change port.
 * @module
 */

/** The flags of a CHANGE-REQUEST. */
export interface ChangeRequest {
  /** Answer from the alternate IP address (flag A). */
  readonly changeIp: boolean;
  /** Answer from the alternate port (flag B). */
  readonly changePort: boolean;
}

const CHANGE_IP = 0x04;
const CHANGE_PORT = 0x02;

/** CHANGE-REQUEST with the given flags. RFC 5780 §7.2. */
export function makeChangeRequest(change: ChangeRequest): StunAttributeInit {
  const flags = (change.changeIp ? CHANGE_IP : 0) | (change.changePort ? CHANGE_PORT : 0);
  return {
    type: StunAttr.CHANGE_REQUEST,
    length: 4,
    write(message: Buffer, offset: number): void {
      message.writeUInt32BE(flags, offset);
    },
  };
}

/**
 * CHANGE-REQUEST, if present. Unknown flag bits are ignored.
 * @throws ParseError `ERR_STUN_ATTRIBUTE_LENGTH` unless the value is 4 bytes.
 */
export function getChangeRequest(message: StunMessage): ChangeRequest | undefined {
  const attr = getAttribute(message, StunAttr.CHANGE_REQUEST);
  if (attr === undefined) return undefined;
  if (attr.value.length !== 4) {
    throw new ParseError(
      StunErrorCode.ATTRIBUTE_LENGTH,
      `CHANGE-REQUEST of ${attr.value.length} bytes`,
      attr.offset + 2,
    );
  }
  const flags = attr.value.readUInt32BE(0);
  return { changeIp: (flags & CHANGE_IP) !== 0, changePort: (flags & CHANGE_PORT) !== 0 };
}
