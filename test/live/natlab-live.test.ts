// The live system behind the NAT lab (issue 15, "Behind the NAT lab"): real processes in network
// namespaces. In the lab's internet namespace: `porthole tracker` (also the punch broker),
// `porthole edge`, `porthole source` (the ffmpeg test pattern) and coturn. Behind each of the lab's
// four NAT kinds, two `porthole peer` processes — one behind the NAT, one behind its twin (fc/fc2,
// ar/ar2, pr/pr2, sym/sym2) — each run in its host's namespace with --nat-class and --turn.
// Asserted: every peer plays with continuity ≥ 99.9 % over the measured window (after its join and
// a settling time), one peer per NAT kind's output decodes with ffmpeg with zero errors, and the
// symmetric ↔ symmetric pair never waits on a failed punch: its link's first path is the relay with
// no probe sent before it (a pair that punched first would have sent probes). Printed: the share of
// bytes from peers per NAT kind, and each kind's neighbours by path.
// porthole:test-serial — eight peer processes, an edge, coturn and ffmpeg in the NAT lab (test/support/run-suite.ts)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { baseNatType, checkLabSupport, missingTool, NatLab, type NatType } from '../../src/lab/index.ts';
import { createChannel, encodeChannelKey, issueToken, PORTHOLE_MAIN } from '../../src/live/index.ts';
import { RENDEZVOUS, startCoturn, TURN } from '../lab/punch-harness.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { type LabChild, startLabChild } from './natlab-child.ts';

const run = promisify(execFile);

const support = await checkLabSupport();
let skip: string | false = support.supported ? false : support.reason;
if (skip === false) skip = (await missingTool('turnserver', 'coturn')) ?? false;
if (skip === false) skip = (await missingTool('ffmpeg', 'ffmpeg')) ?? false;

/** One peer behind each NAT of the lab: every kind and its twin. */
const NATS: readonly NatType[] = ['fc', 'fc2', 'ar', 'ar2', 'pr', 'pr2', 'sym', 'sym2'];
/** `porthole peer --nat-class` per lab NAT kind (porthole/live's class names). */
const CLASS = { fc: 'full-cone', ar: 'restricted', pr: 'port-restricted', sym: 'symmetric' } as const;
const TRACKER = `${RENDEZVOUS}:7000`;
const EDGE = `${RENDEZVOUS}:7001`;
/** Chunks measured per peer after every peer settled (250 ms chunks: 20 s). */
const MEASURED_CHUNKS = 80;

interface PeerStats {
  readonly played: number;
  readonly skipped: number;
  readonly bytesFromEdge: number;
  readonly bytesFromPeers: number;
  readonly neighbours: readonly { id: string; isEdge: boolean; pathKind: string; delivered: number }[];
  readonly links?: readonly {
    id: string;
    path: string | null;
    firstPath: string;
    probesBeforePath: number;
    dialled: boolean;
  }[];
  readonly outputs: readonly { kind: string; bytesWritten: number }[];
}

describe('the live system behind the NAT lab: two peers behind each NAT kind', {
  skip,
  timeout: 480_000,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-natlab-live-'));
  const env = { ...process.env, NODE_COMPILE_CACHE: join(dir, 'compile-cache') };
  const channel = createChannel();
  const secret = 'natlab-live-secret-0123456789';
  const token = (peerId: string, role: 'peer' | 'edge'): string =>
    issueToken({ secret, peerId, channelId: channel.id, role, expiresAtMs: Date.now() + 3600_000 });
  let lab: NatLab | undefined;
  const peers = new Map<NatType, LabChild>();
  const stats = (nat: NatType): PeerStats => (peers.get(nat)?.latest('stats') ?? {}) as unknown as PeerStats;

  /** When each stage of the start-up was done, s after the start (printed with the table). */
  const marks: string[] = [];
  const t0 = performance.now();
  const mark = (what: string): void => {
    marks.push(`${what} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };

  before(async () => {
    writeFileSync(join(dir, 'secret'), secret);
    writeFileSync(join(dir, 'channel.pem'), encodeChannelKey(channel));
    lab = await NatLab.create({ nats: NATS });
    mark('lab');
    const cli = (node: string, name: string, args: string): LabChild =>
      startLabChild(lab!, node, name, PORTHOLE_MAIN, args.split(' '), env);
    const secretFile = join(dir, 'secret');
    const tracker = cli(
      'inet',
      'tracker',
      `tracker --listen ${TRACKER} --secret-file ${secretFile} --json --stats 0`,
    );
    await Promise.all([
      tracker.waitForLine((l) => typeof l.listening === 'string', 60_000),
      startCoturn(lab, dir),
    ]);
    mark('tracker and coturn');
    // Everyone is given the channel's public key, so nobody waits for the source to tell the tracker.
    const publicKey = channel.publicKey.toString('hex');
    const source = cli(
      'inet',
      'source',
      `source --key ${join(dir, 'channel.pem')} --input testpattern --bitrate 300 --tracker ${TRACKER} --json --stats 0`,
    );
    const edge = cli(
      'inet',
      'edge',
      `edge --listen ${EDGE} --tracker ${TRACKER} --token ${token('edge-1', 'edge')} --secret-file ${secretFile} --public-key ${publicKey} --json`,
    );
    const turn = `--turn ${TURN.server} --turn-user ${TURN.username} --turn-password ${TURN.password}`;
    for (const nat of NATS) {
      const id = `peer-${nat}`;
      const nc = CLASS[baseNatType(nat)];
      const out = join(dir, `${id}.ts`);
      peers.set(
        nat,
        cli(
          `h-${nat}`,
          id,
          `peer --tracker ${TRACKER} --token ${token(id, 'peer')} --public-key ${publicKey} --nat-class ${nc} ${turn} --file ${out} --json`,
        ),
      );
    }
    await Promise.all([
      source.waitForLine((l) => typeof l.channel === 'string', 90_000),
      edge.waitForLine((l) => l.type === 'ready', 90_000),
      ...[...peers.values()].map((p) => p.waitForLine((l) => l.type === 'ready', 90_000)),
    ]);
    mark('source, edge and 8 peers');
  });

  after(async () => {
    await Promise.all([...peers.values()].map((p) => p.stop()));
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  checkLeaks({ graceMs: 5_000 });

  it('every peer plays (continuity ≥ 99.9 %), outputs decode, sym ↔ sym goes to the relay at once', async (t) => {
    mark('start of the test');
    // Settled: every peer playing with no chunk skipped for 5 s (the start of 8 Node processes on
    // 2 shared cores is a CPU storm the measurement leaves out; joins are benchmarked elsewhere).
    const history: Map<NatType, number>[] = [];
    const detail = (): string[] =>
      NATS.map((n) => {
        const s = stats(n) as PeerStats & {
          edge?: unknown;
          mesh?: unknown;
          stalls?: number;
          skippedSeqs?: number[];
        };
        const paths = (s.neighbours ?? []).map((nb) => `${nb.id}:${nb.pathKind}:${nb.delivered}`).join(' ');
        const late = (s.skippedSeqs ?? []).slice(-8).join(' ');
        return `${n}: ${s.played} played, ${s.skipped} skipped (last: ${late}), ${s.stalls} stalls, ${s.bytesFromEdge} B from the edge, ${s.bytesFromPeers} B from peers; edge ${JSON.stringify(s.edge)}; mesh ${JSON.stringify(s.mesh)}; ${paths}`;
      });
    await waitFor(
      () => {
        history.push(new Map(NATS.map((n) => [n, stats(n).skipped ?? -1])));
        if (history.length > 6) history.shift();
        return (
          history.length === 6 &&
          NATS.every((n) => (stats(n).played ?? 0) > 0 && history[0]!.get(n) === stats(n).skipped)
        );
      },
      {
        what: 'every peer playing without a skip for 5 s',
        timeoutMs: Number(process.env.NATLAB_SETTLE_MS ?? 90_000),
        intervalMs: 1000,
        detail,
      },
    );
    const start = new Map(NATS.map((n) => [n, { ...stats(n) }]));
    await waitFor(() => NATS.every((n) => stats(n).played >= start.get(n)!.played + MEASURED_CHUNKS), {
      what: `every peer playing ${MEASURED_CHUNKS} more chunks`,
      timeoutMs: 60_000,
      intervalMs: 500,
      detail,
    });
    const end = new Map(NATS.map((n) => [n, { ...stats(n) }]));
    mark(`settled and ${MEASURED_CHUNKS} chunks measured`);

    // Continuity per peer over the measured window.
    for (const n of NATS) {
      const played = end.get(n)!.played - start.get(n)!.played;
      const skipped = end.get(n)!.skipped - start.get(n)!.skipped;
      const continuity = played / (played + skipped);
      assert.ok(
        continuity >= 0.999,
        `peer behind ${n}: continuity ${(100 * continuity).toFixed(2)} % (${played} played, ${skipped} skipped; ${detail().join('; ')}; load ${loadavg()[0]?.toFixed(0)})`,
      );
    }

    // The share of bytes from peers per NAT kind (over the window) and the neighbours by path.
    const rows: string[] = [];
    for (const kind of ['fc', 'ar', 'pr', 'sym'] as const) {
      const pair = NATS.filter((n) => baseNatType(n) === kind);
      let fromPeers = 0;
      let fromEdge = 0;
      const paths = new Map<string, number>();
      for (const n of pair) {
        fromPeers += end.get(n)!.bytesFromPeers - start.get(n)!.bytesFromPeers;
        fromEdge += end.get(n)!.bytesFromEdge - start.get(n)!.bytesFromEdge;
        for (const nb of end.get(n)!.neighbours)
          if (!nb.isEdge) paths.set(nb.pathKind, (paths.get(nb.pathKind) ?? 0) + 1);
      }
      const share = fromPeers + fromEdge === 0 ? 0 : fromPeers / (fromPeers + fromEdge);
      const byPath = [...paths].map(([k, v]) => `${k} ${v}`).join(', ') || '-';
      rows.push(
        `| ${kind} (${CLASS[kind]}) | ${pair.length} | ${(100 * share).toFixed(1)} % | ${fromPeers} | ${fromEdge} | ${byPath} |`,
      );
    }
    const pairs = NATS.flatMap((n) =>
      (end.get(n)!.links ?? [])
        .filter((l) => l.dialled)
        .map((l) => `${n}-${l.id.slice('peer-'.length)}: ${l.firstPath}`),
    );
    t.diagnostic(
      [
        `bytes from peers per NAT kind (${MEASURED_CHUNKS} chunks per peer):`,
        '| NAT | peers | from peers | bytes from peers | bytes from edge | peer neighbours by path |',
        '|---|---|---|---|---|---|',
        ...rows,
        `links (dialler-acceptor: first path): ${pairs.join(', ')}`,
        `start-up: ${marks.join(', ')}`,
      ].join('\n'),
    );

    // sym ↔ sym: linked through the relay, with no punch tried before it.
    const symLinks = (['sym', 'sym2'] as const).flatMap((n) =>
      (end.get(n)!.links ?? []).filter((l) => l.id === `peer-${n === 'sym' ? 'sym2' : 'sym'}`),
    );
    assert.ok(
      symLinks.length > 0,
      `the two symmetric peers are neighbours (${JSON.stringify(end.get('sym')!.links)})`,
    );
    for (const l of symLinks) {
      assert.equal(l.firstPath, 'relay', 'a sym ↔ sym link starts on the relay');
      assert.equal(l.probesBeforePath, 0, 'a sym ↔ sym link sends no punch probe before its relay');
    }

    // One peer per NAT kind: what it wrote decodes with ffmpeg with zero errors.
    await new Promise((r) => setTimeout(r, 1000)); // the writes queued at the stats line reach the files
    await Promise.all(
      (['fc', 'ar', 'pr', 'sym'] as const).map(async (n) => {
        const bytes = end.get(n)!.outputs.find((o) => o.kind === 'file')!.bytesWritten;
        const prefix = join(dir, `peer-${n}.prefix.ts`);
        writeFileSync(prefix, readFileSync(join(dir, `peer-${n}.ts`)).subarray(0, bytes));
        assert.ok(bytes > 0, `peer behind ${n} wrote its output`);
        const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', prefix, '-f', 'null', '-']);
        assert.equal(stderr, '', `ffmpeg decodes the output of the peer behind ${n} with zero errors`);
      }),
    );
  });
});
