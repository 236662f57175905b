// A `porthole` process inside a NAT-lab namespace (lab.spawnNode) whose stdout is JSON lines: it
// keeps the latest line of each `type` and the tail of stderr, waits for a line, and stops
// (SIGTERM, then SIGKILL). The lab kills whatever is left on close.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { LabNode, NatLab } from '../../src/lab/index.ts';
import { waitFor } from '../support/wait.ts';

// biome-ignore lint/suspicious/noExplicitAny: the children's JSON lines; each reader knows its shape
export type Line = Record<string, any>;

export interface LabChild {
  readonly process: ChildProcess;
  /** The latest line with this `type`. */
  latest(type: string): Line | undefined;
  /** The first line (since start) `accept` takes, within `timeoutMs`. */
  waitForLine(accept: (line: Line) => boolean, timeoutMs: number): Promise<Line>;
  readonly stderr: string;
  stop(): Promise<void>;
}

export function startLabChild(
  lab: NatLab,
  node: string,
  name: string,
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): LabChild {
  const child = lab.spawnNode(node as LabNode, script, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const latest = new Map<string, Line>();
  const seen: Line[] = [];
  const stderr: string[] = [];
  let exit: string | undefined;
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      const line = JSON.parse(text) as Line;
      if (typeof line !== 'object' || line === null) return;
      if (typeof line.type === 'string') latest.set(line.type, line);
      if (seen.length < 16) seen.push(line);
    } catch {}
  });
  createInterface({ input: child.stderr! }).on('line', (text) => {
    stderr.push(text);
    if (stderr.length > 10) stderr.shift();
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = `${name} exited (${code ?? signal})`;
      resolve();
    }),
  );
  return {
    process: child,
    latest: (type) => latest.get(type),
    waitForLine: (accept, timeoutMs) =>
      waitFor(
        () => {
          if (exit !== undefined) throw new Error(`${exit}: ${stderr.join('\n')}`);
          return seen.find(accept) ?? [...latest.values()].find(accept);
        },
        { what: `a line from ${name}`, timeoutMs, intervalMs: 100, detail: () => stderr.join('\n') },
      ),
    get stderr() {
      return stderr.join('\n');
    },
    async stop() {
      if (exit !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
