// Shared by the lab's punching tests (lossless and lossy matrix): the broker/TURN addresses in the
// internet namespace, the NAT classes and pairs, expected paths, and helpers that read the peer
// fixtures' JSON lines and stop them.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  baseNatType,
  INTERNET_ADDRESSES,
  type NatLab,
  type NatType,
  readJsonLine,
} from '../../src/lab/index.ts';
import type { NatClassType } from '../../src/nat/index.ts';
import type { PathKind } from '../../src/punch/index.ts';

/** The path of a fixture under test/lab/fixtures. */
export const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));

export const BROKER_PORT = 3478;
export const TURN_PORT = 3479;
export const RENDEZVOUS = INTERNET_ADDRESSES.rendezvous;
export const TURN = { server: `${RENDEZVOUS}:${TURN_PORT}`, username: 'lab', password: 'lab-secret' };

/** Every NAT host of the matrix: each type and its twin. */
export const NATS: readonly NatType[] = ['fc', 'ar', 'pr', 'sym', 'fc2', 'ar2', 'pr2', 'sym2'];

export const NAT_CLASS: Readonly<Record<'fc' | 'ar' | 'pr' | 'sym', NatClassType>> = {
  fc: 'full-cone',
  ar: 'address-restricted',
  pr: 'port-restricted',
  sym: 'symmetric',
};

/** The 10 unordered pairs; a pair of one type uses that type's twin for the second peer. */
export const PAIRS: readonly (readonly [NatType, NatType])[] = [
  ['fc', 'fc2'],
  ['fc', 'ar'],
  ['fc', 'pr'],
  ['fc', 'sym'],
  ['ar', 'ar2'],
  ['ar', 'pr'],
  ['ar', 'sym'],
  ['pr', 'pr2'],
  ['pr', 'sym'],
  ['sym', 'sym2'],
];

export function expectedPaths(a: NatType, b: NatType): readonly PathKind[] {
  const pair = [baseNatType(a), baseNatType(b)].sort().join('-');
  if (pair === 'sym-sym') return ['relay'];
  // Only port prediction opens a port-restricted NAT towards a symmetric one: `direct` here would
  // mean the lab's symmetric NAT is not symmetric, or the link mislabels its path.
  if (pair === 'pr-sym') return ['predicted'];
  return ['direct'];
}

export interface Line {
  readonly [key: string]: unknown;
}

/** Every JSON line of a child's stdout, as they come. */
export function lines(child: ChildProcess): Line[] {
  const out: Line[] = [];
  if (child.stdout !== null) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value === 'object' && value !== null) out.push(value as Line);
      } catch {}
    });
  }
  return out;
}

export async function waitFor(
  list: Line[],
  match: (l: Line) => boolean,
  ms: number,
  what: string,
): Promise<Line> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const found = list.find(match);
    if (found !== undefined) return found;
    const failed = list.find((l) => l.error !== undefined);
    if (failed !== undefined) throw new Error(`${what}: the peer failed with ${String(failed.error)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: nothing within ${ms} ms (got ${JSON.stringify(list)})`);
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts the matrix's services in the lab's internet namespace: a porthole broker on the rendezvous
 * address and coturn (long-term credentials `TURN`) beside it, and waits until both answer. coturn's
 * pid file, database and log go to `workdir`; the lab's teardown ends both processes.
 */
export async function startRendezvous(lab: NatLab, workdir: string): Promise<void> {
  const broker = lab.spawnNode('inet', fixture('punch-broker'), [RENDEZVOUS, String(BROKER_PORT), 'lab']);
  await readJsonLine(broker, (v) => v.ready === true, { timeoutMs: 30_000 });
  await startCoturn(lab, workdir);
}

/**
 * Starts coturn in the lab's internet namespace on `TURN.server` (long-term credentials `TURN`,
 * relayed ports 50000-50999) and waits until it answers a STUN binding. Its pid file, database and
 * log go to `workdir`; the lab's teardown ends it.
 */
export async function startCoturn(lab: NatLab, workdir: string): Promise<void> {
  lab.spawn(
    'inet',
    'turnserver',
    [
      '-n',
      '--no-cli',
      '--no-tcp',
      '--no-tls',
      '--no-dtls',
      '-L',
      RENDEZVOUS,
      '--relay-ip',
      RENDEZVOUS,
      '--listening-port',
      String(TURN_PORT),
      '--min-port',
      '50000',
      '--max-port',
      '50999',
      '--lt-cred-mech',
      '--user',
      `${TURN.username}:${TURN.password}`,
      '--realm',
      'porthole.lab',
      '--pidfile',
      join(workdir, 'turnserver.pid'),
      '--db',
      join(workdir, 'turndb'),
      '--log-file',
      join(workdir, 'turnserver.log'),
      '--no-stdout-log',
    ],
    { stdio: 'ignore' },
  );
  const ping = lab.spawnNode('inet', fixture('stun-ping'), [TURN.server]);
  const { ready } = await readJsonLine<{ ready: boolean }>(ping, () => true, { timeoutMs: 30_000 });
  assert.equal(ready, true, 'coturn answers');
}

/** Starts a peer process on `nat`'s host and waits until it has registered with the broker. */
export async function startPeer(
  lab: NatLab,
  nat: NatType,
  config: Record<string, unknown>,
): Promise<[ChildProcess, Line[]]> {
  const child = lab.spawnNode(`h-${nat}`, fixture('punch-peer'), [
    JSON.stringify({
      broker: `${RENDEZVOUS}:${BROKER_PORT}`,
      natClass: NAT_CLASS[baseNatType(nat)],
      turn: TURN,
      ...config,
    }),
  ]);
  const out = lines(child);
  await waitFor(out, (l) => l.ready === true, 30_000, `${nat} registers`);
  return [child, out];
}
