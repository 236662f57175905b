/**
 * The live node core: one peer (or edge) of one channel. Sans-I/O: the driver (or the swarm
 * simulator) hands it decoded frames with {@link LivePeerCore.receive}, calls
 * {@link LivePeerCore.poll} at {@link LivePeerCore.nextWakeMs}, and sends what
 * {@link LivePeerCore.takeTransmits} returns. It never reads a clock.
 *
 * Every chunk is decoded and verified (chunk.ts) before it is stored, played or announced; a chunk
 * travels as its head and its pieces (pieces.ts): the head is verified by its signature, each
 * piece against the head before it is kept or forwarded, and a chunk being received is announced
 * (HAVE) and streamed to its requesters piece by piece as soon as its head is verified. A
 * neighbour that sends a forged chunk, head or piece is banned at once and reported; a neighbour that announces
 * chunks it then refuses, times out too often, floods requests or sends data nobody asked for is
 * counted, refused, and dropped past a limit. Every table has a cap.
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { BufferMap } from './buffer-map.ts';
import type { ChannelKey } from './channel.ts';
import {
  type Chunk,
  type ChunkHead,
  decodeChunk,
  decodeChunkHead,
  peekChunkSeq,
  verifyChunk,
  verifyChunkHead,
} from './chunk.ts';
import {
  BUFFER_WINDOW_DEFAULT_CHUNKS,
  CHUNK_FLAG_RANDOM_ACCESS,
  KEEP_BEHIND_DEFAULT_CHUNKS,
  PEER_PROTOCOL_VERSION,
} from './constants.ts';
import type { ChunkRejectionType } from './errors.ts';
import type { PathKind } from './neighbours.ts';
import { LatencyHistogram, type LivePeerStats } from './peer-stats.ts';
import {
  PARTIAL_CHUNKS_DEFAULT,
  type PartialChunk,
  PieceAssembly,
  PieceStreams,
  type PieceVerifier,
  piecesOf,
} from './pieces.ts';
import { Playout, type PlayoutEvent, type PlayoutOptions, type PlayoutView } from './playout.ts';
import { ChunkScheduler, type SchedulerOptions } from './scheduler.ts';
import { UploadQueue } from './upload.ts';
import {
  ByeReason,
  type ByeReasonValue,
  type PeerFrame,
  PeerFrameType,
  PeerRole,
  RejectReason,
} from './wire.ts';

/** Settings of a live node; all optional but the channel. */
export interface LivePeerOptions {
  /** The channel: chunks are verified against its key. */
  readonly channel: ChannelKey;
  /** `peer` (default) or `edge` (serves every chunk it ingests, plays nothing). */
  readonly role?: 'peer' | 'edge';
  /** This node's 16-byte id in HELLO; default zeros. */
  readonly peerId?: Buffer;
  /** Stream bitrate, bit/s, for the default upload cap; default 2,000,000. */
  readonly bitrateBps?: number;
  /** Upload cap, bit/s; default 2 × bitrate for a peer, Infinity for an edge; 0 = leech only. */
  readonly uploadCapBps?: number;
  /** Token-bucket depth of the cap, ms; default 1000. */
  readonly uploadBurstMs?: number;
  /** Longest upload wait a new request may face before it is refused BUSY, ms; default 60. */
  readonly uploadMaxQueueDelayMs?: number;
  /** Which queued upload goes next: `freshest` (default, urgent first) or `round-robin`. */
  readonly uploadOrder?: 'freshest' | 'round-robin';
  /** Most one neighbour is served, multiple of the bitrate (2 s bursts); default 1.5 (edge 3). */
  readonly perRequesterX?: number;
  /** Requests one neighbour may have queued here; default 8 (edge 16). */
  readonly maxQueuedRequestsPerNeighbour?: number;
  /** Neighbours at most (inbound + outbound); default 16 (edge 100,000). */
  readonly maxNeighbours?: number;
  /** Refused or unsolicited frames one neighbour may cause per 10 s before it is banned; default 64. */
  readonly maxViolationsPer10s?: number;
  /** Announced chunks a neighbour may refuse before it is dropped as a liar; default 4. */
  readonly maxLies?: number;
  /** Chunks kept behind the playout point for others; default 16. */
  readonly keepBehindChunks?: number;
  /** Chunks an edge keeps; default 256. */
  readonly windowChunks?: number;
  /** Edge only: seeds per chunk as a share of its peers (with at least `seeds`); default 0.04. */
  readonly seedShare?: number;
  /** Edge only: seeds per chunk at least (leech-only peers never seed); default 3. */
  readonly seeds?: number;
  /**
   * Standing (ahead) requests accepted per chunk: the neighbours this node pushes a chunk to as
   * soon as it has it; more are refused BUSY; default 3 (edge 1000).
   */
  readonly pushPerChunk?: number;
  readonly playout?: PlayoutOptions;
  readonly scheduler?: SchedulerOptions;
  /**
   * Whether the link to `neighbour` holds more unacknowledged or unsent data than its driver
   * allows (LiveArqNode: `LINK_BACKLOG_MAX_BYTES`). A request is then refused BUSY when its
   * turn comes instead of queueing a chunk behind the others: a neighbour that stops
   * acknowledging, or one too slow for the stream, cannot grow this node's memory, and asks
   * someone else. Default: never backlogged (the simulator's links model their own queues).
   */
  readonly linkBacklogged?: (neighbour: string) => boolean;
  /** Chunks in assembly (head verified, pieces arriving) at most; default 16. */
  readonly maxPartialChunks?: number;
  /** Chunk verification; default {@link verifyChunk} with `channel`. The simulator memoises it. */
  readonly verify?: (chunk: Chunk) => ChunkRejectionType | null;
  /** Head verification; default {@link verifyChunkHead} with `channel`. The simulator memoises it. */
  readonly verifyHead?: (head: ChunkHead) => ChunkRejectionType | null;
  /** Piece verification; default {@link verifyPiece} (SHA-256 against the head). The simulator memoises it. */
  readonly verifyPiece?: PieceVerifier;
}

/** A frame to send to a neighbour. */
export interface LiveTransmit {
  readonly to: string;
  readonly frame: PeerFrame;
}

/** What the node reports to its driver. */
export type LivePeerEvent =
  | PlayoutEvent
  | {
      readonly type: 'chunk';
      readonly seq: number;
      readonly from: string;
      readonly fromEdge: boolean;
      readonly latencyMs: number;
      readonly bytes: number;
    }
  /** Disconnect `neighbour`; for `forged` also report it to the tracker. */
  | { readonly type: 'ban'; readonly neighbour: string; readonly reason: 'forged' | 'flood' }
  /** Disconnect `neighbour` and dial a replacement. */
  | {
      readonly type: 'drop';
      readonly neighbour: string;
      readonly reason: 'liar' | 'slow' | 'protocol' | 'full';
    };

interface Neighbour {
  readonly id: string;
  readonly pathKind: PathKind | 'unknown';
  hello: boolean;
  isEdge: boolean;
  violations: number;
  /** Its standing requests held here. */
  ahead: number;
  /** Its queued resumed requests: chunk → the first piece it lacks (the rest is sent from there). */
  readonly resumeFrom: Map<number, number>;
}

const HEALTH_EVERY_MS = 1000;
/** A neighbour that said BUSY gets no request for this long, ms. */
const BUSY_BLOCK_MS = 150;
/** A join chunk that has not arrived after this long is given up for a newer one, ms. */
const REJOIN_AFTER_MS = 2000;
/** A poll this much later than the wake the core asked for: the process was not scheduled, ms. */
const LATE_POLL_MS = 100;
/**
 * After a late poll, the playout and the scheduler wait this long for the reads that queued
 * meanwhile (a woken process runs its timers before it reads), ms.
 */
const LATE_GRACE_MS = 30;
/** A hold this long while the neighbours are far on is stuck (see {@link LivePeerCore}'s catch-up), ms. */
const STUCK_HOLD_MS = 2000;
const VIOLATION_WINDOW_MS = 10_000;
const MAX_BANNED = 4096;
/** A standing request may name a chunk at most this far past the newest one known. */
const AHEAD_RANGE_CHUNKS = 32;
/** Standing requests one neighbour may hold here. */
const AHEAD_PER_NEIGHBOUR = 8;
/** Resumed requests remembered per neighbour (more than it may queue here). */
const RESUME_ENTRIES_MAX = 32;

/** The live node core. */
export class LivePeerCore {
  readonly role: 'peer' | 'edge';
  readonly playout: Playout;
  readonly scheduler: ChunkScheduler;
  readonly #channel: ChannelKey;
  readonly #peerId: Buffer;
  readonly #upload: UploadQueue;
  readonly #verify: (chunk: Chunk) => ChunkRejectionType | null;
  readonly #verifyHead: (head: ChunkHead) => ChunkRejectionType | null;
  readonly #store = new Map<number, Chunk>();
  /** The pieces of each stored chunk (as received, or slices of a whole chunk), for uploads. */
  readonly #slices = new Map<number, readonly Buffer[]>();
  readonly #pieces: PieceAssembly;
  readonly #streams: PieceStreams;
  readonly #held: BufferMap;
  readonly #neighbours = new Map<string, Neighbour>();
  /** Standing requests by chunk: who gets it pushed on arrival. */
  readonly #ahead = new Map<number, string[]>();
  readonly #banned = new Set<string>();
  readonly #transmits: LiveTransmit[] = [];
  readonly #events: LivePeerEvent[] = [];
  readonly #latency = new LatencyHistogram();
  readonly #linkBacklogged: ((neighbour: string) => boolean) | undefined;
  readonly #o: {
    maxNeighbours: number;
    maxViolations: number;
    maxLies: number;
    keepBehind: number;
    window: number;
    seedShare: number;
    seeds: number;
    pushPerChunk: number;
  };
  readonly #emit = (e: PlayoutEvent): void => {
    this.#events.push(e);
  };
  readonly #holds = (seq: number): boolean => this.#store.has(seq);
  /**
   * When a chunk in assembly should be whole at the rate its pieces came so far (NaN when none
   * came): the scheduler's estimate of a transfer under way, in place of the sender's round trip.
   */
  readonly #etaOf = (seq: number, nowMs: number): number => {
    const p = this.#pieces.get(seq);
    if (p === undefined || p.got === 0) return Number.NaN;
    return nowMs + ((p.pieces.length - p.got) * Math.max(1, nowMs - p.startedAtMs)) / p.got;
  };
  readonly #get = (seq: number): Chunk | undefined => this.#store.get(seq);
  /**
   * The playout's view of the stream: the newest chunk known to exist is the newest verified one
   * held here or the newest an edge announced (a peer's HAVE is a claim: a polluter claims chunks
   * ahead of the stream); a chunk exists while any neighbour announces it.
   */
  readonly #view: PlayoutView & { newestSeq: number } = {
    newestSeq: -1,
    announced: (seq: number): boolean => {
      for (const n of this.#neighbours.values()) {
        if (n.hello && this.scheduler.neighbour(n.id)?.map.has(seq) === true) return true;
      }
      return false;
    },
  };
  /** A queued upload's size: the chunk's, held or in assembly (from the piece `id` resumes at); -1 when gone. */
  readonly #bytesOf = (seq: number, id?: string): number => {
    const whole = this.#store.get(seq)?.bytes.length ?? this.#pieces.get(seq)?.bytes ?? -1;
    const from = id === undefined ? undefined : this.#neighbours.get(id)?.resumeFrom.get(seq);
    if (from === undefined || whole < 0) return whole;
    const head = this.#store.get(seq) ?? this.#pieces.get(seq)!.head;
    return head.head.length + Math.max(0, head.payloadBytes - from * head.pieceBytes);
  };
  /** What the upload queue may send `id` now: {@link #bytesOf}, or -3 while its link is backlogged. */
  readonly #uploadBytes = (seq: number, id: string): number => {
    const bytes = this.#bytesOf(seq, id);
    return bytes >= 0 && this.#linkBacklogged?.(id) === true ? -3 : bytes;
  };
  /** A queued request that cannot be served: not held any more (-1), or its link backlogged (-3). */
  readonly #gone = (id: string, seq: number, code: number): void => {
    this.#neighbours.get(id)?.resumeFrom.delete(seq);
    if (code === -3) {
      this.#c.backlogRefused++;
      this.#send(id, { type: PeerFrameType.REJECT, seq, reason: RejectReason.BUSY });
    } else this.#send(id, { type: PeerFrameType.REJECT, seq, reason: RejectReason.NOT_HELD });
  };
  #healthAtMs = 0;
  /** Something the scheduler has not seen yet happened (it runs only then, or at its wake time). */
  #dirty = true;
  #joinedAtMs = 0;
  #caughtUpAtMs = Number.NEGATIVE_INFINITY;
  #polledFrom = -1;
  #seedPermille = -1;
  #violationsResetAtMs = 0;
  #lastNowMs = 0;
  readonly #c = {
    bytesFromEdge: 0,
    bytesFromPeers: 0,
    bans: 0,
    forgedDropped: 0,
    unsolicitedDropped: 0,
    lateDropped: 0,
    oversizeDropped: 0,
    requestsRefused: 0,
    backlogRefused: 0,
    protocolErrors: 0,
    replaced: 0,
    latePolls: 0,
  };
  /** The wake {@link nextWakeMs} last asked for. */
  #askedWakeMs = Number.POSITIVE_INFINITY;
  /** Until when the playout and the scheduler wait after a late poll; NaN when they do not. */
  #graceUntilMs = Number.NaN;

  constructor(options: LivePeerOptions) {
    this.role = options.role ?? 'peer';
    const edge = this.role === 'edge';
    this.#channel = options.channel;
    this.#linkBacklogged = options.linkBacklogged;
    this.#peerId = options.peerId ?? Buffer.alloc(16);
    const bitrate = options.bitrateBps ?? 2_000_000;
    const capBps = options.uploadCapBps ?? (edge ? Number.POSITIVE_INFINITY : 2 * bitrate);
    this.#upload = new UploadQueue({
      capBps,
      burstMs: options.uploadBurstMs ?? 1000,
      maxQueuedPerRequester: options.maxQueuedRequestsPerNeighbour ?? (edge ? 16 : 8),
      maxQueueDelayMs: options.uploadMaxQueueDelayMs ?? 60,
      order: options.uploadOrder ?? 'freshest',
      perRequesterBps: (options.perRequesterX ?? (edge ? 3 : 1.5)) * bitrate,
    });
    const channel = this.#channel;
    this.#verify = options.verify ?? ((chunk) => verifyChunk(chunk, channel));
    this.#verifyHead = options.verifyHead ?? ((head) => verifyChunkHead(head, channel));
    this.#pieces = new PieceAssembly(options.maxPartialChunks ?? PARTIAL_CHUNKS_DEFAULT, options.verifyPiece);
    this.#o = {
      maxNeighbours: options.maxNeighbours ?? (edge ? 100_000 : 16),
      maxViolations: options.maxViolationsPer10s ?? 64,
      maxLies: options.maxLies ?? 4,
      keepBehind: options.keepBehindChunks ?? KEEP_BEHIND_DEFAULT_CHUNKS,
      window: options.windowChunks ?? BUFFER_WINDOW_DEFAULT_CHUNKS,
      seedShare: options.seedShare ?? 0.04,
      seeds: options.seeds ?? 3,
      pushPerChunk: options.pushPerChunk ?? (edge ? 1000 : 3),
    };
    this.#held = new BufferMap(this.#o.window);
    this.#streams = new PieceStreams(Math.min(this.#o.maxNeighbours, 1024));
    this.playout = new Playout(options.playout);
    this.scheduler = new ChunkScheduler({ ...options.scheduler, seed: capBps > 0 });
  }

  /** Whether this node uploads (its cap is not zero). */
  get uploads(): boolean {
    return this.#upload.capBps > 0;
  }

  /** Neighbours connected (HELLO sent). */
  get degree(): number {
    return this.#neighbours.size;
  }

  /** Whether `id` is a neighbour. */
  hasNeighbour(id: string): boolean {
    return this.#neighbours.has(id);
  }

  /** Whether `id` was banned here. */
  isBanned(id: string): boolean {
    return this.#banned.has(id);
  }

  /**
   * A link to `id` is up (either side dialled): sends HELLO and the buffer map. Returns false (and
   * sends BYE) for a banned id or when the node is full.
   */
  connect(id: string, nowMs: number, pathKind: PathKind | 'unknown' = 'unknown'): boolean {
    this.#lastNowMs = nowMs;
    if (this.#neighbours.has(id)) return true;
    if (this.#banned.has(id) || this.#neighbours.size >= this.#o.maxNeighbours) {
      this.#send(id, {
        type: PeerFrameType.BYE,
        reason: this.#banned.has(id) ? ByeReason.BANNED : ByeReason.LEAVING,
      });
      return false;
    }
    this.#neighbours.set(id, {
      id,
      pathKind,
      hello: false,
      isEdge: false,
      violations: 0,
      ahead: 0,
      resumeFrom: new Map(),
    });
    this.#send(id, this.#hello());
    if (this.uploads && this.#held.size > 0)
      this.#send(id, { type: PeerFrameType.BUFFER_MAP, ...this.#held.snapshot() });
    return true;
  }

  #hello(): PeerFrame {
    const edge = this.role === 'edge';
    return {
      type: PeerFrameType.HELLO,
      version: PEER_PROTOCOL_VERSION,
      role: edge ? PeerRole.EDGE : PeerRole.PEER,
      seedPermille: edge ? this.#currentSeedPermille() : 0,
      channelId: this.#channel.id,
      publicKey: this.#channel.publicKey,
      peerId: this.#peerId,
    };
  }

  /** Edge: the share of its peers that should seed each chunk, per mille. */
  #currentSeedPermille(): number {
    const n = Math.max(1, this.#neighbours.size);
    return Math.min(1000, Math.ceil((1000 * Math.max(this.#o.seeds, this.#o.seedShare * n)) / n));
  }

  /** The link to `id` is gone (BYE, dead link, closed by the driver). */
  disconnect(id: string): void {
    const n = this.#neighbours.get(id);
    if (n === undefined) return;
    this.#neighbours.delete(id);
    if (n.ahead > 0) {
      for (const [seq, list] of this.#ahead) {
        const i = list.indexOf(id);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.#ahead.delete(seq);
      }
    }
    this.#dirty = true;
    this.scheduler.removeNeighbour(id);
    this.#upload.remove(id);
    this.#streams.removeAll(id);
  }

  /** Leaves the swarm: BYE to every neighbour, then forgets them. */
  close(): void {
    for (const id of [...this.#neighbours.keys()]) {
      this.#send(id, { type: PeerFrameType.BYE, reason: ByeReason.LEAVING });
      this.disconnect(id);
    }
  }

  /** The driver could not decode a frame from `id`, or it was over a size limit. */
  badFrame(id: string, oversize: boolean): void {
    if (oversize) this.#c.oversizeDropped++;
    else this.#c.protocolErrors++;
    this.#violation(id);
  }

  /** An edge's input: a chunk from the source. Verified like any other. */
  ingest(bytes: Buffer, nowMs: number): boolean {
    this.#lastNowMs = nowMs;
    const chunk = this.#decodeVerified(bytes);
    if (chunk === undefined) return false;
    this.#storeChunk(chunk, nowMs, undefined);
    return true;
  }

  /** One decoded frame from neighbour `id` at `nowMs`. */
  receive(id: string, frame: PeerFrame, nowMs: number): void {
    this.#lastNowMs = nowMs;
    // A HAVE of a chunk held or already requested changes no decision; anything else may.
    if (
      frame.type !== PeerFrameType.HAVE ||
      (!this.#store.has(frame.seq) && !this.scheduler.isPending(frame.seq))
    ) {
      this.#dirty = true;
    }
    const n = this.#neighbours.get(id);
    if (n === undefined) return;
    if (frame.type === PeerFrameType.BYE) {
      this.disconnect(id);
      return;
    }
    if (!n.hello && frame.type !== PeerFrameType.HELLO) {
      this.#c.protocolErrors++;
      this.#drop(id, 'protocol', ByeReason.PROTOCOL_ERROR);
      return;
    }
    switch (frame.type) {
      case PeerFrameType.HELLO:
        if (n.hello && n.isEdge && frame.role === PeerRole.EDGE && frame.channelId.equals(this.#channel.id)) {
          this.scheduler.setSeedPermille(frame.seedPermille); // an edge's update of its seed share
          return;
        }
        if (n.hello || !frame.channelId.equals(this.#channel.id)) {
          this.#c.protocolErrors++;
          this.#drop(id, 'protocol', ByeReason.PROTOCOL_ERROR);
          return;
        }
        n.hello = true;
        n.isEdge = frame.role === PeerRole.EDGE;
        this.scheduler.addNeighbour(id, n.isEdge);
        if (n.isEdge) this.scheduler.setSeedPermille(frame.seedPermille);
        return;
      case PeerFrameType.BUFFER_MAP:
        if (n.isEdge || this.#plausible(frame.base + frame.count - 1)) {
          this.scheduler.assignMap(id, frame.base, frame.count, frame.bitmap, frame.rapBitmap, nowMs);
        } else {
          this.#c.protocolErrors++;
          this.#violation(id);
        }
        return;
      case PeerFrameType.HAVE:
        if (n.isEdge || this.#plausible(frame.seq))
          this.scheduler.announce(id, frame.seq, frame.randomAccess, nowMs);
        else {
          this.#c.protocolErrors++;
          this.#violation(id);
        }
        return;
      case PeerFrameType.REQUEST:
        this.#onRequest(
          n,
          frame.seq,
          frame.urgent,
          frame.ahead === true,
          frame.resume === true ? (frame.fromPiece ?? 0) : -1,
        );
        return;
      case PeerFrameType.CANCEL:
        this.#upload.cancel(id, frame.seq);
        n.resumeFrom.delete(frame.seq);
        this.#streams.remove(frame.seq, id);
        if (n.ahead > 0) this.#unAhead(n, frame.seq);
        return;
      case PeerFrameType.DATA:
        this.#onData(n, frame.chunk, nowMs);
        return;
      case PeerFrameType.HEAD:
        this.#onHead(n, frame.head);
        return;
      case PeerFrameType.PIECE:
        this.#onPiece(n, frame.seq, frame.index, frame.piece, nowMs);
        return;
      case PeerFrameType.REJECT:
        this.scheduler.rejected(
          frame.seq,
          id,
          frame.reason === RejectReason.NOT_HELD,
          nowMs,
          frame.reason === RejectReason.NOT_HELD ? 0 : BUSY_BLOCK_MS,
        );
        return;
      case PeerFrameType.CHOKE:
        this.scheduler.block(id, nowMs + Math.min(frame.ms, 10_000));
        return;
    }
  }

  /** Runs the timers due at `nowMs`: playout, scheduling, uploads, neighbour health. */
  poll(nowMs: number): void {
    this.#lastNowMs = nowMs;
    if (this.role === 'peer' && this.#timersWait(nowMs)) {
      // Woken late: what the neighbours sent meanwhile is still unread. Expiring requests and
      // playing out now would blame them for this process's pause (timeouts, slow neighbours
      // dropped) and skip or hold at chunks that are already here. A hold keeps its time.
      this.playout.keepHold(nowMs, this.#get, this.#newestExisting());
    } else if (this.role === 'peer') {
      this.#join(nowMs);
      this.#view.newestSeq = this.#newestExisting();
      this.playout.poll(nowMs, this.#get, this.#emit, this.#liveEdge(), this.#view);
      this.#jumpIfBehind(nowMs);
      const from = this.playout.nextSeq;
      if (from !== this.#polledFrom) this.#dirty = true;
      if (from >= 0 && (this.#dirty || nowMs >= this.scheduler.nextWakeMs())) {
        this.#dirty = false;
        this.#polledFrom = from;
        const playout = this.playout;
        const actions = this.scheduler.poll(
          nowMs,
          from,
          (seq) => playout.deadlineOf(seq, nowMs),
          this.#holds,
          this.#etaOf,
        );
        for (const a of actions) {
          if (a.kind === 'cancel') {
            this.#send(a.to, { type: PeerFrameType.CANCEL, seq: a.seq });
            continue;
          }
          const partial = this.#pieces.get(a.seq);
          const resume = partial !== undefined;
          this.#send(
            a.to,
            a.ahead === true || resume
              ? {
                  type: PeerFrameType.REQUEST,
                  seq: a.seq,
                  urgent: a.urgent,
                  ...(a.ahead === true ? { ahead: true } : {}),
                  ...(resume ? { resume: true, fromPiece: firstMissing(partial) } : {}),
                }
              : { type: PeerFrameType.REQUEST, seq: a.seq, urgent: a.urgent },
          );
        }
        this.scheduler.clearActions();
        this.#evict(playout.started ? from - this.#o.keepBehind : -1);
      }
    } else {
      this.#evict(this.#held.newest - this.#o.window + 1);
    }
    for (;;) {
      const next = this.#upload.next(nowMs, this.#uploadBytes, this.#gone);
      if (next === undefined) break;
      this.#sendChunk(next.to, next.seq);
    }
    if (nowMs >= this.#healthAtMs) this.#health(nowMs);
  }

  /** When {@link poll} should run next, ms. */
  nextWakeMs(): number {
    const now = this.#lastNowMs;
    const timers =
      this.#graceUntilMs > now
        ? this.#graceUntilMs
        : Math.min(this.scheduler.nextWakeMs(), this.playout.nextWakeMs(now));
    this.#askedWakeMs = Math.max(now, Math.min(timers, this.#upload.nextWakeMs(now), this.#healthAtMs));
    return this.#askedWakeMs;
  }

  /**
   * Whether the playout and the scheduler wait at `nowMs`: a poll more than {@link LATE_POLL_MS}
   * after the wake asked for starts a grace of {@link LATE_GRACE_MS}; the poll that ends a grace
   * runs them, late or not (a process late at every wake still plays).
   */
  #timersWait(nowMs: number): boolean {
    if (!Number.isNaN(this.#graceUntilMs)) {
      if (nowMs < this.#graceUntilMs) return true;
      this.#graceUntilMs = Number.NaN;
      return false;
    }
    if (nowMs - this.#askedWakeMs <= LATE_POLL_MS) return false;
    this.#graceUntilMs = nowMs + LATE_GRACE_MS;
    this.#c.latePolls++;
    return true;
  }

  /** Frames to send, in order; the caller owns the returned array. */
  takeTransmits(): LiveTransmit[] {
    return this.#transmits.splice(0);
  }

  /** Events since the last call; the caller owns the returned array. */
  takeEvents(): LivePeerEvent[] {
    return this.#events.splice(0);
  }

  /** The node's counters. */
  stats(): LivePeerStats {
    const p = this.playout.stats();
    const s = this.scheduler.counters;
    return {
      ...p,
      latencyP50Ms: this.#latency.percentile(50),
      latencyP95Ms: this.#latency.percentile(95),
      latencyP99Ms: this.#latency.percentile(99),
      ...this.#c,
      partialRefused: this.#pieces.refused,
      bytesUploaded: this.#upload.counters.bytes,
      chunksUploaded: this.#upload.counters.served,
      requestsRefused: this.#c.requestsRefused,
      backlogRefused: this.#c.backlogRefused,
      neighbours: [...this.#neighbours.values()].map((n) => {
        const v = this.scheduler.neighbour(n.id);
        return {
          id: n.id,
          isEdge: n.isEdge,
          pathKind: n.pathKind,
          delivered: v?.delivered ?? 0,
          timeouts: v?.timeouts ?? 0,
          lies: v?.lies ?? 0,
        };
      }),
      requests: s.requests,
      timeouts: s.timeouts,
      duplicates: s.duplicates,
    };
  }

  /** The latency histogram (the simulator merges them). */
  get latency(): LatencyHistogram {
    return this.#latency;
  }

  /** Picks the join chunk once the neighbours' maps are in; picks again if it never came. */
  #join(nowMs: number): void {
    const p = this.playout;
    if (p.started) return;
    const s = this.scheduler;
    const newest = this.#liveEdge();
    if (newest < 0) return;
    if (p.joinSeq >= 0 && nowMs - this.#joinedAtMs < REJOIN_AFTER_MS) return;
    const seq = p.pickJoin(newest, s.newestRandomAccess(true), (from) =>
      s.oldestRandomAccessFrom(from, true),
    );
    if (seq < 0 || seq === p.joinSeq) return;
    p.join(seq, nowMs);
    this.#joinedAtMs = nowMs;
  }

  /**
   * A node hopelessly behind the live edge (3 × the playout's `maxDelayMs`; less than that, the
   * playout plays faster) jumps to a random-access chunk a target delay behind it, picked like a join chunk
   * from the edge's map first (its random-access bits are the source's; a peer's may be a lie).
   * So does a node that has held for {@link STUCK_HOLD_MS} while the median of its neighbours'
   * newest chunks lies more than `maxDelayMs` past it (its edge silent, the chunks it waits for
   * gone from every neighbour's window: it would hold for good). At most once per
   * {@link REJOIN_AFTER_MS}.
   */
  #jumpIfBehind(nowMs: number): void {
    const p = this.playout;
    if (nowMs - this.#caughtUpAtMs < REJOIN_AFTER_MS) return;
    const s = this.scheduler;
    const newest = this.#view.newestSeq;
    let seq = -1;
    if (p.behind(newest)) {
      seq = p.pickJoin(newest, s.newestRandomAccess(true), (from) => s.oldestRandomAccessFrom(from, true));
    } else if (p.stuck(s.newestKnown, nowMs, STUCK_HOLD_MS)) {
      // Holding while the neighbours are far on: the node's own view is what is stale. The
      // median neighbour's newest chunk is the live edge (a polluter's claims are one voice).
      const claimed = this.#medianNeighbourNewest();
      if (p.stuck(claimed, nowMs, STUCK_HOLD_MS))
        seq = p.pickJoin(claimed, s.newestRandomAccess(), (from) => s.oldestRandomAccessFrom(from));
    }
    if (seq <= p.nextSeq) return;
    this.#caughtUpAtMs = nowMs;
    p.jumpTo(seq, nowMs, this.#emit);
  }

  /**
   * The live edge as far as this node can trust it: the newest chunk it holds or its edge
   * announced, or with no edge's word, the median of its neighbours' newest. Not every claim:
   * a lying neighbour may announce chunks that do not exist yet (plausibility allows a window
   * ahead), and a joiner that took them for the live edge would start playing at once, a
   * fraction of the target delay behind the source, and fetch every chunk at its deadline from
   * then on. What it joins at, when it starts, and what a claim may be are measured from here.
   */
  #liveEdge(): number {
    if (this.role === 'edge') return this.#held.newest;
    const edge = this.#edgeNewest();
    return Math.max(this.#held.newest, edge >= 0 ? edge : this.#medianNeighbourNewest());
  }

  /** The median of the newest chunk each neighbour peer announced; -1 when none did. */
  #medianNeighbourNewest(): number {
    const newest: number[] = [];
    for (const n of this.#neighbours.values()) {
      if (n.isEdge) continue;
      const m = this.scheduler.neighbour(n.id)?.map.newest ?? -1;
      if (m >= 0) newest.push(m);
    }
    if (newest.length === 0) return -1;
    newest.sort((a, b) => a - b);
    return newest[(newest.length - 1) >>> 1]!;
  }

  /** `resumeFrom` ≥ 0: a resumed request (REQUEST's resume bit), the first piece the requester lacks. */
  #onRequest(n: Neighbour, seq: number, urgent: boolean, ahead: boolean, resumeFrom: number): void {
    const resume = resumeFrom >= 0;
    if (!this.uploads) {
      this.#refuse(n, seq, RejectReason.BUSY);
      return;
    }
    if (this.scheduler.neighbour(n.id)?.map.has(seq) === true) {
      // It asks for a chunk it announced. Honest only when its transfer stalled (a chunk is
      // announced once its head is verified) and it says so (resume): served, but counted as a
      // violation. Without resume its map or its request is a lie: replaced at once.
      if (!resume) {
        this.#c.requestsRefused++;
        this.#drop(n.id, 'liar', ByeReason.REPLACED);
        return;
      }
      this.#violation(n.id);
      if (!this.#neighbours.has(n.id)) return;
    }
    if (this.#bytesOf(seq) < 0) {
      if (ahead && this.#placeAhead(n, seq)) return;
      this.#refuse(n, seq, RejectReason.NOT_HELD);
      return;
    }
    const queued = n.resumeFrom.has(seq);
    if (resumeFrom > 0 && !queued) {
      // One entry per queued resumed request; the upload queue holds at most a few per requester.
      if (n.resumeFrom.size >= RESUME_ENTRIES_MAX) n.resumeFrom.delete(n.resumeFrom.keys().next().value!);
      n.resumeFrom.set(seq, resumeFrom);
    }
    const result = this.#upload.enqueue(n.id, seq, urgent, this.#bytesOf(seq, n.id), ahead);
    if (result !== 'queued' && !queued) n.resumeFrom.delete(seq);
    if (result === 'full') this.#refuse(n, seq, RejectReason.OVER_SHARE);
    else if (result === 'busy') {
      this.#c.requestsRefused++;
      this.#send(n.id, { type: PeerFrameType.REJECT, seq, reason: RejectReason.BUSY });
    }
    // A repeated request is ignored (it costs nothing); it is honest after a timeout and a CANCEL.
    else if (result === 'duplicate') this.#c.requestsRefused++;
  }

  /**
   * Keeps a standing request for `seq` (not held yet, not far ahead): true when it was kept or
   * refused BUSY (this chunk's pushes or the neighbour's standing requests are at their cap).
   */
  #placeAhead(n: Neighbour, seq: number): boolean {
    const reference = this.#liveEdge();
    if (seq <= this.#held.newest - AHEAD_RANGE_CHUNKS || seq > reference + AHEAD_RANGE_CHUNKS) return false;
    if (this.role === 'peer' && seq < this.playout.nextSeq) return false;
    let list = this.#ahead.get(seq);
    if (list?.includes(n.id) === true) return true;
    if ((list?.length ?? 0) >= this.#o.pushPerChunk || n.ahead >= AHEAD_PER_NEIGHBOUR) {
      this.#c.requestsRefused++;
      this.#send(n.id, { type: PeerFrameType.REJECT, seq, reason: RejectReason.BUSY });
      return true;
    }
    if (list === undefined) {
      list = [];
      this.#ahead.set(seq, list);
    }
    list.push(n.id);
    n.ahead++;
    return true;
  }

  #unAhead(n: Neighbour, seq: number): void {
    const list = this.#ahead.get(seq);
    const i = list?.indexOf(n.id) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    n.ahead--;
    if (list!.length === 0) this.#ahead.delete(seq);
  }

  #refuse(n: Neighbour, seq: number, reason: (typeof RejectReason)[keyof typeof RejectReason]): void {
    this.#c.requestsRefused++;
    this.#send(n.id, { type: PeerFrameType.REJECT, seq, reason });
    this.#violation(n.id);
  }

  #onData(n: Neighbour, bytes: Buffer, nowMs: number): void {
    const seq = peekChunkSeq(bytes);
    if (seq < 0 || !this.scheduler.isAwaited(seq, n.id)) {
      this.#c.unsolicitedDropped++;
      this.#violation(n.id);
      return;
    }
    const chunk = this.#decodeVerified(bytes);
    if (chunk === undefined || chunk.seq !== seq) {
      this.scheduler.rejected(seq, n.id, false);
      this.#ban(n.id, 'forged');
      return;
    }
    this.scheduler.received(seq, n.id, nowMs);
    if (this.#store.has(seq)) return;
    this.#count(n, bytes.length);
    const partial = this.#pieces.get(seq);
    if (partial !== undefined) {
      this.#pieces.finish(partial);
      this.#streamRest(seq, chunk, partial);
      this.#complete(chunk, piecesOf(chunk), nowMs, n);
      return;
    }
    this.#storeChunk(chunk, nowMs, n);
  }

  #count(n: Neighbour, bytes: number): void {
    if (n.isEdge) this.#c.bytesFromEdge += bytes;
    else this.#c.bytesFromPeers += bytes;
  }

  /** A chunk's head: verified, then its pieces are awaited and the chunk announced. */
  #onHead(n: Neighbour, bytes: Buffer): void {
    const seq = peekChunkSeq(bytes);
    if (seq >= 0 && this.#late(seq)) {
      this.#c.lateDropped++;
      return;
    }
    if (seq < 0 || !this.scheduler.isAwaited(seq, n.id)) {
      this.#c.unsolicitedDropped++;
      this.#violation(n.id);
      return;
    }
    const partial = this.#pieces.get(seq);
    if (partial?.head.head.equals(bytes) === true) return;
    let head: ChunkHead | undefined;
    try {
      head = decodeChunkHead(bytes);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
    }
    if (head === undefined || this.#verifyHead(head) !== null) {
      this.#c.forgedDropped++;
      this.scheduler.rejected(seq, n.id, false);
      this.#ban(n.id, 'forged');
      return;
    }
    if (partial !== undefined) return; // the source's too: the chunk is on its way already
    this.#count(n, bytes.length);
    const p = this.#pieces.start(head, this.#lastNowMs);
    if (p === undefined) return;
    if (head.pieceCount === 0) {
      this.#storeChunk(this.#pieces.finish(p), this.#lastNowMs, n);
      this.scheduler.received(seq, n.id, this.#lastNowMs);
      return;
    }
    this.#announce(seq, (head.flags & CHUNK_FLAG_RANDOM_ACCESS) !== 0, n, p.bytes);
  }

  /** Whether chunk `seq` is held or behind the playout point: more of it is late, not unsolicited. */
  #late(seq: number): boolean {
    return this.#store.has(seq) || (this.role === 'peer' && seq < this.playout.nextSeq);
  }

  /** A piece: verified against its chunk's head, kept, forwarded to the chunk's streams. */
  #onPiece(n: Neighbour, seq: number, index: number, piece: Buffer, nowMs: number): void {
    const awaited = this.scheduler.isAwaited(seq, n.id);
    const p = this.#pieces.get(seq);
    if (p === undefined || !awaited) {
      // A late or trailing piece (of a chunk held, played, or asked of `n`) is no violation.
      if (awaited || this.#late(seq)) this.#c.lateDropped++;
      else {
        this.#c.unsolicitedDropped++;
        this.#violation(n.id);
      }
      return;
    }
    const result = this.#pieces.add(p, index, piece);
    if (result === 'duplicate') return;
    if (result === 'forged') {
      this.#c.forgedDropped++;
      this.scheduler.rejected(seq, n.id, false);
      this.#ban(n.id, 'forged');
      return;
    }
    this.#count(n, piece.length);
    const streams = this.#streams.of(seq);
    if (streams !== undefined) {
      for (const to of streams) this.#send(to, { type: PeerFrameType.PIECE, seq, index, piece });
    }
    if (result !== 'complete') return;
    this.#streams.end(seq);
    const pieces = p.pieces as Buffer[];
    const chunk = this.#pieces.finish(p);
    this.scheduler.received(seq, n.id, nowMs);
    this.#complete(chunk, pieces, nowMs, n);
  }

  /** A chunk assembled elsewhere arrived whole: the streams of its partial copy get the rest. */
  #streamRest(seq: number, chunk: Chunk, partial: PartialChunk): void {
    const streams = this.#streams.of(seq);
    if (streams !== undefined) {
      const pieces = piecesOf(chunk);
      for (let i = 0; i < chunk.pieceCount; i++) {
        if (partial.pieces[i] !== undefined) continue;
        for (const to of streams)
          this.#send(to, { type: PeerFrameType.PIECE, seq, index: i, piece: pieces[i]! });
      }
    }
    this.#streams.end(seq);
  }

  /** Sends chunk `seq` to `to`: its head and every piece held (from the one `to` resumes at); the rest as they arrive. */
  #sendChunk(to: string, seq: number): void {
    const n = this.#neighbours.get(to);
    const from = n?.resumeFrom.get(seq) ?? 0;
    if (from > 0) n!.resumeFrom.delete(seq);
    const chunk = this.#store.get(seq);
    if (chunk !== undefined) {
      this.#send(to, { type: PeerFrameType.HEAD, head: chunk.head });
      const pieces = this.#slices.get(seq)!;
      for (let i = from; i < pieces.length; i++)
        this.#send(to, { type: PeerFrameType.PIECE, seq, index: i, piece: pieces[i]! });
      return;
    }
    const p = this.#pieces.get(seq);
    if (p === undefined) return;
    if (!this.#streams.add(seq, to)) {
      this.#send(to, { type: PeerFrameType.REJECT, seq, reason: RejectReason.BUSY });
      return;
    }
    this.#send(to, { type: PeerFrameType.HEAD, head: p.head.head });
    for (let i = from; i < p.pieces.length; i++) {
      const piece = p.pieces[i];
      if (piece !== undefined) this.#send(to, { type: PeerFrameType.PIECE, seq, index: i, piece });
    }
  }

  #decodeVerified(bytes: Buffer): Chunk | undefined {
    let chunk: Chunk;
    try {
      chunk = decodeChunk(bytes);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.#c.forgedDropped++;
      return undefined;
    }
    if (this.#verify(chunk) !== null) {
      this.#c.forgedDropped++;
      return undefined;
    }
    return chunk;
  }

  /** A whole chunk (DATA, or an edge's ingest): announced and stored. */
  #storeChunk(chunk: Chunk, nowMs: number, from: Neighbour | undefined): void {
    if (this.role === 'peer' && chunk.seq < this.playout.nextSeq) return;
    if (!this.#announce(chunk.seq, (chunk.flags & CHUNK_FLAG_RANDOM_ACCESS) !== 0, from, chunk.bytes.length))
      return;
    this.#complete(chunk, piecesOf(chunk), nowMs, from);
  }

  /**
   * Chunk `seq` (of `bytes`) is held or on its way with a verified head: its standing requests
   * are served, and it is announced to every neighbour but `from`. False when outside the window.
   */
  #announce(seq: number, rap: boolean, from: Neighbour | undefined, bytes: number): boolean {
    if (!this.#held.add(seq, rap)) return false;
    const waiting = this.#ahead.get(seq);
    if (waiting !== undefined) {
      this.#ahead.delete(seq);
      for (const id of waiting) {
        const m = this.#neighbours.get(id);
        if (m === undefined) continue;
        m.ahead--;
        if (m !== from) this.#upload.enqueue(id, seq, false, bytes, true);
      }
    }
    if (!this.uploads) return true;
    for (const n of this.#neighbours.values()) {
      if (n !== from && n.hello && !n.isEdge)
        this.#send(n.id, { type: PeerFrameType.HAVE, seq, randomAccess: rap });
    }
    return true;
  }

  /** Chunk `seq` is whole and verified: stored for playout and uploads. */
  #complete(chunk: Chunk, pieces: readonly Buffer[], nowMs: number, from: Neighbour | undefined): void {
    const seq = chunk.seq;
    if (this.role === 'peer' && seq < this.playout.nextSeq) return;
    this.#store.set(seq, chunk);
    this.#slices.set(seq, pieces);
    if (from !== undefined) {
      this.#latency.record(nowMs - chunk.timestampMs);
      this.#events.push({
        type: 'chunk',
        seq,
        from: from.id,
        fromEdge: from.isEdge,
        latencyMs: nowMs - chunk.timestampMs,
        bytes: chunk.bytes.length,
      });
    }
  }

  /** The newest chunk held here or announced by an edge neighbour; -1 when none. */
  #newestExisting(): number {
    return Math.max(this.#held.newest, this.#edgeNewest());
  }

  /** The newest chunk an edge neighbour announced; -1 when none did. */
  #edgeNewest(): number {
    let newest = -1;
    for (const n of this.#neighbours.values()) {
      if (!n.isEdge) continue;
      const m = this.scheduler.neighbour(n.id)?.map.newest ?? -1;
      if (m > newest) newest = m;
    }
    return newest;
  }

  /**
   * A seq no honest peer could announce yet: far past what this node has seen. An edge's word is
   * taken (it holds what the source sent it; every chunk is verified on arrival anyway): a source
   * that restarts after a long outage numbers its chunks far on, and only the edge can say so.
   */
  #plausible(seq: number): boolean {
    const reference = this.#liveEdge();
    return reference < 0 || seq <= reference + this.#o.window;
  }

  #evict(below: number): void {
    if (below <= this.#held.base) return;
    for (let s = this.#held.base; s < below; s++) {
      this.#store.delete(s);
      this.#slices.delete(s);
      this.#streams.end(s);
    }
    this.#pieces.evictBelow(below);
    this.#held.advance(below);
  }

  #violation(id: string): void {
    const n = this.#neighbours.get(id);
    if (n === undefined) return;
    if (++n.violations > this.#o.maxViolations) this.#ban(id, 'flood');
  }

  #health(nowMs: number): void {
    this.#healthAtMs = nowMs + HEALTH_EVERY_MS;
    if (this.role === 'edge') {
      // Re-announce the seed share when the swarm has grown or shrunk by more than a fifth.
      const permille = this.#currentSeedPermille();
      if (Math.abs(permille - this.#seedPermille) > 0.2 * Math.max(1, this.#seedPermille)) {
        this.#seedPermille = permille;
        const hello = this.#hello();
        for (const n of this.#neighbours.values()) if (n.hello) this.#send(n.id, hello);
      }
    }
    for (const [seq, list] of this.#ahead) {
      if (seq > this.#held.newest - AHEAD_RANGE_CHUNKS) continue;
      for (const id of list) {
        const m = this.#neighbours.get(id);
        if (m !== undefined) m.ahead--;
      }
      this.#ahead.delete(seq);
    }
    const reset = nowMs >= this.#violationsResetAtMs;
    if (reset) this.#violationsResetAtMs = nowMs + VIOLATION_WINDOW_MS;
    for (const n of [...this.#neighbours.values()]) {
      if (reset) n.violations = 0;
      const v = this.scheduler.neighbour(n.id);
      if (v === undefined || n.isEdge) continue;
      if (v.lies >= this.#o.maxLies) this.#drop(n.id, 'liar', ByeReason.REPLACED);
      else if (v.timeouts >= 4 && v.timeouts > 2 * v.delivered) this.#drop(n.id, 'slow', ByeReason.REPLACED);
    }
  }

  #drop(id: string, reason: 'liar' | 'slow' | 'protocol' | 'full', bye: ByeReasonValue): void {
    this.#send(id, { type: PeerFrameType.BYE, reason: bye });
    this.disconnect(id);
    this.#c.replaced++;
    this.#events.push({ type: 'drop', neighbour: id, reason });
  }

  #ban(id: string, reason: 'forged' | 'flood'): void {
    if (this.#banned.size >= MAX_BANNED) this.#banned.delete(this.#banned.values().next().value as string);
    this.#banned.add(id);
    this.#c.bans++;
    this.#send(id, { type: PeerFrameType.BYE, reason: ByeReason.BANNED });
    this.disconnect(id);
    this.#events.push({ type: 'ban', neighbour: id, reason });
  }

  #send(to: string, frame: PeerFrame): void {
    this.#transmits.push({ to, frame });
  }
}

/** The first piece of `p` not received yet (its piece count when every one is). */
function firstMissing(p: PartialChunk): number {
  let i = 0;
  while (i < p.pieces.length && p.pieces[i] !== undefined) i++;
  return i;
}
