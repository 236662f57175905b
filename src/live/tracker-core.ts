/**
 * The tracker as a sans-I/O core (docs/live.md, "Tracker"): channels, the nodes joined to them,
 * candidate samples, edges, reports, forged-chunk reports, expiry. No I/O and no clock: `nowMs`
 * is the driver's wall clock (ms since the epoch: token deadlines are wall-clock times). The
 * punch broker on the same socket asks {@link TrackerCore.credential} for a peer's key.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { InvalidOptionError } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import {
  publishTrackerDrop,
  publishTrackerJoin,
  publishTrackerNode,
  trackerDropChannel,
  trackerJoinChannel,
  trackerNodeChannel,
} from './diagnostics.ts';
import { isJoinNonce, joinNonce, proveJoin, TRACKER_NONCE_PERIOD_MS } from './tracker-auth.ts';
import { TrackerChannel, type TrackerNode } from './tracker-channel.ts';
import {
  type TrackerCounters as Counters,
  DEFAULT_TRACKER_FORGED_THRESHOLD,
  DEFAULT_TRACKER_MAX_CHANNELS,
  DEFAULT_TRACKER_MAX_NODES,
  DEFAULT_TRACKER_MAX_NODES_PER_ADDRESS,
  DEFAULT_TRACKER_MAX_NODES_PER_CHANNEL,
  DEFAULT_TRACKER_NODE_TIMEOUT_MS,
  type LocalNode,
  positiveOption as positive,
  TRACKER_SWEEP_INTERVAL_MS as SWEEP_INTERVAL_MS,
  type TrackerCoreOptions,
  type TrackerEvent,
  type TrackerStats,
} from './tracker-options.ts';
import { decodeNodeReport, NODE_REPORT_MAX_BYTES } from './tracker-report.ts';
import {
  decodeTrackerFrame,
  encodeTrackerFrame,
  TRACKER_MAX_ANSWER_BYTES,
  TRACKER_MAX_EDGES,
  TRACKER_SESSION_BYTES,
  type TrackerCandidateWire,
  type TrackerFrame,
  TrackerMessage,
  TrackerStatus,
  type TrackerStatusType,
  trackerFrameBytes,
} from './tracker-wire.ts';

/** The tracker state machine. */
export class TrackerCore {
  readonly #secret: Buffer;
  readonly #nonceKey = randomBytes(32);
  readonly #max: { nodes: number; channels: number; perChannel: number; perAddress: number };
  readonly #timeoutMs: number;
  readonly #forgedThreshold: number;
  readonly #usable: (peerId: string) => boolean;
  readonly #random: () => number;
  readonly #randomBytes: (size: number) => Buffer;
  readonly #channels = new Map<string, TrackerChannel>();
  readonly #byId = new Map<string, LocalNode>();
  readonly #bySession = new Map<string, LocalNode>();
  readonly #perAddress = new Map<string, number>();
  #outbox: { data: Buffer; to: Endpoint }[] = [];
  #events: TrackerEvent[] = [];
  #nextSweepMs = 0;
  readonly #c: Counters;
  readonly #isUsable = (node: TrackerNode): boolean => node.remote || this.#usable(node.id);

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` for a short secret or a bad limit. */
  constructor(options: TrackerCoreOptions) {
    if (!Buffer.isBuffer(options?.secret) || options.secret.length < 16)
      throw new InvalidOptionError('secret', 'secret must be at least 16 bytes');
    this.#secret = options.secret;
    this.#max = {
      nodes: positive(options.maxNodes, DEFAULT_TRACKER_MAX_NODES, 'maxNodes'),
      channels: positive(options.maxChannels, DEFAULT_TRACKER_MAX_CHANNELS, 'maxChannels'),
      perChannel: positive(
        options.maxNodesPerChannel,
        DEFAULT_TRACKER_MAX_NODES_PER_CHANNEL,
        'maxNodesPerChannel',
      ),
      perAddress: positive(
        options.maxNodesPerAddress,
        DEFAULT_TRACKER_MAX_NODES_PER_ADDRESS,
        'maxNodesPerAddress',
      ),
    };
    this.#timeoutMs = positive(options.nodeTimeoutMs, DEFAULT_TRACKER_NODE_TIMEOUT_MS, 'nodeTimeoutMs');
    this.#forgedThreshold = positive(
      options.forgedThreshold,
      DEFAULT_TRACKER_FORGED_THRESHOLD,
      'forgedThreshold',
    );
    this.#usable = options.usable ?? (() => true);
    this.#random = options.random ?? Math.random;
    this.#randomBytes = options.randomBytes ?? randomBytes;
    this.#c = {
      nodes: 0,
      channels: 0,
      joins: 0,
      leaves: 0,
      expired: 0,
      replaced: 0,
      challenges: 0,
      refusedAuth: 0,
      refusedExpired: 0,
      refusedFull: 0,
      refusedChannels: 0,
      refusedChannelFull: 0,
      refusedPerAddress: 0,
      keepalives: 0,
      samples: 0,
      reports: 0,
      reportsDropped: 0,
      forgedReports: 0,
      forgedDropped: 0,
      flagged: 0,
      notJoined: 0,
      malformed: 0,
      unexpected: 0,
    };
  }

  /** Takes one datagram from `from`. Never throws on bad input: it is counted and dropped. */
  receive(data: Buffer, from: Endpoint, nowMs: number): void {
    let frame: TrackerFrame;
    try {
      frame = decodeTrackerFrame(data);
    } catch {
      this.#drop('malformed', from);
      return;
    }
    switch (frame.type) {
      case TrackerMessage.JOIN:
        this.#join(frame, from, nowMs);
        return;
      case TrackerMessage.KEEPALIVE: {
        const node = this.#session(frame.session, frame.seq, from);
        if (node === undefined) return;
        node.lastSeenMs = nowMs;
        node.spareUploadBps = frame.spareUploadBps;
        this.#c.keepalives++;
        this.#ack(from, frame.seq, TrackerStatus.OK, frame.session, node.channel.edgesVersion);
        return;
      }
      case TrackerMessage.SAMPLE: {
        const node = this.#session(frame.session, frame.seq, from);
        if (node === undefined) return;
        node.lastSeenMs = nowMs;
        this.#c.samples++;
        this.#sample(node, frame.seq, frame.want, from);
        return;
      }
      case TrackerMessage.REPORT: {
        const node = this.#bySession.get(frame.session.toString('hex'));
        if (node === undefined || node.address.port !== from.port || node.address.address !== from.address) {
          this.#c.reportsDropped++;
          this.#drop('report-unknown-session', from);
          return;
        }
        node.lastSeenMs = nowMs;
        try {
          if (frame.report.length > NODE_REPORT_MAX_BYTES) throw new RangeError('report too large');
          decodeNodeReport(frame.report);
        } catch {
          this.#c.reportsDropped++;
          this.#drop('report-malformed', from);
          return;
        }
        node.report = Buffer.from(frame.report);
        node.reportAtMs = nowMs;
        this.#c.reports++;
        return;
      }
      case TrackerMessage.FORGED: {
        const node = this.#session(frame.session, frame.seq, from);
        if (node === undefined) return;
        node.lastSeenMs = nowMs;
        this.#forged(node, frame.peerId);
        this.#ack(from, frame.seq, TrackerStatus.OK, frame.session, node.channel.edgesVersion);
        return;
      }
      case TrackerMessage.LEAVE: {
        const node = this.#session(frame.session, frame.seq, from);
        if (node === undefined) return;
        this.#remove(node, 'leave');
        this.#ack(from, frame.seq, TrackerStatus.OK, frame.session, 0);
        return;
      }
      default:
        this.#c.unexpected++;
        this.#drop('unexpected', from);
    }
  }

  /** Expires silent nodes. Call at {@link nextWakeMs}. */
  poll(nowMs: number): void {
    if (nowMs < this.#nextSweepMs) return;
    this.#nextSweepMs = nowMs + SWEEP_INTERVAL_MS;
    for (const node of this.#byId.values()) {
      if (nowMs - node.lastSeenMs >= this.#timeoutMs) this.#remove(node, 'expired');
    }
  }

  /** When {@link poll} next has work; Infinity with no node. */
  nextWakeMs(): number {
    return this.#byId.size > 0 ? this.#nextSweepMs : Number.POSITIVE_INFINITY;
  }

  /** The datagrams queued since the last call. */
  drain(): { data: Buffer; to: Endpoint }[] {
    const out = this.#outbox;
    this.#outbox = [];
    return out;
  }

  /** What happened since the last call. */
  drainEvents(): TrackerEvent[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }

  /** The broker credential of a joined peer (its token's MAC), or undefined. */
  credential(peerId: string): Buffer | undefined {
    const node = this.#byId.get(peerId);
    return node?.role === 'peer' && node.key !== null ? node.key : undefined;
  }

  /** The local node `id`, if joined here. */
  node(id: string): LocalNode | undefined {
    return this.#byId.get(id);
  }

  /** Every channel. */
  channels(): IterableIterator<TrackerChannel> {
    return this.#channels.values();
  }

  /** The channel of `id` (hex or bytes), if known. */
  channel(id: string | Buffer): TrackerChannel | undefined {
    return this.#channels.get(typeof id === 'string' ? id : id.toString('hex'));
  }

  /** Nodes joined here. */
  localNodes(): IterableIterator<LocalNode> {
    return this.#byId.values();
  }

  /**
   * Knows a channel (from the store, or configured): created if new and there is room, its public
   * key learnt when it had none. Returns undefined when `maxChannels` is reached.
   */
  ensureChannel(id: Buffer, publicKey: Buffer | null, nowMs: number): TrackerChannel | undefined {
    const key = id.toString('hex');
    let channel = this.#channels.get(key);
    if (channel === undefined) {
      if (this.#channels.size >= this.#max.channels) return undefined;
      channel = new TrackerChannel(Buffer.from(id), publicKey, nowMs);
      this.#channels.set(key, channel);
      this.#events.push({ type: 'channel', channel });
    } else if (channel.publicKey === null && publicKey !== null) {
      channel.publicKey = publicKey;
      this.#events.push({ type: 'channel', channel });
    }
    return channel;
  }

  /** Adds or refreshes a node that joined at another instance (from the store). */
  upsertRemote(
    channelId: Buffer,
    node: Omit<TrackerNode, 'index' | 'remote' | 'flagged'>,
    nowMs: number,
  ): void {
    if (this.#byId.has(node.id)) return;
    const channel = this.ensureChannel(channelId, null, nowMs);
    if (channel === undefined) return;
    const existing = this.#remote(channel, node.id);
    if (existing !== undefined) {
      existing.spareUploadBps = node.spareUploadBps;
      existing.lastSeenMs = node.lastSeenMs;
      return;
    }
    if (channel.size >= this.#max.perChannel) return;
    const record: TrackerNode = { ...node, index: -1, remote: true, flagged: false };
    channel.add(record);
    channel.remoteNodes.set(node.id, record);
  }

  /** Forgets a node of another instance. */
  removeRemote(channelId: Buffer, id: string): void {
    const channel = this.#channels.get(channelId.toString('hex'));
    const node = channel === undefined ? undefined : this.#remote(channel, id);
    if (channel === undefined || node === undefined) return;
    channel.remove(node);
    channel.remoteNodes.delete(id);
  }

  /** Flags a peer another instance flagged. */
  flagRemote(channelId: Buffer, id: string): void {
    const channel = this.#channels.get(channelId.toString('hex'));
    if (channel === undefined) return;
    const node = this.#byId.get(id) ?? this.#remote(channel, id);
    if (node !== undefined && !node.flagged) {
      node.flagged = true;
      channel.counters.flagged++;
    }
  }

  /** A snapshot of the counters. */
  stats(): TrackerStats {
    return { ...this.#c, nodes: this.#byId.size, channels: this.#channels.size };
  }

  #remote(channel: TrackerChannel, id: string): TrackerNode | undefined {
    return channel.remoteNodes.get(id);
  }

  #join(
    frame: Extract<TrackerFrame, { type: typeof TrackerMessage.JOIN }>,
    from: Endpoint,
    nowMs: number,
  ): void {
    const existing = this.#byId.get(frame.peerId);
    if (
      existing !== undefined &&
      existing.joinSeq === frame.seq &&
      existing.address.port === from.port &&
      existing.address.address === from.address
    ) {
      existing.lastSeenMs = nowMs; // a retransmitted JOIN: the same answer
      this.#joined(existing, frame.seq, TrackerStatus.OK, from);
      return;
    }
    // 1. Return routability: a JOIN without the nonce minted for its address is answered with one.
    if (!isJoinNonce(this.#nonceKey, frame.nonce, from, frame.peerId, nowMs)) {
      this.#c.challenges++;
      const period = Math.floor(nowMs / TRACKER_NONCE_PERIOD_MS);
      this.#outbox.push({
        data: encodeTrackerFrame({
          type: TrackerMessage.CHALLENGE,
          seq: frame.seq,
          nonce: joinNonce(this.#nonceKey, from, frame.peerId, period),
        }),
        to: from,
      });
      return;
    }
    // 2. The claim: a token for this id, channel and role, or (a source) the channel key.
    const { status, key, publicKey } = proveJoin(this.#secret, frame, nowMs);
    if (status !== TrackerStatus.OK) {
      if (status === TrackerStatus.EXPIRED) this.#c.refusedExpired++;
      else this.#c.refusedAuth++;
      this.#decided(frame.peerId, from, status === TrackerStatus.EXPIRED ? 'expired' : 'refused');
      this.#answerRefusal(frame.seq, status, from);
      return;
    }
    // 3. Proven: an id joined elsewhere moves here (a NAT rebinding, a restarted node).
    if (existing !== undefined) this.#remove(existing, 'replaced');
    const refusal = this.#room(frame.channelId, from, nowMs);
    if (refusal !== undefined) {
      this.#decided(frame.peerId, from, refusal);
      this.#answerRefusal(frame.seq, TrackerStatus.FULL, from);
      return;
    }
    const channel = this.ensureChannel(frame.channelId, publicKey, nowMs)!;
    const node: LocalNode = {
      id: frame.peerId,
      role: frame.role,
      nat: frame.nat,
      relay: frame.relay,
      spareUploadBps: frame.role === 'peer' && frame.uploadCapBps !== 0xffffffff ? frame.uploadCapBps : 0,
      uploadCapBps: frame.uploadCapBps,
      edgeEndpoint:
        frame.role === 'edge' ? (frame.edgeEndpoint ?? { address: from.address, port: from.port }) : null,
      joinedAtMs: nowMs,
      lastSeenMs: nowMs,
      flagged: false,
      index: -1,
      remote: false,
      channel,
      session: this.#randomBytes(TRACKER_SESSION_BYTES).toString('hex'),
      address: { address: from.address, port: from.port },
      key,
      joinSeq: frame.seq,
      report: null,
      reportAtMs: 0,
      forgedBy: null,
    };
    channel.removeRemoteTwin(node.id);
    this.#byId.set(node.id, node);
    this.#bySession.set(node.session, node);
    this.#perAddress.set(from.address, (this.#perAddress.get(from.address) ?? 0) + 1);
    channel.add(node);
    channel.counters.joins++;
    this.#c.joins++;
    this.#events.push({ type: 'joined', node });
    this.#decided(node.id, from, 'ok');
    this.#joined(node, frame.seq, TrackerStatus.OK, from);
  }

  /** Why there is no room for a node of `channelId` from `from`, or undefined. */
  #room(channelId: Buffer, from: Endpoint, nowMs: number): string | undefined {
    if ((this.#perAddress.get(from.address) ?? 0) >= this.#max.perAddress) {
      this.#c.refusedPerAddress++;
      return 'full-address';
    }
    if (this.#byId.size >= this.#max.nodes) {
      this.#nextSweepMs = 0;
      this.poll(nowMs);
      if (this.#byId.size >= this.#max.nodes) {
        this.#c.refusedFull++;
        return 'full';
      }
    }
    const channel = this.#channels.get(channelId.toString('hex'));
    if (channel === undefined && this.#channels.size >= this.#max.channels) {
      this.#c.refusedChannels++;
      return 'full-channels';
    }
    if (channel !== undefined && channel.size >= this.#max.perChannel) {
      this.#c.refusedChannelFull++;
      channel.counters.drops++;
      return 'full-channel';
    }
    return undefined;
  }

  #joined(node: LocalNode, seq: number, status: TrackerStatusType, to: Endpoint): void {
    this.#outbox.push({
      data: encodeTrackerFrame({
        type: TrackerMessage.JOINED,
        seq,
        status,
        session: Buffer.from(node.session, 'hex'),
        nodeTimeoutMs: this.#timeoutMs,
        publicKey: node.channel.publicKey,
        observed: node.address,
        edgesVersion: node.channel.edgesVersion,
        edges: node.channel.edgeList(TRACKER_MAX_EDGES),
      }),
      to,
    });
  }

  #answerRefusal(seq: number, status: TrackerStatusType, to: Endpoint): void {
    this.#outbox.push({
      data: encodeTrackerFrame({
        type: TrackerMessage.JOINED,
        seq,
        status,
        session: ZERO_SESSION,
        nodeTimeoutMs: 0,
        publicKey: null,
        observed: null,
        edgesVersion: 0,
        edges: [],
      }),
      to,
    });
  }

  #sample(node: LocalNode, seq: number, want: number, to: Endpoint): void {
    const channel = node.channel;
    const edges = channel.edgeList(TRACKER_MAX_EDGES);
    const picked = channel.sample(node, want, this.#random, this.#isUsable);
    const frame = {
      type: TrackerMessage.SAMPLE_RESULT,
      seq,
      status: TrackerStatus.OK,
      edgesVersion: channel.edgesVersion,
      edges,
      candidates: picked as TrackerCandidateWire[],
    } as const;
    while (picked.length > 0 && trackerFrameBytes(frame) > TRACKER_MAX_ANSWER_BYTES) picked.pop();
    this.#outbox.push({ data: encodeTrackerFrame(frame), to });
  }

  #forged(reporter: LocalNode, peerId: string): void {
    const channel = reporter.channel;
    const target = this.#byId.get(peerId) ?? channel.remoteNodes.get(peerId);
    if (target === undefined || peerId === reporter.id || reporter.role !== 'peer') {
      this.#c.forgedDropped++;
      return;
    }
    if ('channel' in target && (target as LocalNode).channel !== channel) {
      this.#c.forgedDropped++;
      return;
    }
    this.#c.forgedReports++;
    const local = this.#byId.get(peerId);
    if (local === undefined) return; // a remote node: its own instance counts reporters
    local.forgedBy ??= new Set();
    if (local.forgedBy.size < this.#forgedThreshold) local.forgedBy.add(reporter.id);
    if (!local.flagged && local.forgedBy.size >= this.#forgedThreshold) {
      local.flagged = true;
      channel.counters.flagged++;
      this.#c.flagged++;
      this.#events.push({ type: 'flagged', channel, peerId });
      if (trackerNodeChannel.hasSubscribers) publishTrackerNode(peerId, channel.key, 'flagged');
    }
  }

  /** The node of a session frame, if it came from the node's address (else NOT_JOINED there). */
  #session(session: Buffer, seq: number, from: Endpoint): LocalNode | undefined {
    const node = this.#bySession.get(session.toString('hex'));
    if (node === undefined || node.address.port !== from.port || node.address.address !== from.address) {
      this.#c.notJoined++;
      if (trackerDropChannel.hasSubscribers) publishTrackerDrop('not-joined', from);
      this.#ack(from, seq, TrackerStatus.NOT_JOINED, session, 0);
      return undefined;
    }
    return node;
  }

  #ack(to: Endpoint, seq: number, status: TrackerStatusType, session: Buffer, edgesVersion: number): void {
    this.#outbox.push({
      data: encodeTrackerFrame({ type: TrackerMessage.ACK, seq, status, session, edgesVersion }),
      to,
    });
  }

  #remove(node: LocalNode, reason: 'leave' | 'expired' | 'replaced'): void {
    if (this.#byId.get(node.id) !== node) return;
    this.#byId.delete(node.id);
    this.#bySession.delete(node.session);
    const n = this.#perAddress.get(node.address.address) ?? 1;
    if (n <= 1) this.#perAddress.delete(node.address.address);
    else this.#perAddress.set(node.address.address, n - 1);
    node.channel.remove(node);
    if (reason === 'expired') {
      node.channel.counters.expired++;
      this.#c.expired++;
    } else if (reason === 'leave') {
      node.channel.counters.leaves++;
      this.#c.leaves++;
    } else {
      this.#c.replaced++;
    }
    this.#events.push({ type: 'left', node, reason });
    if (trackerNodeChannel.hasSubscribers) publishTrackerNode(node.id, node.channel.key, reason);
  }

  #decided(peerId: string, from: Endpoint, outcome: string): void {
    if (trackerJoinChannel.hasSubscribers) publishTrackerJoin(peerId, from, outcome);
  }

  #drop(reason: string, from: Endpoint): void {
    if (reason === 'malformed') this.#c.malformed++;
    if (trackerDropChannel.hasSubscribers) publishTrackerDrop(reason, from);
  }
}

const ZERO_SESSION = Buffer.alloc(TRACKER_SESSION_BYTES);
