// The Redis store's node record (src/live/tracker-redis-record.ts): round trips of every role and
// NAT class and both address families, of the broker's fingerprint and candidates, version 1 records, the documented ParseError codes for broken records, and a
// seeded fuzz of mutated records (every input decodes or throws a ParseError with a live code and
// an offset inside the text; kept findings under test/vectors/fuzz/live-redis-record/ first).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import { LiveParseCode } from '../../src/live/index.ts';
import {
  decodeRedisRecord,
  encodeRedisRecord,
  type RedisNodeRecord,
  redisRecordOwnerPrefix,
} from '../../src/live/tracker-redis-record.ts';
import { TRACKER_NAT_CLASSES } from '../../src/live/tracker-wire.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { Prng, replayHint, testSeed } from '../support/prng.ts';

const base: RedisNodeRecord = {
  instance: '0123456789abcdef',
  role: 'peer',
  nat: 'port-restricted',
  relay: false,
  spare: 500_000,
  cap: 4_000_000,
  edge: null,
  address: { address: '10.0.1.1', port: 1024 },
  joinedAtMs: 1_764_654_000_000,
  lastSeenMs: 1_764_654_005_000,
  fingerprint: null,
  candidates: [],
};
const CODES = new Set<string>(Object.values(LiveParseCode));
const kept = new FuzzCorpus('live-redis-record');

function check(text: string): void {
  try {
    decodeRedisRecord(text);
  } catch (error) {
    assert.ok(error instanceof ParseError, `${JSON.stringify(text)}: ${String(error)}`);
    assert.ok(CODES.has(error.code), error.code);
    assert.ok(error.offset >= 0 && error.offset <= text.length, `offset ${error.offset} of ${text.length}`);
  }
}

describe('Redis node record', () => {
  it('round-trips every role, NAT class, relay flag and address family', () => {
    for (const role of ['peer', 'edge', 'source'] as const)
      for (const nat of TRACKER_NAT_CLASSES)
        for (const relay of [false, true]) {
          const r: RedisNodeRecord = {
            ...base,
            role,
            nat,
            relay,
            edge: role === 'edge' ? { address: '2001:db8::7', port: 7001 } : null,
            address: relay ? { address: '2001:db8::1', port: 65_535 } : base.address,
          };
          assert.deepEqual(decodeRedisRecord(encodeRedisRecord(r)), r);
        }
  });

  it('round-trips what the peer registered at the broker (fingerprint, candidates of each kind and family)', () => {
    const r: RedisNodeRecord = {
      ...base,
      fingerprint: 'ab'.repeat(32),
      candidates: [
        { kind: 'host', address: '192.168.1.20', port: 40_000 },
        { kind: 'host', address: 'fe80::1', port: 40_000 },
        { kind: 'srflx', address: '198.51.100.7', port: 1 },
        { kind: 'prflx', address: '2001:db8::9', port: 65_535 },
        { kind: 'relay', address: '203.0.113.5', port: 49_152 },
      ],
    };
    const text = encodeRedisRecord(r);
    assert.ok(
      text.endsWith(
        `|${'ab'.repeat(32)}|h192.168.1.20:40000,hfe80::1:40000,s198.51.100.7:1,p2001:db8::9:65535,r203.0.113.5:49152`,
      ),
      text,
    );
    assert.deepEqual(decodeRedisRecord(text), r);
  });

  it('decodes a version 1 record (no fingerprint, no candidates)', () => {
    const v1 = ['1', ...encodeRedisRecord(base).split('|').slice(1, 11)].join('|');
    assert.deepEqual(decodeRedisRecord(v1), base);
    assert.throws(
      () => decodeRedisRecord(`${v1}|`),
      (e: unknown) => e instanceof ParseError && e.code === LiveParseCode.TRAILING,
    );
  });

  it('is a third of the JSON it replaces, and starts with its owner', () => {
    const text = encodeRedisRecord(base);
    const json = JSON.stringify({ id: 'peer-123456', ...base, joinedAtMs: 0 });
    assert.ok(text.length * 2 < json.length, `${text.length} vs ${json.length} characters`);
    assert.ok(text.startsWith(redisRecordOwnerPrefix(base.instance)));
    assert.ok(!text.startsWith(redisRecordOwnerPrefix('0123456789abcdee')));
  });

  it('refuses broken records with the documented codes', () => {
    const good = encodeRedisRecord(base);
    const fields = good.split('|');
    const swap = (i: number, v: string): string => fields.map((f, k) => (k === i ? v : f)).join('|');
    const cases: [string, string][] = [
      ['', LiveParseCode.BAD_VERSION],
      ['3|x', LiveParseCode.BAD_VERSION],
      ['2|x', LiveParseCode.TRUNCATED],
      [fields.slice(0, 6).join('|'), LiveParseCode.TRUNCATED],
      [`${good}|1`, LiveParseCode.TRAILING],
      [`${good}${'0'.repeat(1100)}`, LiveParseCode.BAD_LENGTH],
      [swap(1, ''), LiveParseCode.BAD_VALUE],
      [swap(2, '3'), LiveParseCode.BAD_VALUE],
      [swap(3, String(TRACKER_NAT_CLASSES.length)), LiveParseCode.BAD_VALUE],
      [swap(4, '2'), LiveParseCode.BAD_VALUE],
      [swap(5, '-1'), LiveParseCode.BAD_VALUE],
      [swap(6, '1e9'), LiveParseCode.BAD_VALUE],
      [swap(7, 'nowhere'), LiveParseCode.BAD_VALUE],
      [swap(8, '10.0.0.1:65536'), LiveParseCode.BAD_VALUE],
      [swap(8, ':80'), LiveParseCode.BAD_VALUE],
      [swap(10, '99999999999999999'), LiveParseCode.BAD_VALUE],
      [swap(11, 'ab'.repeat(31)), LiveParseCode.BAD_VALUE],
      [swap(11, 'AB'.repeat(32)), LiveParseCode.BAD_VALUE],
      [swap(12, 'x10.0.0.1:80'), LiveParseCode.BAD_VALUE],
      [swap(12, 'h10.0.0.1'), LiveParseCode.BAD_VALUE],
      [swap(12, 'h10.0.0.1:80,'), LiveParseCode.BAD_VALUE],
      [swap(12, Array.from({ length: 17 }, (_, i) => `h10.0.0.${i}:80`).join(',')), LiveParseCode.BAD_VALUE],
    ];
    for (const [text, code] of cases)
      assert.throws(
        () => decodeRedisRecord(text),
        (e: unknown) => e instanceof ParseError && e.code === code,
        `${JSON.stringify(text.slice(0, 80))} → ${code}`,
      );
  });

  it('decodes or throws a ParseError for 20,000 mutated records', () => {
    kept.replay((input) => check(input.toString('latin1')));
    const random = new Prng(testSeed(0x4ed1));
    const alphabet = '0123456789abcdef|:.-x ,hr';
    const seeds = [
      encodeRedisRecord(base),
      encodeRedisRecord({ ...base, role: 'edge', edge: base.address }),
      encodeRedisRecord({
        ...base,
        fingerprint: '0f'.repeat(32),
        candidates: [
          { kind: 'host', address: '10.0.0.2', port: 5000 },
          { kind: 'relay', address: '::1', port: 3478 },
        ],
      }),
    ];
    for (let i = 0; i < 20_000; i++) {
      const chars = [...seeds[random.int(seeds.length)]!];
      for (let k = random.int(6); k >= 0; k--) {
        const at = random.int(chars.length + 1);
        const c = alphabet[random.int(alphabet.length)]!;
        const op = random.int(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, c);
        else chars[at] = c;
      }
      const text = chars.join('');
      try {
        check(text);
      } catch (error) {
        const file = kept.keep(
          Buffer.from(text, 'latin1'),
          `seed ${random.seed} input ${i}: ${String(error)}`,
        );
        assert.fail(`${String(error)} (${replayHint()}; kept as ${file})`);
      }
    }
  });
});
