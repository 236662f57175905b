import { InvalidOptionError } from '../errors/index.ts';

/**
 * Per-source token buckets with a bounded, least-recently-used table. Sans-I/O: the caller passes
 * the time.
 * @module
 */

/** Default sustained requests per second per source. */
export const DEFAULT_RATE_PER_SECOND = 20;
/** Default burst (bucket size) per source. */
export const DEFAULT_BURST = 40;
/** Default number of sources tracked; the least recently seen is evicted past it. */
export const DEFAULT_MAX_SOURCES = 10_000;

/** Settings of a {@link SourceRateLimiter}. */
export interface RateLimitOptions {
  /** Tokens added per second, > 0. Default {@link DEFAULT_RATE_PER_SECOND}. */
  readonly ratePerSecond?: number;
  /** Bucket size, ≥ 1. Default {@link DEFAULT_BURST}. */
  readonly burst?: number;
  /** Most sources tracked, ≥ 1. Default {@link DEFAULT_MAX_SOURCES}. */
  readonly maxSources?: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Token bucket per source key (e.g. the source IP). */
export class SourceRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxSources: number;
  readonly #buckets = new Map<string, Bucket>();
  #limited = 0;
  #evictions = 0;

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` for invalid settings. */
  constructor(options?: RateLimitOptions) {
    this.#rate = options?.ratePerSecond ?? DEFAULT_RATE_PER_SECOND;
    this.#burst = options?.burst ?? DEFAULT_BURST;
    this.#maxSources = options?.maxSources ?? DEFAULT_MAX_SOURCES;
    if (!(this.#rate > 0) || !Number.isFinite(this.#rate)) {
      throw new InvalidOptionError('ratePerSecond', `ratePerSecond must be > 0, not ${this.#rate}`);
    }
    if (!(this.#burst >= 1)) throw new InvalidOptionError('burst', `burst must be ≥ 1, not ${this.#burst}`);
    if (!Number.isInteger(this.#maxSources) || this.#maxSources < 1) {
      throw new InvalidOptionError(
        'maxSources',
        `maxSources must be an integer ≥ 1, not ${this.#maxSources}`,
      );
    }
  }

  /** Takes one token for `source` at `now` (ms). Returns false (and counts it) when the bucket is empty. */
  take(source: string, now: number): boolean {
    let bucket = this.#buckets.get(source);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxSources) {
        // Evict the least recently seen source (the Map's first key: hits re-insert at the end).
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
        this.#evictions++;
      }
      bucket = { tokens: this.#burst, updatedAt: now };
    } else {
      this.#buckets.delete(source);
      const elapsed = Math.max(0, now - bucket.updatedAt);
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (elapsed * this.#rate) / 1000);
      bucket.updatedAt = now;
    }
    this.#buckets.set(source, bucket);
    if (bucket.tokens < 1) {
      this.#limited++;
      return false;
    }
    bucket.tokens -= 1;
    return true;
  }

  /** Sources tracked now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Requests refused so far. */
  get limited(): number {
    return this.#limited;
  }

  /** Sources evicted from the full table so far. */
  get evictions(): number {
    return this.#evictions;
  }
}
