// StunClient ↔ StunServer over real loopback sockets (IPv4 and IPv6), via a socket and via a Demux.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { Demux, frameRange, PortholeFrame } from '../../src/mux/index.ts';
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
    client = new StunClient(socket);
  });
  after(async () => {
    client.close();
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
    await closeSocket(silent);
    await closeSocket(socket);
  });

  it('times out with TimeoutError after rc transmissions', async () => {
    const client = new StunClient(socket);
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
    const client = new StunClient(socket);
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
    const client = new StunClient(socket);
    const pending = client.binding({ to: { address: '127.0.0.1', port: silent.address().port } });
    client.close();
    client.close();
    await assert.rejects(pending, { code: 'ERR_CLOSED' });
    await assert.rejects(client.binding({ to: { address: '127.0.0.1', port: 1 } }), { code: 'ERR_CLOSED' });
    assert.equal(socket.listenerCount('message'), 0, 'the client detached from the socket');
  });
  it('ignores responses with unknown transaction IDs and non-STUN datagrams', async () => {
    const client = new StunClient(socket);
    try {
      const { encodeStun, StunMethod } = await import('../../src/stun/index.ts');
      const stray = encodeStun({ method: StunMethod.BINDING, class: StunClass.SUCCESS_RESPONSE });
      const from = { address: '127.0.0.1', port: 9, family: 'IPv4' as const, size: stray.length };
      assert.equal(client.handleDatagram(stray, from), false);
      assert.equal(client.handleDatagram(Buffer.from('nope'), from), false);
      assert.equal(client.stats().unknownResponses, 1);
      assert.equal(client.stats().notStun, 1);
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
    const server = new StunServer({ sockets: [serverDemux], rateLimit: false });
    const client = new StunClient(clientDemux);
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
    const client = new StunClient(socket);
    t.after(async () => {
      client.close();
      await closeSocket(socket);
      await server.close();
    });
    const result = await client.binding({ to: server.addresses[0]! });
    assert.deepEqual(result.mapped, { family: 'IPv6', address: '::1', port: socket.address().port });
    assert.equal(result.from.family, 'IPv6');
  });
});

describe('one socket that is both STUN client and STUN server (ICE-style)', () => {
  it('a single Demux handler offers datagrams to the client, then to the server', async (t) => {
    const a = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const b = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const demuxA = new Demux(a);
    const demuxB = new Demux(b);
    const clientA = new StunClient(a, { listen: false });
    const serverA = new StunServer({ sockets: [a], attach: false, rateLimit: false });
    const clientB = new StunClient(b, { listen: false });
    const serverB = new StunServer({ sockets: [b], attach: false, rateLimit: false });
    demuxA.register({ first: 0, last: 3 }, (data, from) => {
      if (!clientA.handleDatagram(data, from)) serverA.handleDatagram(data, from);
    });
    demuxB.register({ first: 0, last: 3 }, (data, from) => {
      if (!clientB.handleDatagram(data, from)) serverB.handleDatagram(data, from);
    });
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
  });
  it('an unbound socket → ERR_STUN_BAD_OPTION', async () => {
    const { createSocket } = await import('node:dgram');
    const unbound = createSocket('udp4');
    try {
      assert.throws(() => new StunServer({ sockets: [unbound] }), { code: 'ERR_STUN_BAD_OPTION' });
    } finally {
      unbound.close();
    }
  });
});
