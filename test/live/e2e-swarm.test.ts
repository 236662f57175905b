// The live system end to end on loopback with real processes (LiveDemo: tracker and source here,
// `porthole edge` and `porthole peer` as children): the test-pattern source through two edges to 20
// peers. Phase 1 (~30 s of playing): every peer's output decodes with ffmpeg with zero errors, is
// byte for byte the source's chunk payloads (what an ingest server beside the edges recorded), and
// continuity is ≥ 99.9 %. Phase 2, the faults in the same run: a polluter joins (lying maps,
// forged chunks: banned, reported, no forged byte played), 30 % of the peers are killed and as many
// started, one edge of two is killed, the source is stopped for 5 s and restarted; the peers
// recover (a discontinuity is counted), none crashes, every output still matches the source.
// porthole:test-serial — 20 peer and 2 edge processes and ffmpeg: continuity is what a starved machine changes (test/support/run-suite.ts)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CHUNK_FLAG_DISCONTINUITY, type Chunk, LiveDemo, markDiscontinuity } from '../../src/live/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);
const PEERS = 20;

const dir = mkdtempSync(join(tmpdir(), 'porthole-e2e-swarm-'));
const source = new Map<number, Chunk>();
let demo: LiveDemo;

/** What a peer's output must be: the source's payloads of the chunks it played, discontinuities marked. */
function expectedOutput(first: number, last: number, skipped: ReadonlySet<number>): Buffer {
  const parts: Buffer[] = [];
  let gap = false;
  for (let seq = first; seq <= last; seq++) {
    if (skipped.has(seq)) {
      gap = true;
      continue;
    }
    const chunk = source.get(seq);
    assert.ok(chunk !== undefined, `the source published chunk ${seq}`);
    const marked = (gap || (chunk.flags & CHUNK_FLAG_DISCONTINUITY) !== 0) && parts.length > 0;
    parts.push(marked ? markDiscontinuity(chunk.payload) : chunk.payload);
    gap = false;
  }
  return Buffer.concat(parts);
}

/** Asserts that a peer's recorded file is the source's payloads (first `bytes` of it when given). */
function checkOutput(id: string, stats: Record<string, unknown>, bytes?: number): Buffer {
  const file = readFileSync(join(dir, `${id}.ts`));
  const skipped = new Set(stats.skippedSeqs as number[]);
  const expected = expectedOutput(stats.firstPlayedSeq as number, stats.lastPlayedSeq as number, skipped);
  const got = bytes === undefined ? file : file.subarray(0, bytes);
  assert.ok(got.length > 0, `${id} wrote its output`);
  assert.ok(
    got.equals(expected.subarray(0, got.length)),
    `${id}'s output is byte for byte the source's chunk payloads (${got.length} bytes)`,
  );
  return got;
}

const stats = (id: string): Record<string, unknown> => demo.peers.get(id)!.child.latest('stats') ?? {};
/**
 * One line per honest peer for a wait's failure message; with E2E_DUMP=<file> in the environment
 * also every honest peer's and edge's whole stats line, as JSON, into that file (for a post-mortem).
 */
function describePeers(): string[] {
  if (process.env.E2E_DUMP)
    writeFileSync(
      process.env.E2E_DUMP,
      JSON.stringify(
        [
          ...honest().map((id) => [id, stats(id)]),
          ...demo.edges.map((e) => [e.name, e.latest('stats') ?? {}]),
        ],
        null,
        1,
      ),
    );
  return honest().map((id) => {
    const s = stats(id);
    const skippedSeqs = s.skippedSeqs as number[] | undefined;
    const n = (s.neighbours as { id: string; delivered: number }[] | undefined) ?? [];
    return `${id}: played ${s.played} skipped ${s.skipped} next ${s.nextSeq} newest ${s.newestKnown} last ${s.lastPlayedSeq} lastSkip ${skippedSeqs?.at(-1)} catchUps ${s.catchUps} jumps ${s.jumps} lat95 ${s.latencyP95Ms} fromEdge ${s.bytesFromEdge} fromPeers ${s.bytesFromPeers} req ${s.requests} to ${s.timeouts} dup ${s.duplicates} edge ${JSON.stringify(s.edge)} nbrs ${n.map((x) => `${x.id}:${x.delivered}`).join(',')} running ${demo.peers.get(id)!.child.running}`;
  });
}
const honest = (): string[] =>
  [...demo.peers.values()].filter((p) => !p.polluter && !p.killed).map((p) => p.id);

before(async () => {
  demo = await LiveDemo.start({
    peers: PEERS,
    edges: 2,
    bitrateKbps: 300,
    recordDir: dir,
    onSourceChunk: (_bytes, chunk) => source.set(chunk.seq, chunk),
  });
});
after(async () => {
  await demo?.close();
  rmSync(dir, { recursive: true, force: true });
});
// After the demo's close (hooks run in the order they were registered).
checkLeaks({ graceMs: 5_000 });

describe('the live system on loopback, real processes', { timeout: 600_000 }, () => {
  it('source → 2 edges → 20 peers: every output decodes, equals the source, continuity ≥ 99.9 %', async () => {
    // Every peer playing and caught up (no chunk skipped for 8 s), then 30 s measured: starting 20
    // Node processes on a shared 2-core machine is a CPU storm that the measurement leaves out (the
    // joins are benchmarked in bench/live.ts).
    const history: Map<string, number>[] = [];
    await waitFor(
      () => {
        history.push(new Map(honest().map((id) => [id, (stats(id).skipped as number) ?? -1])));
        if (history.length > 9) history.shift();
        const old = history[0]!;
        return (
          history.length === 9 &&
          honest().every((id) => ((stats(id).played as number) ?? 0) > 0 && old.get(id) === stats(id).skipped)
        );
      },
      {
        what: 'every peer playing without a skip for 8 s',
        timeoutMs: 180_000,
        intervalMs: 1000,
        detail: describePeers,
      },
    );
    const start = new Map(honest().map((id) => [id, { ...stats(id) }]));
    await waitFor(
      () => honest().every((id) => (stats(id).played as number) >= (start.get(id)!.played as number) + 100),
      {
        what: 'every peer playing 100 more chunks (about 30 s)',
        timeoutMs: 120_000,
        intervalMs: 500,
        detail: describePeers,
      },
    );
    let played = 0;
    let skipped = 0;
    const prefixes = new Map<string, number>();
    for (const id of honest()) {
      const s = stats(id);
      played += (s.played as number) - (start.get(id)!.played as number);
      skipped += (s.skipped as number) - (start.get(id)!.skipped as number);
      prefixes.set(
        id,
        (s.outputs as { kind: string; bytesWritten: number }[]).find((o) => o.kind === 'file')!.bytesWritten,
      );
    }
    const continuity = played / (played + skipped);
    if (continuity < 0.999) describePeers(); // the post-mortem dump, with E2E_DUMP
    assert.ok(
      continuity >= 0.999,
      `continuity ${(100 * continuity).toFixed(2)} % over ${played + skipped} chunks (30 s of 20 peers): ${honest()
        .map((id) => `${id} skipped ${(stats(id).skipped as number) - (start.get(id)!.skipped as number)}`)
        .join(', ')}`,
    );
    const offload = honest().reduce((a, id) => a + ((stats(id).offload as number) ?? 0), 0) / honest().length;
    assert.ok(offload > 0, `the peers share with each other (mean offload ${(100 * offload).toFixed(0)} %)`);
    await new Promise((r) => setTimeout(r, 1000)); // the writes queued at the stats line reach the files
    for (const [id, bytes] of prefixes) {
      const got = checkOutput(id, stats(id), bytes);
      const prefix = join(dir, `${id}.prefix.ts`);
      writeFileSync(prefix, got);
      const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', prefix, '-f', 'null', '-']);
      assert.equal(stderr, '', `ffmpeg decodes ${id}'s output with zero errors`);
    }
  });

  it('survives a polluter, 30 % churn, an edge killed and the source down for 5 s', async () => {
    const before = new Map(honest().map((id) => [id, stats(id).played as number]));
    // 30 % of the peers killed for real; the polluter and as many new peers join in their place
    // (into the slots they left: a full mesh of 20 refuses newcomers).
    const victims = honest().slice(0, Math.round(0.3 * PEERS));
    for (const id of victims) await demo.killPeer(id);
    const polluter = await demo.addPolluter();
    const fresh = await Promise.all(victims.map(() => demo.addPeer()));
    // One edge of two killed.
    await demo.killEdge(0);
    await waitFor(
      () => honest().every((id) => ((stats(id).played as number) ?? 0) >= (before.get(id) ?? 0) + 20),
      {
        what: 'every peer playing 20 more chunks after the churn and the edge',
        timeoutMs: 60_000,
        intervalMs: 500,
        detail: describePeers,
      },
    );
    // The peers of the killed edge moved to the other one.
    for (const id of honest())
      assert.equal(
        (stats(id).edge as { edge: string | null }).edge,
        demo.edges[1]!.name,
        `${id} is on the edge alive`,
      );
    // The source down for 5 s, then back.
    const skippedBefore = new Map(honest().map((id) => [id, stats(id).skipped as number]));
    const discontinuitiesBefore = new Map(honest().map((id) => [id, stats(id).discontinuities as number]));
    await demo.stopSource();
    await new Promise((r) => setTimeout(r, 5_000));
    await demo.startSource();
    const resumeAt = new Map(honest().map((id) => [id, stats(id).played as number]));
    await waitFor(
      () => honest().every((id) => ((stats(id).played as number) ?? 0) >= (resumeAt.get(id) ?? 0) + 12),
      {
        what: 'every peer playing again after the source came back',
        timeoutMs: 60_000,
        intervalMs: 500,
        detail: () => [`source ${JSON.stringify(demo.sourceStats()?.chunker.nextSeq)}`, ...describePeers()],
      },
    );
    for (const id of honest()) {
      assert.ok(demo.peers.get(id)!.child.running, `${id} did not crash`);
      assert.ok(
        (stats(id).skipped as number) > (skippedBefore.get(id) ?? 0),
        `${id} counted the source's outage as skipped chunks`,
      );
      assert.ok(
        (stats(id).discontinuities as number) > (discontinuitiesBefore.get(id) ?? 0),
        `${id} counted the restarted stream as a discontinuity`,
      );
    }
    for (const id of fresh)
      assert.ok((stats(id).played as number) > 0, `${id}, started during the churn, plays`);
    // The polluter: banned by whoever it reached, reported, and nobody played a forged byte.
    const bans = honest().reduce((a, id) => a + (stats(id).bans as number), 0);
    const reported = honest().reduce((a, id) => a + (stats(id).forgedReported as number), 0);
    const p: Record<string, unknown> = demo.peers.get(polluter)!.child.latest('stats') ?? {};
    assert.ok((p.forgedSent as number) > 0, `the polluter sent forged chunks (${JSON.stringify(p)})`);
    assert.ok(bans >= 1 && reported >= 1, `the polluter was banned (${bans}) and reported (${reported})`);
    await waitFor(() => demo.swarm().channels[0]?.nodes.find((n) => n.id === polluter)?.flagged === true, {
      what: 'the tracker flagging the polluter (reported by 3 peers)',
      timeoutMs: 30_000,
      detail: () => [`${reported} reports`],
    });
    assert.ok(
      demo.peers.get(polluter)!.child.running,
      'the polluter ran to the end (it was banned, not crashed)',
    );
    // Every output, to the end, is the source's bytes: no forged byte was played.
    const finals = await Promise.all(
      honest().map(async (id) => {
        const child = demo.peers.get(id)!.child;
        // A generous grace before SIGKILL: twenty peers leave at once on two busy cores.
        await child.stop(30_000);
        return [id, child.latest('closed')!] as const;
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    for (const [id, s] of finals) {
      assert.equal(demo.peers.get(id)!.child.exitCode, 0, `${id} left cleanly`);
      checkOutput(id, s);
    }
  });
});
