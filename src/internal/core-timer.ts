/**
 * The one timer of a driver: it wakes a sans-I/O core at the time the core asks for
 * (`nextWakeMs()`, `Infinity` when idle). Never more than one timeout is pending; re-arming for a
 * later time keeps an earlier pending timeout (an early wake-up is harmless: the driver polls the
 * core, which has nothing due, and re-arms), so a hot path that re-arms after every datagram costs
 * no clearTimeout/setTimeout pair. An idle core (`Infinity`) leaves no timeout behind.
 * @module
 */

/** Settings of a {@link CoreTimer}. */
export interface CoreTimerOptions {
  /** Whether the pending timeout keeps the event loop alive. Default true (ref'ed). */
  readonly ref?: boolean;
}

/** Wakes a core at the time it asks for. */
export class CoreTimer {
  readonly #now: () => number;
  readonly #next: () => number;
  readonly #fire: (nowMs: number) => void;
  readonly #ref: boolean;
  #timer: NodeJS.Timeout | null = null;
  #atMs = Number.POSITIVE_INFINITY;
  #stopped = false;
  readonly #onTimeout = (): void => {
    this.#timer = null;
    this.#atMs = Number.POSITIVE_INFINITY;
    if (this.#stopped) return;
    this.#fire(this.#now());
  };

  /**
   * @param now the driver's monotonic clock, ms.
   * @param next the core's next wake-up, ms on that clock (`Infinity` when idle).
   * @param fire runs at the wake-up time with the clock's reading; it should poll the core and
   *   {@link arm} again.
   */
  constructor(
    now: () => number,
    next: () => number,
    fire: (nowMs: number) => void,
    options: CoreTimerOptions = {},
  ) {
    this.#now = now;
    this.#next = next;
    this.#fire = fire;
    this.#ref = options.ref ?? true;
  }

  /** When the pending timeout fires, ms on the driver's clock (`Infinity` when none is pending). */
  get armedAtMs(): number {
    return this.#atMs;
  }

  /** Whether {@link stop} ended this timer. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Schedules the wake-up the core asks for now (see the module doc for when it keeps the pending one). */
  arm(): void {
    this.armAt(this.#next());
  }

  /** Schedules a wake-up at `atMs` (`Infinity`: none), as {@link arm} does with the core's answer. */
  armAt(atMs: number): void {
    if (this.#stopped) return;
    if (!(atMs < Number.POSITIVE_INFINITY)) {
      this.#clear();
      return;
    }
    if (this.#timer !== null && this.#atMs <= atMs) return;
    this.#clear();
    this.#atMs = atMs;
    this.#timer = setTimeout(this.#onTimeout, Math.max(0, Math.ceil(atMs - this.#now())));
    if (!this.#ref) this.#timer.unref();
  }

  /** Clears the timer for good (idempotent): later {@link arm} calls do nothing. */
  stop(): void {
    this.#stopped = true;
    this.#clear();
  }

  #clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#atMs = Number.POSITIVE_INFINITY;
  }
}
