/**
 * Round-trip time from RIST echo request/response pairs (TR-06-1 §5.2.6.2): the request carries
 * the requester's clock as an NTP timestamp, the response echoes it with the responder's
 * processing delay, and the requester takes the difference. Smoothed as RFC 6298 does (1/8).
 * @module
 */
import { DEFAULT_RTT_MAX_MS, DEFAULT_RTT_MIN_MS, INITIAL_RTT_MS } from './constants.ts';
import { fromNtp } from './rtcp-writer.ts';

/** Samples above this are ignored as stale (a response to a request from long ago), ms. */
const MAX_RTT_SAMPLE_MS = 10_000;

/** A smoothed RTT estimate. */
export class RttEstimator {
  readonly #minMs: number;
  readonly #maxMs: number;
  #smoothedMs = Number.NaN;
  #lastMs = Number.NaN;

  constructor(minMs = DEFAULT_RTT_MIN_MS, maxMs = DEFAULT_RTT_MAX_MS) {
    this.#minMs = minMs;
    this.#maxMs = maxMs;
  }

  /** The smoothed RTT, ms (NaN before the first sample). */
  get smoothedMs(): number {
    return this.#smoothedMs;
  }

  /** The last sample, ms (NaN before the first). */
  get lastMs(): number {
    return this.#lastMs;
  }

  /** The RTT to space retries by: the estimate clamped to [min, max], {@link INITIAL_RTT_MS} before a sample. */
  get boundedMs(): number {
    const v = Number.isNaN(this.#smoothedMs) ? INITIAL_RTT_MS : this.#smoothedMs;
    return Math.min(this.#maxMs, Math.max(this.#minMs, v));
  }

  /** Takes the response to a request this side sent at ms `fromNtp(msw, lsw)` on its clock. */
  onEchoResponse(ntpMsw: number, ntpLsw: number, delayUs: number, nowMs: number): void {
    const sentMs = fromNtp(ntpMsw, ntpLsw);
    // The NTP seconds field wraps every 2^32 s; the clock here is ms since the driver's epoch.
    const sample = nowMs - sentMs - delayUs / 1000;
    if (!(sample >= 0 && sample <= MAX_RTT_SAMPLE_MS)) return;
    this.#lastMs = sample;
    this.#smoothedMs = Number.isNaN(this.#smoothedMs)
      ? sample
      : this.#smoothedMs + (sample - this.#smoothedMs) / 8;
  }
}
