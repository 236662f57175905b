// The playout core under a virtual clock: chunks of unequal length (cut at random-access points,
// as the source cuts a 1 s GOP into 280 + 280 + 280 + 160 ms) play back to back, each for its own
// duration, so a peer keeps its distance behind the source instead of drifting away from it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHUNK_FLAG_RANDOM_ACCESS, type Chunk, type PlayoutEvent } from '../../src/live/index.ts';
import { Playout } from '../../src/live/playout.ts';

const GOP_MS = [280, 280, 280, 160];

/** Chunk `seq` of a source that started at 0 and cut a random-access chunk every 4. */
function chunkOf(seq: number): Chunk {
  const durationMs = GOP_MS[seq % 4]!;
  let timestampMs = Math.floor(seq / 4) * 1000;
  for (let s = 0; s < seq % 4; s++) timestampMs += GOP_MS[s]!;
  return {
    version: 2,
    flags: seq % 4 === 0 ? CHUNK_FLAG_RANDOM_ACCESS : 0,
    channelId: Buffer.alloc(32),
    seq,
    timestampMs,
    durationMs,
    payloadBytes: 188,
    pieceBytes: 188,
    pieceCount: 1,
    payloadHash: Buffer.alloc(32),
    signature: Buffer.alloc(64),
    pieceHashes: Buffer.alloc(32),
    head: Buffer.alloc(0),
    payload: Buffer.alloc(188, 0x47),
    bytes: Buffer.alloc(0),
  };
}

describe('Playout', () => {
  it('plays each chunk for its own duration: 100 s of unequal chunks keep one distance behind the source', () => {
    const playout = new Playout({ targetDelayMs: 1000, joinFetchMs: 0 });
    const played: { seq: number; atMs: number }[] = [];
    let now = 0;
    const held = (seq: number): Chunk | undefined =>
      chunkOf(seq).timestampMs <= now ? chunkOf(seq) : undefined;
    const liveEdge = (): number => {
      let s = 0;
      while (chunkOf(s + 1).timestampMs <= now) s++;
      return s;
    };
    playout.join(0, 0);
    const emit = (e: PlayoutEvent): void => {
      if (e.type === 'play') played.push({ seq: e.seq, atMs: now });
    };
    for (now = 0; now <= 100_000; now += 10) playout.poll(now, held, emit, liveEdge());
    assert.equal(playout.stats().skipped, 0);
    assert.ok(played.length > 350, `played ${played.length}`);
    // The distance behind the source: when a chunk plays minus when the source cut it.
    const lag = played.map((p) => p.atMs - chunkOf(p.seq).timestampMs);
    const first = lag[0]!;
    for (const [i, l] of lag.entries()) {
      assert.ok(
        Math.abs(l - first) <= 10,
        `chunk ${played[i]!.seq} plays ${l} ms behind, the first ${first}`,
      );
    }
    // Each chunk plays when the one before it has played for its own duration.
    for (let i = 1; i < played.length; i++) {
      const gap = played[i]!.atMs - played[i - 1]!.atMs;
      assert.ok(
        Math.abs(gap - chunkOf(played[i - 1]!.seq).durationMs) <= 10,
        `gap ${gap} before ${played[i]!.seq}`,
      );
    }
  });

  it('a missing chunk is skipped at the mean duration and the next one plays on time', () => {
    const playout = new Playout({ targetDelayMs: 1000, joinFetchMs: 0 });
    const events: { type: string; seq: number; atMs: number }[] = [];
    let now = 0;
    const held = (seq: number): Chunk | undefined =>
      seq !== 9 && chunkOf(seq).timestampMs <= now ? chunkOf(seq) : undefined;
    playout.join(0, 0);
    for (now = 0; now <= 10_000; now += 10) {
      let edge = 0;
      while (chunkOf(edge + 1).timestampMs <= now) edge++;
      playout.poll(
        now,
        held,
        (e) => events.push({ type: e.type, seq: 'seq' in e ? e.seq : -1, atMs: now }),
        edge,
      );
    }
    const stats = playout.stats();
    assert.equal(stats.skipped, 1);
    assert.equal(stats.stalls, 1);
    assert.ok(events.some((e) => e.type === 'skip' && e.seq === 9));
    const resumed = events.find((e) => e.type === 'play' && e.seq === 10);
    const before = events.find((e) => e.type === 'play' && e.seq === 8)!;
    assert.ok(resumed !== undefined);
    // 8 plays for its 280 ms, the missing 9 for about the mean (between 160 and 280).
    const gap = resumed.atMs - before.atMs;
    assert.ok(gap >= 280 + 160 && gap <= 280 + 280 + 10, `gap ${gap}`);
  });

  /**
   * Runs a playout against a source whose chunk `seq` becomes held at `availableAt(seq)` (ms, or
   * Infinity: never) and announced at `announcedAt(seq)` (default: when held), for `untilMs`.
   */
  function runSource(
    availableAt: (seq: number) => number,
    untilMs: number,
    announcedAt: (seq: number) => number = availableAt,
  ): { playout: Playout; events: { type: string; seq: number; atMs: number }[] } {
    const playout = new Playout({ targetDelayMs: 1000, joinFetchMs: 0 });
    const events: { type: string; seq: number; atMs: number }[] = [];
    let now = 0;
    const held = (seq: number): Chunk | undefined => (availableAt(seq) <= now ? chunkOf(seq) : undefined);
    playout.join(0, 0);
    for (now = 0; now <= untilMs; now += 10) {
      let edge = -1;
      while (announcedAt(edge + 1) <= now) edge++;
      playout.poll(
        now,
        held,
        (e) => events.push({ type: e.type, seq: 'seq' in e ? e.seq : -1, atMs: now }),
        edge,
      );
    }
    return { playout, events };
  }

  it('a source slower than real time: the playout waits at the live edge (stalls) and skips nothing', () => {
    // The source (ffmpeg starved of CPU) delivers 1 s of media every 1.25 s: a playout on the
    // media's clock reaches the live edge within seconds. Skipping there would run it ahead of the
    // stream for good (every later chunk "late" on arrival); it must hold instead.
    const { playout, events } = runSource((seq) => chunkOf(seq).timestampMs * 1.25, 60_000);
    const stats = playout.stats();
    assert.equal(stats.skipped, 0, 'nothing skipped');
    assert.ok(stats.stalls > 0, 'the waits are stalls');
    const played = events.filter((e) => e.type === 'play').map((e) => e.seq);
    assert.deepEqual(
      played,
      played.map((_, i) => i),
      'every chunk played, in order',
    );
    assert.ok(played.length >= 180, `played ${played.length} chunks of 60 s at 0.8x`);
  });

  it('a source that stops for 5 s and resumes: the playout holds through the gap and plays on, nothing skipped', () => {
    const { playout, events } = runSource(
      (seq) => chunkOf(seq).timestampMs + (seq >= 40 ? 5_000 : 0),
      30_000,
    );
    assert.equal(playout.stats().skipped, 0);
    assert.equal(playout.stats().stalls, 1);
    const stall = events.find((e) => e.type === 'stall')!;
    assert.equal(stall.seq, 40, 'it holds at the first chunk not yet cut');
    const resume = events.find((e) => e.type === 'resume')!;
    assert.equal(resume.seq, 40);
    assert.ok(
      events.some((e) => e.type === 'play' && e.seq === 80),
      'and plays on',
    );
  });

  it('a chunk announced but never delivered while the playout holds is skipped a target delay later', () => {
    // Chunk 40 is late at the source (announced at 15 s), then never arrives: the playout holds
    // for it, and once it is announced gives it the target delay (1 s) before skipping it.
    const late = (seq: number): number => chunkOf(seq).timestampMs + (seq >= 40 ? 5_000 : 0);
    const { playout, events } = runSource(
      (seq) => (seq === 40 ? Number.POSITIVE_INFINITY : late(seq)),
      30_000,
      late,
    );
    assert.equal(playout.stats().skipped, 1);
    const skip = events.find((e) => e.type === 'skip')!;
    assert.equal(skip.seq, 40);
    const announced = late(40);
    assert.ok(
      skip.atMs >= announced + 1000 - 250 && skip.atMs <= announced + 1000 + 20,
      `skipped at ${skip.atMs} ms, announced at ${announced} ms`,
    );
    assert.ok(events.some((e) => e.type === 'play' && e.seq === 41));
  });
});

/** A view of the stream beyond the node's store: what exists up to `newest`, minus `holes`. */
function viewOf(newest: () => number, holes: (seq: number) => boolean = () => false) {
  return {
    get newestSeq(): number {
      return newest();
    },
    announced: (seq: number): boolean => seq <= newest() && !holes(seq),
  };
}

describe('Playout at the live edge', () => {
  it('waits at the live edge instead of skipping chunks that do not exist yet (a source behind its clock)', () => {
    // The source stops producing for 3 s at chunk 40 and then goes on where it was: nothing is
    // lost, so nothing may be skipped; the playout waits, rebuilds its delay and plays 41 on.
    const playout = new Playout({ targetDelayMs: 1000, joinFetchMs: 0 });
    const events: PlayoutEvent[] = [];
    let now = 0;
    const pauseMs = 3000;
    const cutAt = (seq: number): number => chunkOf(seq).timestampMs + (seq > 40 ? pauseMs : 0);
    const held = (seq: number): Chunk | undefined => (cutAt(seq) <= now ? chunkOf(seq) : undefined);
    let edge = 0;
    const newest = (): number => {
      while (cutAt(edge + 1) <= now) edge++;
      return edge;
    };
    const view = viewOf(newest);
    playout.join(0, 0);
    for (now = 0; now <= 30_000; now += 10) playout.poll(now, held, (e) => events.push(e), newest(), view);
    const stats = playout.stats();
    assert.equal(stats.skipped, 0, 'no chunk skipped');
    assert.equal(stats.stalls, 1, 'one stall: the wait at the live edge');
    // It waits about as long as the source paused (the delay is rebuilt, to the chunk).
    assert.ok(Math.abs(stats.stalledMs - pauseMs) <= 300, `stalled ${stats.stalledMs} ms`);
    assert.equal(stats.discontinuities, 0, 'the stream went on without a gap');
    const seqs = events.filter((e) => e.type === 'play').map((e) => e.seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => i),
      'every chunk played, in order',
    );
    assert.ok(seqs.length > 90, `played ${seqs.length}`);
    assert.ok(events.some((e) => e.type === 'resume' && e.seq === 41));
  });

  it('after a source outage skips the numbers that never existed and plays the restarted stream', () => {
    // Chunks 0-40, then the source is down for 5 s; it comes back numbering from 50 (it numbers
    // by its clock, 20 chunks on, and the old run had fallen behind it): 41-49 never existed. A
    // playout that skipped on through the outage would be past 56 by then, refuse 50 on as too old
    // and never play again; this one waits at 41, skips 41-49 as soon as the restarted stream shows
    // they are holes, and plays 50 on, marked as a discontinuity.
    const playout = new Playout({ targetDelayMs: 1000, joinFetchMs: 0 });
    const events: PlayoutEvent[] = [];
    let now = 0;
    const first = 50;
    const restartAt = 40 * 250 + 5000;
    const exists = (seq: number): boolean => seq <= 40 || seq >= first;
    const cutAt = (seq: number): number => (seq <= 40 ? seq * 250 : restartAt + (seq - first) * 250);
    const chunk = (seq: number): Chunk => ({
      ...chunkOf(seq),
      durationMs: 250,
      // The restarted stream's GOPs are numbered from 50 (a random-access chunk).
      flags: (seq <= 40 ? seq % 4 === 0 : seq % 4 === 2) ? CHUNK_FLAG_RANDOM_ACCESS : 0,
    });
    const held = (seq: number): Chunk | undefined =>
      exists(seq) && cutAt(seq) <= now ? chunk(seq) : undefined;
    const newest = (): number => {
      if (now >= restartAt) return first + Math.floor((now - restartAt) / 250);
      return Math.min(40, Math.floor(now / 250));
    };
    const view = viewOf(newest, (seq) => !exists(seq));
    playout.join(0, 0);
    for (now = 0; now <= 30_000; now += 10) playout.poll(now, held, (e) => events.push(e), newest(), view);
    const played = events.filter((e) => e.type === 'play');
    const skipped = events.filter((e) => e.type === 'skip').map((e) => e.seq);
    assert.deepEqual(
      skipped,
      Array.from({ length: first - 41 }, (_, i) => 41 + i),
      'exactly the numbers that never existed',
    );
    const resumed = played.find((e) => e.seq === first);
    assert.ok(
      resumed?.type === 'play' && resumed.discontinuity,
      'the restarted stream plays, marked as a discontinuity',
    );
    const stats = playout.stats();
    assert.equal(stats.discontinuities, 1);
    assert.equal(stats.stalls, 1);
    // Once back, the restarted stream plays on with none skipped.
    const after = played.filter((e) => e.seq >= first).map((e) => e.seq);
    assert.ok(after.length > 50, `played ${after.length} after the restart`);
    assert.deepEqual(
      after,
      Array.from({ length: after.length }, (_, i) => first + i),
    );
  });

  /**
   * Starved: chunks from 20 on (cut from 5 s on) reach the node only at `untilMs`, and nobody
   * announced them meanwhile (no edge): the playout holds at 20 and resumes far behind.
   */
  function starved(untilMs: number) {
    const playout = new Playout({ targetDelayMs: 1000, joinFetchMs: 0, maxDelayMs: 3000 });
    const events: { type: string; seq: number; atMs: number; discontinuity?: boolean }[] = [];
    let now = 0;
    const held = (seq: number): Chunk | undefined =>
      seq >= 0 && chunkOf(seq).timestampMs <= now && (seq < 20 || now >= untilMs) ? chunkOf(seq) : undefined;
    const newestHeld = (): number => {
      let s = -1;
      while (held(s + 1) !== undefined) s++;
      return s;
    };
    const view = { newestSeq: -1, announced: (seq: number) => held(seq) !== undefined };
    const rapFrom = (from: number): number => {
      for (let s = from; s <= view.newestSeq; s++) if (s % 4 === 0) return s;
      return -1;
    };
    const emit = (e: PlayoutEvent): void => {
      events.push({
        type: e.type,
        seq: e.seq,
        atMs: now,
        ...(e.type === 'play' ? { discontinuity: e.discontinuity } : {}),
      });
    };
    playout.join(0, 0);
    for (now = 0; now <= untilMs + 40_000; now += 10) {
      view.newestSeq = newestHeld();
      playout.poll(now, held, emit, view.newestSeq, view);
      if (playout.behind(view.newestSeq)) {
        const newestRap = view.newestSeq - (view.newestSeq % 4);
        playout.jumpTo(playout.pickJoin(view.newestSeq, newestRap, rapFrom), now, emit);
      }
    }
    const lagOf = (e: { seq: number; atMs: number }): number => e.atMs - chunkOf(e.seq).timestampMs;
    const played = events.filter((e) => e.type === 'play');
    return { stats: playout.stats(), events, played, lagOf };
  }

  it('a node more than maxDelayMs behind the live edge plays faster until it is back, skipping nothing', () => {
    // Resumes ~5 s behind (the bound is 3 s): it plays at 1.25x until it is within the target delay.
    const { stats, played, lagOf } = starved(10_000);
    assert.equal(stats.skipped, 0, 'nothing skipped');
    assert.equal(stats.jumps, 0);
    assert.equal(stats.catchUps, 1, 'one catch-up');
    assert.ok(
      played.some((e) => lagOf(e) > 3000),
      'it was behind by more than maxDelayMs',
    );
    assert.deepEqual(
      played.map((e) => e.seq),
      Array.from({ length: played.length }, (_, i) => i),
      'every chunk played, in order',
    );
    // Back at the target delay (1 s; within a chunk or two), and there it stays.
    const last = played.slice(-40);
    for (const e of last)
      assert.ok(lagOf(e) <= 1000 + 500, `chunk ${e.seq} plays ${lagOf(e)} ms behind the source`);
    // Faster, not a burst: no two chunks closer than 1/1.25 of a chunk's duration.
    for (let i = 1; i < played.length; i++) {
      const gap = played[i]!.atMs - played[i - 1]!.atMs;
      if (played[i - 1]!.atMs >= 10_100)
        assert.ok(
          gap >= chunkOf(played[i - 1]!.seq).durationMs / 1.25 - 10,
          `gap ${gap} before ${played[i]!.seq}`,
        );
    }
  });

  it('a node hopelessly behind (3 x maxDelayMs) jumps to a random-access chunk a target delay behind the edge', () => {
    // Resumes ~15 s behind: playing faster would take a minute; it jumps.
    const { stats, events, played, lagOf } = starved(20_000);
    assert.equal(stats.jumps, 1, 'one jump forward, then it keeps up');
    const skipped = events.filter((e) => e.type === 'skip').map((e) => e.seq);
    assert.ok(skipped.length > 0, 'the chunks jumped over are skipped');
    const target = skipped.at(-1)! + 1;
    assert.deepEqual(
      skipped,
      Array.from({ length: skipped.length }, (_, i) => skipped[0]! + i),
      'one run',
    );
    assert.equal(target % 4, 0, `it lands on a random-access chunk (${target})`);
    const landed = events.find((e) => e.type === 'play' && e.seq === target);
    assert.ok(landed?.discontinuity === true, 'the chunk it lands on plays as a discontinuity');
    assert.equal(stats.discontinuities, 1);
    assert.ok(
      played.some((e) => e.seq < target && lagOf(e) > 9000),
      'it was behind by more than 3 x maxDelayMs',
    );
    const after = played.filter((e) => e.seq >= target);
    assert.ok(after.length > 60, `played ${after.length} after the jump`);
    for (const e of after)
      assert.ok(lagOf(e) <= 3000, `chunk ${e.seq} plays ${lagOf(e)} ms behind the source`);
    assert.deepEqual(
      after.map((e) => e.seq),
      Array.from({ length: after.length }, (_, i) => target + i),
      'and plays on with none skipped',
    );
  });

  it('never catches up while holding at the live edge, nor to a chunk not past the playout point', () => {
    const playout = new Playout({ targetDelayMs: 1000, joinFetchMs: 0, maxDelayMs: 3000 });
    const events: PlayoutEvent[] = [];
    // A source that stopped at chunk 7: the node holds at 8, nothing newer exists.
    const held = (seq: number): Chunk | undefined => (seq >= 0 && seq <= 7 ? chunkOf(seq) : undefined);
    playout.join(0, 0);
    for (let now = 0; now <= 20_000; now += 10) {
      playout.poll(now, held, (e) => events.push(e), 7);
      assert.equal(playout.behind(7), false);
    }
    assert.equal(playout.nextSeq, 8);
    playout.jumpTo(5, 20_000, (e) => events.push(e));
    assert.equal(playout.nextSeq, 8, 'a chunk behind the playout point is no jump');
    assert.equal(playout.stats().catchUps, 0);
    assert.equal(playout.stats().jumps, 0);
    assert.equal(events.filter((e) => e.type === 'skip').length, 0);
  });

  it('refuses a maxDelayMs below the target delay plus a chunk', () => {
    assert.throws(
      () => new Playout({ targetDelayMs: 1000, maxDelayMs: 1100 }),
      (e: unknown) => e instanceof Error && (e as { option?: string }).option === 'maxDelayMs',
    );
    assert.equal(
      new Playout({ targetDelayMs: 4000 }).maxDelayMs,
      6500,
      'a long target delay moves the default',
    );
  });
});
