// A real redis-server for the tests: in a temp dir, no persistence, on a random port (retried when
// taken: redis-server itself binds, nobody probes first); stop() kills it and removes the dir.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether redis-server is installed (the tests say why they skip when not). */
export const HAVE_REDIS = spawnSync('redis-server', ['--version']).status === 0;

/** A running redis-server. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts redis-server; resolves once it accepts connections ("Ready to accept"). */
export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-redis-'));
  for (let attempt = 0; attempt < 8; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const ready = await new Promise<boolean>((resolve) => {
      let out = '';
      const timer = setTimeout(() => resolve(false), 10_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ready) {
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop: () => stop(child, dir),
      };
    }
    await stop(child, dir, false);
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error('redis-server did not start on any of 8 random ports');
}

async function stop(child: ChildProcess, dir: string, remove = true): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }
  child.stdout?.destroy();
  child.stderr?.destroy();
  if (remove) rmSync(dir, { recursive: true, force: true });
}
