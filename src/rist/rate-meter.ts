/**
 * A bitrate over a sliding window of one second, updated without allocation: bytes of the
 * current second are counted; the rate blends the last full second with the current one.
 * @module
 */

/** Bits per second of what {@link RateMeter.add} is given. */
export class RateMeter {
  #windowStartMs = Number.NaN;
  #bytes = 0;
  #lastRate = 0;

  /** Counts `bytes` at `nowMs`. */
  add(bytes: number, nowMs: number): void {
    this.#roll(nowMs);
    this.#bytes += bytes;
  }

  /** Bits per second at `nowMs`. */
  bitsPerSecond(nowMs: number): number {
    this.#roll(nowMs);
    const elapsed = nowMs - this.#windowStartMs;
    if (!(elapsed > 0)) return this.#lastRate;
    const share = Math.min(1, elapsed / 1000);
    const current = (this.#bytes * 8 * 1000) / elapsed;
    return Math.round(this.#lastRate * (1 - share) + current * share);
  }

  #roll(nowMs: number): void {
    if (Number.isNaN(this.#windowStartMs)) this.#windowStartMs = nowMs;
    const elapsed = nowMs - this.#windowStartMs;
    if (elapsed < 1000) return;
    this.#lastRate = elapsed < 2000 ? (this.#bytes * 8 * 1000) / elapsed : 0;
    this.#bytes = 0;
    this.#windowStartMs = nowMs;
  }
}
