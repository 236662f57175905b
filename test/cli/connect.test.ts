// `porthole connect` as child processes on loopback, through a `porthole broker`: 20 MB through the
// link byte for byte (cmp), both ways at once; and every way it can fail ends in one line on
// stderr and a documented exit code (docs/cli.md): the peer never starts (3), the peer is killed
// or interrupted mid-transfer (4 on the survivor, 130 on the interrupted side), bad flags (2).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { checkLeaks } from '../support/leaks.ts';
import { mulberry32, randomBytesFrom, testSeed } from '../support/prng.ts';
import {
  assertFailure,
  assertUsageErrors,
  exited,
  lineOf,
  runCli,
  spawnCli,
  startBroker,
  withFiles,
} from './cli.ts';

checkLeaks();

const run = promisify(execFile);
/** A busy machine may take long to link and to schedule a heartbeat: bounds, not thresholds. */
const SLOW_OK = ['--timeout', '240000', '--peer-timeout', '60000'];

describe('porthole connect', () => {
  let dir: string;
  let broker: Awaited<ReturnType<typeof startBroker>>;
  const local = ['--local-address', '127.0.0.1'];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'porthole-cli-connect-'));
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Runs one side with stdin from the file `input` and stdout into the file `output`. */
  function side(id: string, peer: string, input: string, output: string, extra: readonly string[] = []) {
    const args = [
      'connect',
      '--broker',
      broker.address,
      '--id',
      id,
      '--peer',
      peer,
      ...local,
      ...SLOW_OK,
      ...extra,
    ];
    return exited(withFiles(input, output, (stdio) => spawnCli(args, { stdio })));
  }

  it('carries 20 MB one way and 3 MB the other, byte for byte (cmp), and exits 0', async () => {
    const random = mulberry32(testSeed(11));
    const a = join(dir, 'a.in');
    const b = join(dir, 'b.in');
    await writeFile(a, randomBytesFrom(random, 20_000_000));
    await writeFile(b, randomBytesFrom(random, 3_000_000));
    const [alice, bob] = await Promise.all([
      side('big-a', 'big-b', a, join(dir, 'a.out')),
      side('big-b', 'big-a', b, join(dir, 'b.out')),
    ]);
    assert.equal(alice.code, 0, alice.stderr);
    assert.equal(bob.code, 0, bob.stderr);
    await run('cmp', [a, join(dir, 'b.out')]); // rejects when they differ
    await run('cmp', [b, join(dir, 'a.out')]);
    assert.match(alice.stderr, /linked to big-b via direct \(127\.0\.0\.1:\d+\), rtt [\d.]+ ms/);
    assert.match(alice.stderr, /done, 20000000 bytes sent, 3000000 received/);
    assert.match(bob.stderr, /done, 3000000 bytes sent, 20000000 received/);
    for (const s of [alice, bob])
      assert.doesNotMatch(s.stderr, /path .*lost/, 'a normal end is no lost path');
  });

  it('carries empty input both ways (EOF travels as a close)', async () => {
    const empty = join(dir, 'empty');
    await writeFile(empty, '');
    const [alice, bob] = await Promise.all([
      side('e-a', 'e-b', empty, join(dir, 'e-a.out')),
      side('e-b', 'e-a', empty, join(dir, 'e-b.out')),
    ]);
    assert.equal(alice.code, 0, alice.stderr);
    assert.equal(bob.code, 0, bob.stderr);
    assert.match(alice.stderr, /done, 0 bytes sent, 0 received/);
  });

  it('a peer that never starts: exit 3 and one line saying what to run', async () => {
    const result = await runCli(
      [
        'connect',
        '--broker',
        broker.address,
        '--id',
        'lonely',
        '--peer',
        'nobody',
        ...local,
        '--timeout',
        '1500',
      ],
      '',
    );
    assertFailure(
      result,
      3,
      /peer "nobody" did not link within 1\.5 s; start `porthole connect --id nobody --peer lonely`/,
    );
  });

  it('the waiting side of a peer that never starts fails the same way', async () => {
    const result = await runCli(
      [
        'connect',
        '--broker',
        broker.address,
        '--id',
        'zed',
        '--peer',
        'absent',
        ...local,
        '--timeout',
        '1500',
      ],
      '',
    );
    assertFailure(result, 3, /peer "absent" did not link within 1\.5 s/);
  });

  for (const [how, signal] of [
    ['killed (SIGKILL)', 'SIGKILL'],
    ['interrupted (Ctrl-C)', 'SIGINT'],
  ] as const) {
    it(`a peer ${how} mid-transfer: the other side fails with exit 4, quickly`, async () => {
      const ids = signal === 'SIGKILL' ? ['k-a', 'k-b'] : ['i-a', 'i-b'];
      const args = (id: string, peer: string) => [
        'connect',
        '--broker',
        broker.address,
        '--id',
        id,
        '--peer',
        peer,
        ...local,
        '--timeout',
        '240000',
        '--peer-timeout',
        signal === 'SIGKILL' ? '2000' : '60000',
      ];
      // Both keep stdin open: the transfer is not over when one of them goes.
      const survivor = spawnCli(args(ids[0]!, ids[1]!));
      const victim = spawnCli(args(ids[1]!, ids[0]!));
      const survivorDone = exited(survivor);
      const victimDone = exited(victim);
      await Promise.all([
        lineOf(survivor, 'stderr', (l) => l.includes('linked to')),
        lineOf(victim, 'stderr', (l) => l.includes('linked to')),
      ]);
      survivor.stdin?.write('some data that arrives\n');
      victim.kill(signal);
      const [gone, left] = await Promise.all([victimDone, survivorDone]);
      survivor.stdin?.end();
      if (signal === 'SIGINT') assertFailure(gone, 130, /interrupted/);
      else assert.equal(gone.signal, 'SIGKILL');
      assertFailure(
        left,
        4,
        signal === 'SIGINT'
          ? /peer "i-b" closed the link before the transfer finished/
          : /peer "k-b" stopped answering for 2 s/,
      );
    });
  }

  it('bad flags: exit 2 before anything is bound, naming the flag', async () => {
    const base = ['connect', '--broker', broker.address, '--id', 'x1'];
    const cases: [readonly string[], RegExp][] = [
      [
        [...base, '--peer', 'x2', '--timeout', '1e10'],
        /--timeout <ms>.*'1e10' is invalid\. Give a whole number from 100 to 3600000 ms/,
      ],
      [[...base, '--peer', 'x2', '--timeout', 'abc'], /--timeout <ms>.*'abc' is invalid/],
      [[...base, '--peer', 'x1'], /--id and --peer are both "x1"; give the other peer's id to --peer/],
      [[...base, '--peer', 'has space'], /--peer <id>.*'has space' is invalid\. Give 1-64 visible ASCII/],
      [[...base, '--peer', 'x2', '--nat-class', 'nat5'], /--nat-class <class>.*Give one of open, firewalled/],
      [
        [...base, '--peer', 'x2', '--local-address', 'localhost'],
        /--local-address.*Give a numeric IPv4 or IPv6/,
      ],
      [[...base, '--peer', 'x2', '--peer-timeout', '0'], /--peer-timeout/],
      [[...base, '--peer', 'x2', '--turn', '127.0.0.1:3479'], /--turn needs --turn-user and --turn-pass/],
      [
        ['connect', '--broker', '127.0.0.1:99999', '--id', 'x1', '--peer', 'x2'],
        /--broker.*needs a port of 1–65535/,
      ],
    ];
    await assertUsageErrors(cases);
  });
});
