import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import {
  BROKER_WIRE_VERSION,
  type BrokerFrame,
  decodeBrokerFrame,
  decodePunch,
  encodeBrokerFrame,
  encodePunch,
  encodePunchDataHeader,
  fingerprintDigest,
  formatFingerprint,
  verifyPunch,
} from '../../src/punch/index.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { mulberry32, randomBytesFrom, replayHint, testSeed } from '../support/prng.ts';

const SESSION = Buffer.from('0102030405060708', 'hex');
const SECRET = Buffer.alloc(32, 7);
/** A SHA-256 certificate digest as REGISTER and INTRODUCE carry it. */
const FINGERPRINT = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 0xa0));
/** An INTRODUCE's MAC field (the codec carries it; registration.ts computes and checks it). */
const MAC = Buffer.alloc(16, 0x3c);

const frames: BrokerFrame[] = [
  {
    type: 1,
    seq: 1,
    peerId: 'alice',
    token: Buffer.from('tok'),
    natClass: 'port-restricted',
    candidates: [
      { kind: 'host', address: '10.0.0.2', port: 5000 },
      { kind: 'relay', address: '2001:db8::1', port: 3478 },
    ],
  },
  { type: 2, seq: 0xffffffff, session: SESSION },
  { type: 3, seq: 9, session: SESSION, target: 'bob~1' },
  {
    type: 4,
    seq: 77,
    linkId: SESSION,
    role: 1,
    secret: SECRET,
    natClass: 'symmetric',
    peerId: 'bob',
    candidates: [{ kind: 'srflx', address: '203.0.113.9', port: 61000 }],
    mac: MAC,
  },
  {
    type: 1,
    seq: 2,
    peerId: 'carol',
    token: Buffer.alloc(0),
    natClass: 'open',
    fingerprint: FINGERPRINT,
    candidates: [{ kind: 'host', address: '192.168.1.4', port: 6000 }],
  },
  {
    type: 4,
    seq: 78,
    linkId: SESSION,
    role: 0,
    secret: SECRET,
    natClass: 'full-cone',
    peerId: 'carol',
    fingerprint: FINGERPRINT,
    candidates: [],
    mac: MAC,
  },
  { type: 5, seq: 5, status: 0, session: SESSION, observed: { address: '203.0.113.9', port: 4 } },
  { type: 5, seq: 6, status: 2, session: SESSION, observed: null },
  { type: 6, seq: 12, session: SESSION },
];

function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v)),
  );
}

describe('broker wire format', () => {
  it('round-trips every message type', () => {
    for (const frame of frames) {
      const bytes = encodeBrokerFrame(frame);
      assert.equal(bytes[0], 0x05);
      assert.equal(bytes[1], BROKER_WIRE_VERSION);
      assert.deepEqual(plain(decodeBrokerFrame(bytes)), plain(frame));
    }
  });

  const cases: [string, (b: Buffer) => Buffer, string, number][] = [
    ['empty', () => Buffer.alloc(0), 'ERR_PUNCH_FRAME_TRUNCATED', 0],
    ['wrong first byte', (b) => patch(b, 0, 0x04), 'ERR_PUNCH_FRAME_TYPE', 0],
    ['version 1 (the wire before fingerprints)', (b) => patch(b, 1, 1), 'ERR_PUNCH_FRAME_VERSION', 1],
    ['version 3', (b) => patch(b, 1, 3), 'ERR_PUNCH_FRAME_VERSION', 1],
    ['unknown type', (b) => patch(b, 2, 99), 'ERR_PUNCH_FRAME_TYPE', 2],
    ['reserved byte', (b) => patch(b, 3, 1), 'ERR_PUNCH_FRAME_BAD_FIELD', 3],
    ['truncated header', (b) => b.subarray(0, 6), 'ERR_PUNCH_FRAME_TRUNCATED', 4],
    ['peer id length 0', (b) => patch(b, 8, 0), 'ERR_PUNCH_FRAME_BAD_ID', 8],
    ['peer id control byte', (b) => patch(b, 9, 0x0a), 'ERR_PUNCH_FRAME_BAD_ID', 9],
    ['trailing byte', (b) => Buffer.concat([b, Buffer.alloc(1)]), 'ERR_PUNCH_FRAME_TRAILING', b0().length],
    [
      'cut in the candidates',
      (b) => b.subarray(0, b.length - 3),
      'ERR_PUNCH_FRAME_TRUNCATED',
      b0().length - 16,
    ],
  ];
  for (const [name, mutate, code, offset] of cases) {
    it(`rejects ${name} with ${code} at ${offset}`, () => {
      assert.throws(
        () => decodeBrokerFrame(mutate(b0())),
        (e: unknown) => e instanceof ParseError && e.code === code && e.offset === offset,
      );
    });
  }

  it('rejects a bad address family, port 0 and an unknown candidate kind', () => {
    const ack = encodeBrokerFrame(frames[6]!);
    assert.throws(() => decodeBrokerFrame(patch(ack, 18, 5)), { code: 'ERR_PUNCH_FRAME_BAD_ADDRESS' });
    assert.throws(() => decodeBrokerFrame(patch(patch(ack, 19, 0), 20, 0)), {
      code: 'ERR_PUNCH_FRAME_BAD_ADDRESS',
    });
    const reg = b0();
    const kindAt = 8 + 1 + 5 + 2 + 3 + 1 + 1 + 1;
    assert.throws(() => decodeBrokerFrame(patch(reg, kindAt, 9)), { code: 'ERR_PUNCH_FRAME_BAD_CANDIDATE' });
  });
});

describe('broker wire fingerprints (version 2)', () => {
  const vectors = JSON.parse(
    readFileSync(new URL('../vectors/punch/broker-wire-v2.json', import.meta.url), 'utf8'),
  ) as { source: string; vectors: { name: string; hex: string }[] };
  const byName = new Map(vectors.vectors.map((v) => [v.name, Buffer.from(v.hex, 'hex')]));
  const register = frames[4] as Extract<BrokerFrame, { type: 1 }>;
  const introduce = frames[5] as Extract<BrokerFrame, { type: 4 }>;

  it('encodes REGISTER and INTRODUCE with a fingerprint byte for byte as the vectors', () => {
    assert.deepEqual(encodeBrokerFrame(register), byName.get('register-with-fingerprint'));
    assert.deepEqual(encodeBrokerFrame(introduce), byName.get('introduce-with-fingerprint'));
    assert.deepEqual(encodeBrokerFrame(frames[0]!), byName.get('register-without-fingerprint'));
    for (const [name, bytes] of byName) {
      const frame = decodeBrokerFrame(bytes);
      assert.deepEqual(encodeBrokerFrame(frame), bytes, `${name} re-encodes to itself`);
    }
  });

  it('decodes the fingerprint as a slice of the datagram, absent when its length is 0', () => {
    const bytes = byName.get('introduce-with-fingerprint')!;
    const frame = decodeBrokerFrame(bytes);
    assert.ok(frame.type === 4 && frame.fingerprint !== undefined);
    assert.equal(frame.fingerprint.buffer, bytes.buffer);
    assert.deepEqual(frame.fingerprint, FINGERPRINT);
    const none = decodeBrokerFrame(byName.get('register-without-fingerprint')!);
    assert.ok(none.type === 1 && !('fingerprint' in none));
  });

  it('refuses a fingerprint that is not a SHA-256 digest, on both sides of the codec', () => {
    // REGISTER carol: header 8, id 1+5, token 2+0, nat 1 → fpLen at 17.
    const at = 8 + 1 + 5 + 2 + 1;
    const bytes = byName.get('register-with-fingerprint')!;
    assert.equal(bytes[at], 32);
    for (const length of [1, 31, 33, 255]) {
      assert.throws(
        () => decodeBrokerFrame(patch(bytes, at, length)),
        (e: unknown) => e instanceof ParseError && e.code === 'ERR_PUNCH_FRAME_BAD_FIELD' && e.offset === at,
      );
    }
    assert.throws(
      () => decodeBrokerFrame(bytes.subarray(0, at + 10)),
      (e: unknown) =>
        e instanceof ParseError && e.code === 'ERR_PUNCH_FRAME_TRUNCATED' && e.offset === at + 1,
    );
    assert.throws(() => encodeBrokerFrame({ ...register, fingerprint: Buffer.alloc(20) }), RangeError);
  });

  it('fingerprint text and digest convert both ways; anything else is not a fingerprint', () => {
    const text = formatFingerprint(FINGERPRINT);
    assert.match(text, /^A0:A1:A2:(?:[0-9A-F]{2}:){28}BF$/);
    assert.deepEqual(fingerprintDigest(text), FINGERPRINT);
    assert.deepEqual(fingerprintDigest(`sha-256 ${text.toLowerCase()}`), FINGERPRINT);
    for (const bad of [
      undefined,
      7,
      '',
      'A0:A1',
      `${text}:00`,
      text.replace('A0', 'G0'),
      text.replaceAll(':', ''),
    ])
      assert.equal(fingerprintDigest(bad), undefined, String(bad));
  });
});

describe('punch wire format', () => {
  const check = {
    type: 1 as const,
    flags: 1,
    linkId: SESSION,
    sender: 0 as const,
    seq: 42,
    address: { address: '203.0.113.7', port: 40000 },
  };

  it('round-trips probes and replies and verifies the HMAC', () => {
    for (const c of [check, { ...check, type: 2 as const, address: { address: '2001:db8::5', port: 9 } }]) {
      const bytes = encodePunch(c, SECRET);
      const frame = decodePunch(bytes);
      assert.ok(frame.type === 1 || frame.type === 2);
      assert.equal(frame.seq, c.seq);
      assert.equal(frame.flags, c.flags);
      assert.deepEqual(frame.address, c.address);
      assert.ok(verifyPunch(frame, SECRET));
      assert.ok(!verifyPunch(frame, Buffer.alloc(32, 8)), 'another secret fails');
    }
  });

  it('any changed byte breaks the HMAC or the decode', () => {
    const bytes = encodePunch(check, SECRET);
    for (let i = 4; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i]! ^= 0x01;
      let ok = false;
      try {
        const frame = decodePunch(copy);
        ok = frame.type !== 3 && verifyPunch(frame, SECRET);
      } catch (e) {
        assert.ok(e instanceof ParseError);
      }
      assert.equal(ok, false, `flipping byte ${i} still verified`);
    }
  });

  it('decodes DATA frames as a slice of the datagram', () => {
    const header = encodePunchDataHeader(SESSION);
    const datagram = Buffer.concat([header, Buffer.from('hello')]);
    const frame = decodePunch(datagram);
    assert.equal(frame.type, 3);
    assert.ok(frame.type === 3 && frame.payload.toString() === 'hello');
    assert.ok(frame.type === 3 && frame.payload.buffer === datagram.buffer);
  });

  it('rejects unknown flags, sender, reserved bytes and truncation with codes', () => {
    const bytes = encodePunch(check, SECRET);
    assert.throws(() => decodePunch(patch(bytes, 3, 8)), { code: 'ERR_PUNCH_FRAME_BAD_FIELD', offset: 3 });
    assert.throws(() => decodePunch(patch(bytes, 12, 2)), { code: 'ERR_PUNCH_FRAME_BAD_FIELD', offset: 12 });
    assert.throws(() => decodePunch(patch(bytes, 14, 1)), { code: 'ERR_PUNCH_FRAME_BAD_FIELD' });
    assert.throws(() => decodePunch(bytes.subarray(0, bytes.length - 1)), {
      code: 'ERR_PUNCH_FRAME_TRUNCATED',
    });
    assert.throws(() => decodePunch(patch(bytes, 2, 7)), { code: 'ERR_PUNCH_FRAME_TYPE', offset: 2 });
  });
});

describe('fuzz: decoders are total', () => {
  it('250 000 mutated and random inputs give a frame or a ParseError', () => {
    const seed = testSeed(0x5eed6);
    const random = mulberry32(seed);
    const kept = new FuzzCorpus('punch-wire');
    let decoded = 0;
    /** Both decoders on `input`: a frame or a ParseError with an offset inside it. */
    const check = (input: Buffer): void => {
      for (const decode of [decodeBrokerFrame, decodePunch]) {
        try {
          decode(input);
          decoded++;
        } catch (e) {
          if (!(e instanceof ParseError)) assert.fail(`${decode.name}: ${String(e)}`);
          assert.ok(
            e.offset >= 0 && e.offset <= input.length,
            `${decode.name}: offset ${e.offset} out of range`,
          );
        }
      }
    };
    kept.replay(check);
    decoded = 0;
    const seeds = [...frames.map(encodeBrokerFrame), encodePunch({ ...SAMPLE_CHECK }, SECRET)];
    for (let i = 0; i < 250_000; i++) {
      let input: Buffer;
      const pick = seeds[Math.floor(random() * seeds.length)]!;
      const mode = random();
      if (mode < 0.15) {
        input = randomBytesFrom(random, Math.floor(random() * 64));
        if (input.length > 0) input[0] = random() < 0.5 ? 4 : 5;
      } else if (mode < 0.3) {
        input = pick.subarray(0, Math.floor(random() * pick.length));
      } else {
        input = Buffer.from(pick);
        const flips = 1 + Math.floor(random() * 4);
        for (let f = 0; f < flips; f++)
          input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
      }
      kept.check(input, check, () => `seed ${seed} (${replayHint()}), input ${i}`);
    }
    assert.ok(decoded > 1000, `seed ${seed}: too few inputs decoded (${decoded}); the mutator is broken`);
  });
});

const SAMPLE_CHECK = {
  type: 2 as const,
  flags: 0,
  linkId: SESSION,
  sender: 1 as const,
  seq: 3,
  address: { address: '198.51.100.4', port: 1234 },
};

function b0(): Buffer {
  return encodeBrokerFrame(frames[0]!);
}

function patch(b: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(b);
  copy[at] = value;
  return copy;
}
