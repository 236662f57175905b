// The chunk scheduler under a fake clock: deadline ordering, rarest-first far from the playhead,
// re-request elsewhere on timeout, edge fallback near the deadline, duplicates only when the
// deadline forces them, and the per-neighbour cap.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkScheduler, type SchedulerAction } from '../../src/live/index.ts';
import { mulberry32 } from '../support/prng.ts';

const CHUNK_MS = 250;
/** Chunk s is due at s * 250 ms + 1500 (a playout 1.5 s behind a source that cut chunk s at s * 250). */
const deadline = (seq: number): number => seq * CHUNK_MS + 1500;

function setup(options: ConstructorParameters<typeof ChunkScheduler>[0] = {}) {
  const s = new ChunkScheduler({ random: mulberry32(1), ...options });
  const held = new Set<number>();
  const holds = (seq: number): boolean => held.has(seq);
  const poll = (now: number, from = 0): SchedulerAction[] => {
    const out = [...s.poll(now, from, deadline, holds)];
    s.clearActions();
    return out;
  };
  return { s, held, poll };
}

const requests = (actions: SchedulerAction[]) =>
  actions
    .filter((a) => a.kind === 'request')
    .map((a) => `${a.seq}>${a.to}${a.urgent ? '!' : ''}${a.ahead === true ? '^' : ''}`);

describe('chunk scheduler', () => {
  it('asks near chunks earliest deadline first and far ones rarest first', () => {
    const { s, poll } = setup({ urgentWindowMs: 700, maxOutstandingPerNeighbour: 10 });
    s.addNeighbour('a', false);
    s.addNeighbour('b', false);
    s.addNeighbour('c', false);
    // 0..3 are near (due 1500..2250), 8..10 are far; 9 is held by one neighbour, 8 and 10 by three.
    for (const seq of [0, 1, 2, 3, 8, 10]) for (const n of ['a', 'b', 'c']) s.announce(n, seq, false, 0);
    s.announce('b', 9, false, 0);
    // At 1100, chunks 0 and 1 have 400 and 650 ms of slack (urgent), 2.. more (far).
    const order = requests(poll(1100)).map((r) => Number(r.split('>')[0]));
    assert.deepEqual(order.slice(0, 3), [0, 1, 9], 'urgent by deadline, then the rarest far chunk');
    assert.deepEqual(order.slice(3), [2, 3, 8, 10], 'then far chunks by rarity and sequence');
  });

  it('spreads requests over neighbours within maxOutstandingPerNeighbour', () => {
    const { s, poll } = setup({ maxOutstandingPerNeighbour: 2 });
    s.addNeighbour('a', false);
    s.addNeighbour('b', false);
    for (let seq = 0; seq < 8; seq++) for (const n of ['a', 'b']) s.announce(n, seq, false, 0);
    const r = requests(poll(0));
    assert.equal(r.length, 4);
    assert.equal(r.filter((x) => x.endsWith('>a')).length, 2);
    assert.equal(s.neighbour('a')!.outstanding, 2);
    assert.deepEqual(requests(poll(10)), [], 'no slot, no request');
  });

  it('re-requests a timed-out chunk from another neighbour, cancelling the first', () => {
    const { s, poll } = setup({ requestTimeoutMs: 400 });
    s.addNeighbour('a', false);
    s.addNeighbour('b', false);
    s.announce('a', 20, false, 0);
    const first = requests(poll(0));
    assert.deepEqual(first, ['20>a']);
    assert.equal(s.nextWakeMs(), 400, 'wakes at the timeout');
    s.announce('b', 20, false, 100);
    assert.deepEqual(requests(poll(100)), [], 'never the same chunk from two peers while it can wait');
    const late = poll(400);
    assert.deepEqual(
      late.map((a) => `${a.kind} ${a.seq}>${a.to}`),
      ['cancel 20>a', 'request 20>b'],
    );
    assert.equal(s.neighbour('a')!.timeouts, 1);
    // A late copy from a is still welcome while the chunk is missing; b's is awaited.
    assert.equal(s.isAwaited(20, 'a'), true);
    assert.equal(s.isAwaited(20, 'b'), true);
    assert.equal(s.isAwaited(20, 'c'), false);
    assert.equal(s.received(20, 'b', 500), true);
    assert.equal(s.pendingCount, 0);
  });

  it('gives a neighbour that missed more than it delivered the shortest timeout', () => {
    const { s, poll } = setup({ requestTimeoutMs: 600, minRequestTimeoutMs: 250 });
    s.addNeighbour('a', false);
    s.announce('a', 20, false, 0);
    s.announce('a', 21, false, 0);
    assert.deepEqual(requests(poll(0)), ['20>a', '21>a']);
    assert.equal(s.nextWakeMs(), 600, 'a first request waits requestTimeoutMs');
    poll(600);
    assert.equal(s.neighbour('a')!.timeouts, 2);
    s.announce('a', 22, false, 600);
    assert.deepEqual(requests(poll(601)), ['22>a']);
    assert.equal(s.nextWakeMs(), 851, 'after misses and no delivery: minRequestTimeoutMs');
    poll(851);
    assert.equal(s.neighbour('a')!.timeouts, 3);
  });

  it('takes a chunk nobody offers from the edge once inside the edge window', () => {
    const { s, poll } = setup({ edgeWindowMs: 300 });
    s.addNeighbour('edge', true);
    s.addNeighbour('a', false);
    s.announce('edge', 4, false, 0); // due at 2500
    assert.deepEqual(requests(poll(0)), []);
    assert.equal(s.nextWakeMs(), 2200, 'wakes when the chunk enters the edge window');
    assert.deepEqual(requests(poll(2200)), ['4>edge!']);
    assert.equal(s.counters.edgeRequests, 1);
  });

  it('duplicates a peer request to the edge only when it cannot make the deadline', () => {
    const { s, held, poll } = setup({ edgeWindowMs: 300, requestTimeoutMs: 2000 });
    s.addNeighbour('edge', true);
    s.addNeighbour('a', false);
    s.announce('edge', 4, false, 0);
    s.announce('a', 4, false, 0);
    assert.deepEqual(requests(poll(1800)), ['4>a']); // due 2500, 700 ms of slack: from the peer
    assert.deepEqual(requests(poll(2100)), [], 'outside the edge window: wait');
    const forced = requests(poll(2300));
    assert.deepEqual(forced, ['4>edge!'], 'overdue inside the edge window: duplicate to the edge');
    assert.equal(s.counters.duplicates, 1);
    // The edge's copy arrives first: the peer request is cancelled.
    s.received(4, 'edge', 2350);
    held.add(4);
    const after = poll(2350);
    assert.deepEqual(
      after.map((a) => `${a.kind} ${a.seq}>${a.to}`),
      ['cancel 4>a'],
    );
  });

  it("judges a transfer under way by its pieces' pace, not the sender's round trip", () => {
    // Chunk 4 (due 2500) asked of `a` at 1800; `a`'s pieces come from 2050. At 2200 (inside the
    // edge window, the edge's last call at 2290) it is overdue by the first-request estimate
    // (300 ms), which alone would duplicate it to the edge. Half the pieces in 150 ms: whole by
    // ~2350 — too late, duplicated. Nine tenths of them: whole by ~2217 — it will make it, no
    // duplicate. No pieces at all: the round-trip estimate decides.
    const pace = (got: number) => {
      const { s, poll } = setup({ edgeWindowMs: 300, requestTimeoutMs: 600, maxRequestTimeoutMs: 2000 });
      s.addNeighbour('edge', true);
      s.addNeighbour('a', false);
      s.announce('edge', 4, false, 0);
      s.announce('a', 4, false, 0);
      assert.deepEqual(requests(poll(1800)), ['4>a']);
      const eta = (seq: number, now: number) =>
        seq === 4 && got > 0 ? now + ((10 - got) * (now - 2050)) / got : Number.NaN;
      const out = [...s.poll(2200, 0, deadline, () => false, eta)];
      s.clearActions();
      return requests(out);
    };
    assert.deepEqual(pace(5), ['4>edge!'], 'half in 150 ms: late, duplicated');
    assert.deepEqual(pace(9), [], 'nine tenths in 150 ms: on time, not duplicated');
    assert.deepEqual(pace(0), ['4>edge!'], 'no piece yet: overdue by the round trip, duplicated');
  });

  it('seeds a fresh chunk from the edge when chosen, never as a leech', () => {
    const seeder = setup();
    seeder.s.setSeedPermille(1000);
    seeder.s.addNeighbour('edge', true);
    seeder.s.announce('edge', 10, true, 0);
    // The fresh chunk, then standing requests (^) for the next chunks of its substreams.
    assert.deepEqual(requests(seeder.poll(0)), ['10>edge', '11>edge^', '12>edge^', '13>edge^', '14>edge^']);
    assert.equal(seeder.s.pendingCount, 5);
    // A standing request has no timeout before its chunk exists; the chunk's arrival settles it.
    assert.deepEqual(requests(seeder.poll(5000, 10)), []);
    seeder.s.announce('edge', 11, false, 5000);
    assert.equal(seeder.s.received(11, 'edge', 5010), true);
    assert.equal(seeder.s.isPending(11), false);
    const plain = setup({ ahead: false });
    plain.s.setSeedPermille(1000);
    plain.s.addNeighbour('edge', true);
    plain.s.announce('edge', 10, true, 0);
    assert.deepEqual(requests(plain.poll(0)), ['10>edge']);
    const leech = setup({ seed: false });
    leech.s.setSeedPermille(1000);
    leech.s.addNeighbour('edge', true);
    leech.s.announce('edge', 10, true, 0);
    assert.deepEqual(requests(leech.poll(0)), []);
  });

  it('counts a refused announced chunk as a lie and asks elsewhere', () => {
    const { s, poll } = setup();
    s.addNeighbour('liar', false);
    s.addNeighbour('b', false);
    s.announce('liar', 30, false, 0);
    assert.deepEqual(requests(poll(0)), ['30>liar']);
    s.rejected(30, 'liar', true);
    assert.equal(s.neighbour('liar')!.lies, 1);
    s.announce('b', 30, false, 10);
    assert.deepEqual(requests(poll(10)), ['30>b']);
  });

  it('edgeOnly asks the edge for everything; naive asks a random holder in order', () => {
    const edgeOnly = setup({ strategy: 'edgeOnly' });
    edgeOnly.s.addNeighbour('edge', true);
    edgeOnly.s.addNeighbour('a', false);
    for (const seq of [0, 1, 2]) {
      edgeOnly.s.announce('edge', seq, false, 0);
      edgeOnly.s.announce('a', seq, false, 0);
    }
    assert.deepEqual(requests(edgeOnly.poll(0)), ['0>edge', '1>edge', '2>edge']);
    const naive = setup({ strategy: 'naive', naiveEdgeAfterMs: 1000 });
    naive.s.addNeighbour('edge', true);
    naive.s.announce('edge', 5, false, 0);
    assert.deepEqual(requests(naive.poll(0)), []);
    assert.equal(naive.s.nextWakeMs(), 1000);
    assert.deepEqual(requests(naive.poll(1000)), ['5>edge']);
  });

  it('refuses options that cannot work', () => {
    for (const bad of [{ maxOutstandingPerNeighbour: 0 }, { edgeWindowMs: -1 }, { strategy: 'x' as never }]) {
      assert.throws(() => new ChunkScheduler(bad), { code: 'ERR_INVALID_OPTION' });
    }
  });
});
