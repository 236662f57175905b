/**
 * The sliding anti-replay window of one epoch. RFC 6347 §4.1.2.6: a record is accepted when its
 * sequence number is newer than the newest seen, or inside the window and not seen yet; it is
 * marked only after it authenticated, so a forged record cannot move the window.
 * @module
 */

/** See the module doc. */
export class ReplayWindow {
  readonly #size: number;
  readonly #bits: Uint8Array;
  /** Newest sequence number marked, -1 before any. */
  #newest = -1;

  /** @param size records the window spans, ≥ 1 (validated by the caller). */
  constructor(size: number) {
    this.#size = size;
    this.#bits = new Uint8Array(size);
  }

  /** Newest sequence number marked (-1 before any). */
  get newest(): number {
    return this.#newest;
  }

  /** Whether `sequence` would be accepted (newer, or in the window and unseen). */
  check(sequence: number): boolean {
    if (sequence > this.#newest) return true;
    if (this.#newest - sequence >= this.#size) return false;
    return this.#bits[sequence % this.#size] === 0;
  }

  /** Marks `sequence` as seen (call after it authenticated and {@link check} held). */
  mark(sequence: number): void {
    const size = this.#size;
    const bits = this.#bits;
    if (sequence > this.#newest) {
      const advance = sequence - this.#newest;
      if (advance >= size) bits.fill(0);
      else for (let s = this.#newest + 1; s < sequence; s++) bits[s % size] = 0;
      this.#newest = sequence;
    }
    bits[sequence % size] = 1;
  }

  /** Forgets everything (a new epoch). */
  reset(): void {
    this.#bits.fill(0);
    this.#newest = -1;
  }
}
