// StunClient ↔ StunServer over real loopback sockets (IPv4 and IPv6), via a socket and via a Demux.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { Demux, demuxOf, frameRange, PortholeFrame, STUN_RANGE } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import {
  getErrorCode,
  getSoftware,
  getXorMappedAddress,
  makeBindingRequest,
  StunClass,
  StunClient,
  StunServer,
  shortTermKey,
} from '../../src/stun/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

describe('client ↔ server on 127.0.0.1', () => {
  let server: StunServer;
  let socket: Socket;
  let client: StunClient;
  before(async () => {
    server = await StunServer.listen({
      listen: { address: '127.0.0.1' },
      software: 'porthole-test',
      rateLimit: false,
    });
    socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    client = new StunClient({ demux: demuxOf(socket) });
  });
  after(async () => {
    client.close();
    demuxOf(socket).detach();
    await closeSocket(socket);
    await server.close();
  });

  it('Binding: XOR-MAPPED-ADDRESS is the client socket, the response came from the server', async () => {
    const to = server.addresses[0]!;
    const result = await client.binding({ to, fingerprint: true });
    assert.equal(result.message.class, StunClass.SUCCESS_RESPONSE);
    assert.deepEqual(result.mapped, { family: 'IPv4', address: '127.0.0.1', port: socket.address().port });
    assert.deepEqual(result.from, { family: 'IPv4', address: '127.0.0.1', port: to.port });
    assert.deepEqual(result.responseOrigin, { family: 'IPv4', ...to });
    assert.equal(result.otherAddress, undefined);
    assert.equal(getSoftware(result.message), 'porthole-test');
    assert.equal(result.attempts, 1);
  });
  it('many requests in parallel from one socket are each matched to their own response', async () => {
    const to = server.addresses[0]!;
    const ids = Array.from({ length: 50 }, () => randomBytes(12));
    const responses = await Promise.all(
      ids.map((transactionId) => client.request(makeBindingRequest({ transactionId }), { to })),
    );
    for (let i = 0; i < ids.length; i++) assert.deepEqual(responses[i]!.message.transactionId, ids[i]);
  });
  it('CHANGE-REQUEST to a one-socket server resolves with a 420 error response', async () => {
    const result = await client.binding({ to: server.addresses[0]!, changeIp: true, changePort: true });
    assert.equal(result.message.class, StunClass.ERROR_RESPONSE);
    assert.equal(result.error?.code, 420);
    assert.equal(getErrorCode(result.message)?.code, 420);
  });
  it('a request with integrity whose response lacks it times out (response discarded, RFC 8489 §9.1.4)', async () => {
    await assert.rejects(
      client.binding({ to: server.addresses[0]!, integrityKey: shortTermKey('pw'), rtoMs: 20, rc: 2, rm: 2 }),
      { code: 'ERR_TIMEOUT' },
    );
    assert.ok(client.stats().badIntegrity >= 1);
  });
  it('server stats count what it answered', () => {
    const s = server.stats();
    assert.ok(s.responses >= 51);
    assert.ok(s.errorResponses >= 1);
    assert.equal(s.dropped.malformed, 0);
  });
});

describe('client edge cases', () => {
  let silent: Socket;
  let socket: Socket;
  before(async () => {
    silent = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
  });
  after(async () => {
    demuxOf(socket).detach();
    await closeSocket(silent);
    await closeSocket(socket);
  });

  it('times out with TimeoutError after rc transmissions', async () => {
    const client = new StunClient({ demux: demuxOf(socket) });
    try {
      const to = { address: '127.0.0.1', port: silent.address().port };
      let received = 0;
      const count = (): void => {
        received++;
      };
      silent.on('message', count);
      await assert.rejects(client.binding({ to, rtoMs: 5, rc: 3, rm: 2 }), {
        code: 'ERR_TIMEOUT',
        name: 'TimeoutError',
      });
      silent.off('message', count);
      assert.equal(client.stats().timeouts, 1);
      assert.equal(client.stats().retransmits, 2);
      assert.ok(received <= 3);
    } finally {
      client.close();
    }
  });
  it('AbortSignal rejects with AbortError, before and during the request', async () => {
    const client = new StunClient({ demux: demuxOf(socket) });
    try {
      const to = { address: '127.0.0.1', port: silent.address().port };
      await assert.rejects(client.binding({ to, signal: AbortSignal.abort('x') }), { code: 'ERR_ABORTED' });
      const controller = new AbortController();
      const pending = client.binding({ to, signal: controller.signal });
      controller.abort();
      await assert.rejects(pending, { code: 'ERR_ABORTED' });
      assert.equal(client.stats().inFlight, 0);
    } finally {
      client.close();
    }
  });
  it('close() rejects requests in flight with ClosedError and is idempotent', async () => {
    const client = new StunClient({ demux: demuxOf(socket) });
    const pending = client.binding({ to: { address: '127.0.0.1', port: silent.address().port } });
    client.close();
    client.close();
    await assert.rejects(pending, { code: 'ERR_CLOSED' });
    await assert.rejects(client.binding({ to: { address: '127.0.0.1', port: 1 } }), { code: 'ERR_CLOSED' });
    // The client's STUN route is gone: bytes 0–3 of the demux are free for a plain handler again.
    demuxOf(socket)
      .register(STUN_RANGE, () => {})
      .remove();
  });
  it('ignores responses with unknown transaction IDs and non-STUN datagrams', async () => {
    const client = new StunClient({ demux: demuxOf(socket) });
    try {
      const { encodeStun, StunMethod } = await import('../../src/stun/index.ts');
      const stray = encodeStun({ method: StunMethod.BINDING, class: StunClass.SUCCESS_RESPONSE });
      const from = { address: '127.0.0.1', port: 9, family: 'IPv4' as const, size: stray.length };
      assert.equal(client.handleDatagram(stray, from), false);
      assert.equal(client.handleDatagram(Buffer.from('nope'), from), false);
      assert.equal(client.stats().notStun, 1);
      // Through the demux: nobody claims the stray response, and the router counts it.
      const demux = demuxOf(socket);
      const before = demux.stats().stun.unclaimedResponses;
      demux.inject(stray, from);
      assert.equal(demux.stats().stun.unclaimedResponses, before + 1);
      assert.equal(client.stats().inFlight, 0);
    } finally {
      client.close();
    }
  });
});

describe('client and server on sockets shared through a Demux', () => {
  it('routes STUN to them and other frames elsewhere', async (t) => {
    const serverSocket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const clientSocket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const serverDemux = new Demux(serverSocket);
    const clientDemux = new Demux(clientSocket);
    const server = new StunServer({ demux: serverDemux, rateLimit: false });
    const client = new StunClient({ demux: clientDemux });
    t.after(async () => {
      client.close();
      await server.close();
      serverDemux.detach();
      clientDemux.detach();
      await closeSocket(serverSocket);
      await closeSocket(clientSocket);
    });
    const app: Buffer[] = [];
    serverDemux.register(frameRange(PortholeFrame.APPLICATION), (data) => app.push(data));
    const appArrived = new Promise<void>((resolve) => {
      serverDemux.register(frameRange(PortholeFrame.PUNCH), () => resolve());
    });
    clientSocket.send(
      Buffer.from([PortholeFrame.APPLICATION, 1, 2, 3]),
      serverSocket.address().port,
      '127.0.0.1',
    );
    const result = await client.binding({ to: { address: '127.0.0.1', port: serverSocket.address().port } });
    assert.deepEqual(getXorMappedAddress(result.message), {
      family: 'IPv4',
      address: '127.0.0.1',
      port: clientSocket.address().port,
    });
    clientSocket.send(Buffer.from([PortholeFrame.PUNCH]), serverSocket.address().port, '127.0.0.1');
    await appArrived; // datagrams on loopback arrive in order: the APPLICATION frame came first
    assert.equal(app.length, 1);
    assert.equal(serverDemux.stats().byFirstByte[0], 1);
  });
});

describe('IPv6 loopback', () => {
  it('Binding over ::1 reports an IPv6 mapped address', async (t) => {
    let socket: Socket;
    try {
      socket = await bindUdpSocket({ family: 'udp6', address: '::1', port: 0 });
    } catch {
      t.skip('no IPv6 loopback on this machine');
      return;
    }
    const server = await StunServer.listen({ listen: { address: '::1' }, rateLimit: false });
    const client = new StunClient({ demux: demuxOf(socket) });
    t.after(async () => {
      client.close();
      demuxOf(socket).detach();
      await closeSocket(socket);
      await server.close();
    });
    const result = await client.binding({ to: server.addresses[0]! });
    assert.deepEqual(result.mapped, { family: 'IPv6', address: '::1', port: socket.address().port });
    assert.equal(result.from.family, 'IPv6');
  });
});

describe('one socket that is both STUN client and STUN server (ICE-style)', () => {
  it('client and server register side by side on each demux; the STUN sub-router splits them', async (t) => {
    const a = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const b = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const demuxA = demuxOf(a);
    const demuxB = demuxOf(b);
    const clientA = new StunClient({ demux: demuxA });
    const serverA = new StunServer({ demux: demuxA, rateLimit: false });
    const clientB = new StunClient({ demux: demuxB });
    const serverB = new StunServer({ demux: demuxB, rateLimit: false });
    t.after(async () => {
      clientA.close();
      clientB.close();
      await serverA.close();
      await serverB.close();
      demuxA.detach();
      demuxB.detach();
      await closeSocket(a);
      await closeSocket(b);
    });
    const [ab, ba] = await Promise.all([
      clientA.binding({ to: { address: '127.0.0.1', port: b.address().port } }),
      clientB.binding({ to: { address: '127.0.0.1', port: a.address().port } }),
    ]);
    assert.equal(ab.mapped?.port, a.address().port);
    assert.equal(ba.mapped?.port, b.address().port);
    assert.equal(serverA.stats().responses, 1);
    assert.equal(serverB.stats().responses, 1);
    for (const demux of [demuxA, demuxB]) {
      const stun = demux.stats().stun;
      assert.equal(stun.requests, 1, 'the request went to the server');
      assert.equal(stun.responses, 1, 'the response went to the client');
      assert.equal(stun.unclaimedRequests + stun.unclaimedResponses, 0);
    }
  });
  it('an unbound socket → ERR_INVALID_OPTION (sockets)', async () => {
    const { createSocket } = await import('node:dgram');
    const unbound = createSocket('udp4');
    try {
      assert.throws(() => new StunServer({ demux: demuxOf(unbound) }), {
        code: 'ERR_INVALID_OPTION',
        option: 'demux',
      });
    } finally {
      demuxOf(unbound).detach();
      unbound.close();
    }
  });
});
