// `porthole stun-server`: address parsing, and a real server process answering a Binding request.
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
