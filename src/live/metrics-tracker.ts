/**
 * Metrics of a tracker, read from its swarm snapshot at scrape time: per channel (a bounded label,
 * see {@link ChannelLabels}) the nodes by role and NAT class, joins and leaves, and the aggregates
 * of the peers' latest reports. Per-peer figures come from each peer's own `/metrics`.
 * @module
 */
import type { Registry } from 'prom-client';
import {
  ChannelLabels,
  NAT_CLASS_LABELS,
  type NatClassLabel,
  natLabel,
  perScrape,
  type Sample,
  scrapeCounter,
  scrapeGauge,
} from './metrics-collect.ts';
import { aggregateChannel, type SwarmAggregate, type SwarmView } from './metrics-swarm.ts';

/** Settings of {@link collectTrackerMetrics}. */
export interface TrackerMetricsOptions {
  /** The swarm now (`tracker.swarm()`). */
  readonly swarm: () => SwarmView;
}

interface Row {
  readonly channel: string;
  readonly a: SwarmAggregate;
  readonly nat: ReadonlyMap<NatClassLabel, number>;
  readonly joins: number;
  readonly leaves: number;
  readonly expired: number;
}

/** Registers the `porthole_tracker_*` series on `registry` (see docs/live.md, "Metrics"). */
export function collectTrackerMetrics(registry: Registry, options: TrackerMetricsOptions): void {
  const labels = new ChannelLabels();
  const rows = perScrape((): Row[] => {
    // Channels past the named ones share `other`: their figures are summed into one row.
    const byLabel = new Map<string, Row>();
    for (const channel of options.swarm().channels) {
      const label = labels.label(channel.id);
      const nat = new Map<NatClassLabel, number>(NAT_CLASS_LABELS.map((n) => [n, 0]));
      for (const node of channel.nodes) {
        if (node.role !== 'peer') continue;
        const n = natLabel(node.natClass ?? node.report?.natClass);
        nat.set(n, (nat.get(n) ?? 0) + 1);
      }
      const row: Row = {
        channel: label,
        a: aggregateChannel(channel),
        nat,
        joins: channel.joins,
        leaves: channel.leaves,
        expired: channel.expired,
      };
      const prev = byLabel.get(label);
      byLabel.set(label, prev === undefined ? row : mergeRows(prev, row));
    }
    return [...byLabel.values()];
  });
  const perChannel = (pick: (row: Row) => number): (() => Iterable<Sample<'channel'>>) => {
    return () => rows().map((row) => [{ channel: row.channel }, pick(row)] as const);
  };
  scrapeGauge(registry, {
    name: 'porthole_tracker_channels',
    help: 'Channels the tracker holds.',
    read: () => [[{}, options.swarm().channels.length]],
  });
  scrapeGauge(registry, {
    name: 'porthole_tracker_nodes',
    help: 'Nodes registered now, by channel and role (peer, edge, source).',
    labelNames: ['channel', 'role'],
    read: () =>
      rows().flatMap((row) => [
        [{ channel: row.channel, role: 'peer' }, row.a.peers] as const,
        [{ channel: row.channel, role: 'edge' }, row.a.edges] as const,
        [{ channel: row.channel, role: 'source' }, row.a.sources] as const,
      ]),
  });
  scrapeGauge(registry, {
    name: 'porthole_tracker_peers_by_nat',
    help: 'Peers registered now, by channel and NAT class.',
    labelNames: ['channel', 'nat_class'],
    read: () =>
      rows().flatMap((row) =>
        [...row.nat].map(([nat, n]) => [{ channel: row.channel, nat_class: nat }, n] as const),
      ),
  });
  const counters: [string, string, (row: Row) => number][] = [
    ['porthole_tracker_joins_total', 'Nodes that joined the channel.', (r) => r.joins],
    ['porthole_tracker_leaves_total', 'Nodes that left the channel (said so or expired).', (r) => r.leaves],
    ['porthole_tracker_expired_total', 'Nodes expired for want of reports.', (r) => r.expired],
  ];
  for (const [name, help, pick] of counters) {
    scrapeCounter(registry, { name, help, labelNames: ['channel'], read: perChannel(pick) });
  }
  const gauges: [string, string, (row: Row) => number][] = [
    [
      'porthole_tracker_offload_ratio',
      "Share of the peers' chunk bytes that came from other peers (0..1), over the peers present.",
      (r) => r.a.offload,
    ],
    [
      'porthole_tracker_continuity_ratio',
      'Mean continuity of the peers present (0..1).',
      (r) => r.a.continuityMean,
    ],
    [
      'porthole_tracker_continuity_min_ratio',
      'Lowest continuity of a peer present (0..1).',
      (r) => r.a.continuityMin,
    ],
    ['porthole_tracker_edge_egress_bps', "Sum of the edges' upload rates, bit/s.", (r) => r.a.edgeEgressBps],
    ['porthole_tracker_peer_upload_bps', "Sum of the peers' upload rates, bit/s.", (r) => r.a.peerUploadBps],
    [
      'porthole_tracker_peer_download_bps',
      "Sum of the peers' download rates, bit/s.",
      (r) => r.a.peerDownloadBps,
    ],
    ['porthole_tracker_peer_stalls', 'Stalls of the peers present, summed.', (r) => r.a.stalls],
    ['porthole_tracker_peer_bans', 'Bans made by the peers present, summed.', (r) => r.a.bans],
  ];
  for (const [name, help, pick] of gauges) {
    scrapeGauge(registry, { name, help, labelNames: ['channel'], read: perChannel(pick) });
  }
  scrapeGauge(registry, {
    name: 'porthole_tracker_chunk_latency_seconds',
    help: "Median over the peers present of each peer's source-to-peer latency quantile (0.5, 0.95), s.",
    labelNames: ['channel', 'quantile'],
    read: () =>
      rows().flatMap((row) => [
        [{ channel: row.channel, quantile: '0.5' }, row.a.latencyP50Ms / 1000] as const,
        [{ channel: row.channel, quantile: '0.95' }, row.a.latencyP95Ms / 1000] as const,
      ]),
  });
}

/** Two rows under one label (`other`): counts summed, ratios of the first kept unless it has none. */
function mergeRows(a: Row, b: Row): Row {
  const nat = new Map(a.nat);
  for (const [k, v] of b.nat) nat.set(k, (nat.get(k) ?? 0) + v);
  const either = (x: number, y: number): number => (Number.isNaN(x) ? y : x);
  return {
    channel: a.channel,
    nat,
    joins: a.joins + b.joins,
    leaves: a.leaves + b.leaves,
    expired: a.expired + b.expired,
    a: {
      ...a.a,
      peers: a.a.peers + b.a.peers,
      edges: a.a.edges + b.a.edges,
      sources: a.a.sources + b.a.sources,
      offload: either(a.a.offload, b.a.offload),
      continuityMean: either(a.a.continuityMean, b.a.continuityMean),
      continuityMin: Math.min(
        either(a.a.continuityMin, b.a.continuityMin),
        either(b.a.continuityMin, a.a.continuityMin),
      ),
      edgeEgressBps: a.a.edgeEgressBps + b.a.edgeEgressBps,
      peerUploadBps: a.a.peerUploadBps + b.a.peerUploadBps,
      peerDownloadBps: a.a.peerDownloadBps + b.a.peerDownloadBps,
      stalls: a.a.stalls + b.a.stalls,
      bans: a.a.bans + b.a.bans,
    },
  };
}
