// ChannelData codec (RFC 8656 §12.4) and TURN attributes (§18): round trips, negative cases by code,
// and a seeded fuzz of ≥ 200,000 inputs through the decoder and the allocation core's receive path
// (the kept corpus test/vectors/fuzz/turn-channel-data/ first; PORTHOLE_SEED=<n> varies the seed).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, ParseError } from '../../src/errors/index.ts';
import { decodeStun, encodeStun, StunClass, StunMethod } from '../../src/stun/index.ts';
import {
  checkChannelData,
  decodeChannelData,
  encodeChannelData,
  getChannelNumber,
  getData,
  getEvenPort,
  getLifetime,
  getRequestedAddressFamily,
  getRequestedTransport,
  getReservationToken,
  getXorPeerAddress,
  getXorRelayedAddress,
  hasDontFragment,
  isChannelData,
  makeChannelNumber,
  makeData,
  makeDontFragment,
  makeEvenPort,
  makeLifetime,
  makeRequestedAddressFamily,
  makeRequestedTransport,
  makeReservationToken,
  makeXorPeerAddress,
  makeXorRelayedAddress,
  TurnAllocation,
  TurnAttr,
} from '../../src/turn/index.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { mulberry32 as prng, replayHint, testSeed } from '../support/prng.ts';

const SEED = testSeed(0x7c4a9e11);
const kept = new FuzzCorpus('turn-channel-data');
const TOTAL = 250_000;

const CODES = new Set([
  'ERR_TURN_CHANNEL_TRUNCATED',
  'ERR_TURN_CHANNEL_BAD_NUMBER',
  'ERR_TURN_CHANNEL_BAD_LENGTH',
]);

function parseCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ParseError, `not a ParseError: ${error}`);
    return error.code;
  }
  return 'ok';
}

describe('ChannelData codec', () => {
  it('round-trips every size class and slices instead of copying', () => {
    for (const size of [0, 1, 3, 4, 5, 100, 1200, 65535]) {
      const payload = Buffer.alloc(size, 0xab);
      const bytes = encodeChannelData(0x4001, payload);
      assert.equal(bytes.length, 4 + size); // no padding over UDP
      assert.equal(isChannelData(bytes), true);
      const decoded = decodeChannelData(bytes);
      assert.equal(decoded.channel, 0x4001);
      assert.deepEqual(decoded.data, payload);
      assert.equal(decoded.data.buffer, bytes.buffer, 'a slice of the received Buffer');
    }
  });

  it('accepts up to 3 bytes of padding, rejects more', () => {
    const bytes = Buffer.concat([encodeChannelData(0x4fff, Buffer.from([1, 2, 3, 4, 5])), Buffer.alloc(3)]);
    assert.equal(checkChannelData(bytes), 5);
    assert.equal(
      parseCode(() => checkChannelData(Buffer.concat([bytes, Buffer.alloc(1)]))),
      'ERR_TURN_CHANNEL_BAD_LENGTH',
    );
  });

  const cases: [string, string, number][] = [
    ['', 'ERR_TURN_CHANNEL_TRUNCATED', 0],
    ['400000', 'ERR_TURN_CHANNEL_TRUNCATED', 3],
    ['40000002aa', 'ERR_TURN_CHANNEL_TRUNCATED', 5],
    ['50000000', 'ERR_TURN_CHANNEL_BAD_NUMBER', 0],
    ['3fff0000', 'ERR_TURN_CHANNEL_BAD_NUMBER', 0],
    ['400000010000000000', 'ERR_TURN_CHANNEL_BAD_LENGTH', 5],
  ];
  for (const [hex, code, offset] of cases) {
    it(`rejects ${hex || '(empty)'} with ${code} at ${offset}`, () => {
      assert.throws(
        () => decodeChannelData(Buffer.from(hex, 'hex')),
        (error: unknown) => error instanceof ParseError && error.code === code && error.offset === offset,
      );
    });
  }

  it('refuses to encode bad channels and oversize data', () => {
    for (const channel of [0x3fff, 0x5000, 1.5]) {
      assert.throws(() => encodeChannelData(channel, Buffer.alloc(1)), {
        code: 'ERR_INVALID_OPTION',
        option: 'channel',
      });
    }
    assert.throws(() => encodeChannelData(0x4000, Buffer.alloc(65536)), ConfigError);
  });

  it(`fuzz: ${TOTAL} random and mutated inputs decode or throw a ChannelData ParseError (seed ${SEED})`, () => {
    const random = prng(SEED);
    const core = new TurnAllocation({
      server: { address: '192.0.2.1', port: 3478 },
      username: 'u',
      password: 'p',
    });
    const from = { address: '192.0.2.1', port: 3478 };
    const valid = encodeChannelData(0x4123, Buffer.from('hello, relay'));
    let decoded = 0;
    /** Decodes `input` and feeds it to the allocation core; true when it decoded. */
    const check = (input: Buffer, nowMs: number): boolean => {
      const code = parseCode(() => {
        const result = decodeChannelData(input);
        assert.ok(result.channel >= 0x4000 && result.channel <= 0x4fff);
        assert.equal(result.data.length, input.readUInt16BE(2));
        assert.ok(input.length - 4 - result.data.length <= 3);
      });
      if (code !== 'ok') assert.ok(CODES.has(code), code);
      core.receive(input, from, nowMs); // never throws
      return code === 'ok';
    };
    kept.replay((input) => check(input, 0));
    for (let i = 0; i < TOTAL; i++) {
      let input: Buffer;
      if (i % 2 === 0) {
        input = Buffer.alloc(Math.floor(random() * 24));
        for (let j = 0; j < input.length; j++) input[j] = Math.floor(random() * 256);
        if (input.length > 0 && random() < 0.7) input[0] = 0x40 | (input[0]! & 0x0f);
      } else {
        input = Buffer.from(valid.subarray(0, Math.floor(random() * (valid.length + 1))));
        if (random() < 0.5) input = Buffer.concat([input, Buffer.alloc(Math.floor(random() * 6))]);
        const flips = Math.floor(random() * 3);
        for (let f = 0; f < flips && input.length > 0; f++) {
          input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
        }
      }
      if (
        kept.check(
          input,
          (data) => check(data, i),
          () => `seed ${SEED} (${replayHint()}), input ${i}`,
        )
      )
        decoded++;
    }
    assert.ok(decoded > 0, 'some inputs decoded');
  });
});

describe('TURN attributes (RFC 8656 §18)', () => {
  it('round-trip through encodeStun / decodeStun', () => {
    const token = Buffer.from('0102030405060708', 'hex');
    const payload = Buffer.from('payload');
    const message = decodeStun(
      encodeStun({
        method: StunMethod.ALLOCATE,
        class: StunClass.REQUEST,
        attributes: [
          makeChannelNumber(0x4abc),
          makeLifetime(3600),
          makeXorPeerAddress({ address: '2001:db8::7', port: 5000 }),
          makeData(payload),
          makeXorRelayedAddress({ address: '198.51.100.2', port: 49152 }),
          makeRequestedAddressFamily('IPv6'),
          makeEvenPort(true),
          makeRequestedTransport(),
          makeDontFragment(),
          makeReservationToken(token),
        ],
      }),
    );
    assert.equal(getChannelNumber(message), 0x4abc);
    assert.equal(getLifetime(message), 3600);
    assert.deepEqual(getXorPeerAddress(message), { family: 'IPv6', address: '2001:db8::7', port: 5000 });
    assert.deepEqual(getData(message), payload);
    assert.deepEqual(getXorRelayedAddress(message), { family: 'IPv4', address: '198.51.100.2', port: 49152 });
    assert.equal(getRequestedAddressFamily(message), 'IPv6');
    assert.deepEqual(getEvenPort(message), { reserveNext: true });
    assert.equal(getRequestedTransport(message), 17);
    assert.equal(hasDontFragment(message), true);
    assert.deepEqual(getReservationToken(message), token);
  });

  it('absent attributes read as undefined; wrong lengths throw ERR_STUN_ATTRIBUTE_LENGTH', () => {
    const empty = decodeStun(encodeStun({ method: StunMethod.REFRESH, class: StunClass.REQUEST }));
    assert.equal(getLifetime(empty), undefined);
    assert.equal(hasDontFragment(empty), false);
    for (const [type, read] of [
      [TurnAttr.LIFETIME, getLifetime],
      [TurnAttr.CHANNEL_NUMBER, getChannelNumber],
      [TurnAttr.REQUESTED_TRANSPORT, getRequestedTransport],
      [TurnAttr.RESERVATION_TOKEN, getReservationToken],
    ] as const) {
      const bad = decodeStun(
        encodeStun({ method: 3, class: StunClass.REQUEST, attributes: [{ type, value: Buffer.alloc(3) }] }),
      );
      assert.throws(() => read(bad), { code: 'ERR_STUN_ATTRIBUTE_LENGTH' });
    }
  });

  it('builders validate their input', () => {
    assert.throws(() => makeChannelNumber(0x5000), { code: 'ERR_INVALID_OPTION', option: 'channel' });
    assert.throws(() => makeLifetime(-1), { code: 'ERR_INVALID_OPTION', option: 'seconds' });
    assert.throws(() => makeReservationToken(Buffer.alloc(7)), {
      code: 'ERR_INVALID_OPTION',
      option: 'token',
    });
    assert.throws(() => makeXorPeerAddress({ address: 'not-an-ip', port: 1 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'address',
    });
  });
});
