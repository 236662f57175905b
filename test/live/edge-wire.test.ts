// The edge admission frames (edge-wire.ts): round trips, every refusal the decoder owes, and a
// seeded fuzz (50,000 inputs: mutations of valid frames and random bytes) — each input decodes or
// throws a ParseError with a live code and an offset inside it. Kept findings replay first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import {
  AdmitStatus,
  decodeAdmitFrame,
  EDGE_TOKEN_MAX_BYTES,
  encodeAdmit,
  encodeAdmitted,
  LiveParseCode,
} from '../../src/live/index.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { Prng, replayHint, testSeed } from '../support/prng.ts';

const CODES = new Set<string>(Object.values(LiveParseCode));
const kept = new FuzzCorpus('live-admit');

function check(input: Buffer): void {
  try {
    decodeAdmitFrame(input);
  } catch (error) {
    assert.ok(error instanceof ParseError, `not a ParseError: ${String(error)}`);
    assert.ok(CODES.has(error.code), `unknown code ${error.code}`);
    assert.ok(error.offset >= 0 && error.offset <= input.length, `offset ${error.offset} outside the input`);
  }
}

describe('edge admission frames', () => {
  it('round-trips ADMIT and ADMITTED', () => {
    const token = Buffer.from('a-token-of-the-operator');
    assert.deepEqual(decodeAdmitFrame(encodeAdmit(0xdeadbeef, token)), {
      type: 'admit',
      nonce: 0xdeadbeef,
      token,
    });
    assert.deepEqual(decodeAdmitFrame(encodeAdmitted(7, AdmitStatus.BAD_TOKEN, 0x01020304)), {
      type: 'admitted',
      nonce: 7,
      status: AdmitStatus.BAD_TOKEN,
      instance: 0x01020304,
    });
    assert.equal(encodeAdmit(1, token)[0], 0x0a, 'a LIVE_CONTROL porthole frame');
  });

  const bad: [string, Buffer, string, number][] = [
    ['empty', Buffer.alloc(0), LiveParseCode.TRUNCATED, 0],
    ['another frame byte', Buffer.from('0901', 'hex'), LiveParseCode.BAD_TYPE, 0],
    ['an unknown type', Buffer.from('0a0301', 'hex'), LiveParseCode.BAD_TYPE, 1],
    ['an unknown version', Buffer.from('0a0102', 'hex'), LiveParseCode.BAD_VERSION, 2],
    ['no nonce', Buffer.from('0a0101aa', 'hex'), LiveParseCode.TRUNCATED, 3],
    ['an empty token', Buffer.from('0a0101000000010000', 'hex'), LiveParseCode.BAD_LENGTH, 7],
    [
      'a token too long',
      Buffer.from(`0a010100000001${(EDGE_TOKEN_MAX_BYTES + 1).toString(16).padStart(4, '0')}`, 'hex'),
      LiveParseCode.BAD_LENGTH,
      7,
    ],
    ['a token cut short', Buffer.from('0a01010000000100056162', 'hex'), LiveParseCode.TRUNCATED, 9],
    [
      'bytes after ADMIT',
      Buffer.concat([encodeAdmit(1, Buffer.from('x')), Buffer.from([0])]),
      LiveParseCode.TRAILING,
      10,
    ],
    ['an unknown status', Buffer.from('0a02010000000105', 'hex'), LiveParseCode.BAD_VALUE, 7],
    ['no instance', Buffer.from('0a02010000000100', 'hex'), LiveParseCode.TRUNCATED, 8],
  ];
  for (const [what, input, code, offset] of bad) {
    it(`refuses ${what} (${code} at ${offset})`, () => {
      assert.throws(
        () => decodeAdmitFrame(input),
        (e: unknown) => e instanceof ParseError && e.code === code && e.offset === offset,
      );
    });
  }

  it('decodes or refuses with a code 50,000 fuzzed inputs', () => {
    kept.replay(check);
    const prng = new Prng(testSeed(0xad_1117));
    const seeds = [encodeAdmit(5, Buffer.from('token')), encodeAdmitted(9, AdmitStatus.OK, 3)];
    for (let i = 0; i < 50_000; i++) {
      let input: Buffer;
      if (i % 4 === 0) input = prng.bytes(Buffer.alloc(prng.int(24)));
      else {
        input = Buffer.from(seeds[i % 2]!);
        for (let m = prng.int(3); m >= 0; m--) input[prng.int(input.length)] = prng.int(256);
        if (prng.int(8) === 0) input = input.subarray(0, prng.int(input.length + 1));
      }
      try {
        check(input);
      } catch (error) {
        const file = kept.keep(input, `seed ${prng.seed} input ${i}: ${String(error)}`);
        assert.fail(`fuzz input ${i} broke the decoder (kept as ${file}; ${replayHint()}): ${String(error)}`);
      }
    }
  });
});
