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
    version: 1,
    flags: seq % 4 === 0 ? CHUNK_FLAG_RANDOM_ACCESS : 0,
    channelId: Buffer.alloc(32),
    seq,
    timestampMs,
    durationMs,
    payloadHash: Buffer.alloc(32),
    signature: Buffer.alloc(64),
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
});
