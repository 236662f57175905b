import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { DtlsConnection, generateCertificate } from '../../src/dtls/index.ts';
import {
  encodeCookieFrame,
  encodeHello,
  type ServerDatagramDroppedMessage,
  ServerDiagnostics,
  type ServerDtlsHandshakeMessage,
  ServerFrameKind,
  type ServerSessionClosedMessage,
  type ServerSessionOpenedMessage,
  UdpServer,
  type UdpServerOptions,
  type UdpSession,
} from '../../src/server/index.ts';
import {
  type ChannelRecording,
  countingRemote,
  recordChannel,
  spyPublishes,
} from '../support/diagnostics.ts';
import { checkLeaks } from '../support/leaks.ts';

const servers: UdpServer[] = [];
const sockets: Socket[] = [];
const recordings: ChannelRecording<unknown>[] = [];

async function listen(options: UdpServerOptions = {}): Promise<UdpServer> {
  const server = await UdpServer.listen({ host: '127.0.0.1', port: 0, ...options });
  servers.push(server);
  return server;
}

async function client(): Promise<{
  socket: Socket;
  port: number;
  send(server: UdpServer, data: Buffer): void;
}> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    socket,
    port: socket.address().port,
    send: (server, data) => socket.send(data, server.port, '127.0.0.1'),
  };
}

function record<T>(name: string): ChannelRecording<T> {
  const r = recordChannel<T>(name);
  recordings.push(r as ChannelRecording<unknown>);
  return r;
}

afterEach(async () => {
  for (const r of recordings.splice(0)) r.stop();
  await Promise.all(servers.splice(0).map((s) => s.close({ graceMs: 0 })));
  for (const s of sockets.splice(0)) s.close();
});

const DATA = Buffer.from([0x80, 1, 2, 3]);

checkLeaks();

describe('server diagnostics channels', () => {
  it('publishes session-opened for a new source and session-closed (closed, with unread) when its user closes it', async () => {
    const opened = record<ServerSessionOpenedMessage>(ServerDiagnostics.SESSION_OPENED);
    const closed = record<ServerSessionClosedMessage>(ServerDiagnostics.SESSION_CLOSED);
    const server = await listen();
    const c = await client();
    const remote = { address: '127.0.0.1', port: c.port };
    const accepted = once(server, 'session') as Promise<[UdpSession]>;
    c.send(server, DATA);
    c.send(server, DATA);
    const [session] = await accepted;
    assert.deepEqual(await opened.next(), { remote, localPort: server.port, sessions: 1 });
    for (let i = 0; i < 400 && session.stats().datagramsIn < 2; i++)
      await new Promise((r) => setImmediate(r));
    assert.equal(closed.messages.length, 0);
    await session.close();
    assert.deepEqual(closed.messages, [
      { remote, localPort: server.port, reason: 'closed', unread: 2, datagramsIn: 2, datagramsOut: 0 },
    ]);
    assert.equal(opened.messages.length, 1);
  });

  it('publishes session-closed idle from the sweep (fake clock) and server-closing from close()', async () => {
    const closed = record<ServerSessionClosedMessage>(ServerDiagnostics.SESSION_CLOSED);
    let nowMs = 0;
    const server = await listen({ now: () => nowMs, idleTimeoutMs: 1000, sweepIntervalMs: 60_000 });
    const a = await client();
    const b = await client();
    const sessions: UdpSession[] = [];
    server.on('session', (s) => sessions.push(s));
    a.send(server, DATA);
    for (let i = 0; i < 400 && sessions.length < 1; i++) await new Promise((r) => setImmediate(r));
    nowMs = 900;
    server.sweep();
    b.send(server, DATA);
    for (let i = 0; i < 400 && sessions.length < 2; i++) await new Promise((r) => setImmediate(r));
    nowMs = 1500;
    server.sweep();
    assert.deepEqual(
      closed.messages.map((m) => [m.remote.port, m.reason]),
      [[a.port, 'idle']],
    );
    await server.close({ graceMs: 0 });
    assert.deepEqual(
      closed.messages.map((m) => [m.remote.port, m.reason]),
      [
        [a.port, 'idle'],
        [b.port, 'server-closing'],
      ],
    );
  });

  const drops: {
    readonly reason: ServerDatagramDroppedMessage['reason'];
    readonly options: UdpServerOptions;
    /** Sends from a first client (`a`, whose session exists once `a` resolves) and a second one (`b`); returns the dropped datagram, the last of `b`. */
    readonly run: (a: (d: Buffer) => Promise<void>, b: (d: Buffer) => void) => Promise<Buffer> | Buffer;
  }[] = [
    {
      reason: 'filtered',
      options: { acceptFilter: () => false },
      run: (_a, b) => {
        b(DATA);
        return DATA;
      },
    },
    {
      reason: 'maxSessions',
      options: { maxSessions: 1 },
      run: async (a, b) => {
        await a(DATA);
        b(DATA);
        return DATA;
      },
    },
    {
      reason: 'backlogFull',
      options: { backlog: 1 },
      run: async (a, b) => {
        await a(DATA);
        b(DATA);
        return DATA;
      },
    },
    {
      reason: 'sessionQueueFull',
      options: { sessionQueue: 1 },
      run: (_a, b) => {
        b(DATA);
        b(DATA);
        return DATA;
      },
    },
    {
      reason: 'unverified',
      options: { cookie: true },
      run: (_a, b) => {
        b(DATA);
        return DATA;
      },
    },
    {
      reason: 'malformed',
      options: {},
      run: (_a, b) => {
        b(Buffer.from([0x08]));
        return Buffer.from([0x08]);
      },
    },
    {
      reason: 'cookieInvalid',
      options: { cookie: true },
      run: (_a, b) => {
        const echo = encodeCookieFrame(ServerFrameKind.ECHO, 1, Buffer.alloc(16, 7));
        b(echo);
        return echo;
      },
    },
  ];
  for (const { reason, options, run } of drops) {
    it(`publishes datagram-dropped ${reason}`, async () => {
      const dropped = record<ServerDatagramDroppedMessage>(ServerDiagnostics.DATAGRAM_DROPPED);
      const server = await listen(options);
      const a = await client();
      const b = await client();
      const last = await run(
        async (d) => {
          a.send(server, d);
          for (let i = 0; i < 400 && server.size === 0; i++) await new Promise((r) => setImmediate(r));
          assert.equal(server.size, 1);
        },
        (d) => b.send(server, d),
      );
      const message = await dropped.next();
      assert.deepEqual(message, {
        reason,
        from: { address: '127.0.0.1', port: b.port },
        size: last.length,
        localPort: server.port,
      });
      assert.equal(server.stats().drops[reason], 1);
    });
  }

  it('publishes datagram-dropped closing for a new source while close() waits for a busy session', async () => {
    const dropped = record<ServerDatagramDroppedMessage>(ServerDiagnostics.DATAGRAM_DROPPED);
    const server = await listen();
    const a = await client();
    const b = await client();
    const accepted = once(server, 'session') as Promise<[UdpSession]>;
    a.send(server, DATA);
    const [session] = await accepted;
    const closing = server.close({ graceMs: 30_000 });
    b.send(server, encodeHello());
    const message = await dropped.next();
    assert.deepEqual(message, {
      reason: 'closing',
      from: { address: '127.0.0.1', port: b.port },
      size: encodeHello().length,
      localPort: server.port,
    });
    await session.close();
    await closing;
  });

  it('builds no message on the drop and session paths when nobody subscribes', async () => {
    const names = Object.values(ServerDiagnostics);
    const spy = spyPublishes(names);
    try {
      const server = await listen({ maxSessions: 1, sessionQueue: 1 });
      const a = await client();
      const b = await client();
      for (let i = 0; i < 20; i++) a.send(server, DATA);
      for (let i = 0; i < 20; i++) b.send(server, DATA);
      for (let i = 0; i < 400 && server.stats().datagramsIn < 40; i++)
        await new Promise((r) => setImmediate(r));
      const drops = server.stats().drops;
      assert.equal(drops.maxSessions, 20);
      assert.equal(drops.sessionQueueFull, 19);
      await server.close({ graceMs: 0 });
      for (const name of names) assert.equal(spy.counts.get(name), 0, `${name} published`);
    } finally {
      spy.restore();
    }
  });

  it('publishes dtls-handshake for a completed and a failed handshake, and the dtls close reasons', async () => {
    const handshakes = record<ServerDtlsHandshakeMessage>(ServerDiagnostics.DTLS_HANDSHAKE);
    const closed = record<ServerSessionClosedMessage>(ServerDiagnostics.SESSION_CLOSED);
    const certificate = await generateCertificate();
    const server = await listen({ dtls: { certificate } });
    const remote = { address: '127.0.0.1', port: server.port };
    const good = await DtlsConnection.connect({ remote, fingerprints: [certificate.fingerprint] });
    const ok = await handshakes.next((m) => m.ok);
    assert.equal(ok.ok, true);
    assert.equal(ok.cipherSuite, good.cipherSuite);
    assert.equal(ok.errorCode, undefined);
    assert.equal(ok.localPort, server.port);
    await good.close();
    const ended = await closed.next((m) => m.reason === 'dtls-ended');
    assert.equal(ended.remote.port, ok.remote.port);
    const other = await generateCertificate();
    await assert.rejects(DtlsConnection.connect({ remote, fingerprints: [other.fingerprint] }));
    const failed = await handshakes.next((m) => !m.ok);
    assert.equal(failed.cipherSuite, undefined);
    assert.match(failed.errorCode ?? '', /^ERR_DTLS_/);
    const failedClose = await closed.next((m) => m.reason === 'dtls-failed');
    assert.equal(failedClose.remote.port, failed.remote.port);
  });

  it('reads the sender only to look its session up when a drop is not observed', async () => {
    const server = await listen({ cookie: true });
    const unobserved = countingRemote();
    server.demux.inject(DATA, unobserved.from);
    const dropped = record<ServerDatagramDroppedMessage>(ServerDiagnostics.DATAGRAM_DROPPED);
    const observed = countingRemote();
    server.demux.inject(DATA, observed.from);
    dropped.stop();
    assert.equal(server.stats().drops.unverified, 2);
    assert.equal(dropped.messages.length, 1);
    assert.ok(unobserved.reads() > 0, 'the session lookup reads the sender');
    assert.equal(observed.reads(), unobserved.reads() + 2, 'only an observed drop copies address and port');
  });
});
