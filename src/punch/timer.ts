/**
 * One timer that wakes a sans-I/O core at its `nextWakeMs()`: re-armed after every flush, never
 * more than one pending, cleared by `stop()`.
 * @module
 */

/** Wakes a core at the time it asks for. */
export class CoreTimer {
  readonly #now: () => number;
  readonly #next: () => number;
  readonly #fire: (nowMs: number) => void;
  #timer: NodeJS.Timeout | null = null;
  #at = Number.POSITIVE_INFINITY;
  #stopped = false;

  /** @param fire runs at the wake-up time with the clock's reading; it should re-`arm()`. */
  constructor(now: () => number, next: () => number, fire: (nowMs: number) => void) {
    this.#now = now;
    this.#next = next;
    this.#fire = fire;
  }

  /** Schedules the wake-up the core asks for now (no-op when unchanged). */
  arm(): void {
    if (this.#stopped) return;
    const at = this.#next();
    if (at === this.#at && this.#timer !== null) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#at = at;
    if (!Number.isFinite(at)) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#at = Number.POSITIVE_INFINITY;
        this.#fire(this.#now());
      },
      Math.max(0, Math.ceil(at - this.#now())),
    );
  }

  /** Clears the timer for good (idempotent). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
