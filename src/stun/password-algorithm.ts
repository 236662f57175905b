import { InvalidOptionError, ParseError } from '../errors/index.ts';
import { StunAttr } from './constants.ts';
import type { StunAttributeInit } from './encode.ts';
import { StunErrorCode } from './errors.ts';
import { getAttribute, type StunAttribute, type StunMessage } from './message.ts';

/**
 * PASSWORD-ALGORITHM (RFC 8489 §14.12) and PASSWORD-ALGORITHMS (§14.11): which hash derives the
 * long-term key.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Algorithm           |  Algorithm Parameters Length   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Algorithm Parameters (variable)            ..
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * PASSWORD-ALGORITHMS is a list of such entries, each padded to 4 bytes.
 * @module
 */

/** Registered password algorithms. RFC 8489 §18.5. */
export const PasswordAlgorithm = {
  MD5: 0x0001,
  SHA256: 0x0002,
} as const;

/** One algorithm entry. */
export interface PasswordAlgorithmEntry {
  /** Algorithm number (see {@link PasswordAlgorithm}). */
  readonly algorithm: number;
  /** Algorithm parameters (empty for MD5 and SHA-256): a slice of the message when decoded. */
  readonly parameters: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function checkEntry(entry: PasswordAlgorithmEntry): void {
  if (!Number.isInteger(entry.algorithm) || entry.algorithm < 0 || entry.algorithm > 0xffff) {
    throw new InvalidOptionError('algorithm', `a password algorithm is 16 bits, not ${entry.algorithm}`);
  }
  if (entry.parameters.length > 0xffff) throw new InvalidOptionError('parameters', 'parameters too long');
}

function entryBytes(entry: PasswordAlgorithmEntry): number {
  return 4 + ((entry.parameters.length + 3) & ~3);
}

function writeEntry(message: Buffer, offset: number, entry: PasswordAlgorithmEntry): number {
  message.writeUInt16BE(entry.algorithm, offset);
  message.writeUInt16BE(entry.parameters.length, offset + 2);
  message.set(entry.parameters, offset + 4);
  const end = offset + entryBytes(entry);
  message.fill(0, offset + 4 + entry.parameters.length, end);
  return end;
}

/**
 * PASSWORD-ALGORITHM of `algorithm` (with `parameters`, none by default). RFC 8489 §14.12.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` for a number outside 0–0xFFFF.
 */
export function makePasswordAlgorithm(algorithm: number, parameters: Uint8Array = EMPTY): StunAttributeInit {
  const entry = { algorithm, parameters };
  checkEntry(entry);
  return {
    type: StunAttr.PASSWORD_ALGORITHM,
    length: 4 + parameters.length,
    write(message: Buffer, offset: number): void {
      message.writeUInt16BE(algorithm, offset);
      message.writeUInt16BE(parameters.length, offset + 2);
      message.set(entry.parameters, offset + 4);
    },
  };
}

/**
 * PASSWORD-ALGORITHMS listing `entries` in order of preference. RFC 8489 §14.11.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` for a number outside 0–0xFFFF.
 */
export function makePasswordAlgorithms(entries: readonly PasswordAlgorithmEntry[]): StunAttributeInit {
  let length = 0;
  for (const entry of entries) {
    checkEntry(entry);
    length += entryBytes(entry);
  }
  return {
    type: StunAttr.PASSWORD_ALGORITHMS,
    length,
    write(message: Buffer, offset: number): void {
      let at = offset;
      for (const entry of entries) at = writeEntry(message, at, entry);
    },
  };
}

function readEntries(attr: StunAttribute, single: boolean): PasswordAlgorithmEntry[] {
  const value = attr.value;
  const entries: PasswordAlgorithmEntry[] = [];
  let at = 0;
  while (at < value.length) {
    if (value.length - at < 4) {
      throw new ParseError(
        StunErrorCode.ATTRIBUTE_LENGTH,
        'truncated password algorithm entry',
        attr.offset + 4 + at,
      );
    }
    const algorithm = value.readUInt16BE(at);
    const size = value.readUInt16BE(at + 2);
    const end = at + 4 + size;
    const padded = single ? end : at + 4 + ((size + 3) & ~3);
    if (end > value.length || padded > value.length) {
      throw new ParseError(
        StunErrorCode.ATTRIBUTE_LENGTH,
        `password algorithm parameters of ${size} bytes run past the attribute`,
        attr.offset + 4 + at + 2,
      );
    }
    entries.push({ algorithm, parameters: value.subarray(at + 4, end) });
    at = padded;
    if (single) break;
  }
  if (single && at !== value.length) {
    throw new ParseError(
      StunErrorCode.ATTRIBUTE_LENGTH,
      'PASSWORD-ALGORITHM has trailing bytes',
      attr.offset + 2,
    );
  }
  return entries;
}

/**
 * PASSWORD-ALGORITHM, if present.
 * @throws ParseError `ERR_STUN_ATTRIBUTE_LENGTH` when the lengths disagree.
 */
export function getPasswordAlgorithm(message: StunMessage): PasswordAlgorithmEntry | undefined {
  const attr = getAttribute(message, StunAttr.PASSWORD_ALGORITHM);
  if (attr === undefined) return undefined;
  const entry = readEntries(attr, true)[0];
  if (entry === undefined) {
    throw new ParseError(StunErrorCode.ATTRIBUTE_LENGTH, 'empty PASSWORD-ALGORITHM', attr.offset + 2);
  }
  return entry;
}

/**
 * PASSWORD-ALGORITHMS, if present.
 * @throws ParseError `ERR_STUN_ATTRIBUTE_LENGTH` when the lengths disagree.
 */
export function getPasswordAlgorithms(message: StunMessage): PasswordAlgorithmEntry[] | undefined {
  const attr = getAttribute(message, StunAttr.PASSWORD_ALGORITHMS);
  return attr === undefined ? undefined : readEntries(attr, false);
}
