/**
 * The upload side of a node: requests queued per requester, served round-robin (fair sharing:
 * each requester with work gets one chunk in turn) under a token-bucket cap. Sans-I/O.
 * @module
 */
import { BufferMap } from './buffer-map.ts';

/** Upload settings. */
export interface UploadOptions {
  /** Average upload cap, bit/s; 0 = leech only, Infinity = no cap (an edge). */
  readonly capBps: number;
  /** Bucket depth: how far a node may burst above its cap, ms of cap; default 500. */
  readonly burstMs?: number;
  /** Requests one requester may have queued; default 8. More are refused (BUSY) and counted. */
  readonly maxQueuedPerRequester?: number;
  /**
   * Longest wait a new request may face (queued bytes at the cap), ms; default 250. A request that
   * would wait longer is refused at once (BUSY), so the requester asks someone else instead of
   * timing out.
   */
  readonly maxQueueDelayMs?: number;
  /**
   * Most one requester is served, bit/s, as a token bucket of `requesterBurstMs`; default
   * Infinity. A viewer never needs much more than the stream's bitrate, so a flooder gets no more
   * than that from anyone, an edge included.
   */
  readonly perRequesterBps?: number;
  /** Depth of the per-requester bucket, ms; default 2000 (catching up after a join). */
  readonly requesterBurstMs?: number;
  /**
   * Which queued request goes next: `freshest` (default) the newest chunk over all requesters
   * (urgent ones first), which is the rarest in the swarm; `round-robin` one chunk per requester
   * in turn, each requester's own queue in order.
   */
  readonly order?: 'freshest' | 'round-robin';
}

/** Why {@link UploadQueue.enqueue} refused a request. */
export type EnqueueResult = 'queued' | 'busy' | 'full' | 'duplicate';

interface Requester {
  readonly id: string;
  readonly queue: number[];
  /** Bytes of each queued chunk, parallel to `queue`. */
  readonly sizes: number[];
  /** Chunks already served to it, to count re-requests. */
  readonly served: BufferMap;
  /** The first `urgent` entries of `queue` are urgent requests. */
  urgent: number;
  tokens: number;
  refilledAtMs: number;
}

/** Round-robin upload queue with a token-bucket cap. */
export class UploadQueue {
  readonly capBps: number;
  readonly #burstBytes: number;
  readonly #maxQueued: number;
  readonly #maxQueueDelayMs: number;
  readonly #perRequesterBps: number;
  readonly #requesterBurst: number;
  readonly #freshest: boolean;
  #queuedBytes = 0;
  /** Pushes (standing requests whose chunk arrived): served before the ring, oldest first. */
  readonly #push: { r: Requester; seq: number; bytes: number }[] = [];
  readonly #requesters = new Map<string, Requester>();
  readonly #ring: Requester[] = [];
  #turn = 0;
  #tokens: number;
  #refilledAtMs = Number.NaN;
  /** Requests refused because the requester's queue was full, or repeated. */
  readonly counters = { busy: 0, duplicates: 0, served: 0, bytes: 0 };

  constructor(options: UploadOptions) {
    this.capBps = options.capBps;
    this.#burstBytes = ((options.burstMs ?? 500) / 1000) * (options.capBps / 8);
    this.#maxQueued = options.maxQueuedPerRequester ?? 8;
    this.#maxQueueDelayMs = options.maxQueueDelayMs ?? 250;
    this.#perRequesterBps = options.perRequesterBps ?? Number.POSITIVE_INFINITY;
    this.#requesterBurst = Number.isFinite(this.#perRequesterBps)
      ? (((options.requesterBurstMs ?? 2000) / 1000) * this.#perRequesterBps) / 8
      : Number.POSITIVE_INFINITY;
    this.#tokens = this.#burstBytes;
    this.#freshest = (options.order ?? 'freshest') === 'freshest';
  }

  /** Requests queued over all requesters. */
  get queued(): number {
    let n = this.#push.length;
    for (const r of this.#ring) n += r.queue.length;
    return n;
  }

  /**
   * Queues `seq` (of `bytes`) for `id`: `full` when the requester already has its share queued
   * (more than an honest requester ever asks: counted as a violation by the caller), `busy` when
   * the wait would exceed `maxQueueDelayMs`, `duplicate` when it is queued or was just served.
   * With `push` (a standing request, accepted earlier, whose chunk has just arrived) it goes
   * before every other request, with no wait limit: the caller bounds how many it accepts.
   */
  enqueue(id: string, seq: number, urgent: boolean, bytes: number, push = false): EnqueueResult {
    let r = this.#requesters.get(id);
    if (r === undefined) {
      r = {
        id,
        queue: [],
        sizes: [],
        served: new BufferMap(64),
        urgent: 0,
        tokens: this.#requesterBurst,
        refilledAtMs: Number.NaN,
      };
      this.#requesters.set(id, r);
    }
    if (r.served.has(seq) || r.queue.includes(seq)) {
      this.counters.duplicates++;
      return 'duplicate';
    }
    if (push) {
      this.#queuedBytes += bytes;
      this.#push.push({ r, seq, bytes });
      return 'queued';
    }
    if (r.queue.length >= this.#maxQueued) {
      this.counters.busy++;
      return 'full';
    }
    if (Number.isFinite(this.capBps)) {
      const waitMs = ((this.#queuedBytes - Math.min(0, this.#tokens)) * 8000) / this.capBps;
      if (waitMs > this.#maxQueueDelayMs) {
        this.counters.busy++;
        return 'busy';
      }
    }
    this.#queuedBytes += bytes;
    if (r.queue.length === 0) this.#ring.push(r);
    // An urgent request goes first in its requester's own queue (it never jumps other requesters).
    if (urgent) {
      r.queue.unshift(seq);
      r.sizes.unshift(bytes);
      r.urgent++;
    } else {
      r.queue.push(seq);
      r.sizes.push(bytes);
    }
    return 'queued';
  }

  /** Drops `seq` from `id`'s queue (a CANCEL). */
  cancel(id: string, seq: number): void {
    const r = this.#requesters.get(id);
    if (r === undefined) return;
    const k = this.#push.findIndex((e) => e.r === r && e.seq === seq);
    if (k >= 0) this.#queuedBytes -= this.#push.splice(k, 1)[0]!.bytes;
    const i = r.queue.indexOf(seq);
    if (i < 0) return;
    r.queue.splice(i, 1);
    if (i < r.urgent) r.urgent--;
    this.#queuedBytes -= r.sizes.splice(i, 1)[0]!;
    if (r.queue.length === 0) this.#leaveRing(r);
  }

  /** Forgets requester `id` and its queue. */
  remove(id: string): void {
    const r = this.#requesters.get(id);
    if (r === undefined) return;
    this.#requesters.delete(id);
    for (const b of r.sizes) this.#queuedBytes -= b;
    for (let k = this.#push.length - 1; k >= 0; k--) {
      if (this.#push[k]!.r === r) this.#queuedBytes -= this.#push.splice(k, 1)[0]!.bytes;
    }
    r.queue.length = 0;
    r.urgent = 0;
    r.sizes.length = 0;
    this.#leaveRing(r);
  }

  /**
   * The next chunk to send at `nowMs`, or undefined when nothing is queued or the bucket is
   * empty. `bytesOf(seq, id)` is the chunk's size, -1 when it is no longer held or -3 when it
   * cannot go to `id` now (its link is backlogged) — the request is then dropped and
   * `onGone(id, seq, code)` called — or -2 when `id` no longer wants it (it announced it since:
   * dropped silently).
   */
  next(
    nowMs: number,
    bytesOf: (seq: number, id: string) => number,
    onGone: (id: string, seq: number, code: number) => void,
  ): { to: string; seq: number } | undefined {
    this.#refill(nowMs);
    while (this.#push.length > 0 && this.#tokens > 0) {
      const { r, seq, bytes: queued } = this.#push.shift()!;
      this.#queuedBytes -= queued;
      const bytes = bytesOf(seq, r.id);
      if (bytes < 0) {
        if (bytes !== -2) onGone(r.id, seq, bytes);
        continue;
      }
      this.#requesterReady(r, nowMs);
      return this.#served(r, seq, bytes);
    }
    if (this.#freshest) return this.#nextFreshest(nowMs, bytesOf, onGone);
    // One turn round the ring at most: requesters out of their own tokens are passed over.
    let skipped = 0;
    while (this.#ring.length > 0 && this.#tokens > 0 && skipped < this.#ring.length) {
      if (this.#turn >= this.#ring.length) this.#turn = 0;
      const r = this.#ring[this.#turn]!;
      if (!this.#requesterReady(r, nowMs)) {
        this.#turn++;
        skipped++;
        continue;
      }
      skipped = 0;
      const seq = r.queue.shift()!;
      if (r.urgent > 0) r.urgent--;
      this.#queuedBytes -= r.sizes.shift()!;
      if (r.queue.length === 0) this.#leaveRing(r);
      else this.#turn++;
      const bytes = bytesOf(seq, r.id);
      if (bytes < 0) {
        if (bytes !== -2) onGone(r.id, seq, bytes);
        continue;
      }
      return this.#served(r, seq, bytes);
    }
    return undefined;
  }

  /** The newest queued chunk over the requesters with tokens; an urgent one (queued first) wins. */
  #nextFreshest(
    nowMs: number,
    bytesOf: (seq: number, id: string) => number,
    onGone: (id: string, seq: number, code: number) => void,
  ): { to: string; seq: number } | undefined {
    while (this.#ring.length > 0 && this.#tokens > 0) {
      let best: Requester | undefined;
      let bestAt = -1;
      let bestKey = Number.NEGATIVE_INFINITY;
      for (const r of this.#ring) {
        if (!this.#requesterReady(r, nowMs)) continue;
        for (let i = 0; i < r.queue.length; i++) {
          const key = (i < r.urgent ? 2 ** 33 : 0) + r.queue[i]!;
          if (key > bestKey) {
            bestKey = key;
            best = r;
            bestAt = i;
          }
        }
      }
      if (best === undefined) return undefined;
      const seq = best.queue.splice(bestAt, 1)[0]!;
      this.#queuedBytes -= best.sizes.splice(bestAt, 1)[0]!;
      if (bestAt < best.urgent) best.urgent--;
      if (best.queue.length === 0) this.#leaveRing(best);
      const bytes = bytesOf(seq, best.id);
      if (bytes < 0) {
        if (bytes !== -2) onGone(best.id, seq, bytes);
        continue;
      }
      return this.#served(best, seq, bytes);
    }
    return undefined;
  }

  #served(r: Requester, seq: number, bytes: number): { to: string; seq: number } {
    if (Number.isFinite(this.capBps)) this.#tokens -= bytes;
    if (Number.isFinite(r.tokens)) r.tokens -= bytes;
    r.served.add(seq);
    this.counters.served++;
    this.counters.bytes += bytes;
    return { to: r.id, seq };
  }

  #requesterReady(r: Requester, nowMs: number): boolean {
    if (!Number.isFinite(r.tokens)) return true;
    if (!Number.isNaN(r.refilledAtMs) && nowMs > r.refilledAtMs) {
      r.tokens = Math.min(
        this.#requesterBurst,
        r.tokens + ((nowMs - r.refilledAtMs) * this.#perRequesterBps) / 8000,
      );
    }
    r.refilledAtMs = nowMs;
    return r.tokens > 0;
  }

  /** When the bucket will allow the next send, ms; Infinity when nothing waits. */
  nextWakeMs(nowMs: number): number {
    if ((this.#ring.length === 0 && this.#push.length === 0) || this.capBps <= 0)
      return Number.POSITIVE_INFINITY;
    let requester = this.#push.length > 0 ? nowMs : Number.POSITIVE_INFINITY;
    for (const r of this.#ring) {
      if (!Number.isFinite(r.tokens) || r.tokens > 0) {
        requester = nowMs;
        break;
      }
      requester = Math.min(requester, nowMs + Math.ceil((-r.tokens + 1) / (this.#perRequesterBps / 8000)));
    }
    const bucket = this.#tokens > 0 ? nowMs : nowMs + Math.ceil((-this.#tokens + 1) / (this.capBps / 8000));
    const at = Math.max(bucket, requester);
    // Work that is possible now was done by next(); "now" here means a requester refilled meanwhile.
    return at <= nowMs ? nowMs + 1 : at;
  }

  #refill(nowMs: number): void {
    if (!Number.isFinite(this.capBps)) {
      this.#tokens = 1;
      return;
    }
    if (!Number.isNaN(this.#refilledAtMs) && nowMs > this.#refilledAtMs) {
      this.#tokens = Math.min(
        this.#burstBytes,
        this.#tokens + ((nowMs - this.#refilledAtMs) * this.capBps) / 8000,
      );
    }
    this.#refilledAtMs = nowMs;
  }

  #leaveRing(r: Requester): void {
    const i = this.#ring.indexOf(r);
    if (i < 0) return;
    this.#ring.splice(i, 1);
    if (this.#turn > i) this.#turn--;
  }
}
