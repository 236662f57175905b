import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PortAllocator, PortState } from '../../src/ports/index.ts';
import { scriptedRandom } from './helpers.ts';

const range = (first: number, last: number) => ({ first, last });

describe('PortAllocator', () => {
  it('hands out every port of the range exactly once, then reports none', () => {
    const allocator = new PortAllocator({ range: range(1000, 1099), cooldownMs: 0 });
    const seen = new Set<number>();
    for (let i = 0; i < 100; i++) {
      const port = allocator.take(1, 'any', 0);
      assert.ok(port >= 1000 && port <= 1099, `port ${port} outside the range`);
      assert.ok(!seen.has(port), `port ${port} handed out twice`);
      seen.add(port);
    }
    assert.equal(allocator.take(1, 'any', 0), -1);
    assert.equal(allocator.counts(0).used, 100);
  });

  it('spends a constant number of random draws per choice at any occupancy (no scan, no retry loop)', () => {
    const random = scriptedRandom(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 65_521));
    const allocator = new PortAllocator({ range: range(2000, 2999), cooldownMs: 0, random });
    for (let i = 0; i < 999; i++) {
      const before = random.calls;
      assert.notEqual(allocator.take(1, 'any', 0), -1);
      assert.ok(random.calls - before <= 4, `take #${i} drew ${random.calls - before} random numbers`);
    }
  });

  it('gives out pairs as an even port and the next odd one', () => {
    const allocator = new PortAllocator({ range: range(3001, 3010), cooldownMs: 0 });
    const bases = new Set<number>();
    for (;;) {
      const base = allocator.take(2, 'even', 0);
      if (base < 0) break;
      assert.equal(base % 2, 0);
      assert.ok(base + 1 <= 3010);
      bases.add(base);
    }
    // 3001 and 3010 have no partner inside the range: 3002..3009 make four pairs.
    assert.deepEqual([...bases].sort(), [3002, 3004, 3006, 3008]);
    assert.equal(allocator.counts(0).free, 2);
  });

  it('takes singles from broken pairs before breaking a whole pair', () => {
    const allocator = new PortAllocator({ range: range(4000, 4007), cooldownMs: 0 });
    const pair = allocator.take(2, 'even', 0);
    allocator.release(pair, 0);
    allocator.release(pair + 1, 0);
    assert.equal(allocator.counts(0).freePairs, 4);
    // The first single has to break a pair; its other half is left alone.
    assert.notEqual(allocator.take(1, 'any', 0), -1);
    const before = allocator.counts(0).freePairs;
    assert.equal(before, 3);
    const single = allocator.take(1, 'any', 0);
    assert.notEqual(single, -1);
    assert.equal(allocator.counts(0).freePairs, 3, 'the lone half was used, no whole pair broken');
  });

  it('prefers the port released longest ago among its random candidates', () => {
    // Always draw index 0 then 1, 0, 1: candidates alternate between the two members.
    const random = scriptedRandom([0, 0, 0, 0, 0, 1, 0, 1, 0, 1]);
    const allocator = new PortAllocator({ range: range(5000, 5001), cooldownMs: 0, random });
    const a = allocator.take(1, 'any', 0);
    const b = allocator.take(1, 'any', 0);
    allocator.release(b, 10);
    allocator.release(a, 20);
    // Both free again; a was released later, so b (released first) must win.
    assert.equal(allocator.take(1, 'any', 30), b);
  });

  it('keeps a released port cooling until its cooldown ends', () => {
    const allocator = new PortAllocator({ range: range(6000, 6000), cooldownMs: 500 });
    const port = allocator.take(1, 'any', 0);
    allocator.release(port, 100);
    assert.equal(allocator.stateOf(port), PortState.COOLING);
    assert.equal(allocator.take(1, 'any', 599), -1);
    assert.equal(allocator.take(1, 'any', 600), port);
  });

  it('backs off a foreign port, doubling the back-off when it fails again', () => {
    // A random source of zeros: no jitter, so the deadlines are exact.
    const random = scriptedRandom([0]);
    const allocator = new PortAllocator({
      range: range(7000, 7000),
      cooldownMs: 0,
      foreignBackoffMs: 1000,
      random,
    });
    let port = allocator.take(1, 'any', 0);
    allocator.markForeign(port, 0);
    assert.equal(allocator.take(1, 'any', 999), -1);
    port = allocator.take(1, 'any', 1000);
    assert.equal(port, 7000);
    allocator.markForeign(port, 1000);
    assert.equal(allocator.take(1, 'any', 2999), -1, 'second strike waits twice as long');
    assert.equal(allocator.take(1, 'any', 3000), 7000);
    assert.equal(allocator.nextWakeMs(), Number.POSITIVE_INFINITY);
  });

  it('spreads the back-off of foreign ports met together by up to a quarter', () => {
    const allocator = new PortAllocator({ range: range(7100, 7199), cooldownMs: 0, foreignBackoffMs: 1000 });
    for (let i = 0; i < 100; i++) allocator.markForeign(allocator.take(1, 'any', 0), 0);
    assert.equal(allocator.take(1, 'any', 999), -1, 'none expires before its back-off');
    let freed = 0;
    for (let t = 1000; t <= 1250; t += 50) {
      const before = freed;
      while (allocator.take(1, 'any', t) >= 0) freed++;
      assert.ok(freed - before < 100, `all foreign ports expired together at ${t} ms`);
    }
    assert.equal(freed, 100, 'all are free again after back-off + 25%');
  });

  it('finds contiguous blocks, even-aligned when asked', () => {
    const allocator = new PortAllocator({ range: range(8001, 8020), cooldownMs: 0 });
    const block = allocator.take(4, 'even', 0);
    assert.equal(block % 2, 0);
    for (let p = block; p < block + 4; p++) assert.equal(allocator.stateOf(p), PortState.TAKEN);
    const odd = allocator.take(3, 'any', 0);
    assert.notEqual(odd, -1);
    assert.equal(allocator.counts(0).used, 7);
  });

  it('finds an odd-aligned adjacent pair for parity any when no even pair is left', () => {
    const allocator = new PortAllocator({ range: range(9000, 9003), cooldownMs: 0 });
    // Hold 9000 and 9003: only 9001+9002 remain adjacent.
    const taken: number[] = [];
    for (let i = 0; i < 4; i++) taken.push(allocator.take(1, 'any', 0));
    for (const p of taken) if (p === 9001 || p === 9002) allocator.release(p, 0);
    assert.equal(allocator.take(2, 'even', 0), -1);
    assert.equal(allocator.take(2, 'any', 0), 9001);
  });

  it('drains before cooling, for the rest of the cooldown', () => {
    const allocator = new PortAllocator({ range: range(9100, 9100), cooldownMs: 1000 });
    const port = allocator.take(1, 'any', 0);
    allocator.release(port, 0, true);
    assert.equal(allocator.stateOf(port), PortState.DRAINING);
    assert.equal(allocator.counts(0).draining, 1);
    allocator.endDrain(port, 400);
    assert.equal(allocator.take(1, 'any', 999), -1);
    assert.equal(allocator.take(1, 'any', 1000), port);
  });

  it('keeps its sets consistent through random operations', () => {
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const allocator = new PortAllocator({ range: range(10_001, 10_200), cooldownMs: 5, foreignBackoffMs: 7 });
    const held: number[][] = [];
    let now = 0;
    try {
      for (let step = 0; step < 20_000; step++) {
        now += next() % 3;
        const action = next() % 4;
        if (action === 0 || held.length === 0) {
          const count = 1 + (next() % 3);
          const parity = count === 2 && next() % 2 === 0 ? 'even' : 'any';
          const first = allocator.take(count, parity, now);
          if (first >= 0) held.push(Array.from({ length: count }, (_, i) => first + i));
        } else if (action === 1) {
          const lease = held.splice(next() % held.length, 1)[0]!;
          for (const p of lease) allocator.release(p, now);
        } else if (action === 2) {
          const lease = held.splice(next() % held.length, 1)[0]!;
          for (const p of lease) allocator.markForeign(p, now);
        } else {
          const counts = allocator.counts(now);
          const heldPorts = held.flat().length;
          assert.equal(counts.used, heldPorts);
          assert.equal(counts.free + counts.used + counts.cooling + counts.foreign, counts.size);
        }
      }
    } catch (error) {
      throw new Error(`failed with seed 12345: ${(error as Error).message}`, { cause: error });
    }
  });
});
