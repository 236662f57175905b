import { IndexedSet } from './indexed-set.ts';
import { type RandomIntegers, RandomSource } from './random-source.ts';
import type { PortRange } from './range.ts';
import { TimerHeap } from './timer-heap.ts';

/** What the allocator knows about one port. */
export const PortState = {
  /** Can be handed out. */
  FREE: 0,
  /** Handed out: being bound, bound and held, or reserved for another process. */
  TAKEN: 1,
  /** Released; not reusable until its cooldown ends (stale packets of the last user may still come). */
  COOLING: 2,
  /** EADDRINUSE: another process (or pool) holds it; not tried again until its back-off ends. */
  FOREIGN: 3,
  /** Released, but its socket stays bound and discards what still arrives. */
  DRAINING: 4,
} as const;
export type PortState = (typeof PortState)[keyof typeof PortState];

/** Whether ports of an allocation must start on an even port (RTP/RTCP pairs: RFC 3550 §11). */
export type PortParity = 'any' | 'even';

/** Settings of a {@link PortAllocator}. */
export interface PortAllocatorOptions {
  readonly range: PortRange;
  /** Milliseconds a released port waits before reuse. Default 30 000 (livekit/sip drains 30 s). */
  readonly cooldownMs?: number;
  /** First back-off of a port that failed with EADDRINUSE, doubled per repeated failure. Default 30 000. */
  readonly foreignBackoffMs?: number;
  /** Longest back-off of a foreign port. Default 600 000 (10 min). */
  readonly foreignBackoffMaxMs?: number;
  /** Random source; default a batched CSPRNG. */
  readonly random?: RandomIntegers;
}

/** Counts of ports by state, plus free even/odd pairs. */
export interface PortAllocatorCounts {
  readonly size: number;
  readonly free: number;
  readonly used: number;
  readonly cooling: number;
  readonly draining: number;
  readonly foreign: number;
  readonly freePairs: number;
}

/** Default cooldown after release. */
export const DEFAULT_COOLDOWN_MS = 30_000;
/** Default first back-off for a foreign port. */
export const DEFAULT_FOREIGN_BACKOFF_MS = 30_000;
/** Default longest back-off for a foreign port. */
export const DEFAULT_FOREIGN_BACKOFF_MAX_MS = 600_000;
/** Random candidates compared per choice; the least recently released wins. */
const LRU_SAMPLES = 4;

/**
 * The pool's bookkeeping, with no I/O and no clock: which ports are free, taken, cooling,
 * draining or foreign, and which to hand out next.
 *
 * Every single or pair allocation is O(1) at any occupancy. Free ports live in two indexed sets:
 * whole free even/odd pairs, and free ports whose partner is not free. A single comes from the
 * second set first, so singles do not break pairs. A choice samples {@link LRU_SAMPLES} random
 * members and takes the least recently released: unpredictable (RFC 6056) yet biased towards the
 * port idle longest. Cooling and foreign ports wait in deadline heaps. Blocks of more than two ports
 * are searched linearly from a random start (they are rare; pairs and singles never scan).
 */
export class PortAllocator {
  readonly range: PortRange;
  readonly size: number;
  readonly cooldownMs: number;
  readonly #foreignBackoffMs: number;
  readonly #foreignBackoffMaxMs: number;
  readonly #random: RandomIntegers;
  readonly #state: Uint8Array;
  readonly #releasedAt: Float64Array;
  readonly #strikes: Uint8Array;
  /** Offsets of even ports whose pair (P, P+1) is wholly free. */
  readonly #pairs: IndexedSet;
  /** Offsets of free ports whose partner is not free or not in the range. */
  readonly #singles: IndexedSet;
  readonly #cooling: TimerHeap;
  readonly #foreign: TimerHeap;
  #used = 0;
  #draining = 0;

  constructor(options: PortAllocatorOptions) {
    this.range = options.range;
    this.size = options.range.last - options.range.first + 1;
    this.cooldownMs = options.cooldownMs ?? DEFAULT_COOLDOWN_MS;
    this.#foreignBackoffMs = options.foreignBackoffMs ?? DEFAULT_FOREIGN_BACKOFF_MS;
    this.#foreignBackoffMaxMs = options.foreignBackoffMaxMs ?? DEFAULT_FOREIGN_BACKOFF_MAX_MS;
    this.#random = options.random ?? new RandomSource();
    this.#state = new Uint8Array(this.size);
    this.#releasedAt = new Float64Array(this.size);
    this.#strikes = new Uint8Array(this.size);
    this.#pairs = new IndexedSet(this.size);
    this.#singles = new IndexedSet(this.size);
    this.#cooling = new TimerHeap(this.size);
    this.#foreign = new TimerHeap(this.size);
    for (let offset = 0; offset < this.size; offset++) this.#refresh(offset);
  }

  /**
   * Takes `count` adjacent free ports (the first even when `parity` is 'even') and marks them taken.
   * Returns the first port, or -1 when none can be had now.
   */
  take(count: number, parity: PortParity, nowMs: number): number {
    this.advance(nowMs);
    let offset: number;
    if (count === 1) offset = this.#takeSingle();
    else if (count === 2) {
      // Even pairs come from the pair set; an 'any' pair may also sit on an odd start.
      offset = this.#takePair();
      if (offset < 0 && parity === 'any') offset = this.#findBlock(count, parity);
    } else offset = this.#findBlock(count, parity);
    if (offset < 0) return -1;
    for (let i = 0; i < count; i++) this.#setState(offset + i, PortState.TAKEN);
    return this.range.first + offset;
  }

  /** Whether `port` could be taken right now (in range and free). */
  isFree(port: number, nowMs: number): boolean {
    this.advance(nowMs);
    const offset = port - this.range.first;
    return offset >= 0 && offset < this.size && this.#state[offset] === PortState.FREE;
  }

  /** Takes exactly `port` when it is free; returns whether it did. */
  takeExact(port: number, nowMs: number): boolean {
    if (!this.isFree(port, nowMs)) return false;
    this.#setState(port - this.range.first, PortState.TAKEN);
    return true;
  }

  /** Returns a taken port that was never used (its bind failed for a reason not its own, or was aborted). */
  untake(port: number): void {
    const offset = this.#offsetOf(port, PortState.TAKEN);
    this.#setState(offset, PortState.FREE);
  }

  /** Releases a taken port: it cools down (or drains first when `draining`). */
  release(port: number, nowMs: number, draining = false): void {
    const offset = this.#offsetOf(port, PortState.TAKEN);
    this.#strikes[offset] = 0;
    this.#releasedAt[offset] = nowMs;
    if (draining) {
      this.#setState(offset, PortState.DRAINING);
      return;
    }
    this.#cool(offset, nowMs + this.cooldownMs);
  }

  /** Ends a port's draining; it cools for what remains of its cooldown from release. */
  endDrain(port: number, nowMs: number): void {
    const offset = this.#offsetOf(port, PortState.DRAINING);
    this.#cool(offset, Math.max(nowMs, this.#releasedAt[offset]! + this.cooldownMs));
  }

  /**
   * Marks a taken port as held by someone else (EADDRINUSE). It is not handed out again until its
   * back-off ends; the back-off doubles each time the same port fails again, up to the maximum.
   */
  markForeign(port: number, nowMs: number): void {
    const offset = this.#offsetOf(port, PortState.TAKEN);
    const strikes = this.#strikes[offset]!;
    const backoff = Math.min(this.#foreignBackoffMaxMs, this.#foreignBackoffMs * 2 ** strikes);
    if (strikes < 30) this.#strikes[offset] = strikes + 1;
    // Counted as just released, so that when its back-off ends the least-recently-released choice
    // does not prefer it over every port in use meanwhile; and a jitter of up to +25% keeps the
    // ports met in one pass from all expiring (and being re-probed) at the same instant.
    this.#releasedAt[offset] = nowMs;
    this.#setState(offset, PortState.FOREIGN);
    this.#foreign.set(offset, nowMs + backoff + this.#random.below(Math.floor(backoff / 4) + 1));
  }

  /** Moves cooling and foreign ports whose time has come back to free. */
  advance(nowMs: number): void {
    for (let offset = this.#cooling.popDue(nowMs); offset >= 0; offset = this.#cooling.popDue(nowMs)) {
      this.#setState(offset, PortState.FREE);
    }
    for (let offset = this.#foreign.popDue(nowMs); offset >= 0; offset = this.#foreign.popDue(nowMs)) {
      this.#setState(offset, PortState.FREE);
    }
  }

  /** The state of `port`, or undefined outside the range. */
  stateOf(port: number): PortState | undefined {
    return this.#state[port - this.range.first] as PortState | undefined;
  }

  /** When the earliest cooling or foreign port becomes free again (Infinity when none waits). */
  nextWakeMs(): number {
    return Math.min(this.#cooling.peekTime(), this.#foreign.peekTime());
  }

  counts(nowMs: number): PortAllocatorCounts {
    this.advance(nowMs);
    return {
      size: this.size,
      free: this.#singles.size + 2 * this.#pairs.size,
      used: this.#used,
      cooling: this.#cooling.size,
      draining: this.#draining,
      foreign: this.#foreign.size,
      freePairs: this.#pairs.size,
    };
  }

  #offsetOf(port: number, expected: PortState): number {
    const offset = port - this.range.first;
    if (offset < 0 || offset >= this.size || this.#state[offset] !== expected) {
      throw new RangeError(`port ${port} is not in state ${expected} (state ${this.#state[offset]})`);
    }
    return offset;
  }

  #cool(offset: number, until: number): void {
    this.#setState(offset, PortState.COOLING);
    this.#cooling.set(offset, until);
  }

  #takeSingle(): number {
    if (this.#singles.size > 0) return this.#pickLeastRecent(this.#singles);
    if (this.#pairs.size === 0) return -1;
    const base = this.#pickLeastRecent(this.#pairs);
    // Take the half released longer ago; the other half becomes a lone single.
    return this.#releasedAt[base + 1]! < this.#releasedAt[base]! ? base + 1 : base;
  }

  #takePair(): number {
    return this.#pairs.size === 0 ? -1 : this.#pickLeastRecent(this.#pairs);
  }

  #pickLeastRecent(set: IndexedSet): number {
    let best = set.at(this.#random.below(set.size));
    for (let i = 1; i < LRU_SAMPLES; i++) {
      const candidate = set.at(this.#random.below(set.size));
      if (this.#releasedAt[candidate]! < this.#releasedAt[best]!) best = candidate;
    }
    return best;
  }

  /** Linear search from a random start for `count` adjacent free ports. */
  #findBlock(count: number, parity: PortParity): number {
    if (count > this.size) return -1;
    const step = parity === 'even' ? 2 : 1;
    // First offset whose port has the wanted parity.
    const firstAligned = step === 2 && this.range.first % 2 === 1 ? 1 : 0;
    const starts = Math.floor((this.size - count - firstAligned) / step) + 1;
    if (starts <= 0) return -1;
    const origin = this.#random.below(starts);
    for (let i = 0; i < starts; i++) {
      const start = firstAligned + ((origin + i) % starts) * step;
      let run = 0;
      while (run < count && this.#state[start + run] === PortState.FREE) run++;
      if (run === count) return start;
    }
    return -1;
  }

  #setState(offset: number, next: PortState): void {
    const previous = this.#state[offset]!;
    if (previous === next) return;
    if (previous === PortState.TAKEN) this.#used--;
    if (previous === PortState.DRAINING) this.#draining--;
    if (next === PortState.TAKEN) this.#used++;
    if (next === PortState.DRAINING) this.#draining++;
    this.#state[offset] = next;
    this.#refresh(offset);
    this.#refresh(this.#partnerOffset(offset));
  }

  #partnerOffset(offset: number): number {
    const port = this.range.first + offset;
    return (port ^ 1) - this.range.first;
  }

  /** Recomputes the set membership of the port at `offset` from its and its partner's state. */
  #refresh(offset: number): void {
    if (offset < 0 || offset >= this.size) return;
    const partner = this.#partnerOffset(offset);
    const free = this.#state[offset] === PortState.FREE;
    const partnerFree = partner >= 0 && partner < this.size && this.#state[partner] === PortState.FREE;
    const evenOffset = (this.range.first + offset) % 2 === 0 ? offset : partner;
    if (free && partnerFree) {
      this.#pairs.add(evenOffset);
      this.#singles.delete(offset);
      this.#singles.delete(partner);
      return;
    }
    if (evenOffset >= 0 && evenOffset < this.size) this.#pairs.delete(evenOffset);
    if (free) this.#singles.add(offset);
    else this.#singles.delete(offset);
  }
}
