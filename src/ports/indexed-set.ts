/**
 * A set of small integer keys (0 ≤ key < capacity) with O(1) add, delete, has and random pick:
 * a dense array of members plus each key's index into it (the structure rtpengine keeps its free
 * ports in). No allocation after construction.
 */
export class IndexedSet {
  readonly #members: Int32Array;
  readonly #index: Int32Array;
  #size = 0;

  constructor(capacity: number) {
    this.#members = new Int32Array(capacity);
    this.#index = new Int32Array(capacity).fill(-1);
  }

  get size(): number {
    return this.#size;
  }

  has(key: number): boolean {
    return this.#index[key]! >= 0;
  }

  add(key: number): void {
    if (this.#index[key]! >= 0) return;
    this.#members[this.#size] = key;
    this.#index[key] = this.#size++;
  }

  delete(key: number): void {
    const at = this.#index[key]!;
    if (at < 0) return;
    const lastKey = this.#members[--this.#size]!;
    this.#members[at] = lastKey;
    this.#index[lastKey] = at;
    this.#index[key] = -1;
  }

  /** The member at position `i` (0 ≤ i < size); positions change as members come and go. */
  at(i: number): number {
    return this.#members[i]!;
  }
}
