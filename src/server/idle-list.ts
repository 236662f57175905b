/**
 * An intrusive list of sessions ordered by last activity, oldest first: touching a session moves
 * it to the tail in O(1), and an idle sweep only visits the sessions that expired. One list and one
 * sweep timer serve every session; nothing is scheduled per session or per datagram.
 * @module
 */

/** The links a list member carries (kept on the member itself: no node allocation). */
export interface IdleLinks<T> {
  /** @internal */
  idlePrev: T | undefined;
  /** @internal */
  idleNext: T | undefined;
  /** @internal Last activity, in the list's clock (milliseconds). */
  lastActiveMs: number;
  /** @internal Whether the member is in a list. */
  idleLinked: boolean;
}

/** A list of {@link IdleLinks} members, least recently active first. */
export class IdleList<T extends IdleLinks<T>> {
  #head: T | undefined;
  #tail: T | undefined;
  #size = 0;

  /** Members in the list. */
  get size(): number {
    return this.#size;
  }

  /** Marks `item` active at `nowMs` and moves it to the tail (adds it when absent). */
  touch(item: T, nowMs: number): void {
    if (item.idleLinked && item.lastActiveMs === nowMs) return;
    item.lastActiveMs = nowMs;
    if (item.idleLinked) {
      if (this.#tail === item) return;
      this.#unlink(item);
    }
    item.idlePrev = this.#tail;
    item.idleNext = undefined;
    if (this.#tail !== undefined) this.#tail.idleNext = item;
    else this.#head = item;
    this.#tail = item;
    item.idleLinked = true;
    this.#size++;
  }

  /** Removes `item` (no-op when absent). */
  remove(item: T): void {
    if (item.idleLinked) this.#unlink(item);
  }

  /** Removes and returns the members last active before `cutoffMs`, oldest first. */
  takeIdleBefore(cutoffMs: number): T[] {
    const out: T[] = [];
    let item = this.#head;
    while (item !== undefined && item.lastActiveMs < cutoffMs) {
      const next = item.idleNext;
      this.#unlink(item);
      out.push(item);
      item = next;
    }
    return out;
  }

  #unlink(item: T): void {
    const { idlePrev, idleNext } = item;
    if (idlePrev !== undefined) idlePrev.idleNext = idleNext;
    else this.#head = idleNext;
    if (idleNext !== undefined) idleNext.idlePrev = idlePrev;
    else this.#tail = idlePrev;
    item.idlePrev = undefined;
    item.idleNext = undefined;
    item.idleLinked = false;
    this.#size--;
  }
}
