// Fuzz: random and mutated inputs must decode to a message or throw ParseError — nothing else — and
// the server core must never throw nor answer garbage. Seeded; the seed is printed on failure. The
// RFC 3489 ("classic", no magic cookie) decode mode is fuzzed too, and the server answers both kinds.
// Fast mode runs 1,000,000 inputs; STUN_FUZZ_LONG=1 runs 10,000,000. The kept corpus
// (test/vectors/fuzz/stun/) is replayed first; PORTHOLE_SEED=<n> varies the seed (test/support/prng.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import {
  decodeStun,
  encodeStun,
  getAlternateDomain,
  getAlternateServer,
  getChangedAddress,
  getChangeRequest,
  getErrorCode,
  getMappedAddress,
  getNonce,
  getOtherAddress,
  getPaddingLength,
  getPasswordAlgorithm,
  getPasswordAlgorithms,
  getRealm,
  getResponseOrigin,
  getResponsePort,
  getSoftware,
  getSourceAddress,
  getUnknownAttributes,
  getUserhash,
  getUsername,
  getXorMappedAddress,
  hasValidFingerprint,
  hasValidIntegrity,
  isStunPacket,
  makeAddress,
  makeBindingRequest,
  makeChangeRequest,
  makeErrorCode,
  makePasswordAlgorithms,
  makeRealm,
  makeUnknownAttributes,
  makeUserhash,
  makeUsername,
  makeXorMappedAddress,
  readBindingInfo,
  StunAttr,
  StunClass,
  type StunMessage,
  StunServerCore,
} from '../../src/stun/index.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { checkLeaks } from '../support/leaks.ts';
import { mulberry32 as prng, replayHint, testSeed } from '../support/prng.ts';
import { loadVector } from './vectors.ts';

checkLeaks();

const LONG = process.env.STUN_FUZZ_LONG === '1';
const TOTAL = LONG ? 10_000_000 : 1_000_000;
const SEED = testSeed(0x57a7f022);
const kept = new FuzzCorpus('stun');

const KEY = Buffer.from('fuzz-key');
const corpus: Buffer[] = [
  loadVector('rfc5769-sample-request'),
  loadVector('rfc5769-ipv4-response'),
  loadVector('rfc5769-ipv6-response'),
  loadVector('rfc5769-long-term-request'),
  loadVector('rfc8489-b1-long-term-sha256-request'),
  encodeStun(
    makeBindingRequest({
      changeIp: true,
      changePort: true,
      responsePort: 4000,
      paddingBytes: 12,
      software: 'fz',
    }),
    {
      fingerprint: true,
    },
  ),
  encodeStun(
    {
      method: 1,
      class: StunClass.SUCCESS_RESPONSE,
      attributes: [
        makeXorMappedAddress({ address: '2001:db8::7', port: 9 }),
        makeAddress(StunAttr.MAPPED_ADDRESS, { address: '192.0.2.1', port: 1 }),
        makeAddress(StunAttr.OTHER_ADDRESS, { address: '192.0.2.2', port: 2 }),
        makeAddress(StunAttr.RESPONSE_ORIGIN, { address: '::1', port: 3 }),
        makeAddress(StunAttr.CHANGED_ADDRESS, { address: '192.0.2.3', port: 4 }),
        makeAddress(StunAttr.SOURCE_ADDRESS, { address: '192.0.2.4', port: 5 }),
        makeAddress(StunAttr.ALTERNATE_SERVER, { address: '192.0.2.5', port: 6 }),
      ],
    },
    { integrityKey: KEY, integrity: 'both', fingerprint: true },
  ),
  encodeStun({
    method: 1,
    class: StunClass.ERROR_RESPONSE,
    attributes: [
      makeErrorCode(420),
      makeUnknownAttributes([1, 2, 3]),
      makeUsername('u'),
      makeRealm('r'),
      makeUserhash('u', 'r'),
      makePasswordAlgorithms([
        { algorithm: 1, parameters: new Uint8Array(0) },
        { algorithm: 2, parameters: Uint8Array.of(1) },
      ]),
    ],
  }),
  // RFC 3489 messages: stun-client's Binding request (128-bit ID, CHANGE-REQUEST) and a classic answer.
  encodeStun({
    method: 1,
    class: StunClass.REQUEST,
    classic: true,
    attributes: [makeChangeRequest({ changeIp: false, changePort: true })],
  }),
  encodeStun({
    method: 1,
    class: StunClass.SUCCESS_RESPONSE,
    classic: true,
    attributes: [
      makeAddress(StunAttr.MAPPED_ADDRESS, { address: '192.0.2.1', port: 1 }),
      makeAddress(StunAttr.SOURCE_ADDRESS, { address: '192.0.2.4', port: 5 }),
      makeAddress(StunAttr.CHANGED_ADDRESS, { address: '192.0.2.3', port: 4 }),
    ],
  }),
];

const CLASSIC = { allowClassic: true } as const;

const readers: ((m: StunMessage) => unknown)[] = [
  getAlternateDomain,
  getAlternateServer,
  getChangedAddress,
  getChangeRequest,
  getErrorCode,
  getMappedAddress,
  getNonce,
  getOtherAddress,
  getPaddingLength,
  getPasswordAlgorithm,
  getPasswordAlgorithms,
  getRealm,
  getResponseOrigin,
  getResponsePort,
  getSoftware,
  getSourceAddress,
  getUnknownAttributes,
  getUserhash,
  getUsername,
  getXorMappedAddress,
  readBindingInfo,
];

function mutate(random: () => number, input: Buffer): Buffer {
  const pick = (n: number): number => Math.floor(random() * n);
  let out = Buffer.from(input);
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    switch (pick(8)) {
      case 0: // bit flips
        for (let i = 1 + pick(8); i > 0 && out.length > 0; i--) out[pick(out.length)]! ^= 1 << pick(8);
        break;
      case 1: // truncate
        out = out.subarray(0, pick(out.length + 1));
        break;
      case 2: // extend with random bytes
        out = Buffer.concat([out, Buffer.from(Array.from({ length: 1 + pick(12) }, () => pick(256)))]);
        break;
      case 3: // header length field edit
        if (out.length >= 4)
          out.writeUInt16BE(
            pick(2) === 0 ? pick(65536) : Math.max(0, out.length - 20 + (pick(9) - 4) * 4),
            2,
          );
        break;
      case 4: {
        // attribute length edit (walk to a random attribute by its declared lengths)
        let at = 20;
        const target = pick(8);
        for (let k = 0; k < target && at + 4 <= out.length; k++)
          at += 4 + ((out.readUInt16BE(at + 2) + 3) & ~3);
        if (at + 4 <= out.length) out.writeUInt16BE(pick(2) === 0 ? pick(65536) : pick(48), at + 2);
        break;
      }
      case 5: {
        // attribute type edit
        const at = 20 + 4 * pick(Math.max(1, (out.length - 20) >> 2));
        if (at + 2 <= out.length)
          out.writeUInt16BE(pick(2) === 0 ? pick(65536) : (Object.values(StunAttr)[pick(24)] ?? 0), at);
        break;
      }
      case 6: // fix the length field to match (so mutations reach the attribute parser)
        if (out.length >= 20) out.writeUInt16BE((out.length - 20) & 0xfffc, 2);
        break;
      default:
        {
          // splice a chunk of another corpus message
          const other = corpus[pick(corpus.length)]!;
          const from = pick(other.length);
          out = Buffer.concat([out.subarray(0, pick(out.length + 1)), other.subarray(from, from + pick(40))]);
        }
        break;
    }
  }
  return out;
}

function randomInput(random: () => number): Buffer {
  const length = Math.floor(random() * 96);
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  if (length >= 8 && random() < 0.5) {
    out[0]! &= 0x3f; // looks like STUN more often
    if (random() < 0.75) out.writeUInt32BE(0x2112a442, 4); // else an RFC 3489-looking header
    if (random() < 0.5) out.writeUInt16BE((length - 20) & 0xfffc, 2);
  }
  return out;
}

describe(`STUN fuzz (seed ${SEED}, ${TOTAL} inputs)`, () => {
  it('decoder and accessors: a value or ParseError, nothing else', () => {
    /** Decodes `input` and runs every accessor; true when it decoded. Throws on anything but ParseError. */
    const check = (input: Buffer): boolean => {
      isStunPacket(input); // must not throw
      let message: StunMessage;
      try {
        message = decodeStun(input);
      } catch (error) {
        if (!(error instanceof ParseError)) assert.fail(`decodeStun threw ${String(error)}`);
        return false;
      }
      hasValidFingerprint(message);
      hasValidIntegrity(message, KEY, 'sha1');
      hasValidIntegrity(message, KEY, 'sha256');
      for (const read of readers) {
        try {
          read(message);
        } catch (error) {
          if (!(error instanceof ParseError)) assert.fail(`${read.name} threw ${String(error)}`);
        }
      }
      return true;
    };
    kept.replay(check);
    const random = prng(SEED);
    let decoded = 0;
    let rejected = 0;
    for (let i = 0; i < TOTAL; i++) {
      const input = i % 4 === 0 ? randomInput(random) : mutate(random, corpus[i % corpus.length]!);
      if (kept.check(input, check, () => `seed ${SEED} (${replayHint()}), input ${i}`)) decoded++;
      else rejected++;
    }
    assert.equal(decoded + rejected, TOTAL);
    assert.ok(
      decoded > TOTAL / 20,
      `seed ${SEED}: too few inputs decoded (${decoded}) for the fuzz to reach attributes`,
    );
  });

  it('classic decode mode: a value or ParseError; agrees with strict mode on RFC 8489 messages', () => {
    const random = prng(SEED ^ 0x3489);
    const count = TOTAL / 4;
    let classic = 0;
    for (let i = 0; i < count; i++) {
      const input = i % 4 === 0 ? randomInput(random) : mutate(random, corpus[i % corpus.length]!);
      const where = `seed ${SEED}, input ${i} (${input.toString('hex')})`;
      const looks = isStunPacket(input, CLASSIC);
      let message: StunMessage;
      try {
        message = decodeStun(input, CLASSIC);
      } catch (error) {
        if (!(error instanceof ParseError)) assert.fail(`${where}: decodeStun threw ${String(error)}`);
        assert.notEqual(error.code, 'ERR_STUN_BAD_COOKIE', `${where}: classic mode never checks the cookie`);
        continue;
      }
      assert.ok(looks, `${where}: decoded but isStunPacket(allowClassic) said no`);
      const cookie = input.readUInt32BE(4) === 0x2112a442;
      assert.equal(message.classic, !cookie, where);
      assert.equal(message.transactionId.length, cookie ? 12 : 16, where);
      if (cookie) {
        const strict = decodeStun(input); // must decode the same way without allowClassic
        assert.deepEqual(strict.attributes, message.attributes, where);
        assert.ok(isStunPacket(input), where);
      } else {
        classic++;
        assert.equal(isStunPacket(input), false, `${where}: strict predicate accepted a classic message`);
        assert.throws(() => decodeStun(input), { code: 'ERR_STUN_BAD_COOKIE' }, where);
      }
      for (const read of readers) {
        try {
          read(message);
        } catch (error) {
          if (!(error instanceof ParseError)) assert.fail(`${where}: ${read.name} threw ${String(error)}`);
        }
      }
    }
    assert.ok(classic > count / 50, `seed ${SEED}: too few classic messages decoded (${classic})`);
  });

  it('server core: never throws, never answers garbage', () => {
    const random = prng(SEED ^ 0x5f5f5f5f);
    const core = new StunServerCore({
      locals: [
        { address: '192.0.2.1', port: 3478 },
        { address: '192.0.2.1', port: 3479 },
        { address: '192.0.2.2', port: 3478 },
        { address: '192.0.2.2', port: 3479 },
      ],
      rateLimit: { maxSources: 64 },
    });
    const count = TOTAL / 4;
    for (let i = 0; i < count; i++) {
      const input = i % 2 === 0 ? randomInput(random) : mutate(random, corpus[i % corpus.length]!);
      const from = { address: `198.51.100.${i & 0xff}`, port: 1 + (i & 0x7fff) };
      let reply: ReturnType<StunServerCore['handle']>;
      try {
        reply = core.handle(input, from, i & 3, i);
      } catch (error) {
        assert.fail(`seed ${SEED}, input ${i} (${input.toString('hex')}): the server threw ${String(error)}`);
      }
      if (reply !== undefined) {
        // Only well-formed requests get answers.
        const request = decodeStun(input, CLASSIC);
        assert.equal(request.class, StunClass.REQUEST, `seed ${SEED}, input ${i}: answered a non-request`);
        const response = decodeStun(reply.data, CLASSIC);
        assert.deepEqual(response.transactionId, request.transactionId);
        assert.equal(
          response.classic,
          request.classic,
          `seed ${SEED}, input ${i}: answered in the wrong mode`,
        );
        if (request.classic) {
          assert.equal(getXorMappedAddress(response), undefined, `seed ${SEED}, input ${i}: XOR to RFC 3489`);
        }
      }
    }
    assert.equal(core.stats().received, count);
  });
});
