// npm run bench -- live-sim [--json] [--peers 1000] [--seconds 45] [--seed 1] [--scenarios a,b,c]
//
// The swarm simulator (test/live/sim) at 1,000 peers: porthole's live cores against two
// baselines in the same run, on the same virtual links, churn and population (same seed):
// edgeOnly (every peer pulls every chunk from the edge, a CDN) and naivePull (missing chunks in
// order from a random neighbour that has them, no deadlines, the edge after a fixed 1 s).
// 2 Mbit/s in 250 ms chunks, a random-access point every 0.5 s; peers' access links 10 Mbit/s up,
// 50 down, 5-75 ms one way plus 0-5 ms jitter; the edge is a CDN (100 Gbit/s: more than any
// strategy's demand, edge-only's 2 Gbit/s at 1,000 peers included). Scenarios:
//   churn       1,000 peers, 80 % upload-capped at 1.5x the bitrate and 20 % at 0 (symmetric NAT),
//               5 % loss, 30 % of the peers replaced per minute
//   flashCrowd  500 peers joining an empty channel within 10 s (5 % loss, same caps)
//   polluters   churn, with 10 % of the peers malicious (forged chunks, lying buffer maps, floods)
// Figures are simulated time only; every scenario runs in its own worker (2 at a time).
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { runSwarm, type SimStrategy, type SwarmConfig, type SwarmResult } from '../test/live/sim/swarm.ts';
import { emit, flagValue, printTable, wantsJson } from './lib/report.ts';

/** The rows of each scenario: porthole at its defaults and the two baselines. */
const ROWS: readonly { name: string; strategy: SimStrategy; config?: Partial<SwarmConfig> }[] = [
  { name: 'porthole', strategy: 'porthole' },
  { name: 'edgeOnly', strategy: 'edgeOnly' },
  { name: 'naivePull', strategy: 'naivePull' },
];
const STRATEGIES = ROWS.map((r) => r.name);

interface Job {
  readonly scenario: string;
  readonly row: string;
  readonly config: SwarmConfig;
}

function scenarios(
  peers: number,
  seconds: number,
  seed: number,
): Record<string, Omit<SwarmConfig, 'strategy'>> {
  const durationMs = seconds * 1000;
  const common = { seed, lossRate: 0.05, leechShare: 0.2, uploadCapX: 1.5 };
  return {
    churn: {
      ...common,
      peers,
      joinWindowMs: 10_000,
      durationMs: durationMs + 15_000,
      measureFromMs: 15_000,
      churnPerMinute: 0.3,
      maliciousShare: 0,
    },
    flashCrowd: {
      ...common,
      peers: Math.round(peers / 2),
      joinWindowMs: 10_000,
      durationMs: Math.max(30_000, durationMs),
      measureFromMs: 0,
      churnPerMinute: 0,
      maliciousShare: 0,
    },
    polluters: {
      ...common,
      peers,
      joinWindowMs: 10_000,
      durationMs: durationMs + 15_000,
      measureFromMs: 15_000,
      churnPerMinute: 0.3,
      maliciousShare: 0.1,
    },
  };
}

if (!isMainThread) {
  const job = workerData as Job;
  parentPort!.postMessage(runSwarm(job.config));
} else {
  const peers = Number(flagValue('peers', '1000'));
  const seconds = Number(flagValue('seconds', '45'));
  const seed = Number(flagValue('seed', '1'));
  const all = scenarios(peers, seconds, seed);
  const names = flagValue('scenarios', Object.keys(all).join(',')).split(',');
  const jobs: Job[] = names.flatMap((scenario) =>
    ROWS.map((r) => ({
      scenario,
      row: r.name,
      config: { ...all[scenario]!, ...r.config, strategy: r.strategy },
    })),
  );
  const results: Record<string, Record<string, SwarmResult>> = {};
  const started = performance.now();
  const file = fileURLToPath(import.meta.url);
  let next = 0;
  const runOne = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const result = await new Promise<SwarmResult>((resolve, reject) => {
        const w = new Worker(file, { workerData: job });
        w.once('message', resolve);
        w.once('error', reject);
      });
      results[job.scenario] = { ...results[job.scenario], [job.row]: result };
      if (!wantsJson)
        console.error(
          `  ${job.scenario}/${job.row} done at ${Math.round((performance.now() - started) / 1000)} s`,
        );
    }
  };
  await Promise.all(Array.from({ length: Math.min(2, availableParallelism()) }, runOne));
  const json = {
    peers,
    seconds,
    seed,
    scenarios: Object.fromEntries(
      names.map((n) => [
        n,
        Object.fromEntries(
          STRATEGIES.map((s) => {
            const { totals: _t, spins: _s, ...figures } = results[n]![s]!;
            return [s, figures];
          }),
        ),
      ]),
    ),
  };
  emit(json, () => {
    for (const n of names) {
      printTable(
        `${n} (${all[n]!.peers} peers, simulated, seed ${seed})`,
        STRATEGIES.map((s) => {
          const r = results[n]![s]!;
          return {
            strategy: s,
            offload: pct(r.offload),
            continuity: pct(r.continuity, 2),
            'p50 ms': r.latencyP50Ms,
            'p95 ms': r.latencyP95Ms,
            'p99 ms': r.latencyP99Ms,
            'join p95 ms': Math.round(r.joinP95Ms),
            'forged played': r.forgedPlayed,
            'upload p10/p50/p90 xB': `${r.uploadX.p10.toFixed(2)}/${r.uploadX.p50.toFixed(2)}/${r.uploadX.p90.toFixed(2)}`,
            'ban p50/p95 ms': Number.isNaN(r.banP50Ms)
              ? '-'
              : `${Math.round(r.banP50Ms)}/${Math.round(r.banP95Ms)}`,
          };
        }),
      );
    }
    console.log(`\n${Math.round((performance.now() - started) / 1000)} s wall clock`);
  });
}

function pct(x: number, digits = 1): string {
  return `${(100 * x).toFixed(digits)} %`;
}
