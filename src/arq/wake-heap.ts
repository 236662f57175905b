/**
 * An indexed binary min-heap of wake-up times: one entry per conversation that needs a future
 * `update`, so one timer per socket can sleep until the earliest. Moving an entry is O(log n);
 * idle conversations are simply not in the heap.
 * @module
 */

/** Something the heap can hold: it stores its own wake time and heap position. */
export interface Wakeable {
  /** When to wake, ms on the endpoint's clock; `Infinity` when not scheduled. */
  wakeAt: number;
  /** Position in the heap, -1 when not in it. Owned by the heap. */
  heapIndex: number;
}

/** See the module doc. */
export class WakeHeap<T extends Wakeable> {
  readonly #items: T[] = [];

  /** Entries in the heap. */
  get size(): number {
    return this.#items.length;
  }

  /** The entry with the earliest wake time, or undefined. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Sets `item`'s wake time (inserting, moving or, for `Infinity`, removing it). */
  schedule(item: T, wakeAt: number): void {
    if (wakeAt === Number.POSITIVE_INFINITY) {
      this.remove(item);
      return;
    }
    const old = item.wakeAt;
    item.wakeAt = wakeAt;
    if (item.heapIndex < 0) {
      item.heapIndex = this.#items.length;
      this.#items.push(item);
      this.#up(item.heapIndex);
    } else if (wakeAt < old) this.#up(item.heapIndex);
    else if (wakeAt > old) this.#down(item.heapIndex);
  }

  /** Takes `item` out of the heap (no-op when absent). */
  remove(item: T): void {
    const i = item.heapIndex;
    item.wakeAt = Number.POSITIVE_INFINITY;
    if (i < 0) return;
    item.heapIndex = -1;
    const last = this.#items.pop()!;
    if (last === item) return;
    this.#items[i] = last;
    last.heapIndex = i;
    this.#down(i);
    this.#up(last.heapIndex);
  }

  /** Removes and returns the earliest entry when it is due at `now`, else undefined. */
  popDue(now: number): T | undefined {
    const top = this.#items[0];
    if (top === undefined || top.wakeAt > now) return undefined;
    this.remove(top);
    return top;
  }

  #up(i: number): void {
    const items = this.#items;
    const item = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (p.wakeAt <= item.wakeAt) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && items[right]!.wakeAt < items[child]!.wakeAt) child = right;
      const c = items[child]!;
      if (c.wakeAt >= item.wakeAt) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
