/**
 * Metrics of one live node (a peer or an edge), read from its `LivePeerStats` at scrape time. One
 * process is one node, so no series carries a peer id: Prometheus's `instance` tells them apart.
 * @module
 */
import type { Registry } from 'prom-client';
import {
  bounded,
  one,
  PATH_LABELS,
  type PathLabel,
  perScrape,
  scrapeCounter,
  scrapeGauge,
} from './metrics-collect.ts';
import type { LivePeerStats } from './peer-stats.ts';

/** Settings of {@link collectNodeMetrics}. */
export interface NodeMetricsOptions {
  /** The node's counters now (`LivePeer.stats()`'s core part, or `LivePeerCore.stats()`). */
  readonly stats: () => LivePeerStats;
  /** Smoothed ARQ round-trip times of the node's links, ms (`LiveArqNode.rttsMs()`). */
  readonly arqRttsMs?: () => readonly number[];
}

/** Reasons of `porthole_live_dropped_total`, each a `LivePeerStats` counter. */
export const LIVE_DROP_REASONS = {
  forged: 'forgedDropped',
  unsolicited: 'unsolicitedDropped',
  oversize: 'oversizeDropped',
  refused: 'requestsRefused',
  protocol: 'protocolErrors',
} as const satisfies Record<string, keyof LivePeerStats>;

/**
 * Registers the `porthole_live_*` series of a node on `registry` (see docs/live.md, "Metrics").
 * `stats()` is called once per scrape.
 */
export function collectNodeMetrics(registry: Registry, options: NodeMetricsOptions): void {
  const s = perScrape(options.stats);
  const rtts = options.arqRttsMs;
  if (rtts !== undefined) {
    scrapeGauge(registry, {
      name: 'porthole_live_arq_rtt_ms',
      help: "Smoothed ARQ round-trip time over the node's links, ms: the median and the largest.",
      labelNames: ['stat'],
      read: () => {
        const sorted = [...rtts()].sort((x, y) => x - y);
        if (sorted.length === 0) return [];
        return [
          [{ stat: 'p50' }, sorted[Math.floor((sorted.length - 1) / 2)]!],
          [{ stat: 'max' }, sorted.at(-1)!],
        ];
      },
    });
  }
  const counter = (name: string, help: string, read: () => number): void => {
    scrapeCounter(registry, { name, help, read: () => one(read()) });
  };
  scrapeCounter(registry, {
    name: 'porthole_live_received_bytes_total',
    help: 'Chunk bytes received, by who sent them (edge or peer): offload = peer / (edge + peer).',
    labelNames: ['from'],
    read: () => [
      [{ from: 'edge' }, s().bytesFromEdge],
      [{ from: 'peer' }, s().bytesFromPeers],
    ],
  });
  counter(
    'porthole_live_uploaded_bytes_total',
    'Chunk bytes uploaded to neighbours.',
    () => s().bytesUploaded,
  );
  counter('porthole_live_uploaded_chunks_total', 'Chunks uploaded to neighbours.', () => s().chunksUploaded);
  counter('porthole_live_chunks_played_total', 'Chunks played on time.', () => s().played);
  counter(
    'porthole_live_chunks_missed_total',
    'Chunks skipped: missing at their deadline.',
    () => s().skipped,
  );
  counter('porthole_live_stalls_total', 'Runs of skipped chunks (stalls).', () => s().stalls);
  counter('porthole_live_stalled_seconds_total', 'Time spent stalled, s.', () => s().stalledMs / 1000);
  counter(
    'porthole_live_catch_ups_total',
    'Times the playout played faster to get back from more than maxDelayMs behind.',
    () => s().catchUps,
  );
  counter('porthole_live_jumps_total', 'Jumps forward to the live edge (chunks skipped).', () => s().jumps);
  counter(
    'porthole_live_late_polls_total',
    'Polls long after the wake asked for (the process was not scheduled).',
    () => s().latePolls,
  );
  counter('porthole_live_bans_total', 'Neighbours banned (forged chunks, floods).', () => s().bans);
  counter('porthole_live_replaced_total', 'Neighbours dropped as liars, slow or dead.', () => s().replaced);
  counter('porthole_live_requests_total', 'Chunk requests sent.', () => s().requests);
  counter('porthole_live_request_timeouts_total', 'Chunk requests timed out.', () => s().timeouts);
  counter('porthole_live_duplicates_total', 'Chunks requested from the edge too.', () => s().duplicates);
  scrapeCounter(registry, {
    name: 'porthole_live_dropped_total',
    help: 'Frames and requests refused, by reason.',
    labelNames: ['reason'],
    read: () => Object.entries(LIVE_DROP_REASONS).map(([reason, field]) => [{ reason }, s()[field]] as const),
  });
  scrapeGauge(registry, {
    name: 'porthole_live_continuity_ratio',
    help: 'Share of chunks played on time since the node started (0..1).',
    read: () => one(s().played + s().skipped === 0 ? Number.NaN : s().continuity),
  });
  scrapeGauge(registry, {
    name: 'porthole_live_chunk_latency_seconds',
    help: 'Source-to-node latency of the chunks received, by quantile (0.5, 0.95, 0.99), s.',
    labelNames: ['quantile'],
    read: () => [
      [{ quantile: '0.5' }, s().latencyP50Ms / 1000],
      [{ quantile: '0.95' }, s().latencyP95Ms / 1000],
      [{ quantile: '0.99' }, s().latencyP99Ms / 1000],
    ],
  });
  scrapeGauge(registry, {
    name: 'porthole_live_neighbours',
    help: 'Neighbours connected now, by path kind (direct, predicted, relay, edge, unknown).',
    labelNames: ['path'],
    read: () => {
      const counts = new Map<PathLabel, number>(PATH_LABELS.map((p) => [p, 0]));
      for (const n of s().neighbours) {
        const path = n.isEdge ? 'edge' : bounded(n.pathKind, PATH_LABELS, 'unknown');
        counts.set(path, (counts.get(path) ?? 0) + 1);
      }
      return [...counts].map(([path, value]) => [{ path }, value] as const);
    },
  });
}
