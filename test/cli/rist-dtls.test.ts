// `porthole rist-send` / `rist-recv` with `--dtls` (Main profile) as real processes: the sender
// pins the certificate fingerprint the receiver prints, or both share a DTLS PSK, and stdin
// arrives on the receiver's stdout byte for byte; a wrong pin fails the sender with one line;
// DTLS flags that cannot work are usage errors (one line, exit 2).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLeaks } from '../support/leaks.ts';
import { assertUsageErrors, exited, lineOf, spawnCli } from './cli.ts';

checkLeaks();

/** `count` MPEG-TS packets on PID 0x100, numbered in their payload. */
function tsPackets(count: number): Buffer {
  const out = Buffer.alloc(count * 188, 0xa5);
  for (let i = 0; i < count; i++) {
    const at = i * 188;
    out[at] = 0x47;
    out[at + 1] = 0x01;
    out[at + 2] = 0x00;
    out[at + 3] = 0x10 | (i & 0x0f);
    out.writeUInt32BE(i, at + 4);
  }
  return out;
}

/** Starts a DTLS `rist-recv`; resolves with it, its port and the fingerprint it printed. */
async function startReceiver(extra: readonly string[]) {
  const recv = spawnCli(
    ['rist-recv', '127.0.0.1:0', '--profile', 'main', '--dtls', '--idle', '1', '--latency', '200', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const received: Buffer[] = [];
  recv.stdout?.on('data', (b: Buffer) => received.push(b));
  const done = exited(recv);
  const line = await lineOf(recv, 'stderr', (l) => l.includes('listening on'));
  assert.match(line, /\(main profile, DTLS\)/);
  const port = Number(/:(\d+) \(/.exec(line)?.[1]);
  return { recv, done, received, port, fingerprint: /sha-256 ([0-9A-F:]+)/.exec(line)?.[1] };
}

async function sendThrough(port: number, extra: readonly string[], data: Buffer) {
  const send = spawnCli(
    ['rist-send', `127.0.0.1:${port}`, '--profile', 'main', '--dtls', '--linger', '300', ...extra],
    {
      stdio: ['pipe', 'ignore', 'pipe'],
    },
  );
  const done = exited(send);
  send.stdin?.on('error', () => {}); // a sender that failed already: its exit tells
  for (let at = 0; at < data.length; at += 1316 * 4) {
    send.stdin?.write(data.subarray(at, at + 1316 * 4));
    await new Promise((resolve) => setTimeout(resolve, 4));
  }
  send.stdin?.end();
  return done;
}

describe('porthole rist-send / rist-recv --dtls', () => {
  it('refuses DTLS flags that cannot work with one line and exit 2', () =>
    assertUsageErrors([
      [
        ['rist-send', '127.0.0.1:5000', '--dtls', '--insecure'],
        /--dtls needs the Main profile; add --profile main/,
      ],
      [
        ['rist-send', '127.0.0.1:5000', '--profile', 'main', '--dtls', '--insecure', '--secret', 'x'],
        /--dtls and a secret exclude each other/,
      ],
      [['rist-send', '127.0.0.1:5000', '--profile', 'main', '--dtls'], /the sender must verify the receiver/],
      [['rist-recv', '127.0.0.1:0', '--profile', 'main', '--cert', 'c.pem'], /--cert needs --dtls/],
      [
        ['rist-send', '127.0.0.1:5000', '--profile', 'main', '--fingerprint', 'AB'],
        /--fingerprint needs --dtls/,
      ],
      [
        ['rist-recv', '127.0.0.1:0', '--profile', 'main', '--dtls', '--cert', 'c.pem'],
        /--cert and --key go together/,
      ],
    ]));

  it('the sender pins the fingerprint the receiver prints: stdin to stdout byte for byte', async () => {
    const data = tsPackets(7 * 200);
    const { done, received, port, fingerprint } = await startReceiver([]);
    assert.ok(fingerprint !== undefined, 'the receiver prints its certificate fingerprint');
    const sent = await sendThrough(port, ['--fingerprint', fingerprint], data);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stderr, /sending to 127\.0\.0\.1:\d+ \(main profile, DTLS TLS_/);
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(Buffer.concat(received).equals(data), 'identical bytes');
    assert.match(result.stderr, /delivered 200 packets/);
  });

  it('a DTLS pre-shared key on both sides (no certificate)', async () => {
    const data = tsPackets(7 * 50);
    const psk = ['--psk', '00112233445566778899aabbccddeeff', '--psk-identity', 'rist-cli'];
    const { done, received, port, fingerprint } = await startReceiver(psk);
    assert.equal(fingerprint, undefined, 'no certificate with a PSK alone');
    const sent = await sendThrough(port, psk, data);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal((await done).code, 0);
    assert.ok(Buffer.concat(received).equals(data), 'identical bytes');
  });

  it('a wrong pin fails the sender with one line, no stack trace', async () => {
    const { recv, done, port } = await startReceiver([]);
    const wrong = Array.from({ length: 32 }, () => 'AB').join(':');
    const sent = await sendThrough(port, ['--fingerprint', wrong], tsPackets(7));
    assert.notEqual(sent.code, 0);
    assert.doesNotMatch(sent.stderr, /^\s+at /m);
    assert.equal(sent.stderr.trim().split('\n').length, 1, sent.stderr);
    assert.match(sent.stderr, /certificate/i);
    recv.kill('SIGINT');
    await done;
  });
});
