// `porthole source` as a child process: flags checked before anything binds (one line, exit 2),
// the key file created and its channel id printed, the test pattern and a file pushed to a real
// IngestServer on loopback, SIGINT stops it cleanly.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  decodeChunk,
  IngestServer,
  issueToken,
  loadChannelKey,
  Tracker,
  TrackerSession,
} from '../../src/live/index.ts';
import { demuxOf } from '../../src/mux/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { exited, lineOf, runCli, spawnCli } from './cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'porthole-source-'));
const VECTOR = new URL('../vectors/live/ts/h264-aac-2s.mpegts', import.meta.url).pathname;
const closers: (() => Promise<void>)[] = [];
after(async () => {
  // Runs when a test failed half-way too: nothing it opened keeps the file alive.
  for (const close of closers.reverse()) await close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});
checkLeaks();

async function edge(keyFile: string): Promise<{ socket: Socket; server: IngestServer; chunks: Buffer[] }> {
  const { channel } = await loadChannelKey(keyFile, { create: true });
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const server = new IngestServer({ demux: demuxOf(socket), channel });
  const chunks: Buffer[] = [];
  server.on('chunk', (bytes) => chunks.push(bytes));
  let closed = false;
  closers.push(async () => {
    await server.close();
    if (!closed) await new Promise<void>((resolve) => socket.close(() => resolve()));
  });
  socket.once('close', () => {
    closed = true;
  });
  return { socket, server, chunks };
}

describe('porthole source', () => {
  it('checks its flags before anything starts: one line, exit 2, no key file written', async () => {
    const key = join(dir, 'unused.pem');
    const cases: [string[], RegExp][] = [
      [['--key', key, '--input', 'nonsense', '--edge', '127.0.0.1:9'], /--input: "nonsense" is no input/],
      [['--key', key, '--input', 'testpattern'], /no edge to push to/],
      [
        ['--key', key, '--input', 'file:/x.ts', '--bitrate', '900', '--edge', '127.0.0.1:9'],
        /--bitrate is for/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['source', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    }
    assert.throws(() => statSync(key), { code: 'ENOENT' });
    const bad = await runCli(['source', '--key', VECTOR, '--input', 'testpattern', '--edge', '127.0.0.1:9']);
    assert.equal(bad.code, 1, 'a key file that is no key: the command fails');
    assert.match(bad.stderr, /not an Ed25519 private key.*ERR_LIVE_BAD_KEY_FILE/);
  });

  it('creates the key, prints the channel id and pushes the test pattern to an edge until SIGINT', async () => {
    const key = join(dir, 'channel.pem');
    const { socket, server, chunks } = await edge(key);
    const child = spawnCli(
      [
        'source',
        '--key',
        key,
        '--input',
        'testpattern',
        '--bitrate',
        '400',
        '--edge',
        `127.0.0.1:${socket.address().port}`,
        '--json',
        '--stats',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const done = exited(child);
    const line = JSON.parse(await lineOf(child, 'stdout', (l) => l.startsWith('{'))) as { channel: string };
    const { channel } = await loadChannelKey(key);
    assert.equal(line.channel, channel.id.toString('hex'), 'the id of the key in the file');
    assert.equal(statSync(key).mode & 0o777, 0o600);
    await waitFor(() => chunks.filter((c) => decodeChunk(c).flags & 1).length >= 2, {
      what: 'two random-access chunks from the CLI source',
      timeoutMs: 20_000,
    });
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(server.stats().forged, 0);
    await server.close();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  });

  it('joins a tracker with the channel key and pushes to the edge it names', async () => {
    const key = join(dir, 'tracked.pem');
    const { channel } = await loadChannelKey(key, { create: true });
    const tracker = await Tracker.listen({ address: '127.0.0.1', port: 0, secret: Buffer.alloc(32, 1) });
    closers.push(() => tracker.close());
    const { socket, server, chunks } = await edge(key);
    const session = await TrackerSession.join({
      tracker: { address: '127.0.0.1', port: tracker.address().port },
      demux: demuxOf(socket),
      token: issueToken({
        secret: Buffer.alloc(32, 1),
        peerId: 'edge-1',
        channelId: channel.id,
        role: 'edge',
        expiresAtMs: Date.now() + 60_000,
      }),
      channelId: channel.id,
      peerId: 'edge-1',
      role: 'edge',
      edgeEndpoint: { address: '127.0.0.1', port: socket.address().port },
    });
    closers.push(() => session.close());
    const child = spawnCli(
      [
        'source',
        '--key',
        key,
        '--input',
        `file:${VECTOR}`,
        '--tracker',
        `127.0.0.1:${tracker.address().port}`,
        '--stats',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const done = exited(child);
    await waitFor(() => chunks.length >= 2, {
      what: 'chunks via the tracker’s edge list',
      timeoutMs: 20_000,
    });
    child.kill('SIGINT');
    assert.equal((await done).code, 0);
    await session.close();
    await server.close();
    await tracker.close();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  });

  it('takes stdin (-) and stops when it ends', async () => {
    const key = join(dir, 'stdin.pem');
    const { socket, server, chunks } = await edge(key);
    const child = spawnCli([
      'source',
      '--key',
      key,
      '--input',
      '-',
      '--edge',
      `127.0.0.1:${socket.address().port}`,
      '--stats',
      '0',
    ]);
    const done = exited(child);
    child.stdin?.end(readFileSync(VECTOR));
    try {
      const result = await done;
      assert.equal(result.code, 0, result.stderr);
      // The source drained its queue before it exited: every chunk of the 2 s file arrived.
      assert.ok(chunks.length >= 6, `${chunks.length} chunks`);
      assert.equal(decodeChunk(chunks[0]!).flags & 1, 1);
    } finally {
      await server.close();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  });

  it('pushes a file (looped, paced) to an edge', async () => {
    const key = join(dir, 'file.pem');
    const { socket, server, chunks } = await edge(key);
    const child = spawnCli(
      [
        'source',
        '--key',
        key,
        '--input',
        `file:${VECTOR}`,
        '--edge',
        `127.0.0.1:${socket.address().port}`,
        '--stats',
        '0',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const done = exited(child);
    await lineOf(child, 'stdout', (l) => l.startsWith('channel '));
    await waitFor(() => chunks.filter((c) => decodeChunk(c).flags & 1).length >= 1, {
      what: 'a chunk of the file',
      timeoutMs: 20_000,
    });
    child.kill('SIGTERM');
    assert.equal((await done).code, 0);
    await server.close();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  });
});
