// `porthole tracker` and `porthole token` as child processes: a generated secret, a token issued
// by the CLI that a real TrackerSession joins with, a clean stop on SIGTERM, a tracker on a real
// redis-server, and one-line failures for bad flags before anything binds.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TrackerSession, verifyToken } from '../../src/live/index.ts';
import { CHANNEL, loopbackDemux } from '../live/tracker-helpers.ts';
import { HAVE_REDIS, type RedisServer, startRedis } from '../live/tracker-redis-server.ts';
import { checkLeaks } from '../support/leaks.ts';
import { exited, lineOf, runCli, spawnCli } from './cli.ts';

let dir: string;
let redis: RedisServer | undefined;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porthole-cli-tracker-'));
  if (HAVE_REDIS) redis = await startRedis();
});
after(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});
checkLeaks();

const channel = CHANNEL.id.toString('hex');

async function runTracker(args: readonly string[]): Promise<void> {
  const child = spawnCli(['tracker', '--listen', '127.0.0.1:0', '--json', '--stats', '0', ...args]);
  const done = exited(child);
  try {
    const line = await lineOf(child, 'stdout', (l) => l.startsWith('{'));
    const { listening } = JSON.parse(line) as { listening: string };
    const port = Number(listening.split(':').pop());
    const flag = args.includes('--secret-file') ? '--secret-file' : '--generate-secret';
    const secretFile = args[args.indexOf(flag) + 1]!;
    const issued = await runCli([
      'token',
      '--secret-file',
      secretFile,
      '--peer',
      'cli-peer',
      '--channel',
      channel,
    ]);
    assert.equal(issued.code, 0, issued.stderr);
    const token = issued.stdout.trim();
    const { demux, close } = await loopbackDemux();
    try {
      const session = await TrackerSession.join({
        tracker: { address: '127.0.0.1', port },
        demux,
        token,
        channelId: CHANNEL.id,
        peerId: 'cli-peer',
        role: 'peer',
        natClass: 'open',
      });
      assert.equal(session.stats().joined, true);
      await session.close();
    } finally {
      await close();
    }
  } finally {
    child.kill('SIGTERM');
    const end = await done;
    assert.equal(end.code, 0, end.stderr);
  }
}

describe('porthole tracker / porthole token', () => {
  it('generates a secret, issues a token a session joins with, and stops on SIGTERM', async () => {
    const file = join(dir, 'secret');
    await runTracker(['--generate-secret', file]);
    const hex = (await readFile(file, 'utf8')).trim();
    assert.match(hex, /^[0-9a-f]{64}$/);
    const issued = await runCli([
      'token',
      '--secret-file',
      file,
      '--peer',
      'p',
      '--channel',
      channel,
      '--role',
      'edge',
      '--json',
    ]);
    const { token, expiresAt } = JSON.parse(issued.stdout) as { token: string; expiresAt: string };
    const claims = verifyToken(Buffer.from(hex, 'hex'), token, Date.now());
    assert.equal(claims.role, 'edge');
    assert.equal(claims.expiresAtMs, Date.parse(expiresAt));
  });

  it('runs on Redis', { skip: HAVE_REDIS ? false : 'redis-server is not installed' }, async () => {
    const file = join(dir, 'secret-redis');
    await writeFile(file, 'a text secret of enough bytes\n');
    await runTracker(['--secret-file', file, '--redis', redis!.url, '--redis-prefix', 'cli:']);
  });

  it('fails with one line and a usage code on bad flags, before binding', async () => {
    const file = join(dir, 'short');
    await writeFile(file, 'short');
    const cases = [
      [['tracker', '--listen', '127.0.0.1:0'], 2, /no secret/],
      [['tracker', '--listen', 'localhost:7000', '--secret-file', file], 2, /numeric/],
      [['tracker', '--listen', '127.0.0.1:0', '--secret-file', file], 2, /at least 16 bytes/],
      [['tracker', '--listen', '127.0.0.1:0', '--generate-secret', file], 2, /exists/],
      [['tracker', '--listen', '127.0.0.1:0', '--secret-file', file, '--redis', 'http://x'], 2, /redis:\/\//],
      [['tracker', '--listen', '127.0.0.1:0', '--secret-file', file, '--max-nodes', '0'], 2, /whole number/],
      [['token', '--secret-file', file, '--peer', 'p', '--channel', 'zz'], 2, /64 hex/],
      [['token', '--secret-file', file, '--peer', 'has space', '--channel', channel], 2, /visible ASCII/],
    ] as const;
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    for (const [i, [args, code, pattern]] of cases.entries()) {
      const r = results[i]!;
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
      // One line saying what is wrong (commander's parse errors add "(add --help for the flags)").
      const lines = r.stderr.trim().split('\n');
      assert.ok(
        lines.length === 1 || (lines.length === 2 && lines[1] === '(add --help for the flags)'),
        r.stderr,
      );
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    const good = join(dir, 'good');
    await writeFile(good, 'x'.repeat(32));
    const r = await runCli([
      'tracker',
      '--listen',
      '127.0.0.1:0',
      '--secret-file',
      good,
      '--redis',
      'redis://127.0.0.1:1',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot reach Redis/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});
