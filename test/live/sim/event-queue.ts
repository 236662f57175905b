// A binary min-heap of simulator events ordered by time, then by insertion (deterministic).

/** One scheduled event; `kind` and the payload fields are the simulator's. */
export interface SimEvent {
  atMs: number;
  order: number;
  kind: number;
  node: number;
  from: number;
  data: unknown;
}

/** The simulator's event queue. */
export class EventQueue {
  readonly #heap: SimEvent[] = [];
  #order = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(atMs: number, kind: number, node: number, from: number, data: unknown): void {
    const e: SimEvent = { atMs, order: this.#order++, kind, node, from, data };
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(e, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = e;
  }

  pop(): SimEvent | undefined {
    const h = this.#heap;
    const top = h[0];
    if (top === undefined) return undefined;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && less(h[r]!, h[l]!) ? r : l;
        if (!less(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function less(a: SimEvent, b: SimEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
}
