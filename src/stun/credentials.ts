import { createHash } from 'node:crypto';
import { InvalidOptionError, ParseError } from '../errors/index.ts';
import { StunAttr } from './constants.ts';
import type { StunAttributeInit } from './encode.ts';
import { StunErrorCode } from './errors.ts';
import { getAttribute, type StunMessage } from './message.ts';
import { PasswordAlgorithm } from './password-algorithm.ts';

/**
 * Keys for MESSAGE-INTEGRITY(-SHA256): short-term (RFC 8489 §9.1.1) and long-term (§9.2.2), and
 * USERHASH (§14.4).
 *
 * String preparation: passwords go through SASLprep (RFC 4013, as RFC 5389 §15.4 required): the
 * "mapped to nothing" characters (RFC 3454 B.1) are removed, non-ASCII spaces (C.1.2) become U+0020,
 * then Unicode NFKC; prohibited characters (controls, private use, surrogates, non-characters)
 * throw. The bidirectional check of RFC 3454 §6 is not performed. For ASCII passwords this equals
 * RFC 8489's OpaqueString; it is what the RFC 5769 §2.4 vector needs (`The\u00adM\u00aatr\u2168`
 * → `TheMatrIX`). Usernames and realms are used as given (UTF-8).
 * @module
 */

/** Whether SASLprep maps `c` to nothing. RFC 3454 Table B.1. */
function isMappedToNothing(c: number): boolean {
  return (
    c === 0x00ad ||
    c === 0x034f ||
    c === 0x1806 ||
    (c >= 0x180b && c <= 0x180d) ||
    (c >= 0x200b && c <= 0x200d) ||
    c === 0x2060 ||
    (c >= 0xfe00 && c <= 0xfe0f) ||
    c === 0xfeff
  );
}

/** Whether `c` is a non-ASCII space. RFC 3454 Table C.1.2. */
function isNonAsciiSpace(c: number): boolean {
  return (
    c === 0x00a0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200b) ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** Prohibited output: a subset of RFC 4013 §2.3 covering RFC 3454 C.2–C.9 except tagging characters. */
function isProhibited(c: number): boolean {
  return (
    c <= 0x1f ||
    (c >= 0x7f && c <= 0x9f) ||
    c === 0x06dd ||
    c === 0x070f ||
    c === 0x180e ||
    c === 0x200e ||
    c === 0x200f ||
    (c >= 0x2028 && c <= 0x202e) ||
    (c >= 0x2061 && c <= 0x2063) ||
    (c >= 0x206a && c <= 0x206f) ||
    (c >= 0xd800 && c <= 0xdfff) ||
    (c >= 0xe000 && c <= 0xf8ff) ||
    (c >= 0xfdd0 && c <= 0xfdef) ||
    (c >= 0xfff9 && c <= 0xffff) ||
    (c & 0xfffe) === 0xfffe ||
    c >= 0xf0000
  );
}

/**
 * SASLprep of `text` (RFC 4013, see the module note for what is and is not done).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` when the prepared text holds a prohibited character.
 */
export function saslPrep(text: string): string {
  let mapped = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (isMappedToNothing(c)) continue;
    mapped += isNonAsciiSpace(c) ? ' ' : ch;
  }
  const prepared = mapped.normalize('NFKC');
  for (const ch of prepared) {
    if (isProhibited(ch.codePointAt(0)!)) {
      throw new InvalidOptionError('password', 'the password holds a character SASLprep prohibits');
    }
  }
  return prepared;
}

/** Short-term credential key: the SASLprep'ed password in UTF-8. RFC 8489 §9.1.1, RFC 5389 §15.4. */
export function shortTermKey(password: string): Buffer {
  return Buffer.from(saslPrep(password), 'utf8');
}

/** Inputs of {@link longTermKey}. */
export interface LongTermCredentials {
  readonly username: string;
  readonly realm: string;
  readonly password: string;
  /** Hash of the key: MD5 (default, RFC 5389) or SHA-256 (RFC 8489 PASSWORD-ALGORITHM 0x0002). */
  readonly algorithm?: number;
}

/**
 * Long-term credential key: MD5 (or SHA-256) of `username ":" realm ":" SASLprep(password)`.
 * RFC 8489 §9.2.2, RFC 5389 §15.4.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` for an unknown algorithm.
 */
export function longTermKey(credentials: LongTermCredentials): Buffer {
  const algorithm = credentials.algorithm ?? PasswordAlgorithm.MD5;
  let hash: string;
  if (algorithm === PasswordAlgorithm.MD5) hash = 'md5';
  else if (algorithm === PasswordAlgorithm.SHA256) hash = 'sha256';
  else throw new InvalidOptionError('algorithm', `unknown password algorithm 0x${algorithm.toString(16)}`);
  return createHash(hash)
    .update(`${credentials.username}:${credentials.realm}:${saslPrep(credentials.password)}`, 'utf8')
    .digest();
}

/** USERHASH value: SHA-256 of `username ":" realm`. RFC 8489 §14.4. */
export function computeUserhash(username: string, realm: string): Buffer {
  return createHash('sha256').update(`${username}:${realm}`, 'utf8').digest();
}

/** USERHASH attribute of `username` in `realm`. RFC 8489 §14.4. */
export function makeUserhash(username: string, realm: string): StunAttributeInit {
  return { type: StunAttr.USERHASH, value: computeUserhash(username, realm) };
}

/**
 * USERHASH (32 bytes, a slice of the message), if present.
 * @throws ParseError `ERR_STUN_ATTRIBUTE_LENGTH` unless 32 bytes.
 */
export function getUserhash(message: StunMessage): Buffer | undefined {
  const attr = getAttribute(message, StunAttr.USERHASH);
  if (attr === undefined) return undefined;
  if (attr.value.length !== 32) {
    throw new ParseError(
      StunErrorCode.ATTRIBUTE_LENGTH,
      `USERHASH of ${attr.value.length} bytes`,
      attr.offset + 2,
    );
  }
  return attr.value;
}
