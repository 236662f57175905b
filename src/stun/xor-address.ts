import { checkPort, decodeAddressAttribute, type StunAddress } from './address.ts';
import { StunAttr } from './constants.ts';
import type { StunAttributeInit } from './encode.ts';
import { parseIp } from './ip.ts';
import { getAttribute, type StunMessage } from './message.ts';

/**
 * XOR-MAPPED-ADDRESS (RFC 8489 §14.2): the MAPPED-ADDRESS format with the port XOR'ed with the top
 * 16 bits of the magic cookie and the address XOR'ed with the cookie (IPv4) or with the cookie and
 * the transaction ID (IPv6), so that NATs rewriting addresses in payloads leave it alone.
 * @module
 */

/**
 * An XOR'ed address attribute of `type` (XOR-MAPPED-ADDRESS; TURN's XOR-PEER-ADDRESS and
 * XOR-RELAYED-ADDRESS use the same format). The XOR uses the transaction ID of the message it is
 * encoded into.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` when `address.address` is not an IP address,
 *   `ERR_INVALID_OPTION` when the port is not 0–65535.
 */
export function makeXorAddress(
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
      message[offset + 1] = ip.length === 4 ? 0x01 : 0x02;
      message.writeUInt16BE(port ^ 0x2112, offset + 2);
      for (let i = 0; i < ip.length; i++) message[offset + 4 + i] = ip[i]! ^ message[4 + i]!;
    },
  };
}

/** XOR-MAPPED-ADDRESS of `address`. RFC 8489 §14.2. */
export function makeXorMappedAddress(address: {
  readonly address: string;
  readonly port: number;
}): StunAttributeInit {
  return makeXorAddress(StunAttr.XOR_MAPPED_ADDRESS, address);
}

/** The XOR'ed address attribute of `type`, if present. @throws ParseError when malformed. */
export function getXorAddress(message: StunMessage, type: number): StunAddress | undefined {
  const attr = getAttribute(message, type);
  return attr === undefined ? undefined : decodeAddressAttribute(attr, message);
}

/** XOR-MAPPED-ADDRESS, if present. RFC 8489 §14.2. @throws ParseError when malformed. */
export function getXorMappedAddress(message: StunMessage): StunAddress | undefined {
  return getXorAddress(message, StunAttr.XOR_MAPPED_ADDRESS);
}
