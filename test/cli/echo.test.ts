// `porthole echo --json` as a child process: the listening line, an echo through the cookie
// handshake, and the stats as JSON lines on stdout, in both modes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectUdp } from '../../src/server/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { lineOf } from './cli.ts';

checkLeaks();

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

for (const [mode, port] of [
  ['shared', 63531],
  ['connected', 63532],
] as const) {
  test(`porthole echo --mode ${mode}: echoes and prints stats`, async () => {
    const child = spawn(
      process.execPath,
      [main, 'echo', '--mode', mode, '--host', '127.0.0.1', '--port', String(port), '--for', '2', '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = once(child, 'exit');
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const listening = lineOf(child, 'stdout', (l) => l.includes('"listening"'));
    try {
      const first = JSON.parse(await listening) as { listening: string; mode: string; cookie: boolean };
      assert.deepEqual(first, { listening: `127.0.0.1:${port}`, mode, cookie: false });
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.stdout.resume();
      const client = await connectUdp({ host: '127.0.0.1', port });
      try {
        client.send(Buffer.from('over the path'));
        assert.equal(String((await client[Symbol.asyncIterator]().next()).value), 'over the path');
      } finally {
        await client.close();
      }
      const [code] = await exited;
      assert.equal(code, 0, err);
      const last = JSON.parse(out.trim().split('\n').at(-1)!) as {
        mode: string;
        delivered: number;
        control: number;
      };
      assert.equal(last.mode, mode);
      assert.equal(last.delivered, 1);
      assert.ok(last.control >= 2, 'handshake frames counted');
    } finally {
      child.kill();
    }
  });
}
