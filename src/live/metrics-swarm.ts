/**
 * What the tracker's metrics and the dashboard read of a swarm: the channels, their nodes and each
 * node's latest report (the fields of the tracker's `SwarmSnapshot` and `NodeReport` they use), and
 * the per-channel aggregates both compute from it.
 * @module
 */

/** A neighbour as a node reports it. */
export interface SwarmNeighbourView {
  readonly id: string;
  readonly pathKind: string;
  readonly rxBps: number;
  readonly txBps: number;
}

/** The latest report of a node (the tracker's `NodeReport`). */
export interface SwarmReportView {
  readonly role?: string;
  readonly natClass?: string;
  readonly uploadBps: number;
  readonly downloadBps: number;
  readonly bytesFromEdge: number;
  readonly bytesFromPeers: number;
  readonly bytesUp: number;
  readonly continuity: number;
  readonly latencyP50Ms: number;
  readonly latencyP95Ms: number;
  readonly stalls: number;
  readonly bans: number;
  readonly chunksPlayed: number;
  readonly chunksMissed: number;
  readonly neighbours: readonly SwarmNeighbourView[];
}

/** A node of a channel. */
export interface SwarmNodeView {
  readonly id: string;
  readonly role: string;
  readonly natClass?: string | undefined;
  readonly joinedAtMs?: number | undefined;
  /** Reported by its neighbours (forged chunks). */
  readonly flagged?: boolean | undefined;
  readonly report?: SwarmReportView | undefined;
}

/** A channel with its nodes and counters. */
export interface SwarmChannelView {
  /** Channel id, hex. */
  readonly id: string;
  readonly nodes: readonly SwarmNodeView[];
  readonly joins: number;
  readonly leaves: number;
  readonly expired: number;
}

/** Every channel of a tracker. */
export interface SwarmView {
  readonly channels: readonly SwarmChannelView[];
}

/** Per-channel figures over its nodes' latest reports. */
export interface SwarmAggregate {
  readonly peers: number;
  readonly edges: number;
  readonly sources: number;
  /** Peers' bytes from peers / (from edge + from peers), since each joined; NaN with no bytes. */
  readonly offload: number;
  /** Mean and minimum continuity of the peers that reported; NaN with none. */
  readonly continuityMean: number;
  readonly continuityMin: number;
  /** Median over peers of their p50 and p95 latency, ms; NaN with none. */
  readonly latencyP50Ms: number;
  readonly latencyP95Ms: number;
  /** Sum of the edges' upload rate, bit/s. */
  readonly edgeEgressBps: number;
  /** Sums of the peers' rates, bit/s. */
  readonly peerUploadBps: number;
  readonly peerDownloadBps: number;
  readonly stalls: number;
  readonly bans: number;
  readonly chunksPlayed: number;
  readonly chunksMissed: number;
  readonly bytesFromEdge: number;
  readonly bytesFromPeers: number;
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

/** The aggregate of one channel. */
export function aggregateChannel(channel: SwarmChannelView): SwarmAggregate {
  let peers = 0;
  let edges = 0;
  let sources = 0;
  let fromEdge = 0;
  let fromPeers = 0;
  let continuitySum = 0;
  let continuityMin = Number.NaN;
  let continuityCount = 0;
  let edgeEgress = 0;
  let up = 0;
  let down = 0;
  let stalls = 0;
  let bans = 0;
  let played = 0;
  let missed = 0;
  const p50: number[] = [];
  const p95: number[] = [];
  for (const node of channel.nodes) {
    const r = node.report;
    if (node.role === 'edge') {
      edges++;
      if (r !== undefined) edgeEgress += r.uploadBps;
      continue;
    }
    if (node.role === 'source') {
      sources++;
      continue;
    }
    peers++;
    if (r === undefined) continue;
    fromEdge += r.bytesFromEdge;
    fromPeers += r.bytesFromPeers;
    up += r.uploadBps;
    down += r.downloadBps;
    stalls += r.stalls;
    bans += r.bans;
    played += r.chunksPlayed;
    missed += r.chunksMissed;
    if (r.chunksPlayed + r.chunksMissed > 0 && Number.isFinite(r.continuity)) {
      continuitySum += r.continuity;
      continuityCount++;
      continuityMin = Number.isNaN(continuityMin) ? r.continuity : Math.min(continuityMin, r.continuity);
    }
    if (Number.isFinite(r.latencyP50Ms)) p50.push(r.latencyP50Ms);
    if (Number.isFinite(r.latencyP95Ms)) p95.push(r.latencyP95Ms);
  }
  return {
    peers,
    edges,
    sources,
    offload: fromEdge + fromPeers === 0 ? Number.NaN : fromPeers / (fromEdge + fromPeers),
    continuityMean: continuityCount === 0 ? Number.NaN : continuitySum / continuityCount,
    continuityMin,
    latencyP50Ms: median(p50),
    latencyP95Ms: median(p95),
    edgeEgressBps: edgeEgress,
    peerUploadBps: up,
    peerDownloadBps: down,
    stalls,
    bans,
    chunksPlayed: played,
    chunksMissed: missed,
    bytesFromEdge: fromEdge,
    bytesFromPeers: fromPeers,
  };
}
