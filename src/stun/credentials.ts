import { createHash } from 'node:crypto';
import { ConfigError, ParseError } from '../errors/index.ts';
import { StunAttr } from './constants.ts';
import type { StunAttributeInit } from './encode.ts';
import { StunParseCode } from './errors.ts';
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

/** Characters SASLprep maps to nothing. RFC 3454 Table B.1. */
const MAPPED_TO_NOTHING = /[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/g;
/** Non-ASCII space characters. RFC 3454 Table C.1.2. */
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g;
/** Prohibited output (a subset of RFC 4013 §2.3 that covers C.2–C.9 except tagging characters). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the controls are exactly what this matches
const PROHIBITED = /[\u0000-\u001f\u007f-\u009f\u06dd\u070f\u180e\u200e\u200f\u2028-\u202e\u2061-\u2063\u206a-\u206f\ud800-\udfff\ue000-\uf8ff\ufdd0-\ufdef\ufff9-\ufffd\ufffe\uffff]/;

/**
 * SASLprep of `text` (RFC 4013, see the module note for what is and is not done).
 * @throws ConfigError `ERR_STUN_BAD_PASSWORD` when the prepared text holds a prohibited character.
 */
export function saslPrep(text: string): string {
  const prepared = text.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
  if (PROHIBITED.test(prepared)) {
    throw new ConfigError('ERR_STUN_BAD_PASSWORD', 'the password holds a character SASLprep prohibits');
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
 * @throws ConfigError `ERR_STUN_BAD_PASSWORD`, `ERR_STUN_BAD_ALGORITHM` for an unknown algorithm.
 */
export function longTermKey(credentials: LongTermCredentials): Buffer {
  const algorithm = credentials.algorithm ?? PasswordAlgorithm.MD5;
  let hash: string;
  if (algorithm === PasswordAlgorithm.MD5) hash = 'md5';
  else if (algorithm === PasswordAlgorithm.SHA256) hash = 'sha256';
  else throw new ConfigError('ERR_STUN_BAD_ALGORITHM', `unknown password algorithm 0x${algorithm.toString(16)}`);
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
    throw new ParseError(StunParseCode.ATTRIBUTE_LENGTH, `USERHASH of ${attr.value.length} bytes`, attr.offset + 2);
  }
  return attr.value;
}
