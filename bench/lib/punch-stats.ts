// Attempt records and their summary for the punch benchmark (bench/punch.ts).
import { percentile } from './report.ts';

/** How a link's path was made, or none (the attempt failed). */
export type AttemptPath = 'direct' | 'predicted' | 'relay' | 'none';

/** One connection attempt between the two peers of a pair. */
export interface Attempt {
  readonly ok: boolean;
  readonly path: AttemptPath;
  /** connect() call to the first echo, ms (successful attempts). */
  readonly firstDataMs: number;
  /** Probes both sides sent (prediction probes included). */
  readonly probes: number;
  /** Prediction probes both sides sent (hard side: one per extra socket; easy side: random ports). */
  readonly predictionProbes: number;
  /** Error code of a failed attempt. */
  readonly error?: string;
}

/** The summary of one pair under one method (the JSON shape of the issue, plus extras). */
export interface PairSummary {
  /** Successful attempts / attempts (0–1). */
  readonly success: number;
  /** The most frequent path among successful attempts ('none' when none succeeded). */
  readonly path: AttemptPath;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly attempts: number;
  readonly successes: number;
  readonly paths: Readonly<Partial<Record<AttemptPath, number>>>;
  /** Attempts that connected without the relay (direct or predicted) within the punch deadline. */
  readonly directWithinDeadline: number;
  /** Median over successful attempts. */
  readonly probesP50: number | null;
  readonly predictionProbesP50: number | null;
  readonly errors: Readonly<Record<string, number>>;
}

const finite = (v: number): number | null => (Number.isFinite(v) ? Math.round(v * 10) / 10 : null);

/** Summarizes the attempts of one pair under one method. */
export function summarize(attempts: readonly Attempt[], deadlineMs: number): PairSummary {
  const ok = attempts.filter((a) => a.ok);
  const paths: Partial<Record<AttemptPath, number>> = {};
  const errors: Record<string, number> = {};
  for (const a of attempts) {
    paths[a.path] = (paths[a.path] ?? 0) + 1;
    if (!a.ok) errors[a.error ?? 'unknown'] = (errors[a.error ?? 'unknown'] ?? 0) + 1;
  }
  let path: AttemptPath = 'none';
  let most = 0;
  for (const kind of ['direct', 'predicted', 'relay'] as const) {
    const n = paths[kind] ?? 0;
    if (n > most) {
      most = n;
      path = kind;
    }
  }
  const times = ok.map((a) => a.firstDataMs);
  return {
    success: attempts.length === 0 ? 0 : Math.round((ok.length / attempts.length) * 1000) / 1000,
    path,
    p50Ms: finite(percentile(times, 50)),
    p95Ms: finite(percentile(times, 95)),
    attempts: attempts.length,
    successes: ok.length,
    paths,
    directWithinDeadline: ok.filter((a) => a.path !== 'relay' && a.firstDataMs <= deadlineMs).length,
    probesP50: finite(
      percentile(
        ok.map((a) => a.probes),
        50,
      ),
    ),
    predictionProbesP50: finite(
      percentile(
        ok.map((a) => a.predictionProbes),
        50,
      ),
    ),
    errors,
  };
}

/** "predicted 9, direct 1" — the paths of a summary, most frequent first. */
export function describePaths(s: PairSummary): string {
  const parts = Object.entries(s.paths)
    .filter(([kind]) => kind !== 'none')
    .sort((x, y) => (y[1] ?? 0) - (x[1] ?? 0))
    .map(([kind, n]) => `${kind} ${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** The target lines for one method's summaries (keys "<a>-<b>"). */
export interface TargetCheck {
  /** Pairs in which every attempt connected (goal: all 10). */
  readonly pairsAlwaysConnected: number;
  /** Pairs that connected at least once. */
  readonly pairsConnected: number;
  /** Pairs whose usual path is direct or predicted (goal: 9 of 10). */
  readonly pairsDirect: number;
  /** pr-sym attempts connected without the relay within the deadline, 0–1 (goal ≥ 0.95). */
  readonly prSymDirectRate: number | null;
  readonly pairs: number;
}

export function checkTargets(summaries: Readonly<Record<string, PairSummary>>): TargetCheck {
  const all = Object.values(summaries);
  const prSym = summaries['pr-sym'];
  return {
    pairs: all.length,
    pairsAlwaysConnected: all.filter((s) => s.attempts > 0 && s.successes === s.attempts).length,
    pairsConnected: all.filter((s) => s.successes > 0).length,
    pairsDirect: all.filter((s) => s.path === 'direct' || s.path === 'predicted').length,
    prSymDirectRate:
      prSym === undefined || prSym.attempts === 0
        ? null
        : Math.round((prSym.directWithinDeadline / prSym.attempts) * 1000) / 1000,
  };
}
