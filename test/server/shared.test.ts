import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { PortPool } from '../../src/ports/index.ts';
import { connectUdp, totalDrops, UdpServer, type UdpSession } from '../../src/server/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from './helpers.ts';

checkLeaks();

async function rawSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

function send(socket: Socket, port: number, text: string): void {
  socket.send(Buffer.from(text), port, '127.0.0.1');
}

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; set: (t: number) => void } {
  let t = 0;
  return {
    now: () => t,
    set: (value) => {
      t = value;
    },
  };
}

describe('UdpServer, shared mode', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  async function server(options: Parameters<typeof UdpServer.listen>[0] = {}): Promise<UdpServer> {
    const s = await UdpServer.listen({ host: '127.0.0.1', port: 0, ...options });
    cleanup.push(() => s.close({ graceMs: 0 }));
    return s;
  }
  async function raw(): Promise<Socket> {
    const s = await rawSocket();
    cleanup.push(() => new Promise<void>((resolve) => s.close(() => resolve())));
    return s;
  }

  test('sessions are keyed by source address; replies go out on the shared socket', async () => {
    const srv = await server();
    assert.equal(srv.mode, 'shared');
    const a = await raw();
    const b = await raw();
    send(a, srv.port, 'a1');
    send(b, srv.port, 'b1');
    send(a, srv.port, 'a2');
    const it = srv[Symbol.asyncIterator]();
    const first = (await it.next()).value as UdpSession;
    const second = (await it.next()).value as UdpSession;
    const byPort = new Map([first, second].map((s) => [s.port, s]));
    const sa = byPort.get(a.address().port)!;
    const sb = byPort.get(b.address().port)!;
    const ia = sa[Symbol.asyncIterator]();
    assert.equal(String((await ia.next()).value), 'a1');
    assert.equal(String((await ia.next()).value), 'a2');
    assert.equal(String((await sb[Symbol.asyncIterator]().next()).value), 'b1');
    sa.send(Buffer.from('to-a'));
    const [reply, from] = (await once(a, 'message')) as [Buffer, { port: number }];
    assert.equal(String(reply), 'to-a');
    assert.equal(from.port, srv.port);
    assert.equal(srv.stats().sessions, 2);
    assert.deepEqual(sa.stats().connected, false);
  });

  test('the session event accepts instead of the iterator; close() frees the key', async () => {
    const srv = await server();
    const sessions: UdpSession[] = [];
    srv.on('session', (s) => sessions.push(s));
    const a = await raw();
    send(a, srv.port, 'x');
    assert.ok(await waitFor(() => sessions.length === 1));
    await sessions[0]!.close();
    assert.equal(srv.size, 0);
    send(a, srv.port, 'y');
    assert.ok(await waitFor(() => sessions.length === 2));
    assert.notEqual(sessions[0], sessions[1]);
    assert.equal(sessions[0]!.closed, true);
    assert.throws(() => sessions[0]!.send(Buffer.from('z')), { code: 'ERR_CLOSED' });
    assert.equal(srv.stats().sessionsCreated, 2);
  });

  test('limits: backlog, max sessions, session queue — dropped and counted by reason', async () => {
    const srv = await server({ backlog: 1, maxSessions: 2, sessionQueue: 2 });
    const a = await raw();
    const b = await raw();
    const c = await raw();
    for (let i = 0; i < 5; i++) send(a, srv.port, `a${i}`);
    assert.ok(await waitFor(() => srv.stats().datagramsIn === 5));
    send(b, srv.port, 'b0'); // backlog (1) holds a's session: refused
    assert.ok(await waitFor(() => srv.stats().drops.backlogFull === 1));
    const sa = (await srv[Symbol.asyncIterator]().next()).value as UdpSession;
    send(b, srv.port, 'b1');
    assert.ok(await waitFor(() => srv.stats().sessions === 2));
    send(c, srv.port, 'c0'); // two sessions exist: refused
    assert.ok(await waitFor(() => srv.stats().drops.maxSessions === 1));
    const stats = srv.stats();
    assert.equal(stats.drops.sessionQueueFull, 3);
    assert.equal(sa.stats().dropped, 3);
    assert.equal(stats.delivered, 3);
    assert.equal(stats.datagramsIn, stats.delivered + stats.control + totalDrops(stats.drops));
  });

  test('acceptFilter refuses sources; zero-length datagrams are counted as empty', async () => {
    const a = await raw();
    const srv = await server({ acceptFilter: (remote) => remote.port !== a.address().port });
    send(a, srv.port, 'no');
    a.send(Buffer.alloc(0), srv.port, '127.0.0.1');
    assert.ok(await waitFor(() => srv.stats().drops.filtered === 1 && srv.stats().drops.empty === 1));
    assert.equal(srv.size, 0);
  });

  test('idle sessions expire on the sweep (injected clock)', async () => {
    const clock = manualClock();
    const srv = await server({ idleTimeoutMs: 10_000, now: clock.now });
    const sessions: UdpSession[] = [];
    srv.on('session', (s) => sessions.push(s));
    const a = await raw();
    const b = await raw();
    send(a, srv.port, 'a');
    send(b, srv.port, 'b');
    assert.ok(await waitFor(() => sessions.length === 2));
    const [sa, sb] = [
      sessions.find((s) => s.port === a.address().port)!,
      sessions.find((s) => s.port === b.address().port)!,
    ];
    clock.set(6_000);
    srv.sweep();
    send(a, srv.port, 'a-again');
    assert.ok(await waitFor(() => sa.stats().datagramsIn === 2));
    clock.set(12_000);
    srv.sweep();
    assert.equal(sb.closed, true, 'b idle since 0');
    assert.equal(sa.closed, false, 'a active at 6000');
    clock.set(16_001);
    srv.sweep();
    assert.equal(sa.closed, true);
    assert.equal(srv.stats().sessionsExpired, 2);
  });

  test('close(): stops accepting, closes idle sessions, lets busy ones finish, ends every iterator', async () => {
    const clock = manualClock();
    const srv = await UdpServer.listen({
      host: '127.0.0.1',
      port: 0,
      idleTimeoutMs: 0,
      now: clock.now,
      sweepIntervalMs: 1_000,
    });
    const a = await raw();
    const b = await raw();
    const c = await raw();
    const it = srv[Symbol.asyncIterator]();
    send(a, srv.port, 'a');
    send(b, srv.port, 'b');
    const first = (await it.next()).value as UdpSession;
    const second = (await it.next()).value as UdpSession;
    send(c, srv.port, 'c'); // c stays in the backlog, never accepted
    assert.ok(await waitFor(() => srv.stats().backlog === 1));
    const [busy, idle] = first.port === a.address().port ? [first, second] : [second, first];
    clock.set(5_000);
    srv.sweep();
    send(a, srv.port, 'a2'); // a is active in the last sweep interval
    assert.ok(await waitFor(() => busy.stats().datagramsIn === 2));
    const busyReader = (async () => {
      const got: string[] = [];
      for await (const d of busy) got.push(String(d));
      return got;
    })();
    let closed = false;
    const closing = srv.close({ graceMs: 60_000 }).then(() => {
      closed = true;
    });
    assert.equal(idle.closed, true, 'idle session closed at once');
    assert.equal((await it.next()).done, true, 'accept iterator ended');
    send(c, srv.port, 'late');
    assert.ok(await waitFor(() => srv.stats().drops.closing >= 1), 'new sources refused while closing');
    assert.equal(busy.closed, false, 'busy session still open');
    assert.equal(closed, false);
    busy.send(Buffer.from('bye'));
    await once(a, 'message');
    await busy.close();
    await closing;
    assert.deepEqual(await busyReader, ['a', 'a2']);
    await srv.close(); // idempotent
  });

  test('close() grace ends: remaining sessions are closed and their iterators end', async () => {
    const srv = await UdpServer.listen({ host: '127.0.0.1', port: 0, idleTimeoutMs: 0 });
    const a = await raw();
    send(a, srv.port, 'a');
    const session = (await srv[Symbol.asyncIterator]().next()).value as UdpSession;
    const reader = (async () => {
      let n = 0;
      for await (const _ of session) n++;
      return n;
    })();
    await srv.close({ graceMs: 20 });
    assert.equal(session.closed, true);
    assert.equal(await reader, 1);
  });

  test('cookies on: a plain datagram makes no session and gets no reply; the client handshake does', async () => {
    const srv = await server({ cookie: true });
    const a = await raw();
    let replies = 0;
    a.on('message', () => replies++);
    send(a, srv.port, 'hello?');
    assert.ok(await waitFor(() => srv.stats().drops.unverified === 1));
    assert.equal(srv.size, 0);
    const client = await connectUdp({ host: '127.0.0.1', port: srv.port });
    cleanup.push(() => client.close());
    const session = (await srv[Symbol.asyncIterator]().next()).value as UdpSession;
    assert.equal(session.port, client.localPort);
    client.send(Buffer.from('data'));
    assert.equal(String((await session[Symbol.asyncIterator]().next()).value), 'data');
    session.send(Buffer.from('back'));
    assert.equal(String((await client[Symbol.asyncIterator]().next()).value), 'back');
    const stats = srv.stats();
    assert.equal(stats.cookiesVerified, 1);
    assert.equal(replies, 0);
  });

  test('cookies on: never more than 3x the bytes received go to an unverified address', async () => {
    const srv = await server({ cookie: true });
    const a = await raw();
    let bytesBack = 0;
    a.on('message', (m: Buffer) => {
      bytesBack += m.length;
    });
    let bytesSent = 0;
    const inputs = [
      Buffer.from([8, 1]), // short hello: malformed, no reply
      Buffer.concat([Buffer.from([8, 1]), Buffer.alloc(20)]), // hello: one cookie
      Buffer.concat([Buffer.from([8, 3]), Buffer.alloc(20)]), // forged echo: cookieInvalid
      Buffer.from('x'.repeat(100)), // data: unverified
    ];
    for (let i = 0; i < 10; i++) {
      for (const input of inputs) {
        a.send(input, srv.port, '127.0.0.1');
        bytesSent += input.length;
      }
    }
    assert.ok(await waitFor(() => srv.stats().datagramsIn === 40));
    assert.ok(await waitFor(() => bytesBack === srv.stats().bytesOut));
    const stats = srv.stats();
    assert.equal(stats.drops.malformed, 10);
    assert.equal(stats.drops.cookieInvalid, 10);
    assert.equal(stats.drops.unverified, 10);
    assert.equal(stats.cookiesSent, 10);
    assert.ok(bytesBack > 0 && bytesBack <= 3 * bytesSent, `${bytesBack} > 3 x ${bytesSent}`);
    assert.equal(srv.size, 0);
  });

  test('a PortPool lease can supply the port', async () => {
    const pool = new PortPool({
      range: '63900-63909',
      host: '127.0.0.1',
      cooldownMs: 0,
      warnEphemeralOverlap: false,
    });
    cleanup.push(() => pool.close());
    const srv = await server({ pool });
    assert.ok(srv.port >= 63900 && srv.port <= 63909);
    const client = await connectUdp({ host: '127.0.0.1', port: srv.port, handshake: false });
    cleanup.push(() => client.close());
    client.send(Buffer.from('p'));
    const session = (await srv[Symbol.asyncIterator]().next()).value as UdpSession;
    assert.equal(session.port, client.localPort);
    await srv.close();
    assert.equal(pool.stats().used, 0);
  });

  test('options are checked', async () => {
    await assert.rejects(UdpServer.listen({ host: 'localhost' }), {
      code: 'ERR_INVALID_OPTION',
      option: 'host',
    });
    await assert.rejects(UdpServer.listen({ backlog: 0 }), { code: 'ERR_INVALID_OPTION', option: 'backlog' });
    await assert.rejects(UdpServer.listen({ port: 70_000 }), { code: 'ERR_INVALID_OPTION', option: 'port' });
    await assert.rejects(UdpServer.listen({ signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' });
  });
});
