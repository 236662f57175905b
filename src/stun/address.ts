import { InvalidOptionError, ParseError } from '../errors/index.ts';
import { StunAttr } from './constants.ts';
import type { StunAttributeInit } from './encode.ts';
import { StunErrorCode } from './errors.ts';
import { formatIp, parseIp } from './ip.ts';
import { getAttribute, type StunAttribute, type StunMessage } from './message.ts';

/**
 * The MAPPED-ADDRESS value format, shared by MAPPED-ADDRESS (RFC 8489 §14.1), ALTERNATE-SERVER
 * (§14.15), RESPONSE-ORIGIN and OTHER-ADDRESS (RFC 5780 §7.3, §7.4), and RFC 3489's CHANGED-ADDRESS
 * and SOURCE-ADDRESS (§11.2.3, §11.2.5).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0 0 0 0 0 0 0|    Family     |           Port                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Address (32 bits or 128 bits)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * @module
 */

/** A transport address carried by an address attribute. */
export interface StunAddress {
  /** `IPv4` or `IPv6` (the names `dgram` uses in `RemoteInfo.family`). */
  readonly family: 'IPv4' | 'IPv6';
  /** Text form: dotted quad, or RFC 5952 IPv6. */
  readonly address: string;
  /** UDP port, 0–65535. */
  readonly port: number;
}

/** Family byte of IPv4 in address attributes. RFC 8489 §14.1. */
export const ADDRESS_FAMILY_IPV4 = 0x01;
/** Family byte of IPv6 in address attributes. RFC 8489 §14.1. */
export const ADDRESS_FAMILY_IPV6 = 0x02;

/**
 * `port` if it is a UDP port number (0–65535).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` otherwise.
 */
export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidOptionError('port', `a port is 0-65535, not ${port}`);
  }
  return port;
}

/**
 * An address attribute of `type` in the MAPPED-ADDRESS format.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` when `address.address` is not an IP address,
 *   `ERR_INVALID_OPTION` when the port is not 0–65535.
 */
export function makeAddress(
  type: number,
  address: { readonly address: string; readonly port: number },
): StunAttributeInit {
  const ip = parseIp(address.address);
  const port = checkPort(address.port);
  return {
    type,
    length: 4 + ip.length,
    write(message: Buffer, offset: number): void {
      message[offset] = 0;
      message[offset + 1] = ip.length === 4 ? ADDRESS_FAMILY_IPV4 : ADDRESS_FAMILY_IPV6;
      message.writeUInt16BE(port, offset + 2);
      message.set(ip, offset + 4);
    },
  };
}

/**
 * Reads an attribute in the MAPPED-ADDRESS format. `xor` (the message) undoes XOR-MAPPED-ADDRESS's
 * XOR with the cookie and transaction ID (RFC 8489 §14.2).
 * @throws ParseError `ERR_STUN_ATTRIBUTE_LENGTH`, `ERR_STUN_BAD_ADDRESS_FAMILY`.
 */
export function decodeAddressAttribute(attr: StunAttribute, xor?: StunMessage): StunAddress {
  const value = attr.value;
  const at = attr.offset + 4;
  if (value.length < 4) {
    throw new ParseError(StunErrorCode.ATTRIBUTE_LENGTH, `address attribute of ${value.length} bytes`, at);
  }
  const family = value[1]!;
  let size: number;
  if (family === ADDRESS_FAMILY_IPV4) size = 4;
  else if (family === ADDRESS_FAMILY_IPV6) size = 16;
  else
    throw new ParseError(StunErrorCode.BAD_ADDRESS_FAMILY, `address family 0x${family.toString(16)}`, at + 1);
  if (value.length !== 4 + size) {
    throw new ParseError(
      StunErrorCode.ATTRIBUTE_LENGTH,
      `an ${size === 4 ? 'IPv4' : 'IPv6'} address attribute is ${4 + size} bytes, not ${value.length}`,
      at,
    );
  }
  let port = value.readUInt16BE(2);
  const ip = new Uint8Array(size);
  for (let i = 0; i < size; i++) ip[i] = value[4 + i]!;
  if (xor !== undefined) {
    // RFC 8489 §14.2: port ^ top 16 bits of the cookie; address ^ cookie (‖ transaction ID for IPv6).
    const header = xor.raw;
    port ^= 0x2112;
    for (let i = 0; i < size; i++) ip[i]! ^= header[4 + i]!;
  }
  return { family: size === 4 ? 'IPv4' : 'IPv6', address: formatIp(ip), port };
}

function readAddress(message: StunMessage, type: number): StunAddress | undefined {
  const attr = getAttribute(message, type);
  return attr === undefined ? undefined : decodeAddressAttribute(attr);
}

/** MAPPED-ADDRESS, if present. RFC 8489 §14.1. @throws ParseError when malformed. */
export function getMappedAddress(message: StunMessage): StunAddress | undefined {
  return readAddress(message, StunAttr.MAPPED_ADDRESS);
}

/** ALTERNATE-SERVER, if present. RFC 8489 §14.15. @throws ParseError when malformed. */
export function getAlternateServer(message: StunMessage): StunAddress | undefined {
  return readAddress(message, StunAttr.ALTERNATE_SERVER);
}

/** RESPONSE-ORIGIN, if present. RFC 5780 §7.3. @throws ParseError when malformed. */
export function getResponseOrigin(message: StunMessage): StunAddress | undefined {
  return readAddress(message, StunAttr.RESPONSE_ORIGIN);
}

/** OTHER-ADDRESS, if present. RFC 5780 §7.4. @throws ParseError when malformed. */
export function getOtherAddress(message: StunMessage): StunAddress | undefined {
  return readAddress(message, StunAttr.OTHER_ADDRESS);
}

/** CHANGED-ADDRESS (RFC 3489 servers), if present. RFC 3489 §11.2.3. @throws ParseError when malformed. */
export function getChangedAddress(message: StunMessage): StunAddress | undefined {
  return readAddress(message, StunAttr.CHANGED_ADDRESS);
}

/** SOURCE-ADDRESS (RFC 3489 servers), if present. RFC 3489 §11.2.5. @throws ParseError when malformed. */
export function getSourceAddress(message: StunMessage): StunAddress | undefined {
  return readAddress(message, StunAttr.SOURCE_ADDRESS);
}
