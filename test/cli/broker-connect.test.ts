// `porthole broker` and `porthole connect` as child processes on loopback: a broker with a token
// file, two peers that link, print path and RTT on stderr, and relay stdin to each other's stdout;
// the broker's and connect's flag checks.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { missingTool } from '../../src/lab/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { type Coturn, startCoturn, TURN_PASSWORD, TURN_USER } from '../support/turn-coturn.ts';

checkLeaks();

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const noCoturn = (await missingTool('turnserver', 'coturn')) ?? false;

interface Done {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `porthole connect …` with `input` on stdin; resolves when it exits (killed after 240 s: a bound). */
function connect(args: readonly string[], input: string): Promise<Done> {
  const child = spawn(process.execPath, [MAIN, 'connect', '--timeout', '240000', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('porthole broker + porthole connect', () => {
  let dir: string;
  let broker: ChildProcess;
  let brokerAddress: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'porthole-cli-punch-'));
    await writeFile(
      join(dir, 'tokens'),
      '# peer token\nalice a-secret\nbob b-secret\nalice2 a-secret\nbob2 b-secret\nalice3 a-secret\nbob3 b-secret\n',
    );
    broker = spawn(
      process.execPath,
      [MAIN, 'broker', '--listen', '127.0.0.1:0', '--token-file', join(dir, 'tokens'), '--json'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: broker.stdout! });
      lines.once('line', (l) => {
        lines.close();
        resolve(l);
      });
      broker.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
    });
    brokerAddress = (JSON.parse(line) as { listening: string }).listening;
    assert.match(brokerAddress, /^127\.0\.0\.1:\d+$/);
  });

  after(async () => {
    if (broker !== undefined && broker.exitCode === null) {
      const exited = new Promise((resolve) => broker.once('exit', resolve));
      broker.kill('SIGTERM');
      await exited;
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('links two peers, prints path and RTT, and relays stdin both ways', async () => {
    const common = ['--broker', brokerAddress, '--local-address', '127.0.0.1', '--json'];
    const [alice, bob] = await Promise.all([
      connect([...common, '--id', 'alice', '--peer', 'bob', '--token', 'a-secret'], 'hello from alice\n'),
      connect([...common, '--id', 'bob', '--peer', 'alice', '--token', 'b-secret'], 'hello from bob\n'),
    ]);
    assert.equal(alice.code, 0, alice.stderr);
    assert.equal(bob.code, 0, bob.stderr);
    assert.equal(alice.stdout, 'hello from bob\n');
    assert.equal(bob.stdout, 'hello from alice\n');
    for (const [side, other] of [
      [alice, 'bob'],
      [bob, 'alice'],
    ] as const) {
      const status = JSON.parse(side.stderr.split('\n').find((l) => l.startsWith('{')) ?? '{}');
      assert.equal(status.peer, other);
      assert.equal(status.path, 'direct');
      assert.match(status.remote, /^127\.0\.0\.1:\d+$/);
      assert.equal(typeof status.rttMs, 'number');
      assert.ok(status.rttMs >= 0);
    }
  });

  it('relays a larger input (more than one datagram)', async () => {
    const big = `${'x'.repeat(5_000)}\n`;
    const common = ['--broker', brokerAddress, '--local-address', '127.0.0.1'];
    const [alice, bob] = await Promise.all([
      connect([...common, '--id', 'alice2', '--peer', 'bob2', '--token', 'a-secret'], big),
      connect([...common, '--id', 'bob2', '--peer', 'alice2', '--token', 'b-secret'], ''),
    ]);
    assert.equal(alice.code, 0, alice.stderr);
    assert.equal(bob.code, 0, bob.stderr);
    assert.equal(bob.stdout, big);
    assert.match(alice.stderr, /linked to bob2 via direct \(127\.0\.0\.1:\d+\), rtt [\d.]+ ms/);
  });

  it('uses a TURN server when given one (allocates; the link still goes direct)', {
    skip: noCoturn,
  }, async () => {
    const coturn: Coturn = await startCoturn();
    try {
      const common = [
        '--broker',
        brokerAddress,
        '--local-address',
        '127.0.0.1',
        '--turn',
        `127.0.0.1:${coturn.port}`,
        '--turn-user',
        TURN_USER,
        '--turn-pass',
        TURN_PASSWORD,
        '--json',
      ];
      const [alice, bob] = await Promise.all([
        connect([...common, '--id', 'alice3', '--peer', 'bob3', '--token', 'a-secret'], 'a\n'),
        connect([...common, '--id', 'bob3', '--peer', 'alice3', '--token', 'b-secret'], 'b\n'),
      ]);
      assert.equal(alice.code, 0, alice.stderr);
      assert.equal(bob.code, 0, bob.stderr);
      assert.equal(alice.stdout, 'b\n');
      assert.equal(bob.stdout, 'a\n');
    } finally {
      await coturn.close();
    }
  });

  it('refuses bad options with one line and exit status 2, before binding anything', async () => {
    const fails = async (args: string[], pattern: RegExp): Promise<void> => {
      await assert.rejects(run(process.execPath, [MAIN, ...args]), (error: unknown) => {
        const e = error as { code?: number; stderr?: string };
        assert.equal(e.code, 2, e.stderr);
        assert.doesNotMatch(e.stderr ?? '', /^\s+at /m, 'no stack trace');
        assert.match(e.stderr ?? '', pattern);
        return true;
      });
    };
    await fails(
      ['broker', '--listen', '127.0.0.1:0'],
      /give exactly one of --token-file <file> and --allow-any/,
    );
    await writeFile(join(dir, 'bad-tokens'), 'alice\n');
    await fails(
      ['broker', '--listen', '127.0.0.1:0', '--token-file', join(dir, 'bad-tokens')],
      /bad-tokens:1: expected "<peer-id> <token>" \[ERR_INVALID_OPTION\]/,
    );
    await fails(['broker', '--listen', 'nohost:99999', '--allow-any'], /--listen.*needs a port of 0–65535/);
    await fails(
      ['broker', '--listen', 'localhost:0', '--allow-any'],
      /--listen.*Give a numeric IPv4 or IPv6/,
    );
    await fails(
      ['broker', '--listen', '127.0.0.1:0', '--allow-any', '--max-peers', '1.5'],
      /--max-peers.*whole number/,
    );
    await fails(
      ['broker', '--listen', '127.0.0.1:0', '--allow-any', '--stats', 'abc'],
      /--stats <seconds>.*'abc' is invalid/,
    );
    await fails(
      ['broker', '--listen', '127.0.0.1:0', '--allow-any', '--stats', '1e10'],
      /--stats <seconds>.*'1e10' is invalid/,
    );
    await fails(
      ['connect', '--broker', brokerAddress, '--id', 'alice', '--peer', 'alice'],
      /--id and --peer are both/,
    );
    await fails(
      ['connect', '--broker', brokerAddress, '--id', 'alice', '--peer', 'bob', '--nat-class', 'nat5'],
      /--nat-class/,
    );
    await fails(
      ['connect', '--broker', brokerAddress, '--id', 'alice', '--peer', 'bob', '--turn', '127.0.0.1:3478'],
      /--turn needs --turn-user and --turn-pass/,
    );
  });
});
