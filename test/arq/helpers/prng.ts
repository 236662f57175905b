// Seeded pseudo-random numbers for reproducible tests (mulberry32).

/** A seeded generator; `next()` is uniform in [0, 1). */
export class Prng {
  #state: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fills `out` with random bytes and returns it. */
  bytes(out: Buffer): Buffer {
    for (let i = 0; i < out.length; i++) out[i] = this.int(256);
    return out;
  }
}

/** The seed for a test: `ARQ_SEED` from the environment, else `fallback`. */
export function testSeed(fallback: number): number {
  const env = process.env.ARQ_SEED;
  return env === undefined ? fallback : Number(env) >>> 0;
}
