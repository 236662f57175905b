// `porthole echo` and `porthole ping` as child processes on loopback: the echo server says at
// start-up that the cookie handshake is on and how to try it; ping does the handshake and reports
// RTT, loss and reordering like ping(8); a server that is not there is exit 3; bad flags exit 2.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkLeaks } from '../support/leaks.ts';
import { assertFailure, assertUsageErrors, exited, lineOf, runCli, spawnCli } from './cli.ts';

checkLeaks();

// Ports 62550-62559 belong to this file.
describe('porthole echo + porthole ping', () => {
  let echo: ReturnType<typeof spawnCli>;
  let echoDone: ReturnType<typeof exited>;
  let cookieNote: string;
  before(async () => {
    echo = spawnCli(['echo', '--host', '127.0.0.1', '--port', '62550', '--cookie', '--json']);
    echoDone = exited(echo);
    cookieNote = await lineOf(echo, 'stderr', (l) => l.includes('cookie'));
  });
  after(async () => {
    echo.kill('SIGINT');
    const result = await echoDone;
    assert.equal(result.code, 0, result.stderr);
  });

  it('echo says the cookie is on and how to get through it', () => {
    assert.match(
      cookieNote,
      /the cookie handshake is on: plain UDP clients \(nc -u\) get no echo.*porthole ping 127\.0\.0\.1:62550.*--no-cookie/,
    );
  });

  it('ping does the handshake and reports RTT, loss and reordering (--json)', async () => {
    const result = await runCli(['ping', '127.0.0.1:62550', '-c', '3', '-i', '50', '-W', '1000', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const summary = lines.at(-1);
    assert.equal(summary.transmitted, 3);
    assert.equal(summary.received, 3);
    assert.equal(summary.lossPercent, 0);
    assert.equal(summary.reordered, 0);
    assert.ok(summary.rttMs.min <= summary.rttMs.avg && summary.rttMs.avg <= summary.rttMs.max);
    assert.deepEqual(
      lines.slice(0, -1).map((l: { seq: number }) => l.seq),
      [0, 1, 2],
    );
  });

  it('ping prints like ping(8) for people', async () => {
    const result = await runCli(['ping', '127.0.0.1:62550', '-c', '2', '-i', '50', '-W', '500']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /64 bytes from 127\.0\.0\.1:62550: seq=0 time=[\d.]+ ms/);
    assert.match(result.stdout, /2 probes transmitted, 2 received, 0 reordered, 0% loss/);
    assert.match(result.stdout, /rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms/);
  });

  it('ping to nobody: exit 3, one line', async () => {
    const result = await runCli(['ping', '127.0.0.1:62551', '-c', '1']);
    assertFailure(
      result,
      3,
      /no handshake with 127\.0\.0\.1:62551 within 5 s; is `porthole echo` running there/,
    );
  });

  it('echo --for stops on its own; bad flags exit 2 before binding', async () => {
    const timed = await runCli(['echo', '--host', '127.0.0.1', '--port', '0', '--for', '0.5']);
    assert.equal(timed.code, 0, timed.stderr);
    const cases: [readonly string[], RegExp][] = [
      [['echo', '--for', 'abc'], /--for <seconds>.*'abc' is invalid/],
      [['echo', '--port', '70000'], /--port <port>.*'70000' is invalid/],
      [['echo', '--max-sessions', '1.5'], /--max-sessions <n>.*whole number/],
      [['echo', '--idle', '-5'], /--idle <ms>/],
      [['echo', '--mode', 'fast'], /--mode <shared\|connected>.*Give one of shared, connected/],
      [['echo', '--host', 'localhost'], /--host <address>.*Give a numeric/],
      [['ping', '127.0.0.1'], /Give the port too/],
      [['ping', '127.0.0.1:62550', '-c', '0'], /--count <n>/],
      [
        ['ports', '--range', '62552-62553', '--host', '::1', '--family', 'udp4'],
        /--host ::1 is IPv6 but --family is udp4; give --family udp6/,
      ],
    ];
    await assertUsageErrors(cases);
  });
});
