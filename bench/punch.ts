// npm run bench -- punch [--json] [--attempts 10] [--sym-attempts 3] [--deadline-ms 10000]
//                         [--pairs pr-sym,fc-fc]   (default: all 10)
// Hole punching in the NAT lab (root, Linux): for each of the 10 unordered NAT-type pairs, N cold
// attempts (conntrack flushed on both NATs before each) with porthole's agent (prediction + TURN
// relay fallback) and, interleaved in the same run, the classic P2P-Live method as the baseline
// (brokered simultaneous punching with peer-reflexive learning, no prediction, no relay). Reports
// success rate, path, time from connect() to the first echoed datagram (p50/p95) and probes sent,
// and checks the targets. On sym-sym the classic method fails only at the full punch
// deadline (porthole moves to its relay after symmetricPairTimeoutMs, 2 s), so that pair gets
// --sym-attempts (default 3) instead of --attempts.
import { baseNatType, checkLabSupport, missingTool, type NatType } from '../src/lab/index.ts';
import type { NatClassType } from '../src/nat/index.ts';
import { PunchLab } from './lib/punch-lab.ts';
import {
  type Attempt,
  type AttemptPath,
  checkTargets,
  describePaths,
  type PairSummary,
  summarize,
  type TargetCheck,
} from './lib/punch-stats.ts';
import { emit, flagValue, printTable, wantsJson } from './lib/report.ts';

const attempts = positive('attempts', '10');
const symAttempts = positive('sym-attempts', '3');
const deadlineMs = positive('deadline-ms', '10000');
/** Longest a whole attempt may take (punch deadline, relay set-up, first echo). */
const attemptTimeoutMs = deadlineMs + 20_000;

function positive(name: string, fallback: string): number {
  const v = Number(flagValue(name, fallback));
  if (!Number.isSafeInteger(v) || v < 1) {
    process.stderr.write(`--${name} must be a whole number ≥ 1\n`);
    process.exit(2);
  }
  return v;
}

const NAT_CLASS: Readonly<Record<'fc' | 'ar' | 'pr' | 'sym', NatClassType>> = {
  fc: 'full-cone',
  ar: 'address-restricted',
  pr: 'port-restricted',
  sym: 'symmetric',
};

/** The 10 unordered pairs (initiator, responder); a same-type pair uses the twin NAT. */
const PAIRS: readonly (readonly [NatType, NatType])[] = [
  ['fc', 'fc2'],
  ['fc', 'ar'],
  ['fc', 'pr'],
  ['fc', 'sym'],
  ['ar', 'ar2'],
  ['ar', 'pr'],
  ['ar', 'sym'],
  ['pr', 'pr2'],
  ['pr', 'sym'],
  ['sym', 'sym2'],
];

const METHODS = ['porthole', 'classic'] as const;
type Method = (typeof METHODS)[number];

const pairKey = (a: NatType, b: NatType): string => `${baseNatType(a)}-${baseNatType(b)}`;

const wanted = flagValue('pairs', '');
const selected = wanted === '' ? PAIRS : PAIRS.filter(([a, b]) => wanted.split(',').includes(pairKey(a, b)));
if (selected.length === 0) {
  process.stderr.write(
    `--pairs: none of ${wanted}; pairs are ${PAIRS.map(([a, b]) => pairKey(a, b)).join(',')}\n`,
  );
  process.exit(2);
}

/** One cold attempt: flush both NATs, responder listens on b, initiator connects from a. */
async function attempt(lab: PunchLab, a: NatType, b: NatType, method: Method, i: number): Promise<Attempt> {
  await lab.flush(a, b);
  const base = `${pairKey(a, b)}-${method === 'classic' ? 'c' : 'p'}${i}`;
  const rid = `${base}-r`;
  const iid = `${base}-i`;
  const common = {
    broker: lab.brokerAddress,
    classic: method === 'classic',
    punchTimeoutMs: deadlineMs,
    attemptTimeoutMs,
    turn: lab.turn,
  };
  const responder = lab.host(b);
  const initiator = lab.host(a);
  const failed = (error: string): Attempt => ({
    ok: false,
    path: 'none',
    firstDataMs: Number.NaN,
    probes: 0,
    predictionProbes: 0,
    error,
  });
  try {
    responder.send({ op: 'listen', id: rid, natClass: NAT_CLASS[baseNatType(b)], ...common });
    const ready = await responder.next((l) => l.id === rid && 'ready' in l, 30_000, `${rid} registers`);
    if (ready.ready !== true) return failed(`responder: ${String(ready.error)}`);
    initiator.send({ op: 'connect', id: iid, peer: rid, natClass: NAT_CLASS[baseNatType(a)], ...common });
    const done = await initiator.next((l) => l.id === iid && l.done === true, attemptTimeoutMs + 30_000, iid);
    responder.send({ op: 'close', id: rid });
    const closed = await responder.next((l) => l.id === rid && l.closed === true, 15_000, `${rid} closes`);
    if (done.ok !== true) return failed(String(done.error ?? 'unknown'));
    return {
      ok: true,
      path: (done.path ?? 'none') as AttemptPath,
      firstDataMs: done.firstDataMs as number,
      probes: (done.probes as number) + (closed.probes as number),
      predictionProbes: (done.predictionProbes as number) + (closed.predictionProbes as number),
    };
  } catch (error) {
    responder.send({ op: 'close', id: rid });
    return failed((error as Error).message);
  } finally {
    initiator.forget(iid);
    responder.forget(rid);
  }
}

const fmtMs = (v: number | null): string => (v === null ? '-' : String(Math.round(v)));
const fmtRate = (s: PairSummary): string => `${s.successes}/${s.attempts}`;

function targetLines(p: TargetCheck, c: TargetCheck): string[] {
  const pct = (v: number | null): string => (v === null ? '-' : `${Math.round(v * 1000) / 10} %`);
  const mark = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');
  return [
    `pr ↔ sym directly (prediction) within ${deadlineMs} ms in ≥ 95 % of attempts: porthole ${pct(p.prSymDirectRate)} [${mark((p.prSymDirectRate ?? 0) >= 0.95)}], classic ${pct(c.prSymDirectRate)}`,
    `every pair connects: porthole ${p.pairsAlwaysConnected}/${p.pairs} pairs in every attempt (${p.pairsConnected} at least once) [${mark(p.pairsAlwaysConnected === p.pairs)}], classic ${c.pairsAlwaysConnected}/${c.pairs} (${c.pairsConnected})`,
    `9 of 10 pairs directly: porthole ${p.pairsDirect}/${p.pairs} [${p.pairs === PAIRS.length ? mark(p.pairsDirect >= 9) : 'subset of pairs'}], classic ${c.pairsDirect}/${c.pairs}`,
  ];
}

async function main(): Promise<number> {
  const support = await checkLabSupport();
  const missing =
    (support.supported ? undefined : support.reason) ??
    (await missingTool('turnserver', 'coturn')) ??
    (await missingTool('conntrack', 'conntrack'));
  if (missing !== undefined) {
    process.stderr.write(`punch benchmark needs the NAT lab (root, Linux): ${missing}\n`);
    return 1;
  }
  const started = performance.now();
  const lab = await PunchLab.create();
  const results: Record<Method, Record<string, Attempt[]>> = { porthole: {}, classic: {} };
  try {
    for (const [a, b] of selected) {
      const key = pairKey(a, b);
      const n = key === 'sym-sym' ? symAttempts : attempts;
      for (const m of METHODS) results[m][key] = [];
      for (let i = 0; i < n; i++) {
        for (const m of METHODS) results[m][key]!.push(await attempt(lab, a, b, m, i));
      }
      if (!wantsJson) {
        const p = summarize(results.porthole[key]!, deadlineMs);
        const c = summarize(results.classic[key]!, deadlineMs);
        process.stderr.write(`${key}: porthole ${fmtRate(p)} ${describePaths(p)}; classic ${fmtRate(c)}\n`);
      }
    }
  } finally {
    await lab.close();
  }
  const pairs: Record<string, PairSummary> = {};
  const classic: Record<string, PairSummary> = {};
  for (const [a, b] of selected) {
    const key = pairKey(a, b);
    pairs[key] = summarize(results.porthole[key] ?? [], deadlineMs);
    classic[key] = summarize(results.classic[key] ?? [], deadlineMs);
  }
  const targets = { porthole: checkTargets(pairs), classic: checkTargets(classic) };
  const totalS = Math.round((performance.now() - started) / 100) / 10;
  emit(
    {
      pairs,
      classic,
      targets,
      config: { attempts, symAttempts, deadlineMs, pairs: selected.length },
      totalS,
    },
    () => {
      const rows = Object.keys(pairs).map((key) => {
        const p = pairs[key]!;
        const c = classic[key]!;
        return {
          pair: key,
          success: fmtRate(p),
          path: describePaths(p),
          'p50 ms': fmtMs(p.p50Ms),
          'p95 ms': fmtMs(p.p95Ms),
          probes: fmtMs(p.probesP50),
          'pred probes': fmtMs(p.predictionProbesP50),
          '| classic success': `| ${fmtRate(c)}`,
          'classic path': describePaths(c),
          'classic p50': fmtMs(c.p50Ms),
          'classic p95': fmtMs(c.p95Ms),
          'classic probes': fmtMs(c.probesP50),
          'ratio p50':
            p.p50Ms !== null && c.p50Ms !== null && c.p50Ms > 0 ? (p.p50Ms / c.p50Ms).toFixed(2) : '-',
        };
      });
      printTable(
        `hole punching in the NAT lab: porthole vs classic (P2P-Live: no prediction, no relay); ${attempts} cold attempts per pair (sym-sym ${symAttempts}), punch deadline ${deadlineMs} ms; time = connect() to first echo; probes = median, both sides`,
        rows,
      );
      console.log(`\ntargets (issue 6):\n${targetLines(targets.porthole, targets.classic).join('\n')}`);
      console.log(`\n${totalS} s in all`);
    },
  );
  return 0;
}

process.exitCode = await main();
