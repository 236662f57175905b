import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  PortPool,
  type PortPoolOptions,
  PortsDiagnostics,
  type PortsDrainEndedMessage,
  type PortsExhaustedMessage,
  type PortsLeaseAcquiredMessage,
  type PortsLeaseReleasedMessage,
} from '../../src/ports/index.ts';
import { type ChannelRecording, recordChannel, spyPublishes } from '../support/diagnostics.ts';
import { checkLeaks } from '../support/leaks.ts';
import { fakeClock } from './helpers.ts';

const pools: PortPool[] = [];
const recordings: ChannelRecording<unknown>[] = [];

function makePool(options: PortPoolOptions): PortPool {
  const pool = new PortPool({ host: '127.0.0.1', warnEphemeralOverlap: false, ...options });
  pools.push(pool);
  return pool;
}

function record<T>(name: string): ChannelRecording<T> {
  const r = recordChannel<T>(name);
  recordings.push(r as ChannelRecording<unknown>);
  return r;
}

afterEach(async () => {
  for (const r of recordings.splice(0)) r.stop();
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

checkLeaks();

describe('ports diagnostics channels', () => {
  it('publishes lease-acquired and lease-released for a lease', async () => {
    const acquired = record<PortsLeaseAcquiredMessage>(PortsDiagnostics.LEASE_ACQUIRED);
    const released = record<PortsLeaseReleasedMessage>(PortsDiagnostics.LEASE_RELEASED);
    const pool = makePool({ range: '63600-63603', cooldownMs: 0 });
    const lease = await pool.bind({ count: 2, parity: 'even' });
    assert.deepEqual(acquired.messages, [{ kind: 'lease', ports: lease.ports, host: '127.0.0.1' }]);
    assert.equal(lease.ports.length, 2);
    assert.equal(released.messages.length, 0);
    await lease.release();
    await lease.release();
    assert.deepEqual(released.messages, [{ kind: 'lease', ports: lease.ports, drain: false }]);
  });

  it('publishes lease-acquired and lease-released for a reservation, with its owner', async () => {
    const acquired = record<PortsLeaseAcquiredMessage>(PortsDiagnostics.LEASE_ACQUIRED);
    const released = record<PortsLeaseReleasedMessage>(PortsDiagnostics.LEASE_RELEASED);
    const pool = makePool({ range: '63604-63605', cooldownMs: 0 });
    const reservation = await pool.reserve({ owner: 'ingest-7' });
    const ports = reservation.ports;
    assert.deepEqual(acquired.messages, [
      { kind: 'reservation', ports, owner: 'ingest-7', host: '127.0.0.1' },
    ]);
    await reservation.release();
    assert.deepEqual(released.messages, [{ kind: 'reservation', ports, owner: 'ingest-7', drain: false }]);
  });

  it('publishes exhausted with the request and the occupancy', async () => {
    const exhausted = record<PortsExhaustedMessage>(PortsDiagnostics.EXHAUSTED);
    const pool = makePool({ range: '63606-63606', cooldownMs: 60_000 });
    const lease = await pool.bind();
    await assert.rejects(pool.bind(), { code: 'ERR_PORT_RANGE_EXHAUSTED' });
    await lease.release();
    await assert.rejects(pool.bind({ count: 1 }), { code: 'ERR_PORT_RANGE_EXHAUSTED' });
    assert.deepEqual(exhausted.messages, [
      { count: 1, parity: 'any', range: '63606', used: 1, cooling: 0, foreign: 0 },
      { count: 1, parity: 'any', range: '63606', used: 0, cooling: 1, foreign: 0 },
    ]);
  });

  it('publishes lease-released with drain, then drain-ended idle once the fake clock passes idleMs', async () => {
    const released = record<PortsLeaseReleasedMessage>(PortsDiagnostics.LEASE_RELEASED);
    const ended = record<PortsDrainEndedMessage>(PortsDiagnostics.DRAIN_ENDED);
    const clock = fakeClock();
    const pool = makePool({
      range: '63607-63607',
      cooldownMs: 0,
      now: clock.now,
      drain: { enabled: true, idleMs: 10, maxMs: 60_000 },
    });
    const lease = await pool.bind();
    await lease.release();
    assert.deepEqual(released.messages, [{ kind: 'lease', ports: [63607], drain: true }]);
    assert.equal(ended.messages.length, 0);
    clock.advance(25);
    // The sweep timer is the drainer's own (real, unref'd); the message ends the wait.
    assert.deepEqual(await ended.next(), { port: 63607, reason: 'idle', drainedMs: 25 });
  });

  it('publishes drain-ended max-age when drain.maxMs passes before drain.idleMs', async () => {
    const ended = record<PortsDrainEndedMessage>(PortsDiagnostics.DRAIN_ENDED);
    const clock = fakeClock();
    const pool = makePool({
      range: '63608-63608',
      cooldownMs: 0,
      now: clock.now,
      drain: { enabled: true, idleMs: 1_000_000, maxMs: 10 },
    });
    const lease = await pool.bind();
    await lease.release();
    clock.advance(40);
    assert.deepEqual(await ended.next(), { port: 63608, reason: 'max-age', drainedMs: 40 });
  });

  it('publishes drain-ended evicted over drain.maxSockets and closed when the pool closes', async () => {
    const ended = record<PortsDrainEndedMessage>(PortsDiagnostics.DRAIN_ENDED);
    const clock = fakeClock();
    const pool = makePool({
      range: '63610-63611',
      cooldownMs: 0,
      now: clock.now,
      drain: { enabled: true, idleMs: 60_000, maxSockets: 1 },
    });
    const [a, b] = await Promise.all([pool.bind(), pool.bind()]);
    await a!.release();
    clock.advance(5);
    await b!.release();
    assert.deepEqual(ended.messages, [{ port: a!.port, reason: 'evicted', drainedMs: 5 }]);
    await pool.close();
    assert.deepEqual(ended.messages[1], { port: b!.port, reason: 'closed', drainedMs: 0 });
    assert.equal(ended.messages.length, 2);
  });
  it('publishes nothing when nobody subscribes', async () => {
    const names = Object.values(PortsDiagnostics);
    const spy = spyPublishes(names);
    try {
      const pool = makePool({
        range: '63612-63612',
        cooldownMs: 60_000,
        drain: { enabled: true, maxSockets: 1 },
      });
      const lease = await pool.bind();
      await assert.rejects(pool.bind(), { code: 'ERR_PORT_RANGE_EXHAUSTED' });
      await lease.release();
      const reservation = await makePool({ range: '63613-63613', cooldownMs: 0 }).reserve({ owner: 'x' });
      await reservation.release();
      await pool.close();
      assert.equal(pool.stats().allocations, 1);
      for (const name of names) assert.equal(spy.counts.get(name), 0, `${name} published`);
    } finally {
      spy.restore();
    }
  });
});
