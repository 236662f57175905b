// Running the real `porthole` command as a child process, for the CLI tests.
import assert from 'node:assert/strict';
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** src/cli/main.ts: run with this process's node (type stripping). */
export const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/**
 * How long a child may take before it is killed (or a line may take to come): a bound, not a
 * timing threshold; generous because the machine may be very busy.
 */
export const BOUND_MS = 240_000;

/** How a finished child ended. */
export interface Exited {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `porthole …args` (stdio piped unless `options.stdio` says otherwise). */
export function spawnCli(args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...options });
}

/**
 * Collects a child's output and resolves when it has exited; SIGKILLs it after `killAfterMs`
 * (the result then says `signal: 'SIGKILL'`, which the caller's assertions will catch).
 */
export function exited(child: ChildProcess, killAfterMs = BOUND_MS): Promise<Exited> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `porthole …args` with `input` on stdin (closed at once) and waits for the exit. */
export function runCli(args: readonly string[], input = '', killAfterMs = BOUND_MS): Promise<Exited> {
  const child = spawnCli(args);
  const done = exited(child, killAfterMs);
  child.stdin?.end(input);
  return done;
}

/** Resolves with the first line of `stream` that `match` accepts (rejects after `timeoutMs`). */
export function lineOf(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  match: (line: string) => boolean,
  timeoutMs = BOUND_MS,
): Promise<string> {
  const input = child[stream];
  assert.ok(input !== null, `${stream} is piped`);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input });
    const timer = setTimeout(() => {
      lines.close();
      reject(new Error(`no matching line on ${stream} within ${timeoutMs} ms`));
    }, timeoutMs);
    lines.on('line', (line) => {
      if (!match(line)) return;
      clearTimeout(timer);
      lines.close();
      resolve(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before a matching line on ${stream}`));
    });
  });
}

/**
 * An expected failure: exit code `code`, and stderr is exactly one line starting `porthole`
 * matching `pattern` (no stack trace).
 */
export function assertFailure(result: Exited, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, `exit code (stderr: ${result.stderr})`);
  const lines = result.stderr.trimEnd().split('\n');
  assert.ok(!/^\s+at /m.test(result.stderr), `no stack trace on stderr:\n${result.stderr}`);
  const last = lines.at(-1) ?? '';
  assert.match(last, /^porthole/, `the failure line starts with porthole: ${result.stderr}`);
  assert.match(last, pattern);
}

/** A `porthole broker --allow-any` on 127.0.0.1, its address, and how to stop it. */
export async function startBroker(): Promise<{ address: string; stop(): Promise<void> }> {
  const child = spawnCli(['broker', '--listen', '127.0.0.1:0', '--allow-any', '--stats', '0', '--json'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const line = await lineOf(child, 'stdout', (l) => l.startsWith('{'));
  const address = (JSON.parse(line) as { listening: string }).listening;
  return {
    address,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

/**
 * Runs every `[args, pattern]` case (a few at a time) and asserts a usage failure: exit 2 before
 * anything ran, no stack trace, and the first stderr line matching `pattern`.
 */
export async function assertUsageErrors(
  cases: readonly (readonly [readonly string[], RegExp])[],
): Promise<void> {
  const results: Exited[] = [];
  for (let i = 0; i < cases.length; i += 3) {
    results.push(...(await Promise.all(cases.slice(i, i + 3).map(([args]) => runCli(args)))));
  }
  for (const [i, result] of results.entries()) {
    const [args, pattern] = cases[i]!;
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.signal ?? ''} ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /^\s+at /m, `${args.join(' ')}: no stack trace`);
    assert.match(result.stderr.split('\n')[0]!, pattern, args.join(' '));
  }
}

/** Starts a child with stdin read from the file `input` and stdout written to the file `output`. */
export function withFiles(
  input: string,
  output: string,
  start: (stdio: [number, number, 'pipe']) => ChildProcess,
): ChildProcess {
  const stdin = openSync(input, 'r');
  const stdout = openSync(output, 'w');
  try {
    return start([stdin, stdout, 'pipe']);
  } finally {
    closeSync(stdin);
    closeSync(stdout);
  }
}
