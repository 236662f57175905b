// `porthole rist-send` and `porthole rist-recv` as real processes against Debian's ffmpeg (librist):
// ffmpeg → rist-recv (Main profile, AES-128) writing a file that holds the sent video packets and
// decodes; rist-send from stdin (Main profile, AES-256) → ffmpeg, every frame in order; rist-send →
// rist-recv (Simple profile, stdin to stdout) byte for byte; usage errors one line, exit 2.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  decodeErrors,
  ffmpegReceive,
  ffmpegRistMissing,
  ffmpegSend,
  hashesOf,
  indexOfRun,
  makeTestStream,
  nullPackets,
  packetHashes,
  portTaken,
  ristArgs,
  scratchDir,
} from '../rist/ffmpeg.ts';
import { freePair } from '../rist/interop-cases.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { assertUsageErrors, exited, lineOf, spawnCli } from './cli.ts';

checkLeaks();
const SECONDS = 2;

/** Writes `data` to a child's stdin spread over `durationMs` (as an encoder would), then ends it. */
async function pipePaced(stdin: NodeJS.WritableStream, data: Buffer, durationMs: number): Promise<void> {
  const per = 1316 * 4;
  const count = Math.ceil(data.length / per);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    stdin.write(data.subarray(i * per, (i + 1) * per));
    const wait = start + (i * durationMs) / count - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  stdin.end();
}

/** The port a `porthole rist-recv` says it listens on. */
async function listeningPort(child: ReturnType<typeof spawnCli>): Promise<number> {
  const line = await lineOf(child, 'stderr', (l) => l.includes('listening on'));
  return Number(/:(\d+) \(/.exec(line)?.[1]);
}

describe('porthole rist-send / rist-recv', () => {
  const scratch = scratchDir();
  let source = '';
  let bytes: Buffer = Buffer.alloc(0);
  let expected: string[] = [];
  before(() => {
    source = `${scratch.dir}/source.ts`;
    bytes = makeTestStream(source, SECONDS);
    expected = packetHashes(source);
  });
  after(() => scratch.remove());

  it('refuses bad flags with one line and exit 2', () =>
    assertUsageErrors([
      [
        ['rist-send', '127.0.0.1:5000', '--secret', 'x'],
        /a secret needs the Main profile; add --profile main/,
      ],
      [
        ['rist-send', '127.0.0.1:5000', '--profile', 'main', '--encryption', '128'],
        /--encryption without a secret/,
      ],
      [['rist-send', '127.0.0.1', '--profile', 'main'], /<host:port>: no port/],
      [['rist-send', '127.0.0.1:5000', '--input', 'tcp://x'], /--input: "tcp:\/\/x" is not/],
      [['rist-recv', '127.0.0.1:5001'], /port 5001 is odd/],
      [
        ['rist-recv', '127.0.0.1:0', '--profile', 'main', '--secret', 'x'.repeat(200)],
        /secret must be 1–127 bytes/,
      ],
    ]));

  it('ffmpeg (Main profile, AES-128) → rist-recv → a file with the sent packets that decodes', {
    skip: ffmpegRistMissing(),
  }, async () => {
    const out = `${scratch.dir}/received.ts`;
    const recv = spawnCli(
      [
        'rist-recv',
        '127.0.0.1:0',
        '--profile',
        'main',
        '--secret',
        'cli secret',
        '--output',
        `file:${out}`,
      ].concat(['--idle', '2', '--latency', '500']),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const done = exited(recv);
    const port = await listeningPort(recv);
    const ffmpeg = ffmpegSend(source, port, [], ristArgs('main', 'cli secret', 128));
    await ffmpeg.exited;
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /delivered \d+ packets.*0 decrypt and 0 auth failures/);
    const got = packetHashes(out);
    assert.deepEqual(got, expected, 'the video packets, in order');
    assert.equal(decodeErrors(out), '');
  });

  it('stdin → rist-send (Main profile, AES-256) → ffmpeg: every frame in order', {
    skip: ffmpegRistMissing(),
  }, async () => {
    const port = await freePair();
    const ffmpeg = ffmpegReceive(port, { bufferMs: 1000, rist: ristArgs('main', 'other secret', 256) });
    try {
      await waitFor(() => portTaken(port), { what: 'librist to bind its port' });
      const send = spawnCli(
        [
          'rist-send',
          `127.0.0.1:${port}`,
          '--profile',
          'main',
          '--secret',
          'other secret',
          '--encryption',
          '256',
        ],
        { stdio: ['pipe', 'ignore', 'pipe'] },
      );
      const done = exited(send);
      await lineOf(send, 'stderr', (l) => l.includes('sending to'));
      await pipePaced(
        send.stdin as NodeJS.WritableStream,
        Buffer.concat([bytes, nullPackets(1.5)]),
        SECONDS * 1000 + 1500,
      );
      const result = await done;
      assert.equal(result.code, 0, result.stderr);
      await waitFor(() => hashesOf(Buffer.concat(ffmpeg.stdout).toString()).length >= expected.length - 15, {
        what: 'ffmpeg to output the stream',
        timeoutMs: 15_000,
        detail: () => ffmpeg.stderr.join('').slice(-400),
      });
      const got = hashesOf(Buffer.concat(ffmpeg.stdout).toString());
      const at = indexOfRun(expected, got);
      assert.ok(at === 0 || at === 1, `frames out of order or missing (run at ${at})`);
    } finally {
      await ffmpeg.kill();
    }
  });

  it('rist-send → rist-recv (Simple profile), stdin to stdout byte for byte', async () => {
    const recv = spawnCli(['rist-recv', '127.0.0.1:0', '--idle', '1', '--latency', '200'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const received: Buffer[] = [];
    recv.stdout?.on('data', (b: Buffer) => received.push(b));
    const done = exited(recv);
    const port = await listeningPort(recv);
    const send = spawnCli(['rist-send', `127.0.0.1:${port}`, '--linger', '300'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    const sent = exited(send);
    await pipePaced(send.stdin as NodeJS.WritableStream, bytes, 1000);
    assert.equal((await sent).code, 0);
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    // What the file holds, up to its last whole 188-byte packet (rist-send flushes the tail).
    assert.ok(Buffer.concat(received).equals(readFileSync(source)), 'identical bytes');
  });
});
