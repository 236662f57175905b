import { InvalidOptionError, ParseError } from '../errors/index.ts';
import { StunAttr } from './constants.ts';
import type { StunAttributeInit } from './encode.ts';
import { StunErrorCode } from './errors.ts';
import { getAttribute, type StunAttribute, type StunMessage } from './message.ts';

/**
 * UTF-8 text attributes: USERNAME (RFC 8489 §14.3), REALM (§14.9), NONCE (§14.10), SOFTWARE (§14.14),
 * ALTERNATE-DOMAIN (§14.16). Values are not normalised here; see `credentials.ts` for key derivation.
 * @module
 */

/** Most bytes of USERNAME accepted (RFC 5389 §15.3's bound; RFC 8489 §14.3 lowers it to 508). */
export const MAX_USERNAME_BYTES = 513;
/** Most bytes of REALM, NONCE, SOFTWARE and an error reason phrase. RFC 8489 §14.8–§14.14. */
export const MAX_TEXT_BYTES = 763;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function maxBytesOf(type: number): number {
  return type === StunAttr.USERNAME ? MAX_USERNAME_BYTES : MAX_TEXT_BYTES;
}

/** The option that carries a text attribute, for `InvalidOptionError.option`. */
function optionOf(type: number): string {
  if (type === StunAttr.USERNAME) return 'username';
  if (type === StunAttr.REALM) return 'realm';
  if (type === StunAttr.NONCE) return 'nonce';
  if (type === StunAttr.SOFTWARE) return 'software';
  return 'text';
}

/**
 * A UTF-8 text attribute of `type`.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` past the type's byte limit.
 */
export function makeText(type: number, text: string): StunAttributeInit {
  const value = Buffer.from(text, 'utf8');
  const max = maxBytesOf(type);
  if (value.length > max) {
    throw new InvalidOptionError(
      optionOf(type),
      `attribute 0x${type.toString(16)} is ${value.length} bytes of UTF-8, at most ${max} allowed`,
    );
  }
  return { type, value };
}

/**
 * The text of a UTF-8 attribute.
 * @throws ParseError `ERR_STUN_ATTRIBUTE_LENGTH` past the type's limit, `ERR_STUN_BAD_UTF8`.
 */
export function decodeText(attr: StunAttribute): string {
  const max = maxBytesOf(attr.type);
  if (attr.value.length > max) {
    throw new ParseError(
      StunErrorCode.ATTRIBUTE_LENGTH,
      `attribute 0x${attr.type.toString(16)} is ${attr.value.length} bytes, at most ${max} allowed`,
      attr.offset + 2,
    );
  }
  return decodeUtf8(attr.value, attr.offset + 4);
}

/** Strict UTF-8 decoding of `bytes`; `offset` is where they start in the message (for the error). */
export function decodeUtf8(bytes: Uint8Array, offset: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ParseError(StunErrorCode.BAD_UTF8, 'attribute text is not valid UTF-8', offset);
  }
}

function readText(message: StunMessage, type: number): string | undefined {
  const attr = getAttribute(message, type);
  return attr === undefined ? undefined : decodeText(attr);
}

/** USERNAME. RFC 8489 §14.3. */
export function makeUsername(username: string): StunAttributeInit {
  return makeText(StunAttr.USERNAME, username);
}
/** REALM. RFC 8489 §14.9. */
export function makeRealm(realm: string): StunAttributeInit {
  return makeText(StunAttr.REALM, realm);
}
/** NONCE. RFC 8489 §14.10. */
export function makeNonce(nonce: string): StunAttributeInit {
  return makeText(StunAttr.NONCE, nonce);
}
/** SOFTWARE. RFC 8489 §14.14. */
export function makeSoftware(software: string): StunAttributeInit {
  return makeText(StunAttr.SOFTWARE, software);
}
/** ALTERNATE-DOMAIN. RFC 8489 §14.16. */
export function makeAlternateDomain(domain: string): StunAttributeInit {
  return makeText(StunAttr.ALTERNATE_DOMAIN, domain);
}

/** USERNAME, if present. RFC 8489 §14.3. @throws ParseError when malformed. */
export function getUsername(message: StunMessage): string | undefined {
  return readText(message, StunAttr.USERNAME);
}
/** REALM, if present. RFC 8489 §14.9. @throws ParseError when malformed. */
export function getRealm(message: StunMessage): string | undefined {
  return readText(message, StunAttr.REALM);
}
/** NONCE, if present. RFC 8489 §14.10. @throws ParseError when malformed. */
export function getNonce(message: StunMessage): string | undefined {
  return readText(message, StunAttr.NONCE);
}
/** SOFTWARE, if present. RFC 8489 §14.14. @throws ParseError when malformed. */
export function getSoftware(message: StunMessage): string | undefined {
  return readText(message, StunAttr.SOFTWARE);
}
/** ALTERNATE-DOMAIN, if present. RFC 8489 §14.16. @throws ParseError when malformed. */
export function getAlternateDomain(message: StunMessage): string | undefined {
  return readText(message, StunAttr.ALTERNATE_DOMAIN);
}
