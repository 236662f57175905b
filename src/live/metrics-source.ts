/**
 * Metrics of a source, read from `LiveSource.stats()` at scrape time: chunks cut, bitrate, input
 * restarts, and per edge (at most 16 named, the rest `other`) chunks sent, dropped and queued.
 * @module
 */
import type { Registry } from 'prom-client';
import { one, perScrape, type Sample, scrapeCounter, scrapeGauge } from './metrics-collect.ts';

/** What the source metrics read (the fields of `LiveSourceStats` they use). */
export interface SourceStatsView {
  readonly chunks: number;
  readonly bytes: number;
  readonly bitrateBps: number;
  readonly randomAccess: number;
  readonly discontinuities: number;
  readonly inputRestarts: number;
  readonly edges: readonly {
    readonly edge: { readonly address: string; readonly port: number };
    readonly up: boolean;
    readonly sent: number;
    readonly bytes: number;
    readonly dropped: number;
    readonly queued: number;
    readonly reconnects: number;
  }[];
}

const STOPPED: SourceStatsView = {
  chunks: 0,
  bytes: 0,
  bitrateBps: 0,
  randomAccess: 0,
  discontinuities: 0,
  inputRestarts: 0,
  edges: [],
};

/** Edges named by their own `edge` label at most. */
export const EDGE_LABELS_MAX = 16;

/** Registers the `porthole_source_*` series on `registry` (see docs/live.md, "Metrics"). */
export function collectSourceMetrics(
  registry: Registry,
  options: { readonly stats: () => SourceStatsView | undefined },
): void {
  // A stopped source (undefined) reads as zeros.
  const s = perScrape(() => options.stats() ?? STOPPED);
  const named = new Set<string>();
  const label = (e: { address: string; port: number }): string => {
    const text = `${e.address}:${e.port}`;
    if (named.has(text)) return text;
    if (named.size >= EDGE_LABELS_MAX) return 'other';
    named.add(text);
    return text;
  };
  const counter = (name: string, help: string, read: () => number): void => {
    scrapeCounter(registry, { name, help, read: () => one(read()) });
  };
  counter('porthole_source_chunks_total', 'Chunks cut and signed.', () => s().chunks);
  counter('porthole_source_bytes_total', 'Payload bytes cut into chunks.', () => s().bytes);
  counter(
    'porthole_source_random_access_total',
    'Chunks that start at a random-access point.',
    () => s().randomAccess,
  );
  counter(
    'porthole_source_discontinuities_total',
    'Discontinuities in the input.',
    () => s().discontinuities,
  );
  counter(
    'porthole_source_input_restarts_total',
    'Times the input was started again.',
    () => s().inputRestarts,
  );
  scrapeGauge(registry, {
    name: 'porthole_source_bitrate_bps',
    help: 'Payload bitrate over the last 16 chunks (media time), bit/s.',
    read: () => one(s().bitrateBps),
  });
  const perEdge = (
    pick: (e: SourceStatsView['edges'][number]) => number,
  ): (() => Iterable<Sample<'edge'>>) => {
    return () => {
      const sums = new Map<string, number>();
      for (const e of s().edges) {
        const key = label(e.edge);
        sums.set(key, (sums.get(key) ?? 0) + pick(e));
      }
      return [...sums].map(([edge, value]) => [{ edge }, value] as const);
    };
  };
  const edgeCounters: [string, string, (e: SourceStatsView['edges'][number]) => number][] = [
    ['porthole_source_edge_sent_chunks_total', 'Chunks handed to ARQ for the edge.', (e) => e.sent],
    ['porthole_source_edge_sent_bytes_total', 'Chunk bytes handed to ARQ for the edge.', (e) => e.bytes],
    [
      'porthole_source_edge_dropped_chunks_total',
      'Chunks dropped: the edge was slow or away.',
      (e) => e.dropped,
    ],
    [
      'porthole_source_edge_reconnects_total',
      'Ingest conversations opened after the first.',
      (e) => e.reconnects,
    ],
  ];
  for (const [name, help, pick] of edgeCounters) {
    scrapeCounter(registry, { name, help, labelNames: ['edge'], read: perEdge(pick) });
  }
  scrapeGauge(registry, {
    name: 'porthole_source_edge_queued_chunks',
    help: 'Chunks waiting for the edge.',
    labelNames: ['edge'],
    read: perEdge((e) => e.queued),
  });
  scrapeGauge(registry, {
    name: 'porthole_source_edge_up',
    help: 'Whether the edge answered on the current conversation (1) or not (0).',
    labelNames: ['edge'],
    read: perEdge((e) => (e.up ? 1 : 0)),
  });
}
