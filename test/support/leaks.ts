// The shared leak check: a test file that opens sockets, timers or child processes calls
// `checkLeaks()` once, and the file fails if anything it opened is still open after its tests.
//
// It counts the process's active resources by type (`process.getActiveResourcesInfo()`: UDPWrap,
// TCPWrap, Timeout, ProcessWrap, …) before the first test and after the last hook, so the runner's
// own handles (its stdio pipes, handles opened at import) are in both counts and cancel out. A socket
// or child closes asynchronously, so the check waits a bounded grace period for the counts to fall
// back before it fails. Unref'd timers are not counted: they keep nothing alive.
//
// Call it at the top level of the file, after any top-level `after()` hook of the file's own:
// node:test runs top-level `after` hooks in the order they were registered, and the check must see
// the state those hooks leave.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

const realSetTimeout = globalThis.setTimeout;

/** Resource types that belong to the runner or to stdio, not to a test: never counted. */
const RUNNER_TYPES: ReadonlySet<string> = new Set(['PipeWrap', 'TTYWrap', 'FSReqCallback', 'FSReqPromise']);

/** Settings of {@link checkLeaks}. */
export interface CheckLeaksOptions {
  /** How long the counts may take to fall back after the last hook, ms. Default 2 000. */
  readonly graceMs?: number;
  /** More resource types to leave uncounted (say why where you pass them). */
  readonly ignore?: readonly string[];
}

/** Active resources by type, without the ignored types. */
export function countResources(ignore: ReadonlySet<string> = RUNNER_TYPES): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) {
    if (!ignore.has(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

/** The types whose count rose from `before` to `now`, as "2 UDPWrap, 1 Timeout" (empty: none). */
export function describeLeaks(before: ReadonlyMap<string, number>, now: ReadonlyMap<string, number>): string {
  const rose: string[] = [];
  for (const [type, count] of [...now].sort(([a], [b]) => a.localeCompare(b))) {
    const extra = count - (before.get(type) ?? 0);
    if (extra > 0) rose.push(`${extra} ${type}`);
  }
  return rose.join(', ');
}

/**
 * Registers a `before` hook that counts the active resources and an `after` hook that fails the
 * file when, `graceMs` after the last test and the hooks registered before it, more sockets, timers,
 * servers or child processes are active than before the first test.
 */
export function checkLeaks(options: CheckLeaksOptions = {}): void {
  const graceMs = options.graceMs ?? 2_000;
  const ignore = new Set([...RUNNER_TYPES, ...(options.ignore ?? [])]);
  let baseline: Map<string, number> | undefined;
  before(() => {
    baseline = countResources(ignore);
  });
  after(async () => {
    assert.ok(baseline !== undefined, 'checkLeaks: the before hook never ran');
    const deadline = performance.now() + graceMs;
    let leaks = describeLeaks(baseline, countResources(ignore));
    while (leaks !== '' && performance.now() < deadline) {
      await new Promise((resolve) => realSetTimeout(resolve, 10));
      leaks = describeLeaks(baseline, countResources(ignore));
    }
    const file = process.argv[1] ?? 'this file';
    assert.equal(leaks, '', `${file}: left open after the file's tests (${graceMs} ms grace): ${leaks}`);
  });
}
