// Two `porthole tracker` processes on one real redis-server, with a real source, edge and peers
// (`porthole source`, `porthole edge`, `porthole peer` processes): the source and the edge
// register at tracker A, a peer at A and a leech at B; B offers the leech the channel's key, its
// edge and the peer at A, the punch broker introduces them across the trackers, and the leech
// plays chunks that the peer at A sent it over their punched link. Then tracker B is killed
// (SIGKILL) and started again on its port: it lost no channel — a new peer joining there learns
// the key and the edge from it (Redis) and plays.
// porthole:test-serial — two tracker processes, redis-server, a source, an edge and peers (test/support/run-suite.ts)
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DemoChild, issueToken, loadChannelKey } from '../../src/live/index.ts';
import { exited, lineOf, spawnCli } from '../cli/cli.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { HAVE_REDIS, type RedisServer, startRedis } from './tracker-redis-server.ts';

const skip = HAVE_REDIS ? false : 'redis-server is not installed (apt install redis-server)';
/** How long a child may take to print its first line (a busy machine starts Node slowly). */
const START_MS = 90_000;
const SECRET_HEX = 'a1'.repeat(32);

const dir = mkdtempSync(join(tmpdir(), 'porthole-redis-processes-'));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, `${SECRET_HEX}\n`);
let redis: RedisServer | undefined;
/** What `after` stops, newest first. */
const running: { stop(): Promise<unknown> }[] = [];

before(async () => {
  if (HAVE_REDIS) redis = await startRedis();
});
after(async () => {
  for (const r of running.reverse()) await r.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});
checkLeaks({ graceMs: 5_000 });

/** A `porthole` child that prints one JSON line once it is up (tracker, source). */
interface LineChild {
  readonly child: ChildProcess;
  readonly line: Record<string, unknown>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

async function startLineChild(args: readonly string[]): Promise<LineChild> {
  const child = spawnCli(args);
  const done = exited(child);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return (await done).code;
  };
  running.push({ stop });
  try {
    const line = await lineOf(child, 'stdout', (l) => l.startsWith('{'), START_MS);
    return { child, line: JSON.parse(line) as Record<string, unknown>, stop };
  } catch (error) {
    await stop('SIGKILL');
    throw new Error(`porthole ${args[0]} did not start: ${(await done).stderr}`, { cause: error });
  }
}

async function startTracker(port = 0): Promise<{ port: number; process: LineChild }> {
  const t = await startLineChild([
    'tracker',
    ...['--listen', `127.0.0.1:${port}`, '--secret-file', secretFile],
    ...['--redis', redis!.url, '--redis-prefix', 'processes:', '--json', '--stats', '0'],
  ]);
  return { port: Number(String(t.line.listening).split(':').pop()), process: t };
}

function token(peerId: string, channelId: Buffer, role: 'peer' | 'edge'): string {
  return issueToken({
    secret: Buffer.from(SECRET_HEX, 'hex'),
    peerId,
    channelId,
    role,
    expiresAtMs: Date.now() + 3600_000,
  });
}

function node(name: string, args: readonly string[]): DemoChild {
  const child = new DemoChild(name, args);
  running.push({ stop: () => child.stop(10_000) });
  return child;
}

function peer(id: string, trackerPort: number, channelId: Buffer, extra: readonly string[] = []): DemoChild {
  // No --public-key: the peer learns the channel's key from the tracker it joins.
  return node(id, [
    'peer',
    '--json',
    ...['--tracker', `127.0.0.1:${trackerPort}`, '--token', token(id, channelId, 'peer')],
    ...['--listen', '127.0.0.1:0', ...extra],
  ]);
}

type Stats = Record<string, unknown> & {
  played?: number;
  bytesFromPeers?: number;
  neighbours?: { id: string; isEdge: boolean; delivered: number }[];
};
const statsOf = (c: DemoChild): Stats => (c.latest('stats') as Stats | undefined) ?? {};
const describe1 = (c: DemoChild): string => {
  const s = statsOf(c);
  return `${c.name}: played ${s.played} fromPeers ${s.bytesFromPeers} neighbours ${JSON.stringify(s.neighbours)}`;
};

describe('two tracker processes on one redis-server, real source, edge and peers', {
  skip,
  timeout: 600_000,
}, () => {
  it('peers registered at different trackers are introduced, connect and share; a restarted tracker loses no channel', async () => {
    const a = await startTracker();
    const b = await startTracker();
    const { channel } = await loadChannelKey(join(dir, 'channel.pem'), { create: true });
    await startLineChild([
      'source',
      ...['--key', join(dir, 'channel.pem'), '--input', 'testpattern', '--bitrate', '300'],
      ...['--tracker', `127.0.0.1:${a.port}`, '--listen', '127.0.0.1:0', '--json', '--stats', '0'],
    ]);
    const edge = node('edge', [
      'edge',
      '--json',
      ...['--listen', '127.0.0.1:0', '--tracker', `127.0.0.1:${a.port}`],
      ...['--token', token('edge', channel.id, 'edge'), '--secret-file', secretFile],
    ]);
    await edge.waitFor('ready', START_MS);
    const atA = peer('peer-a', a.port, channel.id);
    await atA.waitFor('ready', START_MS);
    // A leech asks its neighbours first and the edge only at the deadline: what it plays came
    // mostly from peer-a, over the link the two trackers' brokers punched.
    const atB = peer('leech-b', b.port, channel.id, ['--no-upload']);
    await atB.waitFor('ready', START_MS);
    const fromA = (): number =>
      statsOf(atB).neighbours?.find((n) => n.id === 'peer-a' && !n.isEdge)?.delivered ?? 0;
    await waitFor(() => fromA() >= 20 && (statsOf(atB).played ?? 0) >= 20, {
      what: 'the leech at tracker B playing chunks peer-a (at tracker A) sent it',
      timeoutMs: 120_000,
      intervalMs: 500,
      detail: () => [describe1(atA), describe1(atB)],
    });
    assert.ok((statsOf(atB).bytesFromPeers ?? 0) > 0, 'bytes from a peer');
    assert.ok(
      statsOf(atA).neighbours?.some((n) => n.id === 'leech-b'),
      'peer-a has the leech as a neighbour',
    );

    // Tracker B killed for real and started again on its port: Redis kept the channel.
    await b.process.stop('SIGKILL');
    const b2 = await startTracker(b.port);
    const late = peer('late-b', b2.port, channel.id);
    await waitFor(() => (statsOf(late).played ?? 0) >= 12, {
      what: 'a peer joining the restarted tracker B (key and edge from Redis) playing',
      timeoutMs: 120_000,
      intervalMs: 500,
      detail: () => [describe1(late), late.stderr],
    });
    for (const c of [edge, atA, atB, late]) assert.ok(c.running, `${c.name} is running`);
    for (const c of [late, atB, atA]) assert.equal(await c.stop(10_000), 0, `${c.name} left cleanly`);
  });
});
