/**
 * The dashboard's live feed: once a second, a message built from the tracker's swarm — nodes,
 * links weighted by bytes/s and coloured by path kind, the per-peer table, and one point of each
 * chart, the rates over the last interval from the difference of two snapshots. A bounded history
 * of points is kept so a page opened late draws the charts from the start.
 * @module
 */
import { aggregateChannel, type SwarmChannelView, type SwarmView } from './metrics-swarm.ts';

/** Nodes sent per message at most (the rest are counted in `hiddenNodes`). */
export const FEED_MAX_NODES = 500;
/** Chart points kept for a page that opens late. */
export const FEED_HISTORY_POINTS = 600;

/** A node as the page draws it. */
export interface FeedNode {
  readonly id: string;
  readonly role: string;
  readonly nat: string;
  readonly joinedAtMs: number | null;
  readonly upBps: number;
  readonly downBps: number;
  readonly continuity: number | null;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly stalls: number;
  readonly bans: number;
  readonly neighbours: number;
  /** Its neighbours reported it for forged chunks. */
  readonly flagged: boolean;
}

/** A link: `from` sends to `to` at `bps`. */
export interface FeedLink {
  readonly from: string;
  readonly to: string;
  /** `direct`, `predicted`, `relay`, `edge`, `ingest` (source to edge), `unknown`. */
  readonly kind: string;
  readonly bps: number;
}

/** One point of each chart. Ratios 0..1, latency ms, rates bit/s; null where nothing was measured. */
export interface FeedPoint {
  /** Unix ms. */
  readonly t: number;
  readonly peers: number;
  /** Peers' bytes from peers / all their chunk bytes over the last interval. */
  readonly offload: number | null;
  /** Chunks played / (played + missed) over the last interval. */
  readonly continuity: number | null;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly edgeEgressBps: number;
  readonly joins: number;
  readonly leaves: number;
}

/** One message of the feed. */
export interface FeedMessage {
  readonly channel: string | null;
  readonly channels: readonly string[];
  readonly nodes: readonly FeedNode[];
  readonly hiddenNodes: number;
  readonly links: readonly FeedLink[];
  readonly point: FeedPoint;
}

interface Totals {
  readonly played: number;
  readonly missed: number;
  readonly fromEdge: number;
  readonly fromPeers: number;
}

const finite = (value: number | undefined): number | null =>
  value !== undefined && Number.isFinite(value) ? value : null;

/** Sums over the peers of `channel` present in `ids` (those of both snapshots). */
function totals(channel: SwarmChannelView, ids: ReadonlySet<string> | undefined): Map<string, Totals> {
  const out = new Map<string, Totals>();
  for (const node of channel.nodes) {
    const r = node.report;
    if (node.role !== 'peer' || r === undefined || (ids !== undefined && !ids.has(node.id))) continue;
    out.set(node.id, {
      played: r.chunksPlayed,
      missed: r.chunksMissed,
      fromEdge: r.bytesFromEdge,
      fromPeers: r.bytesFromPeers,
    });
  }
  return out;
}

/** Builds feed messages from successive swarm snapshots (one channel: the first, or `channel`). */
export class DashboardFeed {
  readonly #history: FeedPoint[] = [];
  #previous = new Map<string, Totals>();
  #channel: string | undefined;

  constructor(options: { readonly channel?: string } = {}) {
    this.#channel = options.channel;
  }

  /** The points kept, oldest first (at most {@link FEED_HISTORY_POINTS}). */
  history(): readonly FeedPoint[] {
    return this.#history;
  }

  /** The message for `swarm` now; records its point. */
  next(swarm: SwarmView, nowMs: number): FeedMessage {
    const channels = swarm.channels.map((c) => c.id);
    const channel =
      swarm.channels.find((c) => c.id === this.#channel) ??
      swarm.channels.find((c) => c.nodes.some((n) => n.role === 'peer')) ??
      swarm.channels[0];
    if (channel === undefined) {
      const point = this.#record({
        t: nowMs,
        peers: 0,
        offload: null,
        continuity: null,
        p50Ms: null,
        p95Ms: null,
        edgeEgressBps: 0,
        joins: 0,
        leaves: 0,
      });
      return { channel: null, channels, nodes: [], hiddenNodes: 0, links: [], point };
    }
    this.#channel = channel.id;
    const current = totals(channel, undefined);
    let played = 0;
    let missed = 0;
    let fromEdge = 0;
    let fromPeers = 0;
    for (const [id, now] of current) {
      const before = this.#previous.get(id);
      if (before === undefined) continue;
      played += Math.max(0, now.played - before.played);
      missed += Math.max(0, now.missed - before.missed);
      fromEdge += Math.max(0, now.fromEdge - before.fromEdge);
      fromPeers += Math.max(0, now.fromPeers - before.fromPeers);
    }
    this.#previous = current;
    const a = aggregateChannel(channel);
    const point = this.#record({
      t: nowMs,
      peers: a.peers,
      offload: fromEdge + fromPeers === 0 ? null : fromPeers / (fromEdge + fromPeers),
      continuity: played + missed === 0 ? null : played / (played + missed),
      p50Ms: finite(a.latencyP50Ms),
      p95Ms: finite(a.latencyP95Ms),
      edgeEgressBps: a.edgeEgressBps,
      joins: channel.joins,
      leaves: channel.leaves,
    });
    const shown = channel.nodes.slice(0, FEED_MAX_NODES);
    const ids = new Set(shown.map((n) => n.id));
    const nodes: FeedNode[] = shown.map((n) => {
      const r = n.report;
      return {
        id: n.id,
        role: n.role,
        nat: n.natClass ?? r?.natClass ?? 'unknown',
        joinedAtMs: finite(n.joinedAtMs),
        upBps: r?.uploadBps ?? 0,
        downBps: r?.downloadBps ?? 0,
        continuity: r === undefined || r.chunksPlayed + r.chunksMissed === 0 ? null : finite(r.continuity),
        p50Ms: finite(r?.latencyP50Ms),
        p95Ms: finite(r?.latencyP95Ms),
        stalls: r?.stalls ?? 0,
        bans: r?.bans ?? 0,
        neighbours: r?.neighbours.length ?? 0,
        flagged: n.flagged === true,
      };
    });
    return {
      channel: channel.id,
      channels,
      nodes,
      hiddenNodes: channel.nodes.length - shown.length,
      links: links(channel, ids),
      point,
    };
  }

  #record(point: FeedPoint): FeedPoint {
    this.#history.push(point);
    if (this.#history.length > FEED_HISTORY_POINTS) this.#history.shift();
    return point;
  }
}

/**
 * The links among the shown nodes: each node's neighbours it receives from (one link per ordered
 * pair, the receiver's view), and source → edge for each edge (its download rate).
 */
function links(channel: SwarmChannelView, ids: ReadonlySet<string>): FeedLink[] {
  const out: FeedLink[] = [];
  const seen = new Set<string>();
  const roles = new Map(channel.nodes.map((n) => [n.id, n.role]));
  // A node may know its edge by another id than the tracker's (the edge's link id): an edge
  // neighbour the channel does not list is drawn to the channel's first edge.
  const anyEdge = channel.nodes.find((n) => n.role === 'edge' && ids.has(n.id))?.id;
  for (const node of channel.nodes) {
    const r = node.report;
    if (r === undefined || !ids.has(node.id)) continue;
    for (const n of r.neighbours) {
      const id = ids.has(n.id) ? n.id : n.pathKind === 'edge' ? anyEdge : undefined;
      if (id === undefined || id === node.id) continue;
      const kind = roles.get(id) === 'edge' || node.role === 'edge' ? 'edge' : n.pathKind;
      // The receiver's report names the rate it receives at; a pair seen from both sides keeps the first.
      if (n.rxBps > 0 || n.txBps === 0) add(out, seen, id, node.id, kind, n.rxBps);
      if (n.txBps > 0) add(out, seen, node.id, id, kind, n.txBps);
    }
  }
  const source = channel.nodes.find((n) => n.role === 'source' && ids.has(n.id));
  if (source !== undefined) {
    for (const edge of channel.nodes) {
      if (edge.role !== 'edge' || !ids.has(edge.id)) continue;
      add(out, seen, source.id, edge.id, 'ingest', edge.report?.downloadBps ?? 0);
    }
  }
  return out;
}

function add(out: FeedLink[], seen: Set<string>, from: string, to: string, kind: string, bps: number): void {
  const key = `${from}>${to}`;
  if (seen.has(key)) return;
  seen.add(key);
  out.push({ from, to, kind, bps: Number.isFinite(bps) ? bps : 0 });
}
