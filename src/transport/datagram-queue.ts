import type { RemoteInfo } from 'node:dgram';

/** One received datagram: the Buffer the socket received (not a copy) and its source. */
export interface ReceivedDatagram {
  readonly data: Buffer;
  readonly from: RemoteInfo;
}

/**
 * A bounded queue read as an async iterator. When the reader falls behind by `capacity`
 * datagrams the oldest is dropped and counted (live media: the newest matters most).
 * Ending lets the reader drain what is queued, then finishes the iteration.
 */
export class DatagramQueue implements AsyncIterableIterator<ReceivedDatagram> {
  readonly capacity: number;
  readonly #data: (Buffer | undefined)[];
  readonly #from: (RemoteInfo | undefined)[];
  readonly #onFinish: (queue: DatagramQueue) => void;
  #head = 0;
  #size = 0;
  #dropped = 0;
  #ended = false;
  #waiter: ((result: IteratorResult<ReceivedDatagram>) => void) | undefined;
  #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => {
    void this.return();
  };

  /** @param onFinish called once when the reader stops (`return()`, abort) or the queue ends. */
  constructor(capacity: number, onFinish: (queue: DatagramQueue) => void, signal?: AbortSignal) {
    this.capacity = capacity;
    this.#data = new Array<Buffer | undefined>(capacity).fill(undefined);
    this.#from = new Array<RemoteInfo | undefined>(capacity).fill(undefined);
    this.#onFinish = onFinish;
    if (signal !== undefined) {
      this.#signal = signal;
      if (signal.aborted) queueMicrotask(this.#onAbort);
      else signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Datagrams dropped because the reader was `capacity` behind. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Datagrams waiting to be read. */
  get size(): number {
    return this.#size;
  }

  /** Offers one datagram; hands it straight to a waiting reader when there is one. */
  push(data: Buffer, from: RemoteInfo): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: { data, from }, done: false });
      return;
    }
    let slot = this.#head + this.#size;
    if (slot >= this.capacity) slot -= this.capacity;
    if (this.#size === this.capacity) {
      this.#dropped++;
      this.#head = this.#head + 1 === this.capacity ? 0 : this.#head + 1;
    } else {
      this.#size++;
    }
    this.#data[slot] = data;
    this.#from[slot] = from;
  }

  /** Stops accepting datagrams; the reader gets what is queued, then `done`. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#onFinish(this);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<ReceivedDatagram>> {
    if (this.#size > 0) {
      const i = this.#head;
      const value = { data: this.#data[i]!, from: this.#from[i]! };
      this.#data[i] = undefined;
      this.#from[i] = undefined;
      this.#head = i + 1 === this.capacity ? 0 : i + 1;
      this.#size--;
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter !== undefined) {
      return Promise.reject(new TypeError('next() called again before the previous call settled'));
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** The reader stops early (`break` in `for await`): discards what is queued. */
  return(): Promise<IteratorResult<ReceivedDatagram>> {
    this.#data.fill(undefined);
    this.#from.fill(undefined);
    this.#size = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedDatagram> {
    return this;
  }
}
