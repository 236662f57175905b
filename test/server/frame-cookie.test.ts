import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import {
  COOKIE_FRAME_BYTES,
  CookieJar,
  decodeServerFrame,
  encodeCookieFrame,
  encodeHello,
  ServerErrorCode,
  ServerFrameKind,
} from '../../src/server/index.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { Prng, replayHint, testSeed } from '../support/prng.ts';

const SECRET = Buffer.alloc(32, 7);
const PERIOD = 30_000;

describe('CookieJar', () => {
  const jar = new CookieJar({ secret: SECRET, periodMs: PERIOD });

  test('a cookie verifies for its address in its period and the next', () => {
    const { period, mac } = jar.mint('192.0.2.1', 5000, 10_000);
    assert.equal(period, 0);
    assert.equal(mac.length, 16);
    assert.ok(jar.verify('192.0.2.1', 5000, period, mac, 10_000));
    assert.ok(jar.verify('192.0.2.1', 5000, period, mac, PERIOD + 1));
  });

  test('rejected: other address, other port, expired, tampered, wrong length', () => {
    const { period, mac } = jar.mint('192.0.2.1', 5000, 10_000);
    const cases: [string, () => boolean][] = [
      ['other address', () => jar.verify('192.0.2.2', 5000, period, mac, 10_000)],
      ['other port', () => jar.verify('192.0.2.1', 5001, period, mac, 10_000)],
      ['two periods later', () => jar.verify('192.0.2.1', 5000, period, mac, 2 * PERIOD + 1)],
      ['future period', () => jar.verify('192.0.2.1', 5000, period + 1, mac, 10_000)],
      ['tampered', () => jar.verify('192.0.2.1', 5000, period, Buffer.from(mac).fill(0, 0, 1), 10_000)],
      ['short', () => jar.verify('192.0.2.1', 5000, period, mac.subarray(0, 8), 10_000)],
    ];
    for (const [name, check] of cases) assert.equal(check(), false, name);
  });

  test('two jars with different secrets do not accept each other’s cookies', () => {
    const other = new CookieJar({ periodMs: PERIOD });
    const { period, mac } = other.mint('192.0.2.1', 5000, 0);
    assert.equal(jar.verify('192.0.2.1', 5000, period, mac, 0), false);
  });
});

describe('server frames', () => {
  test('HELLO is as long as COOKIE: the reply never exceeds the request', () => {
    const hello = encodeHello();
    assert.equal(hello.length, COOKIE_FRAME_BYTES);
    assert.deepEqual(decodeServerFrame(hello), { kind: ServerFrameKind.HELLO });
  });

  test('COOKIE and ECHO round-trip; the MAC is a slice of the input', () => {
    const mac = Buffer.alloc(16, 0xab);
    const frame = encodeCookieFrame(ServerFrameKind.ECHO, 1234, mac);
    const decoded = decodeServerFrame(frame);
    assert.equal(decoded.kind, ServerFrameKind.ECHO);
    if (decoded.kind !== ServerFrameKind.ECHO) return;
    assert.equal(decoded.period, 1234);
    assert.deepEqual(decoded.mac, mac);
    assert.equal(decoded.mac.buffer, frame.buffer);
  });

  const bad: [string, Buffer, string, number][] = [
    ['empty', Buffer.alloc(0), ServerErrorCode.FRAME_TRUNCATED, 0],
    ['one byte', Buffer.from([8]), ServerErrorCode.FRAME_TRUNCATED, 1],
    ['not a server frame', Buffer.from([9, 1]), ServerErrorCode.FRAME_KIND, 0],
    ['kind 0', Buffer.from([8, 0]), ServerErrorCode.FRAME_KIND, 1],
    ['unknown kind', Buffer.from([8, 99]), ServerErrorCode.FRAME_KIND, 1],
    ['short cookie', Buffer.from([8, 2, 0, 0, 0, 1]), ServerErrorCode.FRAME_TRUNCATED, 6],
    ['short marker', Buffer.from([8, 5, 1, 2]), ServerErrorCode.FRAME_TRUNCATED, 4],
  ];
  for (const [name, input, code, offset] of bad) {
    test(`rejects ${name} with ${code}`, () => {
      assert.throws(
        () => decodeServerFrame(input),
        (error: unknown) => error instanceof ParseError && error.code === code && error.offset === offset,
      );
    });
  }

  test('fuzz: random bytes decode to a frame or throw ParseError, nothing else', () => {
    const seed = testSeed(0x5e7f0);
    const prng = new Prng(seed);
    const kept = new FuzzCorpus('server-frame');
    const check = (input: Buffer): void => {
      try {
        decodeServerFrame(input);
      } catch (error) {
        assert.ok(error instanceof ParseError, `threw ${String(error)}`);
      }
    };
    kept.replay(check);
    for (let i = 0; i < 20_000; i++) {
      const input = prng.bytes(Buffer.alloc(prng.int(30)));
      if (input.length > 0 && prng.int(2) === 0) input[0] = 8;
      if (input.length > 1 && prng.int(2) === 0) input[1] = 1 + prng.int(5);
      kept.check(input, check, () => `seed ${seed} (${replayHint()}), input ${i}`);
    }
  });
});
