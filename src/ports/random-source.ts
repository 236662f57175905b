import { getRandomValues } from 'node:crypto';

/**
 * Unpredictable integers for port choice (RFC 6056 §3.3: an attacker must not guess the next port).
 * Draws from the CSPRNG in batches so one choice costs an array read, not a system call.
 */
export class RandomSource {
  readonly #batch = new Uint32Array(512);
  #next = this.#batch.length;

  /** A uniformly random integer in [0, n). `n` must be ≤ 2^32. */
  below(n: number): number {
    if (this.#next === this.#batch.length) {
      getRandomValues(this.#batch);
      this.#next = 0;
    }
    return Math.floor((this.#batch[this.#next++]! / 0x1_0000_0000) * n);
  }
}

/** A source of random integers in [0, n); injectable for tests. */
export interface RandomIntegers {
  below(n: number): number;
}
