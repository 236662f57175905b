/**
 * A binary min-heap of (deadline, key) with keys below a fixed capacity, each present at most once.
 * The pool keeps cooling and foreign ports here: popping what is due is O(log n) per port and
 * looking at the earliest deadline is O(1).
 */
export class TimerHeap {
  readonly #times: Float64Array;
  readonly #keys: Int32Array;
  readonly #where: Int32Array;
  #size = 0;

  constructor(capacity: number) {
    this.#times = new Float64Array(capacity);
    this.#keys = new Int32Array(capacity);
    this.#where = new Int32Array(capacity).fill(-1);
  }

  get size(): number {
    return this.#size;
  }

  has(key: number): boolean {
    return this.#where[key]! >= 0;
  }

  /** Earliest deadline, or Infinity when empty. */
  peekTime(): number {
    return this.#size === 0 ? Number.POSITIVE_INFINITY : this.#times[0]!;
  }

  /** Inserts `key` due at `time`, or moves it there when it is already present. */
  set(key: number, time: number): void {
    let i = this.#where[key]!;
    if (i < 0) {
      i = this.#size++;
      this.#keys[i] = key;
      this.#where[key] = i;
    }
    this.#times[i] = time;
    this.#siftUp(i);
    this.#siftDown(this.#where[key]!);
  }

  delete(key: number): void {
    const i = this.#where[key]!;
    if (i < 0) return;
    this.#where[key] = -1;
    const last = --this.#size;
    if (i === last) return;
    this.#times[i] = this.#times[last]!;
    this.#keys[i] = this.#keys[last]!;
    this.#where[this.#keys[i]!] = i;
    this.#siftUp(i);
    this.#siftDown(this.#where[this.#keys[i]!]!);
  }

  /** Removes and returns the earliest key when it is due at `now`, else -1. */
  popDue(now: number): number {
    if (this.#size === 0 || this.#times[0]! > now) return -1;
    const key = this.#keys[0]!;
    this.delete(key);
    return key;
  }

  #swap(a: number, b: number): void {
    const t = this.#times[a]!;
    this.#times[a] = this.#times[b]!;
    this.#times[b] = t;
    const k = this.#keys[a]!;
    this.#keys[a] = this.#keys[b]!;
    this.#keys[b] = k;
    this.#where[this.#keys[a]!] = a;
    this.#where[this.#keys[b]!] = b;
  }

  #siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#times[parent]! <= this.#times[i]!) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #siftDown(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let least = i;
      if (l < this.#size && this.#times[l]! < this.#times[least]!) least = l;
      if (r < this.#size && this.#times[r]! < this.#times[least]!) least = r;
      if (least === i) return;
      this.#swap(i, least);
      i = least;
    }
  }
}
