import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { PortPool } from '../../src/ports/index.ts';
import {
  connectUdp,
  isReusePortAvailable,
  totalDrops,
  UdpServer,
  type UdpSession,
} from '../../src/server/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from './helpers.ts';

checkLeaks();

const skip = isReusePortAvailable() ? false : 'needs SO_REUSEPORT (Linux, Node >= 22.12)';

/** The connected socket of a session (internal state, read by tests only). */
function connectedSocket(session: UdpSession): Socket | undefined {
  return (session.connection as { socket?: Socket; sending?: boolean } | undefined)?.sending === true
    ? (session.connection as { socket: Socket }).socket
    : undefined;
}

describe('UdpServer, connected mode', { skip }, () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  async function server(host: string, port: number): Promise<UdpServer> {
    const s = await UdpServer.listen({ host, port, mode: 'connected', cookie: false });
    cleanup.push(() => s.close({ graceMs: 0 }));
    return s;
  }

  for (const [host, port] of [
    ['127.0.0.1', 63520],
    ['0.0.0.0', 63521],
  ] as const) {
    test(`each session gets its own connected socket on the server's port (host ${host})`, async () => {
      const srv = await server(host, port);
      assert.equal(srv.mode, 'connected');
      const client = await connectUdp({ host: '127.0.0.1', port, handshake: false });
      cleanup.push(() => client.close());
      client.send(Buffer.from('one'));
      const session = (await srv[Symbol.asyncIterator]().next()).value as UdpSession;
      assert.ok(await waitFor(() => connectedSocket(session) !== undefined), 'connected socket ready');
      const socket = connectedSocket(session)!;
      assert.equal(socket.address().port, port);
      assert.equal(socket.remoteAddress().port, client.localPort);
      client.send(Buffer.from('two'));
      const it = session[Symbol.asyncIterator]();
      assert.equal(String((await it.next()).value), 'one');
      assert.equal(String((await it.next()).value), 'two');
      session.send(Buffer.from('reply'));
      const reply = await client[Symbol.asyncIterator]().next();
      assert.equal(String(reply.value), 'reply');
      assert.equal(session.stats().connected, true);
      await session.close();
      assert.equal(srv.size, 0);
    });
  }

  test('zero-length datagrams of an established session are counted as empty, as in shared mode', async () => {
    const srv = await server('127.0.0.1', 63526);
    const client = await connectUdp({ host: '127.0.0.1', port: 63526, handshake: false });
    cleanup.push(() => client.close());
    client.send(Buffer.from('one'));
    const session = (await srv[Symbol.asyncIterator]().next()).value as UdpSession;
    assert.ok(await waitFor(() => connectedSocket(session) !== undefined), 'connected socket ready');
    const it = session[Symbol.asyncIterator]();
    assert.equal(String((await it.next()).value), 'one');
    client.send(Buffer.from('two'));
    assert.equal(String((await it.next()).value), 'two'); // on the session's own socket now
    client.send(Buffer.alloc(0));
    client.send(Buffer.alloc(0));
    client.send(Buffer.from('three'));
    assert.equal(String((await it.next()).value), 'three');
    assert.ok(await waitFor(() => srv.stats().drops.empty === 2), `empty: ${srv.stats().drops.empty}`);
    const stats = srv.stats();
    assert.equal(stats.datagramsIn, stats.delivered + stats.control + totalDrops(stats.drops));
    await session.close();
    assert.equal(srv.stats().drops.empty, 2, 'kept after the session socket closed');
  });

  test('a datagram of another source on a session socket is handed back to the accept path', async () => {
    const srv = await server('127.0.0.1', 63522);
    const client = await connectUdp({ host: '127.0.0.1', port: 63522, handshake: false });
    cleanup.push(() => client.close());
    client.send(Buffer.from('first'));
    const it = srv[Symbol.asyncIterator]();
    const session = (await it.next()).value as UdpSession;
    assert.ok(await waitFor(() => connectedSocket(session) !== undefined));
    // What the kernel does in the bind→connect window: another source's datagram on this socket.
    connectedSocket(session)!.emit('message', Buffer.from('stray'), {
      address: '127.0.0.1',
      family: 'IPv4',
      port: 9,
      size: 5,
    });
    const other = (await it.next()).value as UdpSession;
    assert.equal(other.port, 9);
    assert.equal(String((await other[Symbol.asyncIterator]().next()).value), 'stray');
    assert.equal(srv.stats().handedBack, 1);
    assert.equal(String((await session[Symbol.asyncIterator]().next()).value), 'first');
  });

  test('under 0.0.0.0: a mapped IPv4 stray is handed back unmapped, an IPv6 one is dropped as stray', async () => {
    const srv = await server('0.0.0.0', 63524);
    const client = await connectUdp({ host: '127.0.0.1', port: 63524, handshake: false });
    cleanup.push(() => client.close());
    client.send(Buffer.from('first'));
    const it = srv[Symbol.asyncIterator]();
    const session = (await it.next()).value as UdpSession;
    assert.ok(await waitFor(() => connectedSocket(session) !== undefined));
    const socket = connectedSocket(session)!;
    socket.emit('message', Buffer.from('v4'), {
      address: '::ffff:127.0.0.1',
      family: 'IPv6',
      port: 10,
      size: 2,
    });
    socket.emit('message', Buffer.from('v6'), { address: '::1', family: 'IPv6', port: 11, size: 2 });
    const other = (await it.next()).value as UdpSession;
    assert.equal(other.address, '127.0.0.1');
    assert.equal(other.port, 10);
    const stats = srv.stats();
    assert.equal(stats.handedBack, 1);
    assert.equal(stats.drops.stray, 1);
    assert.equal(srv.size, 2);
  });

  test('ICMP port unreachable on a connected socket surfaces as an unreachable event', async () => {
    const srv = await server('127.0.0.1', 63523);
    const client = await connectUdp({ host: '127.0.0.1', port: 63523, handshake: false });
    client.send(Buffer.from('hi'));
    const session = (await srv[Symbol.asyncIterator]().next()).value as UdpSession;
    assert.ok(await waitFor(() => connectedSocket(session) !== undefined));
    await client.close();
    const unreachable = once(session, 'unreachable') as Promise<[NodeJS.ErrnoException]>;
    const sender = setInterval(() => {
      if (!session.closed) session.send(Buffer.from('anyone?'));
    }, 20);
    try {
      const [error] = await unreachable;
      assert.equal(error.code, 'ECONNREFUSED');
      assert.ok(srv.stats().unreachable >= 1);
      assert.equal(session.closed, false, 'the session stays open; the user decides');
    } finally {
      clearInterval(sender);
    }
  });

  test('close() leaves no socket and no timer behind', async () => {
    const count = (): number =>
      process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap' || r === 'Timeout').length;
    await new Promise((resolve) => setImmediate(resolve));
    const before = count();
    const srv = await UdpServer.listen({ host: '127.0.0.1', port: 63525, mode: 'connected', cookie: false });
    const clients = await Promise.all(
      [0, 1, 2].map(() => connectUdp({ host: '127.0.0.1', port: 63525, handshake: false })),
    );
    const it = srv[Symbol.asyncIterator]();
    for (const c of clients) c.send(Buffer.from('x'));
    const sessions = [
      (await it.next()).value as UdpSession,
      (await it.next()).value as UdpSession,
      (await it.next()).value as UdpSession,
    ];
    assert.ok(await waitFor(() => sessions.every((s) => connectedSocket(s) !== undefined)));
    assert.ok(count() >= before + 3 + 1 + 1 + 3, 'listener, marker socket, sweep timer, session sockets');
    await srv.close({ graceMs: 0 });
    await Promise.all(clients.map((c) => c.close()));
    // libuv frees closed handles in the loop's close phase, after the close callbacks ran.
    assert.ok(
      await waitFor(() => count() === before),
      `left: ${process.getActiveResourcesInfo().join(', ')}`,
    );
  });

  test('a PortPool cannot supply a connected-mode port', async () => {
    const pool = new PortPool({
      range: '63910-63911',
      host: '127.0.0.1',
      cooldownMs: 0,
      warnEphemeralOverlap: false,
    });
    cleanup.push(() => pool.close());
    await assert.rejects(UdpServer.listen({ mode: 'connected', pool }), {
      code: 'ERR_INVALID_OPTION',
      option: 'pool',
    });
  });
});

describe('connected mode where SO_REUSEPORT is missing', () => {
  test('fails with ERR_SERVER_REUSEPORT_UNAVAILABLE', async () => {
    await assert.rejects(
      UdpServer.listen({ host: '127.0.0.1', mode: 'connected', reusePortAvailable: () => false }),
      { name: 'ConfigError', code: 'ERR_SERVER_REUSEPORT_UNAVAILABLE' },
    );
  });

  test("runs shared with fallback: 'shared'", async () => {
    const srv = await UdpServer.listen({
      host: '127.0.0.1',
      mode: 'connected',
      fallback: 'shared',
      reusePortAvailable: () => false,
    });
    try {
      assert.equal(srv.mode, 'shared');
      assert.equal(srv.stats().mode, 'shared');
    } finally {
      await srv.close();
    }
  });

  test('isReusePortAvailable knows platforms and Node versions', () => {
    const cases: [NodeJS.Platform, string, boolean][] = [
      ['linux', '24.9.0', true],
      ['linux', '22.12.0', true],
      ['linux', '22.11.0', false],
      ['linux', '23.0.0', false],
      ['linux', '23.1.0', true],
      ['freebsd', '24.0.0', true],
      ['darwin', '24.9.0', false],
      ['win32', '24.9.0', false],
    ];
    for (const [platform, version, expected] of cases) {
      assert.equal(isReusePortAvailable(platform, version), expected, `${platform} ${version}`);
    }
  });
});
