/**
 * The one bounded queue between a producer that must never block (a socket's datagram handler)
 * and an async reader (`for await`). Every layer's async iterator of datagrams, sessions or
 * relayed packets is one of these, with the same rules:
 *
 * - **Capacity.** At most `capacity` items wait; the ring grows on demand up to it, so a large
 *   capacity costs nothing until the reader falls behind.
 * - **Overflow.** When full, `'drop-oldest'` evicts the oldest waiting item (live media: the
 *   newest matters most) and `'drop-newest'` refuses the new one (`push` returns false). Either
 *   way {@link DatagramQueue.dropped} counts it.
 * - **Ending.** {@link DatagramQueue.end} stops accepting; readers get what is queued, then
 *   `done`. {@link DatagramQueue.clear} discards what is queued (and returns it).
 * - **`break`.** Breaking out of `for await` (the iterator's `return()`) ends *that reader*
 *   only: the queue and its producer stay open, items keep queueing, and a new reader reads on.
 *   An owner that gives each reader its own queue learns of it through `onReturn`.
 * @module
 */

/** What a full {@link DatagramQueue} does with one more item. */
export const OverflowPolicy = {
  /** Evict the oldest waiting item and queue the new one. */
  DROP_OLDEST: 'drop-oldest',
  /** Refuse the new item (`push` returns false). */
  DROP_NEWEST: 'drop-newest',
} as const;
/** One of the {@link OverflowPolicy} values. */
export type OverflowPolicyType = (typeof OverflowPolicy)[keyof typeof OverflowPolicy];

/** Settings of a {@link DatagramQueue}. */
export interface DatagramQueueOptions {
  /** Most items waiting at once, ≥ 1. */
  readonly capacity: number;
  /** What a full queue does. Default `'drop-newest'`. */
  readonly overflow?: OverflowPolicyType;
}

/** Settings of one reader of a {@link DatagramQueue}. */
export interface DatagramReaderOptions {
  /** Ends this reader (a pending `next()` resolves `done`) when it fires. */
  readonly signal?: AbortSignal;
  /** Called once when this reader ends early: `break`, `return()` or its signal. */
  readonly onReturn?: () => void;
}

/** An async iterator over a {@link DatagramQueue}; `return()` ends this reader only. */
export interface DatagramReader<T> extends AsyncIterableIterator<T> {
  return(): Promise<IteratorResult<T, undefined>>;
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ value: undefined, done: true });
type Waiter<T> = (result: IteratorResult<T, undefined>) => void;
/** Module-private hooks a reader uses to wait on, and stop waiting on, its queue. */
const kWait = Symbol('wait');
const kUnwait = Symbol('unwait');
const INITIAL_SLOTS = 16;

/** See the module doc. One reader reads at a time (a second concurrent `next()` rejects). */
export class DatagramQueue<T> implements AsyncIterable<T> {
  /** Most items waiting at once. */
  readonly capacity: number;
  /** What a full queue does. */
  readonly overflow: OverflowPolicyType;
  #slots: (T | undefined)[];
  #head = 0;
  #size = 0;
  #dropped = 0;
  #ended = false;
  #waiter: Waiter<T> | undefined;

  /** @throws RangeError for a capacity that is not a whole number ≥ 1 (callers validate their option first). */
  constructor(options: DatagramQueueOptions) {
    const { capacity } = options;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`DatagramQueue capacity must be a whole number ≥ 1, got ${capacity}`);
    }
    this.capacity = capacity;
    this.overflow = options.overflow ?? OverflowPolicy.DROP_NEWEST;
    this.#slots = new Array<T | undefined>(Math.min(capacity, INITIAL_SLOTS)).fill(undefined);
  }

  /** Items waiting to be read. */
  get size(): number {
    return this.#size;
  }

  /** Items dropped because the queue was full (evicted or refused, per {@link overflow}). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Whether {@link end} was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether a reader is waiting for an item right now (a push goes straight to it). */
  get hasWaiter(): boolean {
    return this.#waiter !== undefined;
  }

  /**
   * Offers one item: hands it to a waiting reader, queues it, or applies the overflow policy.
   * Returns false when the item itself was not taken (refused when full, or the queue ended).
   */
  push(item: T): boolean {
    if (this.#ended) return false;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: item, done: false });
      return true;
    }
    if (this.#size === this.capacity) {
      this.#dropped++;
      if (this.overflow === OverflowPolicy.DROP_NEWEST) return false;
      const slots = this.#slots;
      slots[this.#head] = item; // the oldest slot becomes the newest
      this.#head = this.#head + 1 === slots.length ? 0 : this.#head + 1;
      return true;
    }
    if (this.#size === this.#slots.length) this.#grow();
    const slots = this.#slots;
    let at = this.#head + this.#size;
    if (at >= slots.length) at -= slots.length;
    slots[at] = item;
    this.#size++;
    return true;
  }

  /** Takes the oldest waiting item, if any (synchronous readers, hand-over to a callback). */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const slots = this.#slots;
    const item = slots[this.#head] as T;
    slots[this.#head] = undefined;
    this.#head = this.#head + 1 === slots.length ? 0 : this.#head + 1;
    this.#size--;
    return item;
  }

  /**
   * The next item; resolves `done` once the queue ended and is empty.
   * @throws (rejects) TypeError when another `next()` is still pending.
   */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#size > 0) return Promise.resolve({ value: this.shift() as T, done: false });
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this[kWait](resolve, reject));
  }

  /** @internal Registers the one waiting reader (rejects a second). */
  [kWait](resolve: Waiter<T>, reject: (error: Error) => void): void {
    if (this.#waiter !== undefined) {
      reject(new TypeError('next() called again before the previous call settled'));
      return;
    }
    this.#waiter = resolve;
  }

  /** @internal Forgets `resolve` as the waiting reader (its reader ended). */
  [kUnwait](resolve: Waiter<T>): void {
    if (this.#waiter === resolve) this.#waiter = undefined;
  }

  /** Stops accepting items; readers get what is queued, then `done`. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#release();
  }

  /** Removes and returns every waiting item, oldest first (e.g. to count or close them). */
  clear(): T[] {
    const out: T[] = [];
    while (this.#size > 0) out.push(this.shift() as T);
    this.#head = 0;
    return out;
  }

  /** A new reader (see the module doc for what its `return()` does). */
  reader(options: DatagramReaderOptions = {}): DatagramReader<T> {
    return new QueueReader(this, options);
  }

  /** Same as {@link reader} without options: what `for await (const x of queue)` uses. */
  [Symbol.asyncIterator](): DatagramReader<T> {
    return this.reader();
  }

  #release(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(DONE);
  }

  #grow(): void {
    const old = this.#slots;
    const next = new Array<T | undefined>(Math.min(this.capacity, old.length * 2)).fill(undefined);
    for (let i = 0; i < this.#size; i++) {
      let from = this.#head + i;
      if (from >= old.length) from -= old.length;
      next[i] = old[from];
    }
    this.#slots = next;
    this.#head = 0;
  }
}

/** One reader: forwards to the queue until it ends; ending it leaves the queue as it is. */
class QueueReader<T> implements DatagramReader<T> {
  readonly #queue: DatagramQueue<T>;
  readonly #options: DatagramReaderOptions;
  #done = false;
  #pending: Waiter<T> | undefined;
  readonly #onAbort = (): void => {
    void this.return();
  };

  constructor(queue: DatagramQueue<T>, options: DatagramReaderOptions) {
    this.#queue = queue;
    this.#options = options;
    const signal = options.signal;
    if (signal?.aborted) queueMicrotask(this.#onAbort);
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#done) return Promise.resolve(DONE);
    const queue = this.#queue;
    if (queue.size > 0 || queue.ended) return queue.next();
    return new Promise<IteratorResult<T, undefined>>((resolve, reject) => {
      const settle: Waiter<T> = (result) => {
        if (this.#pending === settle) this.#pending = undefined;
        resolve(result);
      };
      this.#pending = settle;
      queue[kWait](settle, reject);
    });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    if (this.#done) return Promise.resolve(DONE);
    this.#done = true;
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined) {
      this.#queue[kUnwait](pending);
      pending(DONE);
    }
    this.#options.onReturn?.();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): DatagramReader<T> {
    return this;
  }
}
