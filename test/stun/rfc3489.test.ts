// RFC 3489 ("classic") compatibility: the opt-in decode mode, the server's answers to classic clients
// (MAPPED-ADDRESS, SOURCE-ADDRESS, CHANGED-ADDRESS, CHANGE-REQUEST; RFC 8489 §11, RFC 3489 §11.2),
// MAPPED-ADDRESS for modern clients within the amplification bound, and the alternate port default.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { bindUdpSocket } from '../../src/ports/index.ts';
import {
  decodeStun,
  encodeStun,
  getChangedAddress,
  getErrorCode,
  getMappedAddress,
  getPaddingLength,
  getSourceAddress,
  getUnknownAttributes,
  getXorMappedAddress,
  isStunPacket,
  makeBindingRequest,
  makeChangeRequest,
  StunAttr,
  StunClass,
  StunServer,
  StunServerCore,
} from '../../src/stun/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const CLASSIC = { allowClassic: true } as const;
const A = '192.0.2.1';
const B = '192.0.2.2';
const FOUR = [
  { address: A, port: 3478 },
  { address: A, port: 3479 },
  { address: B, port: 3478 },
  { address: B, port: 3479 },
];
const client = { address: '198.51.100.9', port: 50000 };

/** A Binding request as stun-client 0.97 sends it: 128-bit ID (first byte = test number), CHANGE-REQUEST. */
function classicRequest(test: number, changeIp: boolean, changePort: boolean): Buffer {
  const transactionId = randomBytes(16);
  transactionId[0] = test;
  return encodeStun({
    method: 1,
    class: StunClass.REQUEST,
    classic: true,
    transactionId,
    attributes: [makeChangeRequest({ changeIp, changePort })],
  });
}

describe('classic decode mode', () => {
  const request = classicRequest(1, false, true);
  it('encodes an RFC 3489 header: no cookie, 16-byte transaction ID at bytes 4–19', () => {
    assert.equal(request.length, 28);
    assert.equal(request.readUInt16BE(0), 0x0001);
    assert.equal(request[4], 1, 'the ID starts where the cookie would be');
    assert.throws(
      () =>
        encodeStun({ method: 1, class: StunClass.REQUEST, classic: true, transactionId: randomBytes(12) }),
      { code: 'ERR_INVALID_OPTION', option: 'transactionId' },
    );
  });
  it('is strict by default: isStunPacket false, decodeStun ERR_STUN_BAD_COOKIE', () => {
    assert.equal(isStunPacket(request), false);
    assert.throws(() => decodeStun(request), { code: 'ERR_STUN_BAD_COOKIE', offset: 4 });
  });
  it('with allowClassic: a classic message with the 128-bit ID', () => {
    assert.equal(isStunPacket(request, CLASSIC), true);
    const m = decodeStun(request, CLASSIC);
    assert.equal(m.classic, true);
    assert.deepEqual(m.transactionId, request.subarray(4, 20));
    assert.equal(m.class, StunClass.REQUEST);
    assert.equal(m.attributes[0]?.type, StunAttr.CHANGE_REQUEST);
  });
  it('with allowClassic, RFC 8489 messages still decode as modern; framing errors stay errors', () => {
    const modern = encodeStun(makeBindingRequest());
    const m = decodeStun(modern, CLASSIC);
    assert.equal(m.classic, false);
    assert.equal(m.transactionId.length, 12);
    const badLength = Buffer.from(request);
    badLength.writeUInt16BE(6, 2);
    assert.equal(isStunPacket(badLength, CLASSIC), false);
    assert.throws(() => decodeStun(badLength, CLASSIC), { code: 'ERR_STUN_BAD_LENGTH' });
    const notStun = Buffer.from(request);
    notStun[0] = 0x80;
    assert.throws(() => decodeStun(notStun, CLASSIC), { code: 'ERR_STUN_NOT_STUN' });
  });
});

describe('StunServerCore: RFC 3489 clients', () => {
  const cases = [
    { test: 1, changeIp: false, changePort: false, via: 0, out: 0 },
    { test: 2, changeIp: true, changePort: true, via: 1, out: 2 },
    { test: 3, changeIp: false, changePort: true, via: 1, out: 0 },
    { test: 10, changeIp: false, changePort: false, via: 2, out: 2 },
  ];
  for (const c of cases) {
    it(`test ${c.test} on socket ${c.via}: leaves from ${c.out}, MAPPED/SOURCE/CHANGED-ADDRESS`, () => {
      const core = new StunServerCore({ locals: FOUR, software: 'porthole' });
      const request = classicRequest(c.test, c.changeIp, c.changePort);
      const reply = core.handle(request, client, c.via, 0);
      assert.ok(reply);
      assert.equal(reply.via, c.out);
      assert.deepEqual(reply.to, client);
      assert.equal(isStunPacket(reply.data), false, 'no magic cookie in the answer');
      const m = decodeStun(reply.data, CLASSIC);
      assert.equal(m.classic, true);
      assert.equal(m.class, StunClass.SUCCESS_RESPONSE);
      assert.deepEqual(m.transactionId, request.subarray(4, 20), 'the 128-bit ID is copied back');
      assert.deepEqual(getMappedAddress(m), { family: 'IPv4', ...client });
      assert.deepEqual(getSourceAddress(m), { family: 'IPv4', ...FOUR[c.out]! });
      assert.deepEqual(getChangedAddress(m), { family: 'IPv4', ...FOUR[c.via ^ 3]! });
      // Nothing an RFC 3489 client would reject as an unknown mandatory attribute (type < 0x8000).
      const known = new Set<number>([
        StunAttr.MAPPED_ADDRESS,
        StunAttr.SOURCE_ADDRESS,
        StunAttr.CHANGED_ADDRESS,
      ]);
      assert.deepEqual(
        m.attributes.filter((a) => a.type < 0x8000 && !known.has(a.type)),
        [],
      );
      assert.equal(getXorMappedAddress(m), undefined);
      assert.equal(core.stats().classicRequests, 1);
    });
  }
  it('one-socket server: CHANGE-REQUEST with a flag → 420 (UNKNOWN-ATTRIBUTES padded per RFC 3489 §11.2.10)', () => {
    const core = new StunServerCore({ locals: [FOUR[0]!] });
    const m = decodeStun(core.handle(classicRequest(2, true, true), client, 0, 0)!.data, CLASSIC);
    assert.equal(m.classic, true);
    assert.equal(m.class, StunClass.ERROR_RESPONSE);
    assert.equal(getErrorCode(m)?.code, 420);
    assert.deepEqual(getUnknownAttributes(m), [StunAttr.CHANGE_REQUEST, StunAttr.CHANGE_REQUEST]);
    const plain = decodeStun(core.handle(classicRequest(1, false, false), client, 0, 0)!.data, CLASSIC);
    assert.deepEqual(getMappedAddress(plain), { family: 'IPv4', ...client });
    assert.deepEqual(getSourceAddress(plain), { family: 'IPv4', ...FOUR[0]! });
    assert.equal(getChangedAddress(plain), undefined, 'no alternate, no CHANGED-ADDRESS');
  });
  it('rfc3489: false drops them as notStun', () => {
    const core = new StunServerCore({ locals: FOUR, rfc3489: false });
    assert.equal(core.handle(classicRequest(1, false, false), client, 0, 0), undefined);
    assert.equal(core.stats().dropped.notStun, 1);
    assert.equal(core.stats().classicRequests, 0);
  });
  it('the rate limit applies to them unchanged', () => {
    const core = new StunServerCore({ locals: FOUR, rateLimit: { ratePerSecond: 1, burst: 2 } });
    const answered = [1, 2, 3].map(
      () => core.handle(classicRequest(1, false, false), client, 0, 0) !== undefined,
    );
    assert.deepEqual(answered, [true, true, false]);
    assert.equal(core.stats().dropped.rateLimited, 1);
  });
});

describe('StunServerCore: MAPPED-ADDRESS for RFC 5389/8489 clients', () => {
  it('is sent next to XOR-MAPPED-ADDRESS by default', () => {
    const core = new StunServerCore({ locals: [FOUR[0]!] });
    const m = decodeStun(core.handle(encodeStun(makeBindingRequest()), client, 0, 0)!.data);
    assert.deepEqual(getXorMappedAddress(m), { family: 'IPv4', ...client });
    assert.deepEqual(getMappedAddress(m), { family: 'IPv4', ...client });
    assert.equal(core.stats().mappedAddressRefused, 0);
    // RFC 5780 mode, bare 20-byte request: 56 bytes without MAPPED-ADDRESS, 68 with it — over 3×,
    // so it is left out (the server never answers more than 3× what it got for optional extras).
    const four = new StunServerCore({ locals: FOUR });
    const reply = four.handle(encodeStun(makeBindingRequest()), client, 0, 0)!;
    assert.equal(reply.data.length, 56);
    assert.ok(reply.data.length <= 3 * 20);
    assert.equal(getMappedAddress(decodeStun(reply.data)), undefined);
    assert.equal(four.stats().mappedAddressRefused, 1);
  });
  it('mappedAddress: false leaves it out', () => {
    const core = new StunServerCore({ locals: [FOUR[0]!], mappedAddress: false });
    const m = decodeStun(core.handle(encodeStun(makeBindingRequest()), client, 0, 0)!.data);
    assert.equal(getMappedAddress(m), undefined);
    assert.deepEqual(getXorMappedAddress(m), { family: 'IPv4', ...client });
  });
  it('PADDING: kept with MAPPED-ADDRESS within the bound; MAPPED-ADDRESS goes first when both do not fit', () => {
    // 28-byte request (PADDING of 4): 56 + PADDING 8 = 64, + MAPPED 12 = 76.
    const request = encodeStun(makeBindingRequest({ paddingBytes: 4 }));
    assert.equal(request.length, 28);
    const roomy = new StunServerCore({ locals: FOUR }).handle(request, client, 0, 0)!; // 84
    assert.equal(roomy.data.length, 76);
    assert.ok(getMappedAddress(decodeStun(roomy.data)) !== undefined);
    const core = new StunServerCore({ locals: FOUR, amplificationFactor: 2.5 }); // 70
    const tight = core.handle(request, client, 0, 0)!;
    const m = decodeStun(tight.data);
    assert.equal(getMappedAddress(m), undefined);
    assert.equal(getPaddingLength(m), 4, 'the PADDING the client asked for stays');
    assert.ok(tight.data.length <= 2.5 * request.length);
    assert.equal(core.stats().mappedAddressRefused, 1);
    assert.equal(core.stats().paddingRefused, 0);
  });
  it('RESPONSE-PORT: MAPPED-ADDRESS goes before the whole response is refused', () => {
    const request = encodeStun(makeBindingRequest({ responsePort: 40000 }));
    // 28-byte request, factor 2.5 → 70: 68 with MAPPED-ADDRESS fits; factor 2.2 → 61.6: only 56 fits.
    const fits = new StunServerCore({ locals: FOUR, amplificationFactor: 2.5 }).handle(
      request,
      client,
      0,
      0,
    )!;
    assert.ok(getMappedAddress(decodeStun(fits.data)) !== undefined);
    const core = new StunServerCore({ locals: FOUR, amplificationFactor: 2.2 });
    const trimmed = core.handle(request, client, 0, 0)!;
    assert.equal(getMappedAddress(decodeStun(trimmed.data)), undefined);
    assert.equal(trimmed.data.length, 56);
    assert.equal(core.stats().dropped.amplification, 0);
    assert.equal(core.stats().mappedAddressRefused, 1);
  });
});

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

describe('StunServer.listen: alternate port 0 and RFC 3489 clients over loopback', {
  skip: process.platform !== 'linux' ? 'needs Linux: 127.0.0.2 is loopback there' : false,
}, () => {
  let server: StunServer;
  let socket: Socket;
  before(async () => {
    server = await StunServer.listen({
      listen: { address: '127.0.0.1', port: 0 },
      alternate: { address: '127.0.0.2', port: 0 },
      rateLimit: false,
    });
    socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await closeSocket(socket);
    await server.close();
  });

  it('alternate port 0 means the primary port: A:p, A:p+1, B:p, B:p+1', () => {
    const [ap, ap1, bp, bp1] = server.addresses;
    assert.equal(ap1!.port, ap!.port + 1);
    assert.equal(bp!.port, ap!.port);
    assert.equal(bp1!.port, ap!.port + 1);
    assert.equal(bp!.address, '127.0.0.2');
  });

  it('a classic change-IP-and-port request is answered from B:p+1 with the RFC 3489 attributes', async () => {
    const request = classicRequest(2, true, true);
    const arrived = new Promise<[Buffer, { address: string; port: number }]>((resolve) =>
      socket.once('message', (data, from) => resolve([data, from])),
    );
    const primary = server.addresses[0]!;
    socket.send(request, primary.port, primary.address);
    const [data, from] = await arrived;
    assert.deepEqual({ address: from.address, port: from.port }, server.addresses[3]);
    const m = decodeStun(data, CLASSIC);
    assert.equal(m.classic, true);
    assert.deepEqual(m.transactionId, request.subarray(4, 20));
    assert.deepEqual(getMappedAddress(m), {
      family: 'IPv4',
      address: '127.0.0.1',
      port: socket.address().port,
    });
    assert.deepEqual(getSourceAddress(m), { family: 'IPv4', ...server.addresses[3]! });
    assert.deepEqual(getChangedAddress(m), { family: 'IPv4', ...server.addresses[3]! });
    assert.equal(server.stats().classicRequests, 1);
  });
});
