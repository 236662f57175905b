/**
 * Helpers of the live metrics: prom-client series computed at scrape time from a process's
 * `stats()`, and label values kept inside fixed sets so no series set grows with the swarm.
 * @module
 */
import type { Counter, Gauge, Registry } from 'prom-client';
import { promClient } from './metrics-prom.ts';

/** One sample of a series: its labels and value. */
export type Sample<L extends string> = readonly [labels: Readonly<Record<L, string>>, value: number];

/** What a scrape-time series reads: the samples now. */
export type ReadSamples<L extends string> = () => Iterable<Sample<L>>;

/** Description of one scrape-time series. */
export interface SeriesSpec<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
  readonly read: ReadSamples<L>;
}

function fill(metric: Gauge<string> | Counter<string>, read: ReadSamples<string>, counter: boolean): void {
  metric.reset();
  for (const [labels, value] of read()) {
    // A gauge with nothing measured yet reads NaN (a gap in a graph); a counter needs a number.
    if (counter) {
      if (Number.isFinite(value)) (metric as Counter<string>).inc(labels, Math.max(0, value));
    } else (metric as Gauge<string>).set(labels, Number.isFinite(value) ? value : Number.NaN);
  }
}

/** A gauge whose samples are read at each scrape. */
export function scrapeGauge<L extends string>(registry: Registry, spec: SeriesSpec<L>): Gauge<L> {
  const { Gauge } = promClient();
  return new Gauge<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    collect() {
      fill(this as Gauge<string>, spec.read as ReadSamples<string>, false);
    },
  });
}

/**
 * A counter whose value is a running total the process already keeps (a `stats()` field), read at
 * each scrape. A total that falls (a restarted component) shows as a counter reset, as Prometheus
 * expects.
 */
export function scrapeCounter<L extends string>(registry: Registry, spec: SeriesSpec<L>): Counter<L> {
  const { Counter } = promClient();
  return new Counter<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    collect() {
      fill(this as Counter<string>, spec.read as ReadSamples<string>, true);
    },
  });
}

/**
 * `read` memoised for one scrape: prom-client runs every metric's collect() in the same tick, so
 * the first call reads and the rest of the scrape shares that snapshot.
 */
export function perScrape<T>(read: () => T): () => T {
  let cached: { value: T } | undefined;
  return () => {
    if (cached === undefined) {
      cached = { value: read() };
      queueMicrotask(() => {
        cached = undefined;
      });
    }
    return cached.value;
  };
}

/** A single unlabelled sample. */
export function one(value: number): Iterable<Sample<never>> {
  return [[{}, value]];
}

/** `value` when it is one of `allowed`, else `fallback`: a label value from a fixed set. */
export function bounded<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  return value !== undefined && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

/** The NAT classes a `nat_class` label takes (src/nat NatClass, and `unknown`). */
export const NAT_CLASS_LABELS = [
  'open',
  'firewalled',
  'full-cone',
  'address-restricted',
  'port-restricted',
  'symmetric',
  'unknown',
] as const;

/** A `nat_class` label value. */
export type NatClassLabel = (typeof NAT_CLASS_LABELS)[number];

/** A NAT class as a bounded label value. */
export function natLabel(value: string | undefined): NatClassLabel {
  return bounded(value, NAT_CLASS_LABELS, 'unknown');
}

/** The path kinds a `path` label takes. */
export const PATH_LABELS = ['direct', 'predicted', 'relay', 'edge', 'unknown'] as const;

/** A `path` label value. */
export type PathLabel = (typeof PATH_LABELS)[number];

/** Channels named by their own `channel` label at most; the rest share `other`. */
export const CHANNEL_LABELS_MAX = 16;

/**
 * Names channels for the `channel` label: the first 16 hex digits of the id, for the first
 * {@link CHANNEL_LABELS_MAX} channels seen; later ones are `other` (bounded series whatever the
 * tracker holds).
 */
export class ChannelLabels {
  readonly #named = new Set<string>();

  /** The label of channel `id` (hex). */
  label(id: string): string {
    const short = id.slice(0, 16);
    if (this.#named.has(short)) return short;
    if (this.#named.size >= CHANNEL_LABELS_MAX) return 'other';
    this.#named.add(short);
    return short;
  }
}

/** A numeric leaf of a stats object: its dotted path and value. */
export interface StatLeaf {
  readonly name: string;
  readonly value: number;
}

/** Stats fields read at most, so a huge stats object cannot make a huge scrape. */
const MAX_STAT_LEAVES = 256;

/**
 * The finite numeric fields of `stats`, nested objects flattened with dots (`dropped.malformed`);
 * arrays, strings and booleans skipped; at most 256 fields, 4 levels deep. The names come from the
 * code's stats shapes, so the set is fixed per process.
 */
export function statLeaves(stats: unknown): StatLeaf[] {
  const out: StatLeaf[] = [];
  const walk = (value: unknown, prefix: string, depth: number): void => {
    if (out.length >= MAX_STAT_LEAVES) return;
    if (typeof value === 'number') {
      if (Number.isFinite(value) && prefix !== '') out.push({ name: prefix, value });
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value) || depth >= 4) return;
    if (value instanceof Map || value instanceof Set || ArrayBuffer.isView(value)) return;
    for (const [key, child] of Object.entries(value)) {
      walk(child, prefix === '' ? key : `${prefix}.${key}`, depth + 1);
    }
  };
  walk(stats, '', 0);
  return out;
}

/** Components read by `porthole_stat` at most per registry. */
const MAX_COMPONENTS = 16;

/**
 * `porthole_stat{component, field}`: every numeric field of each added component's `stats()` (its
 * drop counters by reason among them), one gauge for all so one process may add several (the demo
 * runs a tracker, an edge and a source). Fields are those of the component's stats shape, so the
 * label set is fixed by the code.
 */
export class ComponentStats {
  readonly #components = new Map<string, () => unknown>();

  constructor(registry: Registry) {
    scrapeGauge(registry, {
      name: 'porthole_stat',
      help: "Every numeric field of a component's stats() (dotted for nested objects), by component and field.",
      labelNames: ['component', 'field'],
      read: () => this.#samples(),
    });
  }

  /** Adds (or replaces) component `name`, read at each scrape; at most 16. */
  add(name: string, stats: () => unknown): this {
    if (this.#components.has(name) || this.#components.size < MAX_COMPONENTS)
      this.#components.set(name, stats);
    return this;
  }

  *#samples(): Iterable<Sample<'component' | 'field'>> {
    for (const [component, stats] of this.#components) {
      let value: unknown;
      try {
        value = stats();
      } catch {
        continue; // a closed component: no samples
      }
      for (const leaf of statLeaves(value)) yield [{ component, field: leaf.name }, leaf.value];
    }
  }
}
