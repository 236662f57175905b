/**
 * A FIFO with a cap that one async reader drains: `push` never blocks (it refuses when full, and
 * the caller counts the drop), `next()` resolves with the next item or `done` once ended.
 * @module
 */
export class BoundedQueue<T> {
  readonly #cap: number;
  #items: T[] = [];
  #head = 0;
  #waiter: ((result: IteratorResult<T, undefined>) => void) | undefined;
  #ended = false;

  /** @param cap Most items held at once (≥ 1). */
  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Items waiting. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Whether {@link end} was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether a reader is waiting for an item right now. */
  get hasWaiter(): boolean {
    return this.#waiter !== undefined;
  }

  /** Adds `item`, or hands it straight to a waiting reader. False when full or ended (not added). */
  push(item: T): boolean {
    if (this.#ended) return false;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: item, done: false });
      return true;
    }
    if (this.length >= this.#cap) return false;
    this.#items.push(item);
    return true;
  }

  /** Takes the oldest item, if any. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head]!;
    (this.#items as (T | undefined)[])[this.#head] = undefined;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** The next item; resolves `done` once ended and empty. One reader at a time. */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.length > 0) return Promise.resolve({ value: this.shift()!, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** Stops accepting items; a waiting reader gets `done`. Returns the items still queued (removed). */
  end(): T[] {
    this.#ended = true;
    const left = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
    return left;
  }
}
