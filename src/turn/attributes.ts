import { InvalidOptionError, ParseError } from '../errors/index.ts';
import {
  getAttribute,
  getXorAddress,
  makeXorAddress,
  type StunAddress,
  type StunAttribute,
  type StunAttributeInit,
  StunErrorCode,
  type StunMessage,
} from '../stun/index.ts';
import { TURN_CHANNEL_MAX, TURN_CHANNEL_MIN, TURN_TRANSPORT_UDP, TurnAttr } from './constants.ts';

/**
 * TURN attributes (RFC 8656 §18) built on the STUN codec's generic attribute API: each `makeXxx`
 * returns a `StunAttributeInit` for `encodeStun`, each `getXxx(message)` reads the first attribute of
 * its type, checks its length and fields, and throws `ParseError` (STUN codes, offset of the value)
 * when it is malformed, `undefined` when absent.
 * @module
 */

function badOption(option: string, message: string): InvalidOptionError {
  return new InvalidOptionError(option, message);
}

function fixedLength(attr: StunAttribute, bytes: number, name: string): Buffer {
  if (attr.value.length !== bytes) {
    throw new ParseError(
      StunErrorCode.ATTRIBUTE_LENGTH,
      `${name} is ${bytes} bytes, not ${attr.value.length}`,
      attr.offset + 2,
    );
  }
  return attr.value;
}

/**
 * CHANNEL-NUMBER: 16-bit channel number and 16 bits RFFU. RFC 8656 §18.1.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` outside 0x4000–0x4FFF.
 */
export function makeChannelNumber(channel: number): StunAttributeInit {
  if (!Number.isInteger(channel) || channel < TURN_CHANNEL_MIN || channel > TURN_CHANNEL_MAX) {
    throw badOption('channel', `a channel number is 0x4000-0x4FFF, not ${channel}`);
  }
  const value = Buffer.alloc(4);
  value.writeUInt16BE(channel, 0);
  return { type: TurnAttr.CHANNEL_NUMBER, value };
}

/** CHANNEL-NUMBER, if present (any 16-bit value; the caller checks the range). RFC 8656 §18.1. */
export function getChannelNumber(message: StunMessage): number | undefined {
  const attr = getAttribute(message, TurnAttr.CHANNEL_NUMBER);
  if (attr === undefined) return undefined;
  return fixedLength(attr, 4, 'CHANNEL-NUMBER').readUInt16BE(0);
}

/**
 * LIFETIME in seconds (32 bits). RFC 8656 §18.2.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` outside 0–2³²−1.
 */
export function makeLifetime(seconds: number): StunAttributeInit {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 0xffffffff) {
    throw badOption('seconds', `LIFETIME is 0-4294967295 seconds, not ${seconds}`);
  }
  const value = Buffer.alloc(4);
  value.writeUInt32BE(seconds, 0);
  return { type: TurnAttr.LIFETIME, value };
}

/** LIFETIME in seconds, if present. RFC 8656 §18.2. */
export function getLifetime(message: StunMessage): number | undefined {
  const attr = getAttribute(message, TurnAttr.LIFETIME);
  if (attr === undefined) return undefined;
  return fixedLength(attr, 4, 'LIFETIME').readUInt32BE(0);
}

/** XOR-PEER-ADDRESS (XOR-MAPPED-ADDRESS format). RFC 8656 §18.3. */
export function makeXorPeerAddress(peer: {
  readonly address: string;
  readonly port: number;
}): StunAttributeInit {
  return makeXorAddress(TurnAttr.XOR_PEER_ADDRESS, peer);
}

/** The first XOR-PEER-ADDRESS, if present. RFC 8656 §18.3. */
export function getXorPeerAddress(message: StunMessage): StunAddress | undefined {
  return getXorAddress(message, TurnAttr.XOR_PEER_ADDRESS);
}

/** DATA: the application data, as given (not copied). RFC 8656 §18.4. */
export function makeData(data: Uint8Array): StunAttributeInit {
  return { type: TurnAttr.DATA, value: data };
}

/** DATA, a slice of the received message (not a copy), if present. RFC 8656 §18.4. */
export function getData(message: StunMessage): Buffer | undefined {
  return getAttribute(message, TurnAttr.DATA)?.value;
}

/** XOR-RELAYED-ADDRESS, if present. RFC 8656 §18.5. */
export function getXorRelayedAddress(message: StunMessage): StunAddress | undefined {
  return getXorAddress(message, TurnAttr.XOR_RELAYED_ADDRESS);
}

/** XOR-RELAYED-ADDRESS of `address` (servers, tests). RFC 8656 §18.5. */
export function makeXorRelayedAddress(address: {
  readonly address: string;
  readonly port: number;
}): StunAttributeInit {
  return makeXorAddress(TurnAttr.XOR_RELAYED_ADDRESS, address);
}

/** REQUESTED-ADDRESS-FAMILY: 0x01 IPv4, 0x02 IPv6, then 24 bits RFFU. RFC 8656 §18.6. */
export function makeRequestedAddressFamily(family: 'IPv4' | 'IPv6'): StunAttributeInit {
  const value = Buffer.alloc(4);
  value[0] = family === 'IPv4' ? 0x01 : 0x02;
  return { type: TurnAttr.REQUESTED_ADDRESS_FAMILY, value };
}

/** REQUESTED-ADDRESS-FAMILY, if present. RFC 8656 §18.6. */
export function getRequestedAddressFamily(message: StunMessage): 'IPv4' | 'IPv6' | undefined {
  const attr = getAttribute(message, TurnAttr.REQUESTED_ADDRESS_FAMILY);
  if (attr === undefined) return undefined;
  const family = fixedLength(attr, 4, 'REQUESTED-ADDRESS-FAMILY')[0];
  if (family === 0x01) return 'IPv4';
  if (family === 0x02) return 'IPv6';
  throw new ParseError(StunErrorCode.BAD_ADDRESS_FAMILY, `address family ${family}`, attr.offset + 4);
}

/** EVEN-PORT: one byte whose top bit R asks to reserve the next port too. RFC 8656 §18.7. */
export function makeEvenPort(reserveNext: boolean): StunAttributeInit {
  return { type: TurnAttr.EVEN_PORT, value: Buffer.from([reserveNext ? 0x80 : 0]) };
}

/** EVEN-PORT's R flag, if present. RFC 8656 §18.7. */
export function getEvenPort(message: StunMessage): { readonly reserveNext: boolean } | undefined {
  const attr = getAttribute(message, TurnAttr.EVEN_PORT);
  if (attr === undefined) return undefined;
  return { reserveNext: (fixedLength(attr, 1, 'EVEN-PORT')[0]! & 0x80) !== 0 };
}

/** REQUESTED-TRANSPORT: protocol number (default UDP, 17) and 24 bits RFFU. RFC 8656 §18.8. */
export function makeRequestedTransport(protocol: number = TURN_TRANSPORT_UDP): StunAttributeInit {
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 255) {
    throw badOption('protocol', `a protocol number is 0-255, not ${protocol}`);
  }
  return { type: TurnAttr.REQUESTED_TRANSPORT, value: Buffer.from([protocol, 0, 0, 0]) };
}

/** REQUESTED-TRANSPORT's protocol number, if present. RFC 8656 §18.8. */
export function getRequestedTransport(message: StunMessage): number | undefined {
  const attr = getAttribute(message, TurnAttr.REQUESTED_TRANSPORT);
  if (attr === undefined) return undefined;
  return fixedLength(attr, 4, 'REQUESTED-TRANSPORT')[0];
}

/** DONT-FRAGMENT (no value). RFC 8656 §18.9. */
export function makeDontFragment(): StunAttributeInit {
  return { type: TurnAttr.DONT_FRAGMENT, value: Buffer.alloc(0) };
}

/** Whether DONT-FRAGMENT is present. RFC 8656 §18.9. */
export function hasDontFragment(message: StunMessage): boolean {
  const attr = getAttribute(message, TurnAttr.DONT_FRAGMENT);
  if (attr === undefined) return false;
  fixedLength(attr, 0, 'DONT-FRAGMENT');
  return true;
}

/**
 * RESERVATION-TOKEN: 8 opaque bytes. RFC 8656 §18.10.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` when `token` is not 8 bytes.
 */
export function makeReservationToken(token: Uint8Array): StunAttributeInit {
  if (token.length !== 8) throw badOption('token', `a RESERVATION-TOKEN is 8 bytes, not ${token.length}`);
  return { type: TurnAttr.RESERVATION_TOKEN, value: token };
}

/** RESERVATION-TOKEN (a slice), if present. RFC 8656 §18.10. */
export function getReservationToken(message: StunMessage): Buffer | undefined {
  const attr = getAttribute(message, TurnAttr.RESERVATION_TOKEN);
  return attr === undefined ? undefined : fixedLength(attr, 8, 'RESERVATION-TOKEN');
}
