import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import {
  type BindUdpSocketOptions,
  bindUdpSocket,
  OwnerConflictError,
  PortBindError,
  PortPool,
  type PortPoolOptions,
  PortRangeExhaustedError,
} from '../../src/ports/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { fakeClock, holdPorts } from './helpers.ts';

// This file binds ports 62000-62499 only (other test files run concurrently on other ranges).
const pools: PortPool[] = [];
function makePool(options: Partial<PortPoolOptions> & { range: string }): PortPool {
  const pool = new PortPool({ host: '127.0.0.1', warnEphemeralOverlap: false, ...options });
  pools.push(pool);
  return pool;
}
after(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

checkLeaks();

function tryBind(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      resolve(error.code ?? 'error');
    });
    socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => socket.close(() => resolve('bound')));
  });
}

function send(port: number, payload: string): Promise<void> {
  const socket = createSocket('udp4');
  return new Promise((resolve) =>
    socket.send(payload, port, '127.0.0.1', () => socket.close(() => resolve())),
  );
}

describe('PortPool', () => {
  it('refuses a missing or numeric range with ERR_INVALID_OPTION naming range (issue 11, item 9)', () => {
    for (const options of [{}, { range: 40000 }] as unknown as PortPoolOptions[]) {
      assert.throws(() => new PortPool(options), { code: 'ERR_INVALID_OPTION', option: 'range' });
    }
  });

  it('1. returns bound sockets it holds: nobody else can bind the ports', async () => {
    const pool = makePool({ range: '62000-62009' });
    await using lease = await pool.bind();
    assert.equal(lease.socket.address().port, lease.port);
    assert.equal(await tryBind(lease.port), 'EADDRINUSE');
    await using pair = await pool.bind({ count: 2, parity: 'even' });
    assert.equal(pair.port % 2, 0);
    assert.deepEqual(pair.ports, [pair.port, pair.port + 1]);
    assert.deepEqual(
      pair.sockets.map((s) => s.address().port),
      pair.ports,
    );
    assert.equal(await tryBind(pair.ports[1]!), 'EADDRINUSE');
  });

  it('1. reservation handoff: ports stay reserved, a child that cannot bind gets a fresh pair', async () => {
    const pool = makePool({ range: '62010-62019', cooldownMs: 0 });
    let tornDown = 0;
    const legs = await pool.reserve({
      owner: 'ingest-1',
      count: 2,
      parity: 'even',
      teardown: () => void tornDown++,
    });
    assert.equal(await tryBind(legs.port), 'EADDRINUSE', 'held until handoff');
    await legs.handoff();
    assert.equal(legs.state, 'handed-off');
    assert.equal(legs.sockets.length, 0);
    // While handed off, the pool never gives these ports to anyone else.
    const others = await Promise.allSettled(Array.from({ length: 8 }, () => pool.bind()));
    for (const r of others) if (r.status === 'fulfilled') assert.ok(!legs.ports.includes(r.value.port));
    // Another process grabs the reserved port in the handoff window; the child fails to bind it.
    const thief = await holdPorts([legs.port]);
    try {
      for (const r of others) if (r.status === 'fulfilled') await r.value.release();
      const stolen = legs.port;
      await legs.reportConflict(stolen);
      assert.equal(legs.state, 'held');
      assert.notEqual(legs.port, stolen);
      assert.equal(legs.port % 2, 0);
      assert.equal(pool.stats().foreign, 1);
      assert.equal(await tryBind(legs.port), 'EADDRINUSE', 'the replacement is held again');
    } finally {
      await thief.stop();
    }
    await pool.releaseOwner('ingest-1');
    assert.equal(tornDown, 1);
    assert.equal(pool.reservation('ingest-1'), undefined);
  });

  it('3. cools a released port down before reusing it; cooldown 0 allowed', async () => {
    const clock = fakeClock();
    const pool = makePool({ range: '62020-62020', cooldownMs: 1000, now: clock.now });
    const lease = await pool.bind();
    await lease.release();
    await assert.rejects(pool.bind(), { code: 'ERR_PORT_RANGE_EXHAUSTED' });
    clock.advance(1000);
    const again = await pool.bind();
    assert.equal(again.port, 62020);
    await again.release();
    const instant = makePool({ range: '62021-62021', cooldownMs: 0 });
    await (await instant.bind()).release();
    await (await instant.bind()).release();
  });

  it('3. chooses ports unpredictably across the range', async () => {
    const pool = makePool({ range: '62100-62199', cooldownMs: 0 });
    const first = await Promise.all(Array.from({ length: 20 }, () => pool.bind()));
    const ports = first.map((l) => l.port);
    const sequential = ports.every((p, i) => i === 0 || p === ports[i - 1]! + 1);
    assert.ok(!sequential, `ports were handed out in order: ${ports}`);
    const spread = Math.max(...ports) - Math.min(...ports);
    assert.ok(spread > 40, `20 random choices of 100 ports spread only ${spread}`);
    await Promise.all(first.map((l) => l.release()));
  });

  it('3. drains a released socket: stale datagrams are discarded and counted, then it cools', async (t) => {
    // The pool's clock and the drainer's sweep timer are fake: the idle period passes when the test
    // says so. Datagrams still cross a real loopback socket.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const clock = fakeClock();
    const pool = makePool({
      range: '62030-62030',
      cooldownMs: 0,
      now: clock.now,
      drain: { enabled: true, idleMs: 50, maxMs: 5000 },
    });
    const lease = await pool.bind();
    const received: string[] = [];
    lease.socket.on('message', (m) => received.push(m.toString()));
    await lease.release();
    assert.equal(await tryBind(62030), 'EADDRINUSE', 'still bound while draining');
    assert.equal(pool.stats().draining, 1);
    clock.advance(30);
    await send(62030, 'stale');
    await waitFor(() => pool.stats().drainDiscarded === 1, { what: 'the drainer to discard the datagram' });
    assert.deepEqual(received, [], 'the old owner no longer sees datagrams');
    await assert.rejects(pool.bind(), { code: 'ERR_PORT_RANGE_EXHAUSTED' });
    // The datagram restarted the idle period: 49 ms after it the socket still drains, at 50 it goes.
    clock.advance(49);
    t.mock.timers.tick(25);
    assert.equal(pool.stats().draining, 1, 'still draining 49 ms after the last datagram');
    clock.advance(1);
    t.mock.timers.tick(25);
    await waitFor(() => pool.stats().draining === 0, { what: 'the drained socket to close' });
    const next = await pool.bind();
    assert.equal(next.port, 62030);
    await next.release({ drain: false });
  });

  it('3. caps the number of draining sockets, closing the oldest early', async () => {
    const pool = makePool({
      range: '62040-62043',
      cooldownMs: 0,
      drain: { enabled: true, idleMs: 60_000, maxSockets: 2 },
    });
    const leases = await Promise.all([pool.bind(), pool.bind(), pool.bind()]);
    for (const lease of leases) await lease.release();
    // The evicted socket is closing; once closed its port cools instead of draining.
    for (let i = 0; i < 50 && pool.stats().draining > 2; i++) await new Promise((r) => setImmediate(r));
    assert.equal(pool.stats().draining, 2);
    assert.equal(pool.stats().drainEvicted, 1);
  });

  it('4. remembers a port another process holds: one failed bind per back-off period', async () => {
    const clock = fakeClock();
    const failures = new Map<number, number>();
    const bindSocket = (o: BindUdpSocketOptions): Promise<Socket> =>
      bindUdpSocket(o).catch((error: unknown) => {
        failures.set(o.port, (failures.get(o.port) ?? 0) + 1);
        throw error;
      });
    const pool = makePool({
      range: '62050-62057',
      cooldownMs: 0,
      foreignBackoffMs: 10_000,
      now: clock.now,
      bindSocket,
    });
    const held = [62050, 62051, 62052, 62055];
    const holder = await holdPorts(held);
    const churn = async () => {
      for (let i = 0; i < 20; i++) {
        const lease = await pool.bind(i % 2 === 0 ? { count: 2, parity: 'even' } : {});
        for (const port of lease.ports) assert.ok(!held.includes(port), `got held port ${port}`);
        await lease.release();
      }
    };
    try {
      await churn();
      for (const [port, n] of failures)
        assert.equal(n, 1, `port ${port} failed ${n} times in one back-off period`);
      assert.equal(pool.stats().foreign, failures.size);
      assert.equal(pool.stats().failures.inUse, failures.size);
      clock.advance(10_000);
      await churn();
      for (const [port, n] of failures)
        assert.ok(n <= 2, `port ${port} failed ${n} times in two back-off periods`);
    } finally {
      await holder.stop();
    }
  });

  it('5. fails at once with a typed error when nothing can be had', async () => {
    const pool = makePool({ range: '62060-62061', cooldownMs: 60_000 });
    const a = await pool.bind();
    const b = await pool.bind();
    await a.release();
    const error = await pool.bind().catch((e: unknown) => e);
    assert.ok(error instanceof PortRangeExhaustedError);
    assert.equal(error.code, 'ERR_PORT_RANGE_EXHAUSTED');
    assert.deepEqual(error.counts, { size: 2, used: 1, cooling: 1, foreign: 0 });
    assert.match(error.message, /1 of 2 ports leased, 1 cooling down, 0 held by other processes/);
    await b.release();
  });

  it('5. stops at once on errors no other port can fix', async () => {
    for (const [errno, code] of [
      ['EADDRNOTAVAIL', 'ERR_ADDRESS_NOT_AVAILABLE'],
      ['EACCES', 'ERR_PORT_ACCESS_DENIED'],
      ['EMFILE', 'ERR_FILE_DESCRIPTORS_EXHAUSTED'],
      ['ENFILE', 'ERR_FILE_DESCRIPTORS_EXHAUSTED'],
    ] as const) {
      let binds = 0;
      const pool = makePool({
        range: '62070-62079',
        bindSocket: (o) => {
          binds++;
          return Promise.reject(
            new PortBindError(code, `${errno} injected`, errno, o.address, o.port, undefined),
          );
        },
      });
      await assert.rejects(pool.bind(), { code });
      assert.equal(binds, 1, `${errno} must not be retried on other ports`);
      assert.equal(pool.stats().used, 0, 'the port went back');
      await pool.close();
    }
  });

  it('6. blocks of more than two adjacent ports', async () => {
    const pool = makePool({ range: '62080-62089', cooldownMs: 0 });
    await using block = await pool.bind({ count: 4, parity: 'even' });
    assert.equal(block.port % 2, 0);
    assert.deepEqual(
      block.ports,
      [0, 1, 2, 3].map((i) => block.port + i),
    );
    assert.equal(block.sockets.length, 4);
  });

  it('7. 1000 concurrent bind() calls never hand out one port twice', async () => {
    const pool = makePool({ range: '62200-62399', cooldownMs: 0 });
    const results = await Promise.allSettled(
      Array.from({ length: 1000 }, (_, i) => pool.bind(i % 3 === 0 ? { count: 2, parity: 'even' } : {})),
    );
    const ports = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.ports : []));
    assert.equal(new Set(ports).size, ports.length, 'a port was handed out twice');
    assert.ok(ports.length >= 150, `only ${ports.length} of 200 ports were used`);
    for (const r of results) {
      if (r.status === 'rejected')
        assert.equal((r.reason as { code: string }).code, 'ERR_PORT_RANGE_EXHAUSTED');
    }
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.release() : undefined)));
  });

  it('8. overlapping pools of one process never hand out the same port', async () => {
    const specific = makePool({ range: '62400-62419', cooldownMs: 0 });
    const wildcard = makePool({ range: '62410-62429', cooldownMs: 0, host: '0.0.0.0' });
    const leases = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? specific : wildcard).bind().catch(() => undefined)),
    );
    const ports = leases.flatMap((l) => (l === undefined ? [] : [l.port]));
    assert.equal(new Set(ports).size, ports.length);
    await Promise.all(leases.map((l) => l?.release()));
    const reservation = await specific.reserve({ owner: 'x', count: 2, parity: 'even' });
    await reservation.handoff();
    // Unbound now, but still claimed: the other pool must not take it.
    const all = await Promise.allSettled(Array.from({ length: 20 }, () => wildcard.bind()));
    for (const r of all) if (r.status === 'fulfilled') assert.ok(!reservation.ports.includes(r.value.port));
    assert.ok(wildcard.stats().siblingConflicts > 0 || all.every((r) => r.status === 'fulfilled'));
    await Promise.all(all.map((r) => (r.status === 'fulfilled' ? r.value.release() : undefined)));
    await reservation.release();
  });

  it('9. binds exclusively, never with reuseAddr/reusePort, and partitions for workers', async () => {
    const seen: BindUdpSocketOptions[] = [];
    const pool = makePool({
      range: '62430-62439',
      bindSocket: (o) => {
        seen.push(o);
        return bindUdpSocket(o);
      },
    });
    await using lease = await pool.bind({ count: 2, parity: 'even' });
    assert.equal(lease.sockets.length, 2);
    for (const o of seen) {
      assert.equal(o.exclusive, true);
      assert.notEqual(o.reusePort, true);
    }
    const parts = makePool({ range: '40000-40999', warnEphemeralOverlap: false }).partition(4);
    assert.equal(parts.length, 4);
    assert.equal(parts[0]!.first, 40000);
    assert.equal(parts[3]!.last, 40999);
    for (let i = 0; i < parts.length; i++) {
      assert.equal(parts[i]!.first % 2, 0, 'each part starts on an even port');
      if (i > 0) assert.equal(parts[i]!.first, parts[i - 1]!.last + 1, 'parts are disjoint and contiguous');
    }
  });

  it('11. owner registry: a second registration for the same id is refused', async () => {
    const pool = makePool({ range: '62440-62449', cooldownMs: 0 });
    const [a, b] = await Promise.allSettled([
      pool.reserve({ owner: 'p7', count: 2, parity: 'even' }),
      pool.reserve({ owner: 'p7', count: 2, parity: 'even' }),
    ]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'rejected');
    assert.ok(b.status === 'rejected' && b.reason instanceof OwnerConflictError);
    assert.equal((b as PromiseRejectedResult).reason.code, 'ERR_PORT_OWNER_EXISTS');
    await pool.releaseOwner('p7');
    const again = await pool.reserve({ owner: 'p7', count: 2, parity: 'even' });
    await again.release();
  });

  it('12. IPv6, AbortSignal, async dispose and stats', async () => {
    const v6 = makePool({ range: '62450-62459', host: '::1', family: 'udp6' });
    {
      await using lease = await v6.bind();
      assert.equal(lease.socket.address().family, 'IPv6');
      assert.equal(v6.stats().used, 1);
    }
    assert.equal(v6.stats().used, 0, 'await using released the lease');
    assert.equal(v6.stats().cooling, 1);
    await assert.rejects(v6.bind({ signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' });
    const controller = new AbortController();
    const pending = v6.bind({ signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, { code: 'ERR_ABORTED' });
    assert.equal(v6.stats().used, 0, 'an aborted bind leaves nothing held');
    const stats = v6.stats();
    for (const key of ['size', 'used', 'cooling', 'draining', 'foreign', 'free', 'failures'] as const) {
      assert.ok(key in stats, `stats() lacks ${key}`);
    }
    await v6.close();
    await assert.rejects(v6.bind(), { code: 'ERR_CLOSED' });
  });

  it('13. bad configuration is a typed error at construction or first use', async () => {
    const cases: [Partial<PortPoolOptions>, string][] = [
      [{ range: '' }, 'range'],
      [{ range: '5000-4000' }, 'range'],
      [{ range: '0-100' }, 'range'],
      [{ range: '65000-70000' }, 'range'],
      [{ range: '62000-62010', family: 'udp5' as 'udp4' }, 'family'],
      [{ range: '62000-62010', host: 'example.com' }, 'host'],
      [{ range: '62000-62010', host: '::1' }, 'host'],
      [{ range: '62000-62010', host: '192.0.2.77' }, 'host'],
      [{ range: '62000-62010', cooldownMs: -1 }, 'cooldownMs'],
    ];
    for (const [options, option] of cases) {
      assert.throws(
        () => new PortPool({ range: '1', ...options }),
        { name: 'InvalidOptionError', code: 'ERR_INVALID_OPTION', option },
        JSON.stringify(options),
      );
    }
    const pool = makePool({ range: '62460-62463' });
    await assert.rejects(pool.bind({ count: 5 }), { code: 'ERR_INVALID_OPTION', option: 'count' });
    await assert.rejects(pool.bind({ count: 3, parity: 'even' }), {
      code: 'ERR_INVALID_OPTION',
      option: 'count',
    });
    await assert.rejects(pool.bind({ count: 0 }), { code: 'ERR_INVALID_OPTION', option: 'count' });
    await assert.rejects(pool.bind({ parity: 'odd' as 'even' }), {
      code: 'ERR_INVALID_OPTION',
      option: 'parity',
    });
  });
});
