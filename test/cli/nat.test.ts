// `porthole nat` as a child process against `porthole stun-server` on loopback: no answer is exit 3
// ("nothing was measured"), not "UDP is blocked"; a server without RFC 5780 gives no contradictory
// sentence; the family follows an IPv6 --server; Ctrl-C during --lifetime is one line and exit 130;
// bad flags are exit 2 before anything runs.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { checkLeaks } from '../support/leaks.ts';
import { assertFailure, assertUsageErrors, exited, lineOf, runCli, spawnCli } from './cli.ts';

checkLeaks();

const linux = process.platform === 'linux' ? false : 'needs Linux (127.0.0.2)';

/** A `porthole stun-server` child and the first address it listens on. */
async function stunServer(
  args: readonly string[],
): Promise<{ child: ChildProcess; at: string; stop(): Promise<void> }> {
  const child = spawnCli(['stun-server', ...args, '--stats-interval', '0', '--no-rate-limit', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done = exited(child);
  const started = JSON.parse(await lineOf(child, 'stdout', (l) => l.startsWith('{'))) as {
    addresses: string[];
  };
  return {
    child,
    at: started.addresses[0]!,
    async stop() {
      child.kill('SIGINT');
      assert.equal((await done).code, 0);
    },
  };
}

// Ports 62540-62549 belong to this file.
describe('porthole nat', () => {
  let plain: Awaited<ReturnType<typeof stunServer>>;
  let plain6: Awaited<ReturnType<typeof stunServer>>;
  before(async () => {
    [plain, plain6] = await Promise.all([
      stunServer(['--listen', '127.0.0.1:0']),
      stunServer(['--listen', '[::1]:0']),
    ]);
  });
  after(async () => {
    await plain?.stop();
    await plain6?.stop();
  });

  it('nothing listening: exit 3, "no answer … nothing was measured", not "UDP is blocked"', async () => {
    const result = await runCli(['nat', '--server', '127.0.0.1:62541', '--rto', '50']);
    assertFailure(
      result,
      3,
      /no answer from 127\.0\.0\.1:62541: nothing listens there, or UDP to it is blocked \(nothing was measured\); check the address/,
    );
  });

  it('a server without RFC 5780 on loopback: "No NAT", filtering not tested, exit 0', async () => {
    const result = await runCli(['nat', '--server', plain.at, '--rto', '50', '--no-hairpin']);
    assert.equal(result.code, 0, result.stderr);
    const sentence = result.stdout.split('\n')[0]!;
    assert.match(
      sentence,
      /^No NAT: .*filtering was not tested: the server has no RFC 5780 alternate address/,
    );
    assert.doesNotMatch(sentence, /behind a NAT or firewall/);
    assert.match(result.stdout, /NAT detected\s+no/);
  });

  it('an IPv6 --server picks udp6 without --family', async () => {
    const result = await runCli(['nat', '--server', plain6.at, '--rto', '50', '--no-hairpin', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const r = JSON.parse(result.stdout) as { mappedAddress: { address: string } };
    assert.equal(r.mappedAddress.address, '::1');
    const mismatch = await runCli(['nat', '--server', plain6.at, '--family', 'udp4']);
    assertFailure(mismatch, 2, /--server is IPv6 but the family is udp4; give --family udp6/);
  });

  it('Ctrl-C during --lifetime: one line, exit 130', { skip: linux }, async () => {
    const rfc5780 = await stunServer(['--listen', '127.0.0.1:0', '--alt', '127.0.0.2']);
    try {
      const child = spawnCli(['nat', '--server', rfc5780.at, '--lifetime', '120', '--rto', '50'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const done = exited(child);
      await lineOf(child, 'stderr', (l) => l.includes('binding lifetime probe takes up to 120 s'));
      child.kill('SIGINT');
      assertFailure(await done, 130, /^porthole nat: interrupted: no result$/);
    } finally {
      await rfc5780.stop();
    }
  });

  it('bad flags: exit 2 at once', async () => {
    const cases: [readonly string[], RegExp][] = [
      [['--family', 'udp5'], /--family <udp4\|udp6>.*Give one of udp4, udp6/],
      [['--lifetime', 'abc'], /--lifetime \[maxSeconds\].*'abc' is invalid/],
      [['--rto', '1e10'], /--rto <ms>.*'1e10' is invalid/],
      [
        ['--lifetime', '10', '--lifetime-precision', '20'],
        /--lifetime-precision 20 is not below --lifetime 10/,
      ],
    ];
    await assertUsageErrors(
      cases.map(([flags, pattern]) => [['nat', '--server', '127.0.0.1:62542', ...flags], pattern] as const),
    );
  });
});
