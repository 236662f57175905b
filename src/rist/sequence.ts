/**
 * Sequence bookkeeping: 16-bit RTP sequence numbers extended to a monotonic counter (RFC 3550
 * Appendix A.1's idea, without the probation). The first number seen maps to 65 536 + seq, so a
 * packet up to 32 767 behind it still extends to a non-negative value.
 * @module
 */

/** Extends 16-bit sequence numbers relative to the highest one seen. */
export class SequenceExtender {
  #highest = -1;

  /** The highest extended number seen, −1 before the first. */
  get highest(): number {
    return this.#highest;
  }

  /** The extended number of `seq` (the one nearest the highest seen); does not move the highest. */
  extend(seq: number): number {
    if (this.#highest < 0) return 0x10000 + (seq & 0xffff);
    const delta = (((seq - this.#highest) & 0xffff) << 16) >> 16; // signed 16-bit distance
    return this.#highest + delta;
  }

  /** Extends `seq` and moves the highest when it is ahead. */
  update(seq: number): number {
    const ext = this.extend(seq);
    if (ext > this.#highest) this.#highest = ext;
    return ext;
  }
}
