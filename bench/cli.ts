// npm run bench -- cli [--json] [--runs 5] [--main <path of another checkout's src/cli/main.ts>]
//
// What a `porthole` process costs to start: CPU time (user + system) and peak RSS of
// `porthole --version`, `porthole peer --help` and of a started `porthole peer` (at its `ready`
// line, and 3 s later), next to the baseline `node -e 0`, with Node's compile cache on (as the bin
// and main.ts enable it) and off (NODE_DISABLE_COMPILE_CACHE=1, a cold cache every time). Medians of
// --runs runs. Short-lived commands report through a preload that writes process.resourceUsage() at
// exit; the started peer is read from /proc (Linux).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createChannel, issueToken } from '../src/live/index.ts';
import { emit, flagValue, percentile, printTable } from './lib/report.ts';

const RUNS = Number(flagValue('runs', '5'));
/** `--main <file>`: another checkout's src/cli/main.ts, for a before/after. */
const MAIN = flagValue('main', new URL('../src/cli/main.ts', import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-cli-'));
const cacheDir = join(dir, 'compile-cache');
const USAGE_FILE = join(dir, 'usage.json');
/** Writes this process's CPU and peak RSS to PORTHOLE_BENCH_USAGE at exit. */
const PRELOAD = `data:text/javascript,${encodeURIComponent(
  "import{writeFileSync}from'node:fs';process.on('exit',()=>{const u=process.resourceUsage();" +
    'writeFileSync(process.env.PORTHOLE_BENCH_USAGE,JSON.stringify({cpuMs:(u.userCPUTime+u.systemCPUTime)/1000,rssMb:u.maxRSS/1024}))})',
)}`;

interface Usage {
  readonly cpuMs: number;
  readonly rssMb: number;
}

function env(cache: boolean): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    PORTHOLE_BENCH_USAGE: USAGE_FILE,
    NODE_COMPILE_CACHE: cacheDir,
  };
  delete e.NODE_DISABLE_COMPILE_CACHE;
  if (!cache) e.NODE_DISABLE_COMPILE_CACHE = '1';
  return e;
}

/** Runs `node <args>` to its end and returns what it used. */
function measureExit(args: readonly string[], cache: boolean): Promise<Usage> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PRELOAD, ...args], {
      env: env(cache),
      stdio: 'ignore',
    });
    child.once('error', reject);
    child.once('exit', () => {
      try {
        resolve(JSON.parse(readFileSync(USAGE_FILE, 'utf8')) as Usage);
      } catch (error) {
        reject(error);
      }
    });
  });
}

const CLOCK_TICKS_PER_S = 100;

/** CPU ms (utime + stime) and RSS of a running process, from /proc. */
function procUsage(pid: number): Usage & { rssAnonMb: number; rssFileMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number =>
    Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return {
    cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_S,
    rssMb: kb('VmRSS') / 1024,
    rssAnonMb: kb('RssAnon') / 1024,
    rssFileMb: kb('RssFile') / 1024,
  };
}

const channel = createChannel();
const token = issueToken({
  secret: randomBytes(32),
  peerId: 'bench-cli',
  channelId: channel.id,
  role: 'peer',
  expiresAtMs: Date.now() + 3_600_000,
});

/** Starts `porthole peer` (a static edge that never answers) and reads it at `ready` and 3 s later. */
function measurePeer(cache: boolean): Promise<{ ready: Usage; idle: Usage & { rssAnonMb: number } }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'peer',
        '--token',
        token,
        '--public-key',
        channel.publicKey.toString('hex'),
        '--edge',
        '127.0.0.1:9',
        '--listen',
        '127.0.0.1:0',
        '--json',
      ],
      { env: env(cache), stdio: ['ignore', 'pipe', 'ignore'] },
    );
    child.once('error', reject);
    let ready: Usage | undefined;
    const timeout = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('porthole peer did not print ready within 60 s'));
    }, 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (ready !== undefined || !line.includes('"ready"')) return;
      ready = procUsage(child.pid!);
      setTimeout(() => {
        const idle = procUsage(child.pid!);
        clearTimeout(timeout);
        child.once('exit', () => resolve({ ready: ready!, idle }));
        child.kill('SIGTERM');
      }, 3_000);
    });
  });
}

function medianOf(values: readonly Usage[]): Usage {
  return {
    cpuMs: percentile(
      values.map((v) => v.cpuMs),
      50,
    ),
    rssMb: percentile(
      values.map((v) => v.rssMb),
      50,
    ),
  };
}

async function runs<T>(measure: () => Promise<T>): Promise<T[]> {
  const all: T[] = [];
  for (let i = 0; i < RUNS; i++) all.push(await measure());
  return all;
}

const rows: { case: string; cache: string; cpuMs: number; rssMb: number }[] = [];
try {
  await measureExit(['-e', '0'], true); // fills nothing, warms the OS file cache
  await measureExit([MAIN, 'peer', '--help'], true); // fills the compile cache
  for (const cache of [true, false]) {
    const mode = cache ? 'on' : 'off';
    const base = medianOf(await runs(() => measureExit(['-e', '0'], cache)));
    rows.push({ case: 'node -e 0 (baseline)', cache: mode, ...base });
    const version = medianOf(await runs(() => measureExit([MAIN, '--version'], cache)));
    rows.push({ case: 'porthole --version', cache: mode, ...version });
    const help = medianOf(await runs(() => measureExit([MAIN, 'peer', '--help'], cache)));
    rows.push({ case: 'porthole peer --help', cache: mode, ...help });
    const peers = await runs(() => measurePeer(cache));
    rows.push({ case: 'porthole peer (at ready)', cache: mode, ...medianOf(peers.map((p) => p.ready)) });
    rows.push({ case: 'porthole peer (3 s later)', cache: mode, ...medianOf(peers.map((p) => p.idle)) });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const baseline = (cache: string): { cpuMs: number; rssMb: number } =>
  rows.find((r) => r.cache === cache && r.case.startsWith('node'))!;
const result = {
  runs: RUNS,
  rows: rows.map((r) => ({
    ...r,
    cpuVsBaseline: r.cpuMs / baseline(r.cache).cpuMs,
    rssVsBaseline: r.rssMb / baseline(r.cache).rssMb,
  })),
};
emit(result, () =>
  printTable(
    `porthole start-up (median of ${RUNS} runs; compile cache on = as the bin runs it)`,
    result.rows.map((r) => ({
      case: r.case,
      'compile cache': r.cache,
      'cpu ms': Math.round(r.cpuMs),
      'rss MB': Math.round(r.rssMb),
      'cpu / node -e 0': r.cpuVsBaseline.toFixed(1),
    })),
  ),
);
