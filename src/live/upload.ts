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
  #queuedBytes = 0;
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
  }

  /** Requests queued over all requesters. */
  get queued(): number {
    let n = 0;
    for (const r of this.#ring) n += r.queue.length;
    return n;
  }

  /**
   * Queues `seq` (of `bytes`) for `id`: `full` when the requester already has its share queued
   * (more than an honest requester ever asks: counted as a violation by the caller), `busy` when
   * the wait would exceed `maxQueueDelayMs`, `duplicate` when it is queued or was just served.
   */
  enqueue(id: string, seq: number, urgent: boolean, bytes: number): EnqueueResult {
    let r = this.#requesters.get(id);
    if (r === undefined) {
      r = {
        id,
        queue: [],
        sizes: [],
        served: new BufferMap(64),
        tokens: this.#requesterBurst,
        refilledAtMs: Number.NaN,
      };
      this.#requesters.set(id, r);
    }
    if (r.served.has(seq) || r.queue.includes(seq)) {
      this.counters.duplicates++;
      return 'duplicate';
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
    const i = r.queue.indexOf(seq);
    if (i < 0) return;
    r.queue.splice(i, 1);
    this.#queuedBytes -= r.sizes.splice(i, 1)[0]!;
    if (r.queue.length === 0) this.#leaveRing(r);
  }

  /** Forgets requester `id` and its queue. */
  remove(id: string): void {
    const r = this.#requesters.get(id);
    if (r === undefined) return;
    this.#requesters.delete(id);
    for (const b of r.sizes) this.#queuedBytes -= b;
    r.queue.length = 0;
    r.sizes.length = 0;
    this.#leaveRing(r);
  }

  /**
   * The next chunk to send at `nowMs`, or undefined when nothing is queued or the bucket is
   * empty. `bytesOf(seq)` is the chunk's size, or -1 when it is no longer held (the request is
   * then dropped and `onGone` called).
   */
  next(
    nowMs: number,
    bytesOf: (seq: number) => number,
    onGone: (id: string, seq: number) => void,
  ): { to: string; seq: number } | undefined {
    this.#refill(nowMs);
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
      this.#queuedBytes -= r.sizes.shift()!;
      if (r.queue.length === 0) this.#leaveRing(r);
      else this.#turn++;
      const bytes = bytesOf(seq);
      if (bytes < 0) {
        onGone(r.id, seq);
        continue;
      }
      if (Number.isFinite(this.capBps)) this.#tokens -= bytes;
      if (Number.isFinite(r.tokens)) r.tokens -= bytes;
      r.served.add(seq);
      this.counters.served++;
      this.counters.bytes += bytes;
      return { to: r.id, seq };
    }
    return undefined;
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
    if (this.#ring.length === 0 || this.capBps <= 0) return Number.POSITIVE_INFINITY;
    let requester = Number.POSITIVE_INFINITY;
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
