// The one seeded PRNG of the tests (mulberry32) and the one seed variable. Every randomised test
// (fuzzers, simulators, lossy links) draws from a Prng seeded by testSeed(<its own constant>), so a
// plain run is the same run every time. PORTHOLE_SEED=<n> (decimal or 0x…) varies every test at once
// for a fresh exploration; a failure prints the value to replay it with.

/** The environment variable that varies every seeded test at once. */
export const SEED_VARIABLE = 'PORTHOLE_SEED';

/** The base seed of this run: `PORTHOLE_SEED`, else 0 (each test then runs on its own constant). */
export function baseSeed(): number {
  const text = process.env[SEED_VARIABLE];
  if (text === undefined || text === '') return 0;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`${SEED_VARIABLE}=${text}: give an integer 0-4294967295 (decimal or 0x hex)`);
  }
  return value;
}

/** The seed of one test: its constant `salt` mixed with the run's {@link baseSeed} (XOR). */
export function testSeed(salt: number): number {
  return (baseSeed() ^ salt) >>> 0;
}

/** What to set to replay this run, for failure messages: `PORTHOLE_SEED=<n>`. */
export function replayHint(): string {
  return `${SEED_VARIABLE}=${baseSeed()}`;
}

/** A seeded generator (mulberry32): the same seed gives the same sequence. */
export class Prng {
  readonly seed: number;
  #state: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /** Uniform in [0, 1). A bound function: pass `prng.next` where a `() => number` is wanted. */
  readonly next = (): number => {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fills `out` with random bytes and returns it. */
  bytes(out: Buffer): Buffer {
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }
}

/** Uniform floats in [0, 1) from `seed`: the `next` of a {@link Prng}. */
export function mulberry32(seed: number): () => number {
  return new Prng(seed).next;
}

/** `size` random bytes from `random`. */
export function randomBytesFrom(random: () => number, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(random() * 256);
  return out;
}
