// `porthole nat` against an in-process RFC 5780 StunServer on 127.0.0.1/127.0.0.2: --json, the
// readable report, and a bad --server refused before anything runs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { StunServer } from '../../src/stun/index.ts';
import { checkLeaks } from '../support/leaks.ts';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

let server: StunServer;
before(async () => {
  server = await StunServer.listen({
    listen: { address: '127.0.0.1', port: 0 },
    alternate: { address: '127.0.0.2' },
    rateLimit: false,
  });
});
after(() => server?.close());

checkLeaks();

test('porthole nat --json prints one JSON object with the class', async () => {
  const { port } = server.addresses[0]!;
  const { stdout } = await run(process.execPath, [
    MAIN,
    'nat',
    '--server',
    `127.0.0.1:${port}`,
    '--local-address',
    '127.0.0.1',
    '--rto',
    '50',
    '--json',
  ]);
  const result = JSON.parse(stdout);
  assert.equal(result.natClass, 'open');
  assert.equal(result.mapping, 'endpoint-independent');
  assert.match(result.sentence, /^You are on the open internet/);
});

test('porthole nat prints the sentence and the details', async () => {
  const { port } = server.addresses[0]!;
  const { stdout } = await run(process.execPath, [
    MAIN,
    'nat',
    '--server',
    `127.0.0.1:${port}`,
    '--local-address',
    '127.0.0.1',
    '--rto',
    '50',
  ]);
  assert.match(stdout, /^You are on the open internet/);
  assert.match(stdout, /filtering\s+endpoint-independent/);
  assert.match(stdout, /server alternate\s+127\.0\.0\.2:\d+/);
});

test('porthole nat refuses a bad server with one line and exit status 2', async () => {
  await assert.rejects(run(process.execPath, [MAIN, 'nat', '--server', 'host:99999']), (error: unknown) => {
    const e = error as { code?: number; stderr?: string };
    assert.equal(e.code, 2);
    assert.match(
      e.stderr ?? '',
      /^porthole: option '--server <host\[:port\]>' argument 'host:99999' is invalid\. .*needs a port of 1–65535/,
    );
    assert.doesNotMatch(e.stderr ?? '', /^\s+at /m);
    return true;
  });
});
