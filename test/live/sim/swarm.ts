// The swarm simulator: porthole's live cores (LivePeerCore, scheduler, playout, upload queue,
// neighbour selection) in one process on a virtual clock and the virtual network of network.ts.
// Deterministic per seed. Frames travel as decoded objects with their encoded sizes (the codecs
// have their own tests); every chunk is decoded and verified by every receiver (the Ed25519
// result is memoised per distinct chunk buffer, so a forged buffer is verified for real once).
import {
  type Candidate,
  type ChannelSigner,
  type Chunk,
  type ChunkHead,
  type ChunkRejectionType,
  createChannel,
  isDataFrameType,
  LatencyHistogram,
  LivePeerCore,
  type LivePeerEvent,
  type LivePeerOptions,
  markDiscontinuity,
  NatClass,
  type NatClassValue,
  NeighbourSelector,
  openChannel,
  type PathKind,
  type PeerFrame,
  PeerFrameType,
  pathKindBetween,
  peerFrameBytes,
  type SchedulerOptions,
  signChunk,
  verifyChunk,
  verifyChunkHead,
  verifyPiece,
} from '../../../src/live/index.ts';
import { mulberry32 } from '../../support/prng.ts';
import { tsPayload } from '../helpers.ts';
import { EventQueue } from './event-queue.ts';
import { VirtualNetwork } from './network.ts';
import { Forger, Polluter, type PolluterSend } from './polluter.ts';

/** The strategies compared in every scenario. */
export type SimStrategy = 'porthole' | 'edgeOnly' | 'naivePull';

/** One scenario. */
export interface SwarmConfig {
  readonly seed: number;
  readonly strategy: SimStrategy;
  /** Steady population (honest + malicious). */
  readonly peers: number;
  /** The initial population joins uniformly over this window, ms. */
  readonly joinWindowMs: number;
  readonly durationMs: number;
  /** Figures count from here, ms. */
  readonly measureFromMs: number;
  readonly lossRate: number;
  /** Share of the population replaced per minute (leaves and is replaced by a newcomer). */
  readonly churnPerMinute: number;
  readonly maliciousShare: number;
  /** Share of honest peers with upload cap 0 (the symmetric-NAT ones). */
  readonly leechShare: number;
  /** Upload cap of the others, multiple of the bitrate. */
  readonly uploadCapX: number;
  readonly bitrateBps?: number;
  readonly chunkMs?: number;
  /** A random-access point every n chunks; default 2 (a 0.5 s GOP). */
  readonly rapEvery?: number;
  /** The edge's uplink, bit/s; default 100 Gbit/s: a CDN, with capacity beyond any demand here (edge-only at 1,000 peers needs 2 Gbit/s). */
  readonly edgeUpBps?: number;
  /** Access links of the peers, bit/s; default 10 up, 50 down. */
  readonly peerUpBps?: number;
  readonly peerDownBps?: number;
  readonly jitterMs?: number;
  readonly targetDelayMs?: number;
  readonly scheduler?: SchedulerOptions;
  /** Overrides of the peers' core options (experiments). */
  readonly peer?: Partial<LivePeerOptions>;
  /** Neighbours each peer dials towards; default the selector's (8). */
  readonly degree?: number;
  /** Overrides of the edge's core options (experiments). */
  readonly edge?: Partial<LivePeerOptions>;
  /** Sees every event of every honest node (diagnostics, experiments). */
  readonly onEvent?: (nodeId: string, event: LivePeerEvent, nowMs: number) => void;
}

/** The figures of one run. */
export interface SwarmResult {
  offload: number;
  continuity: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  latencyP99Ms: number;
  joinP95Ms: number;
  forgedPlayed: number;
  /** Upload of honest uploaders over the window, multiples of the bitrate: p10, p50, p90, max. */
  uploadX: { p10: number; p50: number; p90: number; max: number };
  /** Time from a polluter's first forged chunk to its ban at the tracker, ms (p50, p95; NaN without). */
  banP50Ms: number;
  banP95Ms: number;
  /** Polluters that forged at least once, and of those, banned at the tracker. */
  pollutersForging: number;
  pollutersBanned: number;
  /** Local bans by honest peers (every forged chunk ends its sender's link at once). */
  localBans: number;
  forgedDropped: number;
  stalls: number;
  joins: number;
  honestPeersAtEnd: number;
  events: number;
  /** Wake-ups a core asked for at or before the current time (a core bug if not 0). */
  spins: number;
  /** Counters summed over the honest peers (diagnostics). */
  totals: Record<string, number>;
}

const K_CHUNK = 1;
const K_DELIVER = 2;
const K_WAKE = 3;
const K_JOIN = 4;
const K_LEAVE = 5;
const K_DEAD = 6;
const K_CONNECT = 7;
const K_MAINTAIN = 8;
const K_FLOOD = 9;
const K_CHURN = 10;

const EDGE = 0;
const DEAD_DETECT_MS = 3000;
const TRACKER_BAN_REPORTS = 3;
const TRACKER_SAMPLE = 24;

interface SimNode {
  readonly index: number;
  readonly id: string;
  readonly nat: NatClassValue;
  readonly core: LivePeerCore | undefined;
  readonly polluter: Polluter | undefined;
  readonly selector: NeighbourSelector | undefined;
  readonly joinedAtMs: number;
  alive: boolean;
  wakeAtMs: number;
  dialling: number;
  firstPlayMs: number;
  uploadedBytes: number;
}

/** Runs one scenario with one strategy; returns its figures. */
export function runSwarm(config: SwarmConfig): SwarmResult {
  return new Swarm(config).run();
}

class Swarm {
  readonly c: SwarmConfig;
  readonly random: () => number;
  readonly queue = new EventQueue();
  readonly net: VirtualNetwork;
  readonly channel: ChannelSigner;
  readonly nodes: SimNode[] = [];
  readonly byId = new Map<string, SimNode>();
  /** The source's payload of each chunk (what must be played). */
  readonly genuine = new Map<number, Buffer>();
  readonly verified = new WeakMap<Buffer, ChunkRejectionType | null>();
  readonly forger: Forger;
  readonly payload: Buffer;
  readonly bitrate: number;
  readonly chunkMs: number;
  readonly tracker = new Set<number>();
  readonly reports = new Map<number, Set<number>>();
  readonly trackerBanned = new Map<number, number>();
  readonly latency = new LatencyHistogram();
  readonly out: PolluterSend[] = [];
  nowMs = 0;
  events = 0;
  edgeBytes = 0;
  deliveredBytes = 0;
  played = 0;
  skipped = 0;
  stalls = 0;
  forgedPlayed = 0;
  localBans = 0;
  spins = 0;
  /** Chunk bytes honest nodes (the edge included) sent to polluters in the window. */
  toPolluterBytes = 0;
  /** Bans and drops by reason and by whom (honest or polluter). */
  readonly reasons: Record<string, number> = {};
  verifyFn: (chunk: Chunk) => ChunkRejectionType | null;
  verifyHeadFn: (head: ChunkHead) => ChunkRejectionType | null;
  /** Piece verification, memoised per piece Buffer (pieces are forwarded as received). */
  readonly pieceChecks = new WeakMap<Buffer, { head: Buffer; index: number; ok: boolean }>();
  readonly verifyPieceFn = (head: ChunkHead, index: number, piece: Buffer): boolean => {
    const known = this.pieceChecks.get(piece);
    if (known !== undefined && known.head === head.head && known.index === index) return known.ok;
    const ok = verifyPiece(head, index, piece);
    this.pieceChecks.set(piece, { head: head.head, index, ok });
    return ok;
  };

  constructor(c: SwarmConfig) {
    this.c = c;
    this.random = mulberry32(c.seed);
    this.net = new VirtualNetwork(c.lossRate, c.jitterMs ?? 5, mulberry32(c.seed ^ 0x9e3779b9));
    this.channel = createChannel(Buffer.alloc(32, 0x11));
    this.bitrate = c.bitrateBps ?? 2_000_000;
    this.chunkMs = c.chunkMs ?? 250;
    const packets = Math.floor((this.bitrate * this.chunkMs) / 8000 / 188);
    this.payload = tsPayload(packets, 0x33);
    this.forger = new Forger(this.channel.id, tsPayload(packets, 0x44), this.chunkMs);
    const reader = openChannel(this.channel.publicKey, this.channel.id);
    this.verifyFn = (chunk) => {
      let r = this.verified.get(chunk.bytes);
      if (r === undefined) {
        r = verifyChunk(chunk, reader);
        this.verified.set(chunk.bytes, r);
      }
      return r;
    };
    // Heads and pieces are forwarded as received (one Buffer each through the swarm): one real
    // Ed25519 verification per distinct head, one SHA-256 per distinct piece Buffer.
    this.verifyHeadFn = (head) => {
      let r = this.verified.get(head.head);
      if (r === undefined) {
        r = verifyChunkHead(head, reader);
        this.verified.set(head.head, r);
      }
      return r;
    };
  }

  run(): SwarmResult {
    const c = this.c;
    this.addNode('edge', NatClass.OPEN, false, 0);
    const honestTotal = Math.round(c.peers * (1 - c.maliciousShare));
    for (let i = 0; i < c.peers; i++) {
      this.queue.push(this.random() * c.joinWindowMs, K_JOIN, -1, i < honestTotal ? 0 : 1, undefined);
    }
    this.queue.push(0, K_CHUNK, EDGE, 0, 0);
    if (c.churnPerMinute > 0) this.queue.push(c.joinWindowMs, K_CHURN, -1, 0, undefined);
    for (;;) {
      const e = this.queue.pop();
      if (e === undefined || e.atMs > c.durationMs) break;
      this.nowMs = e.atMs;
      this.events++;
      this.dispatch(e.kind, e.node, e.from, e.data);
    }
    return this.figures();
  }

  dispatch(kind: number, node: number, from: number, data: unknown): void {
    const now = this.nowMs;
    switch (kind) {
      case K_CHUNK:
        this.emitChunk(data as number);
        return;
      case K_DELIVER:
        this.deliver(this.nodes[node]!, this.nodes[from]!, data as PeerFrame);
        return;
      case K_WAKE: {
        const n = this.nodes[node]!;
        if (!n.alive || n.wakeAtMs !== (data as number)) return;
        n.wakeAtMs = Number.POSITIVE_INFINITY;
        n.core!.poll(now);
        this.pump(n);
        return;
      }
      case K_JOIN:
        this.join(from === 1);
        return;
      case K_LEAVE:
        this.leave(this.nodes[node]!, this.random() < 0.5);
        return;
      case K_DEAD: {
        const n = this.nodes[node]!;
        if (!n.alive || n.core === undefined) return;
        n.core.disconnect(this.nodes[from]!.id);
        n.core.poll(now);
        this.pump(n);
        if (n.index !== EDGE) this.maintainSoon(n);
        return;
      }
      case K_CONNECT:
        this.linkUp(this.nodes[node]!, this.nodes[from]!, data as PathKind);
        return;
      case K_MAINTAIN:
        this.maintain(this.nodes[node]!);
        return;
      case K_FLOOD: {
        const n = this.nodes[node]!;
        if (!n.alive) return;
        n.polluter!.flood(this.out);
        this.flushPolluter(n);
        this.queue.push(now + 500, K_FLOOD, node, 0, undefined);
        return;
      }
      case K_CHURN: {
        // Replace churnPerMinute of the population per minute: one leave + one join per step.
        const step = 60_000 / (this.c.churnPerMinute * this.c.peers);
        const alive = this.nodes.filter((n) => n.alive && n.index !== EDGE);
        if (alive.length > 0) {
          const victim = alive[Math.floor(this.random() * alive.length)]!;
          const malicious = victim.polluter !== undefined;
          this.leave(victim, this.random() < 0.5);
          this.join(malicious);
        }
        this.queue.push(now + step, K_CHURN, -1, 0, undefined);
        return;
      }
    }
  }

  addNode(id: string, nat: NatClassValue, malicious: boolean, upCapX: number): SimNode {
    const index = this.nodes.length;
    const c = this.c;
    const isEdge = index === EDGE;
    let core: LivePeerCore | undefined;
    let polluter: Polluter | undefined;
    let selector: NeighbourSelector | undefined;
    const random = mulberry32(c.seed * 7919 + index);
    if (malicious) {
      polluter = new Polluter(id, this.channel.id, this.channel.publicKey, this.forger, random);
    } else {
      const strategy =
        c.strategy === 'porthole' ? 'mixed' : c.strategy === 'naivePull' ? 'naive' : ('edgeOnly' as const);
      core = new LivePeerCore({
        channel: this.channel,
        role: isEdge ? 'edge' : 'peer',
        bitrateBps: this.bitrate,
        uploadCapBps: isEdge ? Number.POSITIVE_INFINITY : upCapX * this.bitrate,
        verify: this.verifyFn,
        verifyHead: this.verifyHeadFn,
        verifyPiece: this.verifyPieceFn,
        playout: {
          ...(c.targetDelayMs === undefined ? {} : { targetDelayMs: c.targetDelayMs }),
          chunkDurationMs: this.chunkMs,
        },
        scheduler: { ...c.scheduler, strategy, random },
        ...(isEdge ? c.edge : c.peer),
      });
      if (!isEdge)
        selector = new NeighbourSelector({
          nat,
          random,
          ...(c.degree === undefined ? {} : { targetDegree: c.degree }),
        });
    }
    const node: SimNode = {
      index,
      id,
      nat,
      core,
      polluter,
      selector,
      joinedAtMs: this.nowMs,
      alive: true,
      wakeAtMs: Number.POSITIVE_INFINITY,
      dialling: 0,
      firstPlayMs: Number.NaN,
      uploadedBytes: 0,
    };
    this.nodes.push(node);
    this.byId.set(id, node);
    this.net.attach(index, {
      upBps: isEdge ? (c.edgeUpBps ?? 100e9) : (c.peerUpBps ?? 10e6),
      downBps: isEdge ? 10e9 : (c.peerDownBps ?? 50e6),
      x: isEdge ? 20 : this.random() * 50,
      y: isEdge ? 20 : this.random() * 50,
    });
    return node;
  }

  join(malicious: boolean): void {
    const leech = !malicious && this.random() < this.c.leechShare;
    const nat = leech ? NatClass.SYMMETRIC : pickNat(this.random());
    const node = this.addNode(`p${this.nodes.length}`, nat, malicious, leech ? 0 : this.c.uploadCapX);
    this.dial(node, this.nodes[EDGE]!, 'direct');
    if (malicious)
      this.queue.push(this.nowMs + 1000 + this.random() * 500, K_FLOOD, node.index, 0, undefined);
    if (this.c.strategy !== 'edgeOnly')
      this.queue.push(this.nowMs + 50, K_MAINTAIN, node.index, 0, undefined);
    this.tracker.add(node.index);
  }

  leave(node: SimNode, graceful: boolean): void {
    if (!node.alive) return;
    const neighbours =
      node.core !== undefined
        ? node.core.stats().neighbours.map((n) => n.id)
        : [...node.polluter!.neighbours];
    if (graceful && node.core !== undefined) {
      node.core.close();
      this.pump(node);
    }
    node.alive = false;
    this.tracker.delete(node.index);
    this.net.detach(node.index);
    for (const id of neighbours) {
      const other = this.byId.get(id)!;
      const delay = graceful && node.core !== undefined ? 0 : DEAD_DETECT_MS;
      this.queue.push(this.nowMs + delay + 1, K_DEAD, other.index, node.index, undefined);
    }
  }

  /** The tracker's candidates for `node`: a random sample of the swarm, tracker-banned excluded. */
  candidates(node: SimNode): Candidate[] {
    const all = [...this.tracker];
    const out: Candidate[] = [];
    for (let i = 0; i < TRACKER_SAMPLE * 2 && out.length < TRACKER_SAMPLE && all.length > 0; i++) {
      const n = this.nodes[all[Math.floor(this.random() * all.length)]!]!;
      if (n === node || !n.alive) continue;
      out.push({ id: n.id, nat: n.nat, uploads: n.polluter !== undefined || n.core!.uploads });
    }
    return out;
  }

  maintain(node: SimNode): void {
    if (!node.alive || node.index === EDGE || this.c.strategy === 'edgeOnly') return;
    this.queue.push(this.nowMs + 2000, K_MAINTAIN, node.index, 0, undefined);
    if (node.polluter !== undefined) {
      if (this.trackerBanned.has(node.index)) return;
      if (node.polluter.neighbours.size >= 8) return;
      for (const c of this.candidates(node).slice(0, 4)) this.dialTo(node, this.byId.get(c.id)!);
      return;
    }
    const core = node.core!;
    const sel = node.selector!;
    const current = core.degree - 1 + node.dialling;
    if (current >= sel.targetDegree) return;
    if (sel.size < sel.targetDegree) sel.offer(this.candidates(node));
    for (const c of sel.pick(current, (id) => core.hasNeighbour(id))) this.dialTo(node, this.byId.get(c.id)!);
  }

  dialTo(a: SimNode, b: SimNode): void {
    const kind = pathKindBetween(a.nat, b.nat, false);
    if (kind === undefined || !b.alive) return;
    this.dial(a, b, kind);
  }

  /** Punching takes about one RTT (direct) or three (predicted ports). */
  dial(a: SimNode, b: SimNode, kind: PathKind): void {
    const rtt = 2 * this.net.oneWayMs(a.index, b.index);
    a.dialling++;
    this.queue.push(
      this.nowMs + (kind === 'direct' ? 1.5 * rtt : 3 * rtt + 50),
      K_CONNECT,
      a.index,
      b.index,
      kind,
    );
  }

  linkUp(a: SimNode, b: SimNode, kind: PathKind): void {
    a.dialling = Math.max(0, a.dialling - 1);
    if (!a.alive || !b.alive) return;
    this.net.forgetPair(a.index, b.index);
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      if (x.core !== undefined) {
        x.core.connect(y.id, this.nowMs, kind);
        x.core.poll(this.nowMs);
        this.pump(x);
      } else {
        x.polluter!.connect(y.id, this.out);
        this.flushPolluter(x);
      }
    }
  }

  emitChunk(seq: number): void {
    const c = this.c;
    const bytes = signChunk(this.channel, {
      seq,
      timestampMs: this.nowMs,
      durationMs: this.chunkMs,
      flags: seq % (c.rapEvery ?? 2) === 0 ? 1 : 0,
      payload: this.payload,
    });
    this.genuine.set(seq, bytes.subarray(bytes.length - this.payload.length));
    const edge = this.nodes[EDGE]!;
    edge.core!.ingest(bytes, this.nowMs);
    edge.core!.poll(this.nowMs);
    this.pump(edge);
    this.queue.push(this.nowMs + this.chunkMs, K_CHUNK, EDGE, 0, seq + 1);
  }

  deliver(to: SimNode, from: SimNode, frame: PeerFrame): void {
    if (!to.alive) return;
    if (to.polluter !== undefined) {
      to.polluter.receive(from.id, frame, this.nowMs, this.out);
      this.flushPolluter(to);
      return;
    }
    const core = to.core!;
    core.receive(from.id, frame, this.nowMs);
    if (frame.type === PeerFrameType.BYE && to.index !== EDGE) this.maintainSoon(to);
    core.poll(this.nowMs);
    this.pump(to);
  }

  maintainSoon(node: SimNode): void {
    this.queue.push(this.nowMs + 100, K_MAINTAIN, node.index, 0, undefined);
  }

  pump(node: SimNode): void {
    const core = node.core!;
    const now = this.nowMs;
    const measuring = now >= this.c.measureFromMs;
    for (const t of core.takeTransmits()) {
      const to = this.byId.get(t.to);
      if (to === undefined || !to.alive) continue;
      const bytes = peerFrameBytes(t.frame);
      const isData = isDataFrameType(t.frame.type);
      if (isData && measuring) {
        // The chunk's bytes (the frame's prefix aside), as the delivered side counts them.
        const chunkBytes = bytes - (t.frame.type === PeerFrameType.PIECE ? 7 : 1);
        if (node.index === EDGE) this.edgeBytes += chunkBytes;
        else node.uploadedBytes += chunkBytes;
        if (to.polluter !== undefined) this.toPolluterBytes += chunkBytes;
      }
      const at = this.net.send(node.index, to.index, bytes, isData, now);
      if (!Number.isNaN(at)) this.queue.push(at, K_DELIVER, to.index, node.index, t.frame);
    }
    for (const e of core.takeEvents()) {
      this.c.onEvent?.(node.id, e, now);
      if (e.type === 'ban' || e.type === 'drop') {
        const k = `${e.type}:${e.reason}:${this.byId.get(e.neighbour)?.polluter === undefined ? 'honest' : 'polluter'}`;
        this.reasons[k] = (this.reasons[k] ?? 0) + 1;
      }
      switch (e.type) {
        case 'chunk':
          if (measuring) {
            this.latency.record(e.latencyMs);
            this.deliveredBytes += e.bytes;
          }
          break;
        case 'play': {
          if (Number.isNaN(node.firstPlayMs)) node.firstPlayMs = now;
          const genuine = this.genuine.get(e.seq)!;
          const same =
            (e.payload.buffer === genuine.buffer && e.payload.byteOffset === genuine.byteOffset) ||
            e.payload.equals(genuine) ||
            (e.discontinuity && e.payload.equals(markDiscontinuity(genuine)));
          if (!same) this.forgedPlayed++;
          if (measuring) this.played++;
          break;
        }
        case 'skip':
          if (measuring) this.skipped++;
          break;
        case 'stall':
          if (measuring) this.stalls++;
          break;
        case 'ban': {
          this.localBans++;
          const other = this.byId.get(e.neighbour)!;
          if (e.reason === 'forged') this.report(node, other);
          this.maintainSoon(node);
          break;
        }
        case 'drop':
          this.maintainSoon(node);
          break;
        default:
          break;
      }
    }
    const wake = core.nextWakeMs();
    if (wake < node.wakeAtMs && Number.isFinite(wake)) {
      if (wake <= now) this.spins++;
      node.wakeAtMs = Math.max(wake, now + 1);
      this.queue.push(node.wakeAtMs, K_WAKE, node.index, 0, node.wakeAtMs);
    }
  }

  flushPolluter(node: SimNode): void {
    for (const s of this.out.splice(0)) {
      const to = this.byId.get(s.to);
      if (to === undefined || !to.alive) continue;
      const isData = isDataFrameType(s.frame.type);
      const at = this.net.send(node.index, to.index, peerFrameBytes(s.frame), isData, this.nowMs + s.delayMs);
      if (!Number.isNaN(at)) this.queue.push(at, K_DELIVER, to.index, node.index, s.frame);
    }
  }

  /** The tracker de-lists a node reported by three distinct peers. */
  report(reporter: SimNode, accused: SimNode): void {
    let set = this.reports.get(accused.index);
    if (set === undefined) {
      set = new Set();
      this.reports.set(accused.index, set);
    }
    set.add(reporter.index);
    if (set.size >= TRACKER_BAN_REPORTS && !this.trackerBanned.has(accused.index)) {
      this.trackerBanned.set(accused.index, this.nowMs);
      this.tracker.delete(accused.index);
    }
  }

  figures(): SwarmResult {
    const c = this.c;
    const honest = this.nodes.filter((n) => n.core !== undefined && n.index !== EDGE);
    // Upload over each uploader's own time in the window (joined late, or left early: its share).
    const uploads = honest
      .filter(
        (n) => n.core!.uploads && n.alive && c.durationMs - Math.max(n.joinedAtMs, c.measureFromMs) >= 5000,
      )
      .map(
        (n) =>
          (n.uploadedBytes * 8000) / (c.durationMs - Math.max(n.joinedAtMs, c.measureFromMs)) / this.bitrate,
      )
      .sort((a, b) => a - b);
    const joins = honest
      .filter((n) => n.joinedAtMs >= c.measureFromMs && n.joinedAtMs <= c.durationMs - 5000)
      .map((n) => (Number.isNaN(n.firstPlayMs) ? c.durationMs : n.firstPlayMs) - n.joinedAtMs)
      .sort((a, b) => a - b);
    const polluters = this.nodes.filter((n) => n.polluter !== undefined && n.polluter.forgeriesSent > 0);
    const banDelays = polluters
      .filter((n) => this.trackerBanned.has(n.index))
      .map((n) => this.trackerBanned.get(n.index)! - n.polluter!.firstForgeryMs)
      .sort((a, b) => a - b);
    let forgedDropped = 0;
    const totals: Record<string, number> = {};
    for (const n of honest) {
      const st = n.core!.stats();
      forgedDropped += st.forgedDropped;
      for (const k of [
        'requests',
        'timeouts',
        'duplicates',
        'requestsRefused',
        'bans',
        'replaced',
        'protocolErrors',
        'unsolicitedDropped',
        'lateDropped',
        'partialRefused',
      ] as const) {
        totals[k] = (totals[k] ?? 0) + st[k];
      }
      const sc = n.core!.scheduler.counters;
      totals.edgeRequests = (totals.edgeRequests ?? 0) + sc.edgeRequests;
      totals.seedRequests = (totals.seedRequests ?? 0) + sc.seedRequests;
      totals.aheadRequests = (totals.aheadRequests ?? 0) + sc.aheadRequests;
      totals.aheadMisses = (totals.aheadMisses ?? 0) + sc.aheadMisses;
    }
    const es = this.nodes[EDGE]!.core!.stats();
    totals.edgeRefused = es.requestsRefused;
    totals.edgeBans = es.bans;
    totals.edgeServed = es.chunksUploaded;
    totals.edgeBytes = this.edgeBytes;
    totals.deliveredBytes = this.deliveredBytes;
    totals.toPolluterBytes = this.toPolluterBytes;
    totals.peerUploadBytes = honest.reduce((sum, n) => sum + n.uploadedBytes, 0);
    Object.assign(totals, this.reasons);
    return {
      offload: this.deliveredBytes === 0 ? 0 : 1 - this.edgeBytes / this.deliveredBytes,
      continuity: this.played + this.skipped === 0 ? 0 : this.played / (this.played + this.skipped),
      latencyP50Ms: this.latency.percentile(50),
      latencyP95Ms: this.latency.percentile(95),
      latencyP99Ms: this.latency.percentile(99),
      joinP95Ms: quantile(joins, 0.95),
      forgedPlayed: this.forgedPlayed,
      uploadX: {
        p10: quantile(uploads, 0.1),
        p50: quantile(uploads, 0.5),
        p90: quantile(uploads, 0.9),
        max: uploads.at(-1) ?? Number.NaN,
      },
      banP50Ms: quantile(banDelays, 0.5),
      banP95Ms: quantile(banDelays, 0.95),
      pollutersForging: polluters.length,
      pollutersBanned: banDelays.length,
      localBans: this.localBans,
      forgedDropped,
      stalls: this.stalls,
      joins: joins.length,
      honestPeersAtEnd: honest.filter((n) => n.alive).length,
      events: this.events,
      spins: this.spins,
      totals,
    };
  }
}

/** NAT classes of the uploading peers (the leeches are the symmetric ones). */
function pickNat(r: number): NatClassValue {
  if (r < 0.15) return NatClass.OPEN;
  if (r < 0.4) return NatClass.FULL_CONE;
  if (r < 0.6) return NatClass.RESTRICTED;
  return NatClass.PORT_RESTRICTED;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
