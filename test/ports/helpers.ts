import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A child process holding UDP ports, as another program on the machine would. */
export interface PortHolder {
  /** Lines the child printed before "ready" (e.g. "failed <port> EADDRINUSE"). */
  readonly report: readonly string[];
  stop(): Promise<void>;
}

const script = fileURLToPath(new URL('./fixtures/hold-ports.ts', import.meta.url));

/** Starts a real process that binds `ports` on 127.0.0.1 and resolves once they are bound. */
export function holdPorts(ports: readonly number[]): Promise<PortHolder> {
  const child = spawn(process.execPath, [script, ...ports.map(String)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const report: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.once('error', reject);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        if (line !== 'ready') {
          report.push(line);
          continue;
        }
        resolve({
          report,
          stop: async () => {
            child.stdin.end();
            await exited;
          },
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`port holder exited early with code ${code}`)));
  });
}

/** A fake clock for pools and allocators. */
export function fakeClock(start = 1_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

/** A random source replaying `values` (as indexes modulo n), then repeating the last. */
export function scriptedRandom(values: readonly number[]): { below(n: number): number; calls: number } {
  let i = 0;
  const source = {
    calls: 0,
    below(n: number): number {
      source.calls++;
      const v = values[Math.min(i++, values.length - 1)] ?? 0;
      return v % n;
    },
  };
  return source;
}
