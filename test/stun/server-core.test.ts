// The sans-I/O server core: Binding answers, RFC 5780 routing, 420, amplification bound, rate limit, stats.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeStun,
  encodeStun,
  getErrorCode,
  getOtherAddress,
  getPaddingLength,
  getResponseOrigin,
  getSoftware,
  getUnknownAttributes,
  getXorMappedAddress,
  hasValidFingerprint,
  makeBindingRequest,
  StunAttr,
  type StunAttributeInit,
  StunClass,
  StunMethod,
  StunServerCore,
} from '../../src/stun/index.ts';

/** An attribute of `type` with a 4-byte value. */
function makeRawFor(type: number): StunAttributeInit {
  return { type, value: Buffer.from([1, 2, 3, 4]) };
}

const A = '192.0.2.1';
const B = '192.0.2.2';
const FOUR = [
  { address: A, port: 3478 },
  { address: A, port: 3479 },
  { address: B, port: 3478 },
  { address: B, port: 3479 },
];
const client = { address: '198.51.100.9', port: 50000 };

function binding(options?: Parameters<typeof makeBindingRequest>[0], fingerprint = false): Buffer {
  return encodeStun(makeBindingRequest(options), { fingerprint });
}

describe('StunServerCore: Binding service', () => {
  it('answers with XOR-MAPPED-ADDRESS, RESPONSE-ORIGIN, SOFTWARE on the arrival socket (56 bytes for 20: within 3×)', () => {
    const core = new StunServerCore({ locals: [{ address: A, port: 3478 }], software: 'porthole' });
    const request = binding();
    const reply = core.handle(request, client, 0, 0);
    assert.ok(reply);
    assert.equal(reply.via, 0);
    assert.deepEqual(reply.to, client);
    const m = decodeStun(reply.data);
    assert.equal(m.class, StunClass.SUCCESS_RESPONSE);
    assert.deepEqual(m.transactionId, request.subarray(8, 20));
    assert.deepEqual(getXorMappedAddress(m), { family: 'IPv4', ...client });
    assert.deepEqual(getResponseOrigin(m), { family: 'IPv4', address: A, port: 3478 });
    assert.equal(getOtherAddress(m), undefined, 'no OTHER-ADDRESS without an alternate address');
    assert.equal(getSoftware(m), 'porthole');
    assert.equal(
      m.attributes.some((a) => a.type === StunAttr.FINGERPRINT),
      false,
    );
  });
  it('mirrors FINGERPRINT by default', () => {
    const core = new StunServerCore({ locals: [{ address: A, port: 3478 }] });
    const m = decodeStun(core.handle(binding({}, true), client, 0, 0)!.data);
    assert.ok(hasValidFingerprint(m));
  });
  it('CHANGE-REQUEST on a one-socket server → 420 with UNKNOWN-ATTRIBUTES [CHANGE-REQUEST] (RFC 5780 §6.1)', () => {
    const core = new StunServerCore({ locals: [{ address: A, port: 3478 }] });
    const m = decodeStun(core.handle(binding({ changeIp: true }), client, 0, 0)!.data);
    assert.equal(m.class, StunClass.ERROR_RESPONSE);
    assert.equal(getErrorCode(m)?.code, 420);
    assert.deepEqual(getUnknownAttributes(m), [StunAttr.CHANGE_REQUEST]);
    assert.equal(core.stats().errorResponses, 1);
  });
  it('unknown comprehension-required attributes → 420 listing them; optional ones are ignored', () => {
    const core = new StunServerCore({ locals: [{ address: A, port: 3478 }] });
    const request = binding({ attributes: [makeRawFor(0x0024), makeRawFor(0x7777), makeRawFor(0xc001)] });
    const m = decodeStun(core.handle(request, client, 0, 0)!.data);
    assert.equal(getErrorCode(m)?.code, 420);
    assert.deepEqual(getUnknownAttributes(m), [0x0024, 0x7777]);
  });
  it('a malformed known attribute → 400; an unknown method → 400', () => {
    const core = new StunServerCore({ locals: [{ address: A, port: 3478 }] });
    const bad = binding({ attributes: [{ type: StunAttr.CHANGE_REQUEST, value: Buffer.from([0, 4]) }] });
    assert.equal(getErrorCode(decodeStun(core.handle(bad, client, 0, 0)!.data))?.code, 400);
    const other = encodeStun({ method: 0x0ff, class: StunClass.REQUEST });
    const m = decodeStun(core.handle(other, client, 0, 0)!.data);
    assert.equal(getErrorCode(m)?.code, 400);
    assert.equal(m.method, 0x0ff);
  });
  it('never answers indications, responses, garbage or a bad FINGERPRINT; counts each', () => {
    const core = new StunServerCore({ locals: [{ address: A, port: 3478 }] });
    const indication = encodeStun({ method: StunMethod.BINDING, class: StunClass.INDICATION });
    const response = encodeStun({ method: StunMethod.BINDING, class: StunClass.SUCCESS_RESPONSE });
    const badFingerprint = binding({}, true);
    badFingerprint[badFingerprint.length - 1]! ^= 1;
    const malformed = Buffer.concat([binding().subarray(0, 20), Buffer.from([0, 6, 0, 9, 1, 2, 3, 4])]);
    malformed.writeUInt16BE(8, 2);
    for (const data of [
      indication,
      response,
      badFingerprint,
      malformed,
      Buffer.from('hello world, not stun!'),
    ]) {
      assert.equal(core.handle(data, client, 0, 0), undefined);
    }
    const s = core.stats();
    assert.equal(s.received, 5);
    assert.equal(s.responses, 0);
    assert.deepEqual(
      { ...s.dropped },
      {
        notStun: 1,
        malformed: 1,
        notRequest: 2,
        badFingerprint: 1,
        rateLimited: 0,
        amplification: 0,
        badLocal: 0,
      },
    );
  });
});

describe('StunServerCore: RFC 5780 mode', () => {
  const cases = [
    { via: 0, changeIp: false, changePort: false, out: 0 },
    { via: 0, changeIp: false, changePort: true, out: 1 },
    { via: 0, changeIp: true, changePort: false, out: 2 },
    { via: 0, changeIp: true, changePort: true, out: 3 },
    { via: 3, changeIp: true, changePort: false, out: 1 },
    { via: 2, changeIp: false, changePort: true, out: 3 },
  ];
  for (const c of cases) {
    it(`arrives on ${c.via}, change ip=${c.changeIp} port=${c.changePort} → leaves from ${c.out}`, () => {
      const core = new StunServerCore({ locals: FOUR });
      const reply = core.handle(
        binding({ changeIp: c.changeIp, changePort: c.changePort }),
        client,
        c.via,
        0,
      )!;
      assert.equal(reply.via, c.out);
      const m = decodeStun(reply.data);
      assert.deepEqual(getResponseOrigin(m), { family: 'IPv4', ...FOUR[c.out]! });
      assert.deepEqual(
        getOtherAddress(m),
        { family: 'IPv4', ...FOUR[c.via ^ 3]! },
        'OTHER-ADDRESS: other IP and port',
      );
    });
  }
  it('RESPONSE-PORT steers the response to that port of the source IP', () => {
    const core = new StunServerCore({ locals: FOUR });
    const reply = core.handle(binding({ responsePort: 40000, paddingBytes: 8 }), client, 0, 0)!;
    assert.deepEqual(reply.to, { address: client.address, port: 40000 });
    assert.deepEqual(getXorMappedAddress(decodeStun(reply.data)), { family: 'IPv4', ...client });
  });
  it('echoes PADDING within the amplification bound, leaves it out beyond', () => {
    const core = new StunServerCore({ locals: FOUR, amplificationFactor: 1.2 });
    const request = binding({ paddingBytes: 400 });
    const large = core.handle(request, client, 0, 0)!;
    assert.equal(getPaddingLength(decodeStun(large.data)), 400);
    assert.ok(large.data.length <= 1.2 * request.length);
    const tiny = core.handle(binding({ paddingBytes: 4 }), client, 0, 0)!;
    assert.equal(getPaddingLength(decodeStun(tiny.data)), undefined);
    assert.equal(core.stats().paddingRefused, 1);
  });
  it('drops a RESPONSE-PORT request whose response would exceed the bound', () => {
    const core = new StunServerCore({ locals: FOUR, amplificationFactor: 1, software: 'x'.repeat(200) });
    assert.equal(core.handle(binding({ responsePort: 40000 }), client, 0, 0), undefined);
    assert.equal(core.stats().dropped.amplification, 1);
  });
});

describe('StunServerCore: rate limit', () => {
  it('allows a burst, refuses past it, refills with time, per source', () => {
    const core = new StunServerCore({
      locals: [{ address: A, port: 3478 }],
      rateLimit: { ratePerSecond: 10, burst: 3, maxSources: 2 },
    });
    const request = binding();
    const answered = (from: typeof client, now: number) => core.handle(request, from, 0, now) !== undefined;
    assert.deepEqual(
      [0, 0, 0, 0].map((t) => answered(client, t)),
      [true, true, true, false],
    );
    assert.equal(
      answered({ address: '198.51.100.10', port: 1 }, 0),
      true,
      'another source has its own bucket',
    );
    assert.equal(answered(client, 99), false, 'not yet a whole token');
    assert.equal(answered(client, 100), true, '10/s → one token per 100 ms');
    assert.equal(answered({ address: '198.51.100.11', port: 1 }, 100), true);
    const s = core.stats();
    assert.equal(s.dropped.rateLimited, 2);
    assert.equal(s.rateLimitSources, 2, 'the table is capped');
    assert.equal(s.rateLimitEvictions, 1);
  });
  it('validates options → ERR_INVALID_OPTION naming the option', () => {
    assert.throws(() => new StunServerCore({ locals: [] }), { code: 'ERR_INVALID_OPTION', option: 'locals' });
    assert.throws(() => new StunServerCore({ locals: FOUR, rateLimit: { burst: 0 } }), {
      code: 'ERR_INVALID_OPTION',
      option: 'burst',
    });
    assert.throws(() => new StunServerCore({ locals: FOUR, amplificationFactor: 0.5 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'amplificationFactor',
    });
  });
});
