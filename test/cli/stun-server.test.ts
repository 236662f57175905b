// `porthole stun-server`: address parsing, a real server process answering a Binding request, the
// RFC 5780 address/port layout of --listen/--alt, and flags checked before anything is bound.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Socket } from 'node:dgram';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { parseHostPort } from '../../src/cli/stun-server.ts';
import { demuxOf } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { StunClient } from '../../src/stun/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { assertUsageErrors, exited, lineOf, spawnCli } from './cli.ts';

checkLeaks();

describe('parseHostPort', () => {
  const cases = [
    ['192.0.2.1', { address: '192.0.2.1' }],
    ['192.0.2.1:3478', { address: '192.0.2.1', port: 3478 }],
    ['::1', { address: '::1' }],
    ['[::1]:5000', { address: '::1', port: 5000 }],
    ['[2001:db8::1]', { address: '2001:db8::1' }],
  ] as const;
  for (const [text, expected] of cases) it(text, () => assert.deepEqual(parseHostPort(text), expected));
  it('rejects a bad port → ERR_INVALID_OPTION', () => {
    assert.throws(() => parseHostPort('192.0.2.1:65535'), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => parseHostPort('192.0.2.1:x'), { code: 'ERR_INVALID_OPTION' });
  });
});

describe('porthole stun-server (child process)', () => {
  it('serves RFC 5780 on 127.0.0.1 and 127.0.0.2 and stops on SIGINT', {
    skip: process.platform !== 'linux' ? 'needs Linux (127.0.0.2)' : false,
  }, async (t) => {
    const main = new URL('../../src/cli/main.ts', import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      [
        main,
        'stun-server',
        '--listen',
        '127.0.0.1:0',
        '--alt',
        '127.0.0.2',
        '--stats-interval',
        '0',
        '--no-rate-limit',
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = once(child, 'exit');
    let socket: Socket | undefined;
    let client: StunClient | undefined;
    t.after(async () => {
      client?.close();
      if (socket !== undefined) await new Promise<void>((resolve) => socket!.close(() => resolve()));
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    const lines = createInterface({ input: child.stdout });
    const [first] = (await once(lines, 'line')) as [string];
    const started = JSON.parse(first) as { addresses: string[]; rfc5780: boolean };
    assert.equal(started.rfc5780, true);
    // RFC 5780 §4: (A,P1) (A,P2) (B,P1) (B,P2).
    const p1 = Number(started.addresses[0]!.split(':')[1]);
    assert.deepEqual(started.addresses, [
      `127.0.0.1:${p1}`,
      `127.0.0.1:${p1 + 1}`,
      `127.0.0.2:${p1}`,
      `127.0.0.2:${p1 + 1}`,
    ]);
    const [address, port] = started.addresses[0]!.split(':');
    socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    client = new StunClient({ demux: demuxOf(socket) });
    const result = await client.binding({ to: { address: address!, port: Number(port) }, changeIp: true });
    assert.equal(result.from.address, '127.0.0.2');
    assert.equal(result.mapped?.port, socket.address().port);
    child.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 0);
  });
});

// Ports 62530-62539 belong to this file.
describe('porthole stun-server flags', () => {
  it('--listen A:P1 --alt B:P2 is RFC 5780: (A,P1) (A,P2) (B,P1) (B,P2), OTHER-ADDRESS (B,P2)', {
    skip: process.platform !== 'linux' ? 'needs Linux (127.0.0.2)' : false,
  }, async (t) => {
    const child = spawnCli(
      [
        'stun-server',
        '--listen',
        '127.0.0.1:62530',
        '--alt',
        '127.0.0.2:62531',
        '--stats-interval',
        '0',
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const done = exited(child);
    t.after(async () => {
      child.kill('SIGINT');
      await done;
    });
    const started = JSON.parse(await lineOf(child, 'stdout', (l) => l.startsWith('{'))) as {
      addresses: string[];
    };
    assert.deepEqual(started.addresses, [
      '127.0.0.1:62530',
      '127.0.0.1:62531',
      '127.0.0.2:62530',
      '127.0.0.2:62531',
    ]);
    const socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const client = new StunClient({ demux: demuxOf(socket) });
    try {
      const result = await client.binding({ to: { address: '127.0.0.1', port: 62530 } });
      assert.deepEqual(
        { address: result.otherAddress?.address, port: result.otherAddress?.port },
        { address: '127.0.0.2', port: 62531 },
      );
    } finally {
      client.close();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
    child.kill('SIGINT');
    assert.equal((await done).code, 0);
  });

  it('a bad flag exits 2 at once with one line, holding no port', async () => {
    const cases: [readonly string[], RegExp][] = [
      [['--stats-interval', '-1'], /--stats-interval <seconds>.*'-1' is invalid/],
      [['--stats-interval', 'abc'], /--stats-interval <seconds>.*'abc' is invalid/],
      [['--stats-interval', '1e10'], /--stats-interval <seconds>.*'1e10' is invalid/],
      [['--stats-interval', '0.001'], /--stats-interval <seconds>.*'0\.001' is invalid/],
      [['--burst', '0.5'], /--burst <count>.*whole number/],
      [['--rate', '0'], /--rate <per-second>/],
      [['--software', 'x'.repeat(800)], /--software <name>.*at most 763 bytes/],
      [['--alt', '127.0.0.2:62539'], /--alt port 62539 is not --listen's port \+ 1/],
      [['--alt', '::1'], /different families/],
    ];
    await assertUsageErrors([
      ...cases.map(
        ([flags, pattern]) => [['stun-server', '--listen', '127.0.0.1:62536', ...flags], pattern] as const,
      ),
      [['stun-server', '--listen', 'localhost'], /Give a numeric IPv4 or IPv6 address/],
    ]);
  });
});
