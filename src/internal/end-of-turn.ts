/**
 * Work a driver defers to the end of the current event-loop turn: after every I/O callback of the
 * turn's poll phase (the check phase, `setImmediate`), so what several datagrams read together
 * ask for is done once — the acknowledgements of a burst leave in one datagram, not one each. At
 * most one immediate is pending per queue; adding an item that is already queued does nothing.
 * @module
 */

/** A set of items, each run once at the end of the turn in which it was added. */
export class EndOfTurn<T> {
  readonly #items = new Set<T>();
  readonly #run: (item: T) => void;
  #pending: NodeJS.Immediate | undefined;
  readonly #onImmediate = (): void => {
    this.#pending = undefined;
    try {
      // Items added while this runs (a flush that defers another) are visited in the same pass.
      for (const item of this.#items) {
        this.#items.delete(item);
        this.#run(item);
      }
    } finally {
      if (this.#items.size > 0) this.#schedule();
    }
  };

  /** @param run does the deferred work of one item. */
  constructor(run: (item: T) => void) {
    this.#run = run;
  }

  /** Items waiting for the end of the turn. */
  get size(): number {
    return this.#items.size;
  }

  /** Runs `item` at the end of this turn (once, however often it is added before then). */
  add(item: T): void {
    this.#items.add(item);
    if (this.#pending === undefined) this.#schedule();
  }

  /** Forgets every waiting item and the pending immediate. */
  clear(): void {
    this.#items.clear();
    if (this.#pending !== undefined) clearImmediate(this.#pending);
    this.#pending = undefined;
  }

  #schedule(): void {
    this.#pending = setImmediate(this.#onImmediate);
  }
}
