/**
 * One child process of the demo and of the multi-process tests: `porthole <command> … --json`,
 * whose stdout is one JSON object per line (`{"type":"ready",…}` once, `{"type":"stats",…}` every
 * second, `{"type":"closed",…}` at the end). It keeps the latest of each type, the tail of stderr,
 * and can be stopped (SIGTERM, then SIGKILL) or killed for real (SIGKILL).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PortholeError, TimeoutError } from '../errors/index.ts';
import { LiveEdgeErrorCode } from './edge-errors.ts';

/**
 * The `porthole` entry point next to this file: in a checkout the bin (bin/porthole.js, which turns
 * Node's compile cache on before src/cli/main.ts is type-stripped, so a child neither strips nor
 * holds the stripper's ~20 MB), or dist/cli/main.js when built.
 */
export const PORTHOLE_MAIN = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../../bin/porthole.js' : '../cli/main.js', import.meta.url),
);
/**
 * Node flags of a `porthole peer` child: a 1 MB semi-space (V8's default grows it to 16 MB). A peer
 * allocates little per second (a 2 Mbit/s stream), so the young generation needs no room to grow;
 * the cap keeps ~10 MB per peer process out of its RSS at a cost of scavenges of a small heap
 * (docs/live.md, "Memory of a peer").
 */
const PEER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
/** Lines of stderr kept per child. */
const STDERR_LINES = 20;

/** A line a child printed. */
// biome-ignore lint/suspicious/noExplicitAny: the children's JSON lines; each reader knows its shape
export type ChildLine = { readonly type: string } & Record<string, any>;

/** See the module doc. */
export class DemoChild {
  readonly name: string;
  readonly process: ChildProcess;
  readonly #latest = new Map<string, ChildLine>();
  readonly #stderr: string[] = [];
  readonly #exited: Promise<number | null>;
  readonly #listeners = new Set<(line: ChildLine) => void>();
  #exitCode: number | null | undefined;

  constructor(name: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}) {
    this.name = name;
    this.process = spawn(
      process.execPath,
      [...(args[0] === 'peer' ? PEER_NODE_FLAGS : []), PORTHOLE_MAIN, ...args],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: options.env ?? process.env,
      },
    );
    const lines = createInterface({ input: this.process.stdout! });
    lines.on('line', (text) => {
      let line: ChildLine;
      try {
        line = JSON.parse(text) as ChildLine;
      } catch {
        return; // not one of ours (a library's stray output)
      }
      if (typeof line?.type !== 'string') return;
      this.#latest.set(line.type, line);
      for (const l of this.#listeners) l(line);
    });
    createInterface({ input: this.process.stderr! }).on('line', (text) => {
      this.#stderr.push(text);
      if (this.#stderr.length > STDERR_LINES) this.#stderr.shift();
    });
    this.process.stdin!.on('error', () => {});
    this.#exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.#exitCode = code ?? (signal === null ? null : -1);
        resolve(this.#exitCode);
      });
    });
  }

  /** The latest line of `type` (`ready`, `stats`, `closed`). */
  latest(type: string): ChildLine | undefined {
    return this.#latest.get(type);
  }

  /** The last lines of stderr. */
  get stderr(): string {
    return this.#stderr.join('\n');
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.#exitCode === undefined;
  }

  /** Its exit code once it exited (-1 when a signal ended it). */
  get exitCode(): number | null | undefined {
    return this.#exitCode;
  }

  /** Resolves with the first line of `type`, or rejects after `timeoutMs` or when the process exits first. */
  async waitFor(type: string, timeoutMs = 20_000): Promise<ChildLine> {
    const have = this.#latest.get(type);
    if (have !== undefined) return have;
    const { promise, resolve, reject } = Promise.withResolvers<ChildLine>();
    const listener = (line: ChildLine): void => {
      if (line.type === type) resolve(line);
    };
    this.#listeners.add(listener);
    const timer = setTimeout(
      () =>
        reject(new TimeoutError(`${this.name} printed no "${type}" line in ${timeoutMs} ms: ${this.stderr}`)),
      timeoutMs,
    );
    void this.#exited.then((code) =>
      reject(
        new PortholeError(LiveEdgeErrorCode.CHILD_EXITED, `${this.name} exited (${code}): ${this.stderr}`),
      ),
    );
    try {
      return await promise;
    } finally {
      clearTimeout(timer);
      this.#listeners.delete(listener);
    }
  }

  /** Sends one JSON command line on its stdin (`porthole peer --control`). */
  command(command: object): void {
    if (this.running) this.process.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Kills it for real (SIGKILL: no BYE, no goodbye to the tracker) and waits for the exit. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.process.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM (a clean leave), SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 5_000): Promise<number | null | undefined> {
    if (this.running) {
      this.process.kill('SIGTERM');
      const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
      await this.#exited;
      clearTimeout(timer);
    }
    return this.#exitCode;
  }

  /** Resolves when the process exits. */
  exited(): Promise<number | null> {
    return this.#exited;
  }
}
