import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const floodScript = fileURLToPath(new URL('./fixtures/flood-client.ts', import.meta.url));

/** What one flood source reports. */
export interface SourceReport {
  readonly port: number;
  readonly sent: number;
  readonly echoed: number;
  readonly outOfOrder: number;
}

/** Settings of {@link runFlood}. */
export interface FloodOptions {
  readonly host?: string;
  readonly port: number;
  /** Child processes. */
  readonly processes: number;
  /** Sockets (sources) per process. */
  readonly sockets: number;
  /** Datagrams per source. */
  readonly count: number;
  /** Unanswered datagrams per source, at most. */
  readonly window: number;
  /** Run the cookie handshake first. */
  readonly handshake?: boolean;
  /** Delay between the starts of two sources of one process, in ms. */
  readonly staggerMs?: number;
  readonly signal?: AbortSignal;
  /** Another source script (same ready/go/report protocol) and its argv instead of the flood client's. */
  readonly script?: { readonly path: string; readonly argv: readonly string[] };
}

/** Runs `processes` real flood processes against a server and resolves with every source's report. */
export async function runFlood(options: FloodOptions): Promise<SourceReport[]> {
  const runs: Promise<SourceReport[]>[] = [];
  const children: ReturnType<typeof spawn>[] = [];
  let ready = 0;
  for (let p = 0; p < options.processes; p++) {
    const argv =
      options.script !== undefined
        ? [options.script.path, ...options.script.argv]
        : [
            floodScript,
            options.host ?? '127.0.0.1',
            String(options.port),
            String(options.sockets),
            String(options.count),
            String(options.window),
            options.handshake === true ? '1' : '0',
            String(options.staggerMs ?? 0),
          ];
    const child = spawn(process.execPath, argv, {
      stdio: ['pipe', 'pipe', 'inherit'],
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    children.push(child);
    runs.push(
      new Promise((resolve, reject) => {
        let out = '';
        let reported = false;
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.startsWith('ready\n') && !reported) {
            reported = true;
            // Every process has bound all its sources: let them all go at once.
            if (++ready === options.processes) for (const c of children) c.stdin!.write('go\n');
          }
        });
        child.once('error', reject);
        child.once('exit', (code) => {
          if (code !== 0) reject(new Error(`flood process exited with ${code}`));
          else resolve(JSON.parse(out.slice(out.indexOf('\n') + 1)) as SourceReport[]);
        });
      }),
    );
  }
  return (await Promise.all(runs)).flat();
}

/** Polls `check` every few ms until it holds, at most `limit` times; returns whether it held. */
export async function waitFor(check: () => boolean, limit = 400): Promise<boolean> {
  for (let i = 0; i < limit; i++) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return check();
}
