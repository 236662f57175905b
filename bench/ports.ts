// npm run bench -- ports [--json] [--range 61000-61999] [--seed n] [--ops n] [--warmup n] [--budget-ms n]
//                       [--bookkeeping-ms n]
//
// PortPool against the ways peers find ports, on the same 1000-port range under the same conditions.
//
// Range 61000-61999 on 127.0.0.1 (outside the kernel's ephemeral range 32768-60999, so the kernel
// never hands these ports out meanwhile). Conditions: singles and even/odd pairs; 0% or 20% of the
// range held by another process (a real child process, bench/lib/port-holder.ts, holding a seeded
// random set of ports, the same set for every strategy); occupancy 50/90/99%.
//
// Occupancy is the share of the *usable* allocation units held by this process's own allocations:
// units are ports for singles and even/odd pairs (P even, P+1) for pairs, and a unit is usable when
// no port of it is held by the other process. (With 20% foreign, 99% of the whole range could not be
// reached, so occupancy counts what can be had.) At least one usable unit is always free when an
// allocation starts, so every failed allocation is a false exhaustion.
//
// Procedure, the same for every strategy and condition:
//   1. fill to the target occupancy: the baselines bind a seeded random set of usable units directly
//      (uncounted; the same set for all of them); PortPool can only be filled through its own bind(),
//      so its fill is its first pass over the range (reported apart);
//   2. warm-up churn (--warmup operations), then measured churn (--ops operations, at most
//      --budget-ms of allocation time): release one random held allocation (seeded, the same
//      sequence for every strategy), allocate a new one. After a failed allocation the next
//      operation only allocates, so occupancy stays at the target.
//   3. PortPool with foreign ports only: move its clock past the foreign back-off (30 s) and churn
//      --warmup operations more: the cost of meeting the other process's ports again.
// Measured: bind() calls per successful allocation (2 at best for a pair); successful allocations
// per CPU second of this thread inside allocate() (CPU, not wall time, so that other processes on a
// small shared machine do not skew the ratios); p99 wall time of one allocate call; false exhaustions.
// PortPool runs with cooldownMs 0 (the baselines have no cooldown) and its default 30 s foreign
// back-off. Bookkeeping: PortAllocator take()+release() per CPU second with no sockets, against a
// random-start scan over a table of used ports (mediasoup's), at 50% (the target) and 99% occupancy.
import {
  bindUdpSocket,
  DEFAULT_FOREIGN_BACKOFF_MS,
  isPortSpecificBindError,
  type PortRange,
  parsePortRange,
} from '../src/ports/index.ts';
import { type PortHolder, startPortHolder } from './lib/port-holder.ts';
import {
  type Allocation,
  type AllocationKind,
  LinearScanStrategy,
  measureAllocatorChurn,
  measureScanChurn,
  PortholeStrategy,
  type PortStrategy,
  RandomRetryStrategy,
  RandomStartScanStrategy,
  SeededRandom,
} from './lib/port-strategies.ts';
import { emit, flagValue, percentile, printTable, round } from './lib/report.ts';

const RANGE: PortRange = parsePortRange(flagValue('range', '61000-61999'));
const HOST = '127.0.0.1';
const SIZE = RANGE.last - RANGE.first + 1;
const OCCUPANCIES = [50, 90, 99] as const;
const FOREIGN_SHARES = [0, 20] as const;
const KINDS: readonly AllocationKind[] = ['single', 'pair'];
const STRATEGIES = ['porthole', 'linear-scan', 'random-retry', 'random-start-scan'] as const;
type StrategyName = (typeof STRATEGIES)[number];

const seed = Number(flagValue('seed', '20261121')) >>> 0;
const maxOps = positive('ops', 2000);
const warmupOps = positive('warmup', 200);
const budgetMs = positive('budget-ms', 1500);
const bookkeepingMs = positive('bookkeeping-ms', 1000);

/** One row of a human table. */
type Cells = Record<string, string | number>;

interface Condition {
  readonly name: string;
  readonly kind: AllocationKind;
  readonly occupancyPct: number;
  readonly foreignPct: number;
}

/** What one churn phase counted. */
interface Churn {
  readonly ops: number;
  readonly allocations: number;
  readonly binds: number;
  /** Wall time inside allocate(). */
  readonly allocMs: number;
  /** CPU time of this thread inside allocate(). */
  readonly allocCpuMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly falseExhaustions: number;
  /** Failures with no usable unit free (cannot happen by construction; reported as a check). */
  readonly trueExhaustions: number;
}

interface Result {
  readonly bindsPerAlloc: number;
  readonly allocsPerSec: number;
  readonly p99Ms: number;
  readonly falseExhaustions: number;
}

interface Row {
  readonly condition: Condition;
  readonly strategy: StrategyName;
  readonly peers: string;
  readonly fillBindsPerAlloc: number;
  readonly warmup: Churn;
  readonly steady: Churn;
  /** porthole with foreign ports: churn right after every foreign back-off ran out. */
  readonly afterBackoff: Churn | undefined;
}

function positive(name: string, fallback: number): number {
  const value = Number(flagValue(name, String(fallback)));
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1`);
  return value;
}

/** Fisher-Yates with the bench's seeded PRNG. */
function shuffle(values: number[], random: SeededRandom): number[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

/** The usable units of a condition by offset: single offsets, or even offsets of pairs. */
function usableUnits(kind: AllocationKind, foreign: Uint8Array): number[] {
  const units: number[] = [];
  if (kind === 'single') {
    for (let o = 0; o < SIZE; o++) if (foreign[o] === 0) units.push(o);
  } else {
    for (let o = RANGE.first % 2; o + 1 < SIZE; o += 2)
      if (foreign[o] === 0 && foreign[o + 1] === 0) units.push(o);
  }
  return units;
}

function makeStrategy(name: StrategyName, strategySeed: number): PortStrategy {
  switch (name) {
    case 'porthole':
      return new PortholeStrategy(RANGE, HOST);
    case 'linear-scan':
      return new LinearScanStrategy(RANGE, HOST, strategySeed);
    case 'random-retry':
      return new RandomRetryStrategy(RANGE, HOST, strategySeed);
    case 'random-start-scan':
      return new RandomStartScanStrategy(RANGE, HOST, strategySeed);
  }
}

/** The truth the strategies do not see: which ports we hold and which the other process holds. */
class Truth {
  readonly own = new Uint8Array(SIZE);
  readonly #foreign: Uint8Array;
  readonly #kind: AllocationKind;

  constructor(foreign: Uint8Array, kind: AllocationKind) {
    this.#foreign = foreign;
    this.#kind = kind;
  }

  /** Records a new allocation after checking it is what was asked for and not held already. */
  hold(allocation: Allocation): void {
    const { ports } = allocation;
    const expected = this.#kind === 'single' ? 1 : 2;
    const first = ports[0] ?? -1;
    if (ports.length !== expected || (expected === 2 && (first % 2 !== 0 || ports[1] !== first + 1))) {
      throw new Error(`strategy returned ports ${ports.join(',')} for a ${this.#kind}`);
    }
    for (const port of ports) {
      const o = port - RANGE.first;
      if (o < 0 || o >= SIZE || this.own[o] === 1 || this.#foreign[o] === 1) {
        throw new Error(`strategy returned port ${port}, which is out of range or already held`);
      }
      this.own[o] = 1;
    }
  }

  drop(allocation: Allocation): void {
    for (const port of allocation.ports) this.own[port - RANGE.first] = 0;
  }

  /** Whether a unit that nobody holds exists. */
  anyUsableFree(): boolean {
    const free = (o: number): boolean => this.own[o] === 0 && this.#foreign[o] === 0;
    if (this.#kind === 'single') {
      for (let o = 0; o < SIZE; o++) if (free(o)) return true;
      return false;
    }
    for (let o = RANGE.first % 2; o + 1 < SIZE; o += 2) if (free(o) && free(o + 1)) return true;
    return false;
  }
}

/** One strategy under one condition: what it holds and what the churn needs. */
interface Run {
  readonly strategy: PortStrategy;
  readonly kind: AllocationKind;
  readonly held: Allocation[];
  readonly target: number;
  readonly truth: Truth;
  /** Picks what to release; the same sequence for every strategy of a condition. */
  readonly random: SeededRandom;
}

/** Release-one/allocate-one churn, bounded by `ops` and by `limitMs` of allocation time. */
async function churn(run: Run, ops: number, limitMs: number): Promise<Churn> {
  const { strategy, held, truth } = run;
  const durations = new Float64Array(ops);
  const bindsBefore = strategy.bindCalls;
  let done = 0;
  let allocations = 0;
  let allocMs = 0;
  let allocCpuMs = 0;
  let falseExhaustions = 0;
  let trueExhaustions = 0;
  while (done < ops && allocMs < limitMs) {
    if (held.length >= run.target) {
      const index = run.random.below(held.length);
      const victim = held[index]!;
      held[index] = held[held.length - 1]!;
      held.pop();
      truth.drop(victim);
      await strategy.release(victim);
    }
    const cpuStart = process.threadCpuUsage();
    const start = performance.now();
    const allocation = await strategy.allocate(run.kind);
    const ms = performance.now() - start;
    const cpu = process.threadCpuUsage(cpuStart);
    allocCpuMs += (cpu.user + cpu.system) / 1000;
    durations[done++] = ms;
    allocMs += ms;
    if (allocation !== undefined) {
      truth.hold(allocation);
      held.push(allocation);
      allocations++;
    } else if (truth.anyUsableFree()) falseExhaustions++;
    else trueExhaustions++;
  }
  return {
    ops: done,
    allocations,
    binds: strategy.bindCalls - bindsBefore,
    allocMs,
    allocCpuMs,
    p99Ms: percentile(Array.from(durations.subarray(0, done)), 99),
    maxMs: percentile(Array.from(durations.subarray(0, done)), 100),
    falseExhaustions,
    trueExhaustions,
  };
}

async function runCondition(condition: Condition, index: number, foreign: Uint8Array): Promise<Row[]> {
  const units = usableUnits(condition.kind, foreign);
  const target = Math.min(units.length - 1, Math.round((units.length * condition.occupancyPct) / 100));
  const candidates = shuffle(units, new SeededRandom(seed + 7919 * (index + 1))).map((o) => RANGE.first + o);
  const rows: Row[] = [];
  for (const [s, name] of STRATEGIES.entries()) {
    globalThis.gc?.();
    const strategy = makeStrategy(name, seed + 104_729 * (index + 1) + s);
    const truth = new Truth(foreign, condition.kind);
    try {
      const bindsBefore = strategy.bindCalls;
      const held = await strategy.fill(target, condition.kind, candidates);
      for (const allocation of held) truth.hold(allocation);
      const fillBindsPerAlloc =
        name === 'porthole' ? (strategy.bindCalls - bindsBefore) / target : Number.NaN;
      const random = new SeededRandom(seed + 15_485_863 * (index + 1));
      const run: Run = { strategy, kind: condition.kind, held, target, truth, random };
      const warmup = await churn(run, warmupOps, budgetMs / 2);
      const steady = await churn(run, maxOps, budgetMs);
      let afterBackoff: Churn | undefined;
      if (strategy instanceof PortholeStrategy) {
        if (condition.foreignPct > 0) {
          // Every foreign back-off runs out at once: the pool meets the other process's ports again.
          strategy.skipAhead(DEFAULT_FOREIGN_BACKOFF_MS + 1);
          afterBackoff = await churn(run, warmupOps, budgetMs / 2);
        }
        const counted = strategy.pool.stats().bindCalls;
        if (counted !== strategy.bindCalls) {
          throw new Error(`PortPool counted ${counted} binds, its bindSocket saw ${strategy.bindCalls}`);
        }
      }
      const { peers } = strategy;
      rows.push({ condition, strategy: name, peers, fillBindsPerAlloc, warmup, steady, afterBackoff });
    } finally {
      await strategy.close();
    }
  }
  return rows;
}

function resultOf(churned: Churn): Result {
  return {
    bindsPerAlloc: round(churned.binds / churned.allocations),
    allocsPerSec: round(churned.allocations / (churned.allocCpuMs / 1000)),
    p99Ms: round(churned.p99Ms),
    falseExhaustions: churned.falseExhaustions,
  };
}

interface Bookkeeping {
  readonly occupancyPct: number;
  readonly kind: AllocationKind;
  readonly porthole: number;
  readonly scan: number;
}

/**
 * Median allocate+release per second over interleaved rounds (noise hits both alike), singles and
 * pairs at 50% occupancy (the target) and 99% (where a scan has to walk).
 */
function bookkeeping(): Bookkeeping[] {
  const rounds = 5;
  const ms = bookkeepingMs / rounds / 2;
  const out: Bookkeeping[] = [];
  for (const occupancyPct of [50, 99]) {
    for (const kind of KINDS) {
      const count = kind === 'single' ? 1 : 2;
      const held = Math.round(((SIZE / count) * occupancyPct) / 100);
      const porthole: number[] = [];
      const scan: number[] = [];
      for (let r = 0; r < rounds; r++) {
        porthole.push(measureAllocatorChurn(RANGE, count, held, ms, seed + r));
        scan.push(measureScanChurn(RANGE, count, held, ms, seed + r));
      }
      out.push({ occupancyPct, kind, porthole: percentile(porthole, 50), scan: percentile(scan, 50) });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  await checkRangeIsFree();
  // Bookkeeping first, on a quiet heap (the socket runs leave much garbage behind).
  const book = bookkeeping();
  const foreignSet = new Uint8Array(SIZE);
  const foreignPorts = shuffle(
    Array.from({ length: SIZE }, (_, o) => o),
    new SeededRandom(seed),
  )
    .slice(0, (SIZE * 20) / 100)
    .sort((a, b) => a - b);
  for (const o of foreignPorts) foreignSet[o] = 1;

  const rows: Row[] = [];
  let index = 0;
  for (const foreignPct of FOREIGN_SHARES) {
    let holder: PortHolder | undefined;
    try {
      if (foreignPct > 0)
        holder = await startPortHolder(
          foreignPorts.map((o) => RANGE.first + o),
          HOST,
        );
      const foreign = foreignPct > 0 ? foreignSet : new Uint8Array(SIZE);
      for (const kind of KINDS) {
        for (const occupancyPct of OCCUPANCIES) {
          const name = `${kind}-occ${occupancyPct}-foreign${foreignPct}`;
          rows.push(...(await runCondition({ name, kind, occupancyPct, foreignPct }, index++, foreign)));
        }
      }
    } finally {
      await holder?.stop();
    }
  }

  const at50 = book.filter((b) => b.occupancyPct === 50);
  const bookkeepingOpsPerSec = round(Math.min(...at50.map((b) => b.porthole)));

  const strategies: Record<string, Record<string, Result>> = {};
  const firstPass: Record<string, Record<string, number>> = {};
  for (const row of rows) {
    strategies[row.strategy] ??= {};
    strategies[row.strategy]![row.condition.name] = resultOf(row.steady);
    if (row.strategy === 'porthole') firstPass[row.condition.name] = firstPassOf(row);
  }
  const targets = checkTargets(rows, bookkeepingOpsPerSec);
  const elapsedS = round((performance.now() - startedAt) / 1000);
  const trueExhaustions = rows.reduce(
    (n, r) =>
      n + r.warmup.trueExhaustions + r.steady.trueExhaustions + (r.afterBackoff?.trueExhaustions ?? 0),
    0,
  );
  if (trueExhaustions > 0)
    throw new Error(`${trueExhaustions} allocations found nothing free: the bench is wrong`);

  emit(
    {
      strategies,
      bookkeepingOpsPerSec,
      bookkeeping: book.map((b) => ({ ...b, porthole: round(b.porthole), scan: round(b.scan) })),
      firstPass,
      targets,
      settings: {
        range: `${RANGE.first}-${RANGE.last}`,
        host: HOST,
        seed,
        maxOps,
        warmupOps,
        budgetMs,
        elapsedS,
      },
    },
    () => {
      console.log(
        `ports: ${SIZE} ports ${RANGE.first}-${RANGE.last} on ${HOST}, seed ${seed}, ` +
          `${warmupOps} warm-up + ≤${maxOps} measured ops (≤${budgetMs} ms) per strategy and condition; ` +
          'PortPool cooldownMs 0; occupancy = share of the usable units (not held by the other process); ' +
          'allocsPerSec per CPU second inside allocate(), p99Ms wall time',
      );
      const peers = new Map(rows.map((r) => [r.strategy, r.peers]));
      console.log(`strategies: ${[...peers].map(([name, who]) => `${name} (${who})`).join(', ')}`);
      for (const foreignPct of FOREIGN_SHARES) {
        for (const kind of KINDS) {
          printTable(
            `${kind}s, ${foreignPct}% of the range held by another process (x = ratio to porthole)`,
            rows
              .filter((r) => r.condition.kind === kind && r.condition.foreignPct === foreignPct)
              .map((r) => humanRow(r, rows)),
          );
        }
      }
      printTable(
        'porthole binds per allocation: first pass (fill through bind()), warm-up, steady, and right after ' +
          `every foreign back-off (${DEFAULT_FOREIGN_BACKOFF_MS} ms) ran out`,
        rows
          .filter((r) => r.strategy === 'porthole')
          .map((r) => ({
            condition: r.condition.name,
            afterBackoff: '-',
            afterBackoffMaxMs: '-',
            afterBackoffOps: '-',
            ...firstPassOf(r),
          })),
      );
      printTable(
        'bookkeeping, no sockets: allocate+release per CPU second (PortAllocator vs random-start scan table)',
        book.map((b) => ({
          occupancy: `${b.occupancyPct}%`,
          kind: b.kind,
          porthole: Math.round(b.porthole),
          'random-start-scan': Math.round(b.scan),
          x: b.porthole / b.scan,
        })),
      );
      printTable('targets (porthole)', targets);
      console.log(`\n${elapsedS} s`);
    },
  );
}

/** Fails when a stranger holds ports of the range: the conditions would not be what they claim. */
async function checkRangeIsFree(): Promise<void> {
  const busy: number[] = [];
  for (let port = RANGE.first; port <= RANGE.last; port++) {
    try {
      const socket = await bindUdpSocket({ family: 'udp4', address: HOST, port, exclusive: true });
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    } catch (error) {
      if (!isPortSpecificBindError(error)) throw error;
      busy.push(port);
    }
  }
  if (busy.length > 0) {
    throw new Error(
      `ports ${busy.join(', ')} of ${RANGE.first}-${RANGE.last} are held by another process; ` +
        'stop it or pick another range with --range first-last',
    );
  }
}

function firstPassOf(r: Row): Record<string, number> {
  const perAlloc = (c: Churn): number => round(c.binds / c.allocations);
  return {
    fill: round(r.fillBindsPerAlloc),
    warmup: perAlloc(r.warmup),
    steady: perAlloc(r.steady),
    ...(r.afterBackoff === undefined
      ? {}
      : {
          afterBackoff: perAlloc(r.afterBackoff),
          afterBackoffMaxMs: round(r.afterBackoff.maxMs),
          afterBackoffOps: r.afterBackoff.ops,
        }),
  };
}

function humanRow(r: Row, rows: readonly Row[]): Cells {
  const mine = resultOf(r.steady);
  const base = rows.find((o) => o.strategy === 'porthole' && o.condition === r.condition);
  const ref = base === undefined ? mine : resultOf(base.steady);
  return {
    occupancy: `${r.condition.occupancyPct}%`,
    strategy: r.strategy,
    bindsPerAlloc: mine.bindsPerAlloc,
    'binds x': mine.bindsPerAlloc / ref.bindsPerAlloc,
    allocsPerSec: mine.allocsPerSec,
    'rate x': mine.allocsPerSec / ref.allocsPerSec,
    p99Ms: mine.p99Ms,
    falseExhaustions: mine.falseExhaustions,
    ops: r.steady.ops,
  };
}

/** The issue's targets, binds normalised per port (a pair needs 2 binds at best). */
function checkTargets(rows: readonly Row[], bookkeepingOpsPerSec: number): Cells[] {
  const out: Cells[] = [];
  const porthole = rows.filter((r) => r.strategy === 'porthole');
  for (const r of porthole.filter((p) => p.condition.occupancyPct === 99)) {
    const limit = r.condition.foreignPct === 0 ? 1.05 : 1.2;
    const perPort = r.steady.binds / r.steady.allocations / (r.condition.kind === 'single' ? 1 : 2);
    out.push(verdict(`binds per port, ${r.condition.name}`, perPort, `≤ ${limit}`, perPort <= limit));
  }
  const falseTotal = porthole.reduce(
    (n, r) =>
      n + r.warmup.falseExhaustions + r.steady.falseExhaustions + (r.afterBackoff?.falseExhaustions ?? 0),
    0,
  );
  out.push(verdict('false exhaustions, all conditions', falseTotal, '= 0', falseTotal === 0));
  out.push(
    verdict(
      'bookkeeping allocate+release/CPU s',
      bookkeepingOpsPerSec,
      '≥ 1000000',
      bookkeepingOpsPerSec >= 1_000_000,
    ),
  );
  return out;
}

function verdict(target: string, value: number, limit: string, met: boolean): Cells {
  return { target, value: round(value), limit, status: met ? 'met' : 'NOT MET' };
}

await main();
