// Bounded waiting on a condition, for tests whose subject runs on real I/O. It fails with a message
// naming what it waited for instead of hanging to the runner's timeout, and it keeps working while a
// test mocks timers (it holds the real setTimeout and measures with performance.now, which
// node:test's mock timers leave alone).
import assert from 'node:assert/strict';

const realSetTimeout = globalThis.setTimeout;

/** Settings of {@link waitFor}. */
export interface WaitForOptions {
  /** What the wait is for, in words: the failure reads "waited <timeoutMs> ms for <what>". */
  readonly what: string;
  /** Longest wait, ms. Default 10 000: well above any loopback event, well below the runner's timeout. */
  readonly timeoutMs?: number;
  /** Pause between checks, ms. Default 5. */
  readonly intervalMs?: number;
  /** State to print with the failure (counters, what arrived so far). */
  readonly detail?: () => unknown;
}

/**
 * Resolves with the first truthy value `probe` returns, checking it at once and then every
 * `intervalMs`; rejects with an AssertionError after `timeoutMs`. An exception from `probe` rejects
 * at once.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  options: WaitForOptions,
): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const { what, timeoutMs = 10_000, intervalMs = 5, detail } = options;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as Exclude<T, false | 0 | '' | null | undefined>;
    if (performance.now() >= deadline) {
      const state = detail === undefined ? '' : ` (${JSON.stringify(detail())})`;
      assert.fail(`waited ${timeoutMs} ms for ${what}${state}`);
    }
    await new Promise((resolve) => realSetTimeout(resolve, intervalMs));
  }
}
