import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { detectNat, discoverNat, parseServerAddress, StunDiscoveryTransport } from '../../src/nat/index.ts';
import { StunServer } from '../../src/stun/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const FAST = { rtoMs: 50, rc: 3, rm: 4 };

describe('StunDiscoveryTransport over loopback with porthole StunServer', () => {
  let rfc5780: StunServer;
  let plain: StunServer;
  let silent: Socket;
  before(async () => {
    rfc5780 = await StunServer.listen({
      listen: { address: '127.0.0.1', port: 0 },
      alternate: { address: '127.0.0.2' },
      rateLimit: false,
    });
    plain = await StunServer.listen({ listen: { address: '127.0.0.1', port: 0 } });
    silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await rfc5780?.close();
    await plain?.close();
    silent?.close();
  });

  test('no NAT and no filtering on loopback → open, with the local port as mapped port', async () => {
    const primary = rfc5780.addresses[0]!;
    await using transport = new StunDiscoveryTransport({ localAddress: '127.0.0.1', retransmit: FAST });
    const result = await discoverNat(transport, { server: primary });
    assert.equal(result.natClass, 'open');
    assert.equal(result.natDetected, false);
    assert.equal(result.mapping, 'endpoint-independent');
    assert.equal(result.filtering, 'endpoint-independent');
    assert.equal(result.portPreservation, true);
    assert.equal(result.mappedAddress?.port, await transport.localPort(0));
    assert.deepEqual(result.server.other, { address: '127.0.0.2', port: rfc5780.addresses[3]!.port });
  });

  test('RESPONSE-PORT lands on the other socket: the lifetime probe sees a live binding', async () => {
    const primary = rfc5780.addresses[0]!;
    await using transport = new StunDiscoveryTransport({ localAddress: '127.0.0.1', retransmit: FAST });
    const result = await discoverNat(transport, {
      server: primary,
      lifetime: { maxS: 0.2, precisionS: 0.1 },
    });
    assert.deepEqual(result.bindingLifetime, { aliveS: 0.2, expiredS: null });
    const direct = await transport.bindingRequest({
      socketIndex: 0,
      server: primary,
      changeIp: false,
      changePort: false,
      responsePort: await transport.localPort(1),
      receiveOn: 0,
    });
    assert.equal(direct, 'timeout', 'a response delivered to socket 1 does not count for socket 0');
  });

  test('a server without RFC 5780 gives unknown behaviour with a note', async () => {
    await using transport = new StunDiscoveryTransport({ localAddress: '127.0.0.1', retransmit: FAST });
    const result = await discoverNat(transport, { server: plain.addresses[0]! });
    assert.equal(result.natClass, 'unknown');
    assert.equal(result.natDetected, false);
    assert.match(result.notes.join(), /OTHER-ADDRESS/);
  });

  test('a server that never answers → blocked', async () => {
    const result = await detectNat({
      server: `127.0.0.1:${silent.address().port}`,
      localAddress: '127.0.0.1',
      retransmit: FAST,
    });
    assert.equal(result.natClass, 'blocked');
  });

  test('hairpin probe: a datagram to socket 0 from socket 1 arrives', async () => {
    await using transport = new StunDiscoveryTransport({ localAddress: '127.0.0.1', retransmit: FAST });
    const port0 = await transport.localPort(0);
    assert.equal(await transport.probeHairpin(1, 0, { address: '127.0.0.1', port: port0 }), true);
    assert.equal(
      await transport.probeHairpin(1, 0, { address: '127.0.0.1', port: silent.address().port }),
      false,
    );
    assert.equal(transport.stats().hairpinsReceived, 1);
    assert.equal(transport.stats().sockets, 2);
  });

  test('short and stray datagrams are dropped and counted, never thrown', async () => {
    await using transport = new StunDiscoveryTransport({ localAddress: '127.0.0.1', retransmit: FAST });
    const port = await transport.localPort(0);
    const sender = createSocket('udp4');
    await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
    const send = (data: Buffer) =>
      new Promise<void>((resolve) => sender.send(data, port, '127.0.0.1', () => resolve()));
    await send(Buffer.from([1, 2, 3]));
    await send(Buffer.alloc(40, 0xff));
    await send(Buffer.alloc(20, 0));
    // Counters settle once a real exchange has gone through the same socket afterwards.
    const answer = await transport.bindingRequest({
      socketIndex: 0,
      server: rfc5780.addresses[0]!,
      changeIp: false,
      changePort: false,
    });
    sender.close();
    assert.notEqual(answer, 'timeout');
    assert.equal(transport.stats().droppedShort, 1);
    assert.equal(transport.stats().droppedUnmatched, 2);
  });

  test('closed transports refuse work; bad indexes and options are refused', async () => {
    const transport = new StunDiscoveryTransport({ localAddress: '127.0.0.1', maxSockets: 2 });
    await assert.rejects(transport.localPort(2), { code: 'ERR_INVALID_OPTION', option: 'index' });
    transport.close();
    transport.close();
    await assert.rejects(transport.localPort(0), { code: 'ERR_CLOSED' });
    assert.throws(() => new StunDiscoveryTransport({ maxSockets: 1 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'maxSockets',
    });
  });
});

describe('parseServerAddress', () => {
  const cases: [string, { host: string; port: number } | string][] = [
    ['stun.example.org', { host: 'stun.example.org', port: 3478 }],
    ['198.51.100.1:3479', { host: '198.51.100.1', port: 3479 }],
    ['[2001:db8::1]:19302', { host: '2001:db8::1', port: 19302 }],
    ['2001:db8::1', { host: '2001:db8::1', port: 3478 }],
    ['[::1]', { host: '::1', port: 3478 }],
    ['host:0', 'ERR_INVALID_OPTION'],
    ['host:70000', 'ERR_INVALID_OPTION'],
    [':3478', 'ERR_INVALID_OPTION'],
    ['host:port', 'ERR_INVALID_OPTION'],
    ['two words', 'ERR_INVALID_OPTION'],
  ];
  for (const [text, expected] of cases) {
    test(`${text} → ${typeof expected === 'string' ? expected : `${expected.host} ${expected.port}`}`, () => {
      if (typeof expected === 'string') {
        assert.throws(() => parseServerAddress(text), { code: expected, option: 'server' });
      } else assert.deepEqual(parseServerAddress(text), expected);
    });
  }

  test('an unresolvable host name is reported with its code', async () => {
    await assert.rejects(detectNat({ server: 'no-such-host.invalid', retransmit: FAST }), {
      code: 'ERR_NAT_SERVER_UNRESOLVED',
    });
  });
});
