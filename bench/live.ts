// npm run bench -- live [--json] [--peers 50] [--seconds 180] [--bitrate 2000]
//
// The live system with real processes on loopback (LiveDemo: the tracker and the ffmpeg test
// pattern source in this process, `porthole edge` and `porthole peer` children): a 2 Mbit/s source,
// 2 edges, N peers, every node's sends impaired in user space (5 % loss, 20 ms: loopback has no
// netem without root), 30 % of the peers replaced per minute (killed for real, new ones started).
// Next to it, in the same run and on the same machine, the baseline: edge only (every peer takes
// every chunk from its edge, no mesh, a CDN). Figures (peers alive at the end, their last stats):
//   offload      share of the peers' received bytes that came from other peers
//   continuity   played / (played + skipped), over every peer
//   latency      source-to-peer latency of the received chunks, p50/p95/p99 of the peers' p50/p95/p99
//   join         start of the process to the first chunk played, p50/p95
//   cpu, rss     per peer process: CPU % of one core over the process's own life, CPU ms per Mbit
//                received (all the peers' CPU over all they received), and from /proc at the end VmRSS (what `rssMbPerPeer` is: it counts the
//                node binary's pages, shared by every peer), RssAnon (private) and PSS (shared pages
//                split between the processes that map them)
//   announces/s  tracker requests handled per second (joins, keepalives, samples, reports)
//   machine      load average (1 min) sampled every 5 s, and this process's event-loop delay p99
//                (the tracker and the source run here): evidence of CPU starvation on a shared box
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LiveDemo } from '../src/live/index.ts';
import { emit, flagValue, percentile, printTable } from './lib/report.ts';

const PEERS = Number(flagValue('peers', '50'));
const SECONDS = Number(flagValue('seconds', '180'));
const BITRATE_KBPS = Number(flagValue('bitrate', '1850'));
const CHURN_PER_MINUTE = 0.3;

interface Figures {
  readonly peers: number;
  readonly offload: number;
  readonly continuity: number;
  readonly latencyP50Ms: number;
  readonly latencyP95Ms: number;
  readonly latencyP99Ms: number;
  readonly joinP50Ms: number;
  readonly joinP95Ms: number;
  readonly cpuPerPeerPct: number;
  readonly cpuMsPerMbit: number;
  readonly rssMbPerPeer: number;
  readonly rssAnonMbPerPeer: number;
  readonly pssMbPerPeer: number;
  readonly edgeCpuPct: number;
  readonly edgeRssMb: number;
  readonly loadAvgMean: number;
  readonly loadAvgMax: number;
  readonly eventLoopDelayP99Ms: number;
  readonly edgeEgressMbps: number;
  readonly trackerAnnouncesPerS: number;
  readonly churned: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const CLOCK_TICKS_PER_S = 100;
const UPTIME_S = (): number => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);

/** CPU % of one core over the process's life, and its memory, from /proc (Linux). */
function procFigures(pid: number | undefined): {
  cpuPct: number;
  cpuS: number;
  rssMb: number;
  anonMb: number;
  pssMb: number;
} {
  const none = {
    cpuPct: Number.NaN,
    cpuS: Number.NaN,
    rssMb: Number.NaN,
    anonMb: Number.NaN,
    pssMb: Number.NaN,
  };
  if (pid === undefined) return none;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuS = (Number(f[11]) + Number(f[12])) / CLOCK_TICKS_PER_S;
    const ageS = UPTIME_S() - Number(f[19]) / CLOCK_TICKS_PER_S;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (text: string, name: string): number =>
      Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)?.[1] ?? Number.NaN);
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return {
      cpuPct: (100 * cpuS) / Math.max(1e-3, ageS),
      cpuS,
      rssMb: kb(status, 'VmRSS') / 1024,
      anonMb: kb(status, 'RssAnon') / 1024,
      pssMb: kb(rollup, 'Pss') / 1024,
    };
  } catch {
    return none; // gone
  }
}

const mean = (values: readonly number[]): number => {
  const v = values.filter(Number.isFinite);
  return v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
};

async function scenario(edgeOnly: boolean): Promise<Figures> {
  const demo = await LiveDemo.start({
    peers: 0,
    edges: 2,
    bitrateKbps: BITRATE_KBPS,
    impair: { lossRate: 0.05, delayMs: 20 },
    edgeOnly,
  });
  let churned = 0;
  const joins: number[] = [];
  const loads: number[] = [];
  const loadTimer = setInterval(() => loads.push(loadavg()[0]!), 5_000);
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  try {
    // Peers join over the first 10 s, after one alone that warms the compile cache (an operator's
    // machine has it warm after the first run; a cold one makes each peer load the TypeScript stripper).
    if (PEERS > 0) await demo.addPeer();
    for (let i = 1; i < PEERS; i++) {
      demo.addPeer().catch(() => {}); // a peer killed by the churn before it was ready
      await sleep(10_000 / PEERS);
    }
    const t0 = performance.now();
    const announces0 = trackerRequests(demo);
    const interval = 60_000 / (CHURN_PER_MINUTE * PEERS);
    let nextChurn = performance.now() + interval;
    while (performance.now() - t0 < SECONDS * 1000) {
      await sleep(250);
      if (performance.now() >= nextChurn) {
        nextChurn += interval;
        const running = [...demo.peers.values()].filter(
          (p) => p.child.running && !p.killed && p.child.latest('ready') !== undefined,
        );
        const victim = running[Math.floor(Math.random() * running.length)];
        if (victim !== undefined) {
          const join = victim.child.latest('stats')?.joinMs;
          if (Number.isFinite(join)) joins.push(join);
          await demo.killPeer(victim.id);
          churned++;
          demo.addPeer().catch(() => {}); // a peer killed by the churn before it was ready
        }
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const announces = (trackerRequests(demo) - announces0) / seconds;
    const alive = [...demo.peers.values()].filter((p) => p.child.running && !p.killed);
    const stats = alive.map((p) => p.child.latest('stats')).filter((s) => s !== undefined && s.played > 0);
    for (const s of stats) if (Number.isFinite(s!.joinMs)) joins.push(s!.joinMs);
    let played = 0;
    let skipped = 0;
    let fromPeers = 0;
    let fromEdge = 0;
    for (const s of stats) {
      played += s!.played;
      skipped += s!.skipped;
      fromPeers += s!.bytesFromPeers;
      fromEdge += s!.bytesFromEdge;
    }
    const playing = alive.filter((p) => p.child.latest('stats')?.played > 0);
    const procs = playing.map((p) => procFigures(p.child.process.pid));
    const cpuPct = mean(procs.map((p) => p.cpuPct));
    // CPU over each process's life per Mbit it received over its life (a ratio of sums: a peer
    // that received little does not blow the figure up).
    let cpuS = 0;
    let receivedMbit = 0;
    for (const [i, p] of playing.entries()) {
      const s = p.child.latest('stats')!;
      if (!Number.isFinite(procs[i]!.cpuS)) continue;
      cpuS += procs[i]!.cpuS;
      receivedMbit += ((s.bytesFromPeers as number) + (s.bytesFromEdge as number)) * 8e-6;
    }
    const edgeProcs = demo.edges.map((e) => procFigures(e.process.pid));
    const edgeBps = demo.edges.reduce((a, e) => a + ((e.latest('stats')?.egressBps as number) ?? 0), 0);
    return {
      peers: stats.length,
      offload: fromPeers / Math.max(1, fromPeers + fromEdge),
      continuity: played / Math.max(1, played + skipped),
      latencyP50Ms: percentile(
        stats.map((s) => s!.latencyP50Ms),
        50,
      ),
      latencyP95Ms: percentile(
        stats.map((s) => s!.latencyP95Ms),
        95,
      ),
      latencyP99Ms: percentile(
        stats.map((s) => s!.latencyP99Ms),
        99,
      ),
      joinP50Ms: percentile(joins, 50),
      joinP95Ms: percentile(joins, 95),
      cpuPerPeerPct: cpuPct,
      cpuMsPerMbit: (1000 * cpuS) / Math.max(1e-9, receivedMbit),
      rssMbPerPeer: mean(procs.map((p) => p.rssMb)),
      rssAnonMbPerPeer: mean(procs.map((p) => p.anonMb)),
      pssMbPerPeer: mean(procs.map((p) => p.pssMb)),
      edgeCpuPct: mean(edgeProcs.map((p) => p.cpuPct)),
      edgeRssMb: mean(edgeProcs.map((p) => p.rssMb)),
      loadAvgMean: mean(loads),
      loadAvgMax: Math.max(...loads),
      eventLoopDelayP99Ms: delay.percentile(99) / 1e6,
      edgeEgressMbps: edgeBps / 1e6,
      trackerAnnouncesPerS: announces,
      churned,
    };
  } finally {
    clearInterval(loadTimer);
    delay.disable();
    await demo.close();
  }
}

function trackerRequests(demo: LiveDemo): number {
  const c = demo.tracker.stats() as unknown as Record<string, number>;
  return (c.joins ?? 0) + (c.keepalives ?? 0) + (c.samples ?? 0) + (c.reports ?? 0);
}

const porthole = await scenario(false);
const edgeOnly = await scenario(true);
const result = {
  peersStarted: PEERS,
  seconds: SECONDS,
  bitrateKbps: BITRATE_KBPS,
  ...porthole,
  edgeOnly,
  ratios: {
    edgeEgress: porthole.edgeEgressMbps / Math.max(1e-9, edgeOnly.edgeEgressMbps),
    latencyP95: porthole.latencyP95Ms / edgeOnly.latencyP95Ms,
  },
};
emit(result, () => {
  const row = (name: string, f: Figures): Record<string, string | number> => ({
    strategy: name,
    peers: f.peers,
    offload: `${(100 * f.offload).toFixed(1)} %`,
    continuity: `${(100 * f.continuity).toFixed(2)} %`,
    'p50/p95/p99 ms': `${f.latencyP50Ms}/${f.latencyP95Ms}/${f.latencyP99Ms}`,
    'join p50/p95 ms': `${Math.round(f.joinP50Ms)}/${Math.round(f.joinP95Ms)}`,
    'cpu/peer': `${f.cpuPerPeerPct.toFixed(1)} %`,
    'cpu ms/Mbit': Math.round(f.cpuMsPerMbit),
    'rss/anon/pss MB': `${Math.round(f.rssMbPerPeer)}/${Math.round(f.rssAnonMbPerPeer)}/${Math.round(f.pssMbPerPeer)}`,
    'edge cpu/rss': `${Math.round(f.edgeCpuPct)} %/${Math.round(f.edgeRssMb)} MB`,
    'load avg/max': `${f.loadAvgMean.toFixed(1)}/${f.loadAvgMax.toFixed(1)}`,
    'loop p99 ms': Math.round(f.eventLoopDelayP99Ms),
    'edge Mbit/s': f.edgeEgressMbps.toFixed(2),
    'announces/s': Math.round(f.trackerAnnouncesPerS),
    churned: f.churned,
  });
  printTable(
    `live (${PEERS} peers, 2 edges, ${BITRATE_KBPS} kbit/s video, 5 % loss + 20 ms per send, 30 %/min churn, ${SECONDS} s, real processes on loopback)`,
    [row('porthole', porthole), row('edgeOnly', edgeOnly)],
  );
  console.log(
    `\nedge egress porthole/edgeOnly: ${result.ratios.edgeEgress.toFixed(2)}; p95 latency ratio: ${result.ratios.latencyP95.toFixed(2)}`,
  );
});
