// A stand-in for "another process": binds the given UDP ports and holds them.
//
// As a script:  node bench/lib/port-holder.ts [--host 127.0.0.1] <port> <port> ...
//   binds every port exclusively, prints "ready" on stdout once all are bound, and holds them
//   until its stdin closes or it gets SIGTERM/SIGINT. A failed bind prints "error <port> <errno>"
//   on stderr and exits with status 1 (nothing is left bound).
// As a module:  startPortHolder(ports, host) spawns the script and resolves once it is ready.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { bindUdpSocket } from '../../src/ports/index.ts';

/** How long the parent waits for "ready" before giving up (binding 200 ports takes a few ms). */
const READY_TIMEOUT_MS = 15_000;
/** How long the parent waits for the child to exit after closing its stdin, before SIGKILL. */
const EXIT_TIMEOUT_MS = 5_000;

/** A running holder process. `stop()` is idempotent and always leaves no child behind. */
export interface PortHolder {
  readonly pid: number;
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

/** Spawns the holder for `ports` on `host` and resolves once every port is bound. */
export async function startPortHolder(ports: readonly number[], host: string): Promise<PortHolder> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [script, '--host', host, ...ports.map(String)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Never outlive the benchmark, even when it dies on an exception.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stop = once(async () => {
    process.off('exit', killOnExit);
    await stopChild(child);
  });
  try {
    await waitReady(child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid ?? -1, ports, stop };
}

function waitReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(
      () => finish(new Error(`port holder not ready after ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    const onStdout = (chunk: Buffer): void => {
      stdout += chunk.toString('utf8');
      if (stdout.includes('ready\n')) finish(undefined);
    };
    const onStderr = (chunk: Buffer): void => {
      stderr += chunk.toString('utf8');
    };
    const onExit = (code: number | null, signal: string | null): void => {
      finish(new Error(`port holder exited before ready (${signal ?? code}): ${stderr.trim()}`));
    };
    const onError = (error: Error): void => finish(error);
    function finish(error: Error | undefined): void {
      clearTimeout(timer);
      child.stdout?.off('data', onStdout);
      child.stderr?.off('data', onStderr);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error === undefined) resolve();
      else reject(error);
    }
    child.stdout?.on('data', onStdout);
    child.stderr?.on('data', onStderr);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), EXIT_TIMEOUT_MS);
  });
  if ((await Promise.race([exited, late])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
  child.stdout?.destroy();
  child.stderr?.destroy();
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= fn();
    return done;
  };
}

/** The child's side: bind, report, hold until told to stop. */
async function main(argv: readonly string[]): Promise<void> {
  let host = '127.0.0.1';
  const ports: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--host') {
      host = argv[++i] ?? host;
      continue;
    }
    const port = Number(arg);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      process.stderr.write(`error ${arg} not a port\n`);
      process.exit(2);
    }
    ports.push(port);
  }
  const family = host.includes(':') ? 'udp6' : 'udp4';
  const sockets: Socket[] = [];
  const closeAll = (): void => {
    for (const socket of sockets) socket.close();
    sockets.length = 0;
  };
  for (const port of ports) {
    try {
      sockets.push(await bindUdpSocket({ family, address: host, port, exclusive: true }));
    } catch (error) {
      const errno = (error as { errno?: string }).errno ?? String(error);
      process.stderr.write(`error ${port} ${errno}\n`);
      closeAll();
      process.exit(1);
    }
  }
  const stop = (): void => {
    closeAll();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdin.once('end', stop);
  process.stdin.once('close', stop);
  process.stdin.resume();
  process.stdout.write('ready\n');
}

if (import.meta.main) await main(process.argv.slice(2));
