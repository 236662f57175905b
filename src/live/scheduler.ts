/**
 * The chunk scheduler: which missing chunk to request from which neighbour, and when. A sans-I/O
 * core: it reads no clock and sends nothing; {@link ChunkScheduler.poll} returns requests and
 * cancels, {@link ChunkScheduler.nextWakeMs} says when to poll again.
 *
 * Strategy `mixed` (the default; Zhou, Chiu and Lui, ICNP 2007):
 * 1. Every chunk from the playout point on has a deadline (its playout time).
 * 2. A request that outlived its timeout is cancelled; its chunk is requested elsewhere and the
 *    neighbour that timed out is not asked for it again. A neighbour whose timeouts outnumber its
 *    deliveries gets the shortest timeout (`minRequestTimeoutMs`) from then on.
 * 3. Chunks with more than `urgentWindowMs` of slack are requested rarest-first among the
 *    neighbours; chunks inside it urgent-first (earliest deadline first).
 * 4. A chunk still missing `edgeWindowMs` before its deadline is requested from the edge; a chunk
 *    already requested from a peer is requested from the edge too only when that request cannot
 *    arrive in time (the only case in which one chunk is requested twice).
 * 5. A seed (a peer whose upload is not zero, chosen per chunk with the edge's seed share) takes
 *    a fresh chunk from the edge at once, so every chunk enters the swarm early.
 * 6. At most `maxOutstandingPerNeighbour` requests wait on any neighbour.
 *
 * `naive` (a baseline): missing chunks in sequence order from a random neighbour that has them, no
 * deadlines, the edge after a fixed `naiveEdgeAfterMs`. `edgeOnly` (a baseline, a CDN): every
 * chunk from the edge.
 * @module
 */
import { InvalidOptionError } from '../errors/index.ts';
import { BufferMap } from './buffer-map.ts';
import { BUFFER_WINDOW_DEFAULT_CHUNKS, KEEP_BEHIND_DEFAULT_CHUNKS } from './constants.ts';

/** The scheduling strategies: porthole's and the two baselines. */
export const SchedulerStrategy = { MIXED: 'mixed', NAIVE: 'naive', EDGE_ONLY: 'edgeOnly' } as const;
/** One of the {@link SchedulerStrategy} values. */
export type SchedulerStrategyValue = (typeof SchedulerStrategy)[keyof typeof SchedulerStrategy];

/** Scheduler settings; every one optional. Defaults are justified in docs/live.md. */
export interface SchedulerOptions {
  /** Default `mixed`. */
  readonly strategy?: SchedulerStrategyValue;
  /** Requests waiting on one peer; default 3. */
  readonly maxOutstandingPerNeighbour?: number;
  /** Requests waiting on the edge; default 16. */
  readonly maxOutstandingToEdge?: number;
  /** Slack below which a chunk is urgent (earliest deadline first), ms; default 700. */
  readonly urgentWindowMs?: number;
  /** Slack below which a missing chunk is taken from the edge, ms; default 300. */
  readonly edgeWindowMs?: number;
  /** First request timeout, before a neighbour's transfer time is known, ms; default 600. */
  readonly requestTimeoutMs?: number;
  /**
   * Floor and ceiling of the adaptive timeout (3 × smoothed transfer time + 100), ms; 400, 2000.
   * The floor is also the timeout of a neighbour that missed more requests than it delivered.
   */
  readonly minRequestTimeoutMs?: number;
  readonly maxRequestTimeoutMs?: number;
  /** Chunks past the playout point worth requesting; default 40. */
  readonly lookaheadChunks?: number;
  /** Whether this node may seed fresh chunks from the edge (false for a leech-only peer); default true. */
  readonly seed?: boolean;
  /** `naive` only: wait before taking a chunk nobody offers from the edge, ms; default 1000. */
  readonly naiveEdgeAfterMs?: number;
  /**
   * Substreams (chunk seq mod n): a seed seeds whole substreams, the same ones for as long as it
   * stays; default 4.
   */
  readonly substreams?: number;
  /**
   * Whether a seed asks the edge for its next chunks ahead (standing requests, pushed on
   * arrival: no HAVE/REQUEST round trip on the first hop); default true. `mixed` only.
   */
  readonly ahead?: boolean;
  /** Window of each neighbour's buffer map, chunks; default 256. */
  readonly windowChunks?: number;
  /** Uniform [0, 1); default Math.random. */
  readonly random?: () => number;
}

/** What {@link ChunkScheduler.poll} decided. */
export interface SchedulerAction {
  readonly kind: 'request' | 'cancel';
  readonly seq: number;
  readonly to: string;
  /** A request forced by the deadline (edge fallback or a duplicate). */
  readonly urgent: boolean;
  /** A standing request for a chunk not announced yet (REQUEST's ahead flag). */
  readonly ahead?: boolean;
}

/** The scheduler's view of one neighbour. */
export interface ScheduledNeighbour {
  readonly id: string;
  readonly isEdge: boolean;
  /** The chunks it announced. */
  readonly map: BufferMap;
  outstanding: number;
  /** Smoothed request-to-data time, ms (NaN until the first delivery). */
  srttMs: number;
  delivered: number;
  timeouts: number;
  /** Announced chunks it then said it did not hold. */
  lies: number;
  /** No requests before this time (a CHOKE, or a penalty for timeouts and lies). */
  blockedUntilMs: number;
  /** Standing (ahead) requests waiting on it. */
  aheadOutstanding: number;
}

interface Pending {
  to: string;
  sentAtMs: number;
  timeoutAtMs: number;
  /** A second request for the same chunk, to the edge, forced by its deadline. */
  duplicateTo: string | undefined;
  /** Neighbours that failed this chunk. */
  failed: string[] | undefined;
  /** A standing request: no timeout until the chunk is announced. */
  ahead: boolean;
}

const NO_WAKE = Number.POSITIVE_INFINITY;
/** Cost factor of a neighbour that has not delivered a chunk yet (a newcomer, or a polluter that claims everything). */
const UNPROVEN_COST = 4;
/** A pending request expected later than this before the deadline is duplicated to the edge, ms. */
const DUPLICATE_GUARD_MS = 60;

/** The scheduler core. One per node and channel. */
export class ChunkScheduler {
  readonly strategy: SchedulerStrategyValue;
  readonly #o: Required<Omit<SchedulerOptions, 'strategy' | 'random'>>;
  readonly #random: () => number;
  readonly #neighbours = new Map<string, ScheduledNeighbour>();
  readonly #pending = new Map<number, Pending>();
  readonly #failed = new Map<number, string[]>();
  readonly #firstSeen = new Map<number, number>();
  readonly #actions: SchedulerAction[] = [];
  readonly #urgent: number[] = [];
  readonly #far: number[] = [];
  readonly #rarity = new Map<number, number>();
  #edge: ScheduledNeighbour | undefined;
  #seedPermille = 0;
  #seedSalt: number;
  #newestKnown = -1;
  #wakeMs = NO_WAKE;
  #nowMs = Number.NEGATIVE_INFINITY;
  /** Requests sent, timeouts, duplicates to the edge, requests to the edge. */
  readonly counters = {
    requests: 0,
    timeouts: 0,
    duplicates: 0,
    edgeRequests: 0,
    seedRequests: 0,
    /** Standing requests sent, and those whose parent did not push in time. */
    aheadRequests: 0,
    aheadMisses: 0,
  };

  /** @throws ConfigError `ERR_INVALID_OPTION` naming the option. */
  constructor(options: SchedulerOptions = {}) {
    this.strategy = options.strategy ?? SchedulerStrategy.MIXED;
    if (!Object.values(SchedulerStrategy).includes(this.strategy)) invalid('strategy');
    this.#o = {
      maxOutstandingPerNeighbour: positive(options, 'maxOutstandingPerNeighbour', 3),
      maxOutstandingToEdge: positive(options, 'maxOutstandingToEdge', 16),
      urgentWindowMs: positive(options, 'urgentWindowMs', 700),
      edgeWindowMs: positive(options, 'edgeWindowMs', 300),
      requestTimeoutMs: positive(options, 'requestTimeoutMs', 600),
      minRequestTimeoutMs: positive(options, 'minRequestTimeoutMs', 400),
      maxRequestTimeoutMs: positive(options, 'maxRequestTimeoutMs', 2000),
      lookaheadChunks: positive(options, 'lookaheadChunks', 40),
      seed: options.seed ?? true,
      naiveEdgeAfterMs: positive(options, 'naiveEdgeAfterMs', 1000),
      substreams: Math.floor(positive(options, 'substreams', 4)),
      ahead: options.ahead ?? true,
      windowChunks: positive(options, 'windowChunks', BUFFER_WINDOW_DEFAULT_CHUNKS),
    };
    this.#random = options.random ?? Math.random;
    this.#seedSalt = Math.floor(this.#random() * 2 ** 32);
  }

  /** The newest chunk any neighbour announced (-1 when none). */
  get newestKnown(): number {
    return this.#newestKnown;
  }

  /** Requests waiting for data. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** The edge's seed share, per mille of peers that take each fresh chunk from it (HELLO). */
  setSeedPermille(permille: number): void {
    this.#seedPermille = Math.max(0, Math.min(1000, permille));
  }

  /** Registers a neighbour after its HELLO. */
  addNeighbour(id: string, isEdge: boolean): ScheduledNeighbour {
    const n: ScheduledNeighbour = {
      id,
      isEdge,
      map: new BufferMap(this.#o.windowChunks),
      outstanding: 0,
      srttMs: Number.NaN,
      delivered: 0,
      timeouts: 0,
      lies: 0,
      blockedUntilMs: 0,
      aheadOutstanding: 0,
    };
    this.#neighbours.set(id, n);
    if (isEdge) this.#edge = n;
    return n;
  }

  /** Forgets a neighbour; its pending requests are requested elsewhere at the next poll. */
  removeNeighbour(id: string): void {
    const n = this.#neighbours.get(id);
    if (n === undefined) return;
    this.#neighbours.delete(id);
    if (this.#edge === n) this.#edge = undefined;
    for (const [seq, p] of this.#pending) {
      if (p.duplicateTo === id) p.duplicateTo = undefined;
      if (p.to === id) this.#promoteOrDrop(seq, p);
    }
  }

  /** The scheduler's record of neighbour `id`. */
  neighbour(id: string): ScheduledNeighbour | undefined {
    return this.#neighbours.get(id);
  }

  /** Neighbour `id` announced `seq` (HAVE or a map entry) at `nowMs`. */
  announce(id: string, seq: number, randomAccess: boolean, nowMs: number): void {
    const n = this.#neighbours.get(id);
    if (n === undefined) return;
    n.map.add(seq, randomAccess);
    this.#seen(seq, nowMs);
    const p = this.#pending.get(seq);
    if (p?.ahead === true && p.timeoutAtMs === NO_WAKE) {
      // A standing request's clock starts when its chunk exists.
      p.timeoutAtMs = nowMs + this.#timeoutOf(this.#neighbours.get(p.to) ?? n);
      if (p.timeoutAtMs < this.#wakeMs) this.#wakeMs = p.timeoutAtMs;
    }
  }

  /** Neighbour `id` sent its whole buffer map. */
  assignMap(
    id: string,
    base: number,
    count: number,
    bitmap: Uint8Array,
    rap: Uint8Array,
    nowMs: number,
  ): void {
    const n = this.#neighbours.get(id);
    if (n === undefined) return;
    n.map.assign(base, count, bitmap, rap);
    if (n.map.newest >= 0) this.#seen(n.map.newest, nowMs);
  }

  /** The newest random-access chunk any neighbour holds (with `edgeFirst`, the edge's when it has one); -1 when none. */
  newestRandomAccess(edgeFirst = false): number {
    if (edgeFirst && this.#edge !== undefined) {
      const e = this.#edge.map.newestRandomAccess();
      if (e >= 0) return e;
    }
    let best = -1;
    for (const n of this.#neighbours.values()) best = Math.max(best, n.map.newestRandomAccess());
    return best;
  }

  /**
   * The oldest random-access chunk at or after `fromSeq` any neighbour holds; -1 when none. With
   * `edgeFirst`, the edge's when it has one (its map's random-access bits are the source's).
   */
  oldestRandomAccessFrom(fromSeq: number, edgeFirst = false): number {
    if (edgeFirst && this.#edge !== undefined) {
      const e = this.#edge.map;
      for (let s = Math.max(fromSeq, e.base); s <= e.newest; s++) if (e.isRandomAccess(s)) return s;
    }
    let best = -1;
    for (const n of this.#neighbours.values()) {
      for (let s = Math.max(fromSeq, n.map.base); s <= n.map.newest; s++) {
        if (n.map.isRandomAccess(s)) {
          if (best < 0 || s < best) best = s;
          break;
        }
      }
    }
    return best;
  }

  /** Neighbour `id` blocks requests until `untilMs` (a CHOKE, or a local penalty). */
  block(id: string, untilMs: number): void {
    const n = this.#neighbours.get(id);
    if (n !== undefined) n.blockedUntilMs = Math.max(n.blockedUntilMs, untilMs);
  }

  /**
   * A verified chunk `seq` arrived from `from`. Returns whether it was requested from `from`.
   * A duplicate still on its way from elsewhere is cancelled at the next poll.
   */
  received(seq: number, from: string, nowMs: number): boolean {
    const p = this.#pending.get(seq);
    const n = this.#neighbours.get(from);
    if (n !== undefined) n.delivered++;
    if (p === undefined) return false;
    const asked = p.to === from || p.duplicateTo === from;
    if (p.to === from && n !== undefined && !p.ahead) {
      const sample = nowMs - p.sentAtMs;
      n.srttMs = Number.isNaN(n.srttMs) ? sample : n.srttMs + (sample - n.srttMs) / 8;
    }
    this.#releaseMain(p);
    if (p.duplicateTo !== undefined) this.#release(p.duplicateTo);
    const other = p.to === from ? p.duplicateTo : p.to;
    if (other !== undefined && other !== from)
      this.#actions.push({ kind: 'cancel', seq, to: other, urgent: false });
    this.#pending.delete(seq);
    // Who was asked may still send a trailing piece: welcome (late, quiet) until the chunk is played.
    this.#fail(seq, from);
    if (other !== undefined) this.#fail(seq, other);
    return asked;
  }

  /** Whether a request for `seq` is pending. */
  isPending(seq: number): boolean {
    return this.#pending.has(seq);
  }

  /**
   * Whether a DATA frame of `seq` from `from` is solicited: it is awaited from `from`, or `from`
   * was asked and timed out (a late copy is still welcome while the chunk is missing).
   */
  isAwaited(seq: number, from: string): boolean {
    const p = this.#pending.get(seq);
    if (p !== undefined && (p.to === from || p.duplicateTo === from)) return true;
    return this.#failed.get(seq)?.includes(from) ?? false;
  }

  /**
   * `from` refused `seq`: with `notHeld` it had announced it (a lie, counted against it); a busy
   * refusal blocks it for `busyBlockMs` instead. The chunk is requested elsewhere at the next poll.
   */
  rejected(seq: number, from: string, notHeld: boolean, nowMs = 0, busyBlockMs = 0): void {
    const n = this.#neighbours.get(from);
    const standing = this.#pending.get(seq);
    if (standing?.ahead === true && standing.to === from) {
      // A standing request refused: the edge is full or behind. Not a lie, no block.
      this.#promoteOrDrop(seq, standing);
      this.#fail(seq, from);
      return;
    }
    if (n !== undefined && busyBlockMs > 0)
      n.blockedUntilMs = Math.max(n.blockedUntilMs, nowMs + busyBlockMs);
    if (n !== undefined && notHeld && n.map.has(seq)) {
      if (seq < n.map.newest - KEEP_BEHIND_DEFAULT_CHUNKS) {
        // Evicted, not a lie: a peer keeps 16 chunks behind its playout point, which is behind
        // its newest, and evicts from the bottom without announcing it. A node far behind that
        // asks for old chunks must not take its honest neighbours for liars and drop them.
        n.map.advance(seq + 1);
      } else {
        n.lies++;
        n.map.delete(seq);
      }
    }
    const p = this.#pending.get(seq);
    if (p === undefined) return;
    if (p.duplicateTo === from) {
      p.duplicateTo = undefined;
      this.#release(from);
    } else if (p.to === from) {
      this.#promoteOrDrop(seq, p);
    }
    this.#fail(seq, from);
  }

  /**
   * Runs the strategy at `nowMs` for the chunks from `fromSeq` on. `deadlineOf(seq)` is a
   * chunk's playout time (ms, same clock); `holds(seq)` whether this node has it. Returns the
   * actions so far, including cancels queued by {@link received}; the caller sends them and calls
   * {@link clearActions}.
   */
  poll(
    nowMs: number,
    fromSeq: number,
    deadlineOf: (seq: number) => number,
    holds: (seq: number) => boolean,
    etaOf?: (seq: number, nowMs: number) => number,
  ): readonly SchedulerAction[] {
    const actions = this.#actions;
    this.#nowMs = nowMs;
    this.#wakeMs = NO_WAKE;
    this.#expire(nowMs, fromSeq, holds);
    const hi = Math.min(this.#newestKnown, fromSeq + this.#o.lookaheadChunks - 1);
    if (this.strategy === SchedulerStrategy.EDGE_ONLY) this.#pollEdgeOnly(nowMs, fromSeq, hi, holds);
    else if (this.strategy === SchedulerStrategy.NAIVE) this.#pollNaive(nowMs, fromSeq, hi, holds);
    else {
      this.#pollMixed(nowMs, fromSeq, hi, deadlineOf, holds, etaOf);
      if (this.#o.ahead && fromSeq >= 0) this.#pollAhead(nowMs, holds);
    }
    if (this.#firstSeen.size > this.#o.windowChunks) {
      for (const seq of this.#firstSeen.keys()) if (seq < fromSeq) this.#firstSeen.delete(seq);
    }
    for (const seq of this.#failed.keys()) if (seq < fromSeq) this.#failed.delete(seq);
    return actions;
  }

  /** Empties the action list after the caller has sent it. */
  clearActions(): void {
    this.#actions.length = 0;
  }

  /** When to poll again, ms (Infinity when nothing is waiting). */
  nextWakeMs(): number {
    return this.#wakeMs;
  }

  #pollEdgeOnly(nowMs: number, lo: number, hi: number, holds: (seq: number) => boolean): void {
    const edge = this.#edge;
    if (edge === undefined) return;
    for (let seq = lo; seq <= hi && edge.outstanding < this.#o.maxOutstandingToEdge; seq++) {
      if (holds(seq) || this.#pending.has(seq) || !edge.map.has(seq)) continue;
      this.#request(seq, edge, nowMs, false);
    }
  }

  #pollNaive(nowMs: number, lo: number, hi: number, holds: (seq: number) => boolean): void {
    const choices: ScheduledNeighbour[] = [];
    for (let seq = lo; seq <= hi; seq++) {
      if (holds(seq) || this.#pending.has(seq)) continue;
      choices.length = 0;
      for (const n of this.#neighbours.values()) {
        if (!n.isEdge && this.#usable(n, seq, nowMs)) choices.push(n);
      }
      if (choices.length > 0) {
        this.#request(seq, choices[Math.floor(this.#random() * choices.length)]!, nowMs, false);
        continue;
      }
      const edge = this.#edge;
      if (edge === undefined || !this.#usable(edge, seq, nowMs)) continue;
      const fallbackAt = (this.#firstSeen.get(seq) ?? nowMs) + this.#o.naiveEdgeAfterMs;
      if (this.#isSeed(seq) || fallbackAt <= nowMs) this.#request(seq, edge, nowMs, false);
      else this.#wake(fallbackAt);
    }
  }

  #pollMixed(
    nowMs: number,
    lo: number,
    hi: number,
    deadlineOf: (seq: number) => number,
    holds: (seq: number) => boolean,
    etaOf: ((seq: number, nowMs: number) => number) | undefined,
  ): void {
    const o = this.#o;
    const urgent = this.#urgent;
    const far = this.#far;
    urgent.length = 0;
    far.length = 0;
    this.#rarity.clear();
    const edge = this.#edge;
    for (let seq = lo; seq <= hi; seq++) {
      if (holds(seq)) continue;
      const slack = deadlineOf(seq) - nowMs;
      if (slack < 0) continue;
      const p = this.#pending.get(seq);
      if (p !== undefined) {
        if (p.duplicateTo === undefined && edge !== undefined && p.to !== edge.id) {
          if (slack > o.edgeWindowMs) {
            this.#wake(nowMs + slack - o.edgeWindowMs);
          } else {
            // 4. A duplicate only when the pending request is overdue or would arrive too late for
            //    the edge to step in afterwards (the edge's own transfer time, plus a guard).
            const to = this.#neighbours.get(p.to);
            const progress = etaOf === undefined ? Number.NaN : etaOf(seq, nowMs);
            const eta = !Number.isNaN(progress)
              ? progress
              : p.sentAtMs +
                (to === undefined || Number.isNaN(to.srttMs) ? o.requestTimeoutMs / 2 : to.srttMs);
            const edgeLead =
              (Number.isNaN(edge.srttMs) ? o.edgeWindowMs / 2 : edge.srttMs) + DUPLICATE_GUARD_MS;
            const lastCall = nowMs + slack - edgeLead;
            if ((eta <= nowMs || eta > lastCall || nowMs >= lastCall) && this.#usable(edge, seq, nowMs)) {
              p.duplicateTo = edge.id;
              edge.outstanding++;
              this.counters.duplicates++;
              this.counters.edgeRequests++;
              this.#actions.push({ kind: 'request', seq, to: edge.id, urgent: true });
            } else {
              this.#wake(Math.min(eta, lastCall));
            }
          }
        }
        continue;
      }
      if (slack <= o.edgeWindowMs) {
        if (!this.#pickPeer(seq, nowMs, true) && edge !== undefined && this.#usable(edge, seq, nowMs)) {
          this.counters.edgeRequests++;
          this.#request(seq, edge, nowMs, true);
        }
        continue;
      }
      let holders = 0;
      for (const n of this.#neighbours.values()) if (!n.isEdge && n.map.has(seq)) holders++;
      if (holders === 0 && (edge === undefined || !edge.map.has(seq))) continue;
      if (holders === 0) {
        if (edge !== undefined && this.#isSeed(seq) && this.#usable(edge, seq, nowMs)) {
          this.counters.seedRequests++;
          this.counters.edgeRequests++;
          this.#request(seq, edge, nowMs, false);
        } else {
          this.#wake(nowMs + slack - o.edgeWindowMs);
        }
        continue;
      }
      this.#rarity.set(seq, holders);
      (slack <= o.urgentWindowMs ? urgent : far).push(seq);
      this.#wake(nowMs + slack - (slack <= o.urgentWindowMs ? o.edgeWindowMs : o.urgentWindowMs));
    }
    // 3. Urgent chunks are already in deadline order; far ones go rarest first.
    for (const seq of urgent) this.#pickPeer(seq, nowMs, false);
    const rarity = this.#rarity;
    far.sort((a, b) => rarity.get(a)! - rarity.get(b)! || a - b);
    for (const seq of far) this.#pickPeer(seq, nowMs, false);
  }

  /** Requests `seq` from the best peer that has it and a free slot; false when none. */
  #pickPeer(seq: number, nowMs: number, urgent: boolean): boolean {
    let best: ScheduledNeighbour | undefined;
    let bestCost = Number.POSITIVE_INFINITY;
    for (const n of this.#neighbours.values()) {
      if (n.isEdge || !this.#usable(n, seq, nowMs)) continue;
      const transfer = Number.isNaN(n.srttMs) ? this.#o.requestTimeoutMs / 2 : n.srttMs;
      const unproven = n.delivered === 0 ? UNPROVEN_COST : 1;
      const cost = transfer * (1 + n.outstanding) * (1 + n.lies + n.timeouts / 4) * unproven + this.#random();
      if (cost < bestCost) {
        bestCost = cost;
        best = n;
      }
    }
    if (best === undefined) return false;
    this.#request(seq, best, nowMs, urgent);
    return true;
  }

  #usable(n: ScheduledNeighbour, seq: number, nowMs: number): boolean {
    const cap = n.isEdge ? this.#o.maxOutstandingToEdge : this.#o.maxOutstandingPerNeighbour;
    if (n.outstanding >= cap || n.blockedUntilMs > nowMs || !n.map.has(seq)) return false;
    const failed = this.#failed.get(seq);
    return failed === undefined || !failed.includes(n.id);
  }

  /**
   * A request's timeout at `n`. A neighbour that missed more than it delivered gets the shortest
   * one: the chunk is asked elsewhere well before its deadline, not at it.
   */
  #timeoutOf(n: ScheduledNeighbour): number {
    const o = this.#o;
    return n.timeouts > n.delivered
      ? o.minRequestTimeoutMs
      : Number.isNaN(n.srttMs)
        ? o.requestTimeoutMs
        : Math.min(o.maxRequestTimeoutMs, Math.max(o.minRequestTimeoutMs, 3 * n.srttMs + 100));
  }

  #request(seq: number, n: ScheduledNeighbour, nowMs: number, urgent: boolean, ahead = false): void {
    const timeout = ahead ? NO_WAKE : this.#timeoutOf(n);
    this.#pending.set(seq, {
      to: n.id,
      sentAtMs: nowMs,
      timeoutAtMs: nowMs + timeout,
      duplicateTo: undefined,
      failed: undefined,
      ahead,
    });
    if (ahead) {
      n.aheadOutstanding++;
      this.counters.aheadRequests++;
    } else {
      n.outstanding++;
      this.#wake(nowMs + timeout);
    }
    this.counters.requests++;
    this.#actions.push(
      ahead ? { kind: 'request', seq, to: n.id, urgent, ahead } : { kind: 'request', seq, to: n.id, urgent },
    );
  }

  /**
   * 7. Standing requests: a seed asks the edge for the next chunks of its substreams before they
   *    exist; the edge sends each as soon as the source hands it over (no HAVE/REQUEST round
   *    trip on the first hop).
   */
  #pollAhead(nowMs: number, holds: (seq: number) => boolean): void {
    const k = this.#o.substreams;
    const edge = this.#edge;
    if (edge === undefined) return;
    for (let seq = this.#newestKnown + 1; seq <= this.#newestKnown + k; seq++) {
      if (edge.aheadOutstanding >= 2 * k) return;
      if (holds(seq) || this.#pending.has(seq) || !this.#isSeed(seq)) continue;
      if (this.#failed.get(seq)?.includes(edge.id) === true) continue;
      this.counters.seedRequests++;
      this.counters.edgeRequests++;
      this.#request(seq, edge, nowMs, false, true);
    }
  }

  /** 2. Timeouts: cancel, remember the failure, penalise, and let the next pass ask elsewhere. */
  #expire(nowMs: number, fromSeq: number, holds: (seq: number) => boolean): void {
    for (const [seq, p] of this.#pending) {
      if (seq < fromSeq) {
        // Played or skipped meanwhile: nothing to wait for any more.
        this.#releaseMain(p);
        this.#actions.push({ kind: 'cancel', seq, to: p.to, urgent: false });
        if (p.duplicateTo !== undefined) {
          this.#release(p.duplicateTo);
          this.#actions.push({ kind: 'cancel', seq, to: p.duplicateTo, urgent: false });
        }
        this.#pending.delete(seq);
        continue;
      }
      if (holds(seq)) {
        this.#releaseMain(p);
        if (p.duplicateTo !== undefined) this.#release(p.duplicateTo);
        this.#pending.delete(seq);
        continue;
      }
      if (p.timeoutAtMs > nowMs) {
        this.#wake(p.timeoutAtMs);
        continue;
      }
      const to = this.#neighbours.get(p.to);
      if (to?.isEdge === true) {
        // The edge is a server: a slow answer is a lossy path, not a liar. Wait on (its link's own
        // dead-peer detection ends it) rather than fail over to nobody.
        p.timeoutAtMs = nowMs + this.#o.maxRequestTimeoutMs;
        this.#wake(p.timeoutAtMs);
        continue;
      }
      const n = this.#neighbours.get(p.to);
      if (p.ahead) {
        this.counters.aheadMisses++;
      } else {
        this.counters.timeouts++;
        if (n !== undefined) n.timeouts++;
      }
      if (n !== undefined) this.#actions.push({ kind: 'cancel', seq, to: p.to, urgent: false });
      this.#fail(seq, p.to);
      this.#promoteOrDrop(seq, p);
    }
  }

  /** The pending request to `p.to` is over: its duplicate (if any) takes its place. */
  #promoteOrDrop(seq: number, p: Pending): void {
    this.#releaseMain(p);
    if (p.duplicateTo !== undefined) {
      p.to = p.duplicateTo;
      p.duplicateTo = undefined;
      p.ahead = false;
    } else {
      this.#pending.delete(seq);
    }
  }

  #fail(seq: number, id: string): void {
    const list = this.#failed.get(seq);
    if (list === undefined) this.#failed.set(seq, [id]);
    else if (!list.includes(id)) list.push(id);
  }

  /** Releases the slot the pending request's main target holds (a standing one or a pull). */
  #releaseMain(p: Pending): void {
    if (!p.ahead) {
      this.#release(p.to);
      return;
    }
    const n = this.#neighbours.get(p.to);
    if (n !== undefined && n.aheadOutstanding > 0) n.aheadOutstanding--;
  }

  #release(id: string): void {
    const n = this.#neighbours.get(id);
    if (n !== undefined && n.outstanding > 0) n.outstanding--;
  }

  #seen(seq: number, nowMs: number): void {
    if (seq > this.#newestKnown) this.#newestKnown = seq;
    if (!this.#firstSeen.has(seq)) this.#firstSeen.set(seq, nowMs);
  }

  /** Whether this node seeds `seq`: per substream, so a seed's children learn it is first there. */
  #isSeed(seq: number): boolean {
    if (!this.#o.seed || this.#seedPermille === 0) return false;
    let h = Math.imul((seq % this.#o.substreams) ^ this.#seedSalt, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return (h >>> 0) % 1000 < this.#seedPermille;
  }

  /** Asks for a poll at `atMs`; a time not after the current poll changes nothing by itself. */
  #wake(atMs: number): void {
    if (atMs > this.#nowMs && atMs < this.#wakeMs) this.#wakeMs = atMs;
  }
}

function positive<K extends keyof SchedulerOptions>(
  options: SchedulerOptions,
  name: K,
  fallback: number,
): number {
  const v = options[name] ?? fallback;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) invalid(name);
  return v;
}

function invalid(name: string): never {
  throw new InvalidOptionError(name, `${name}: invalid scheduler option`);
}
