import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { checkLabSupport, cleanupLabs, listNamespaces, NatLab, readJsonLine } from '../../src/lab/index.ts';
import type { NatBehavior } from '../../src/nat/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const STUN_SERVER = fileURLToPath(new URL('./fixtures/stun-server.ts', import.meta.url));
const support = await checkLabSupport();
const skip = support.supported ? false : support.reason;

test('porthole lab up / list / exec / Ctrl-C', { skip }, async () => {
  const prefix = `cli${process.pid.toString(36)}`;
  const up = spawn(
    process.execPath,
    [MAIN, 'lab', 'up', '--prefix', prefix, '--nats', 'pr', '--open-host', '--json'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    const topology = await readJsonLine<{ nats: { hostAddress: string }[] }>(up, (v) => 'prefix' in v, {
      timeoutMs: 30_000,
    });
    assert.equal(topology.nats[0]?.hostAddress, '10.0.3.2');
    const list = await run(process.execPath, [MAIN, 'lab', 'list', '--prefix', prefix]);
    assert.deepEqual(list.stdout.trim().split('\n').sort(), [
      `${prefix}-h-open`,
      `${prefix}-h-pr`,
      `${prefix}-inet`,
      `${prefix}-nat-pr`,
    ]);
    const exec = await run(process.execPath, [
      MAIN,
      'lab',
      'exec',
      '--prefix',
      prefix,
      'h-pr',
      '--',
      'ip',
      '-4',
      '-o',
      'addr',
    ]);
    assert.match(exec.stdout, /10\.0\.3\.2\/24/);
    await assert.rejects(
      run(process.execPath, [MAIN, 'lab', 'exec', '--prefix', prefix, 'h-pr', '--', 'false']),
      {
        code: 1,
      },
    );
    const closed = new Promise<number | null>((resolve) => up.once('close', resolve));
    up.kill('SIGINT');
    assert.equal(await closed, 0);
    assert.deepEqual(
      (await listNamespaces()).filter((n) => n.startsWith(`${prefix}-`)),
      [],
    );
  } finally {
    up.kill('SIGKILL');
    await cleanupLabs({ prefix });
  }
});

test('porthole nat inside the lab finds the port-restricted NAT', { skip }, async () => {
  await using lab = await NatLab.create({ nats: ['pr'] });
  const server = lab.spawnNode('inet', STUN_SERVER, [
    lab.internet.stunPrimary,
    lab.internet.stunAlternate,
    '3478',
  ]);
  await readJsonLine(server, (v) => v.ready === true, { timeoutMs: 30_000 });
  const cli = lab.spawnNode('h-pr', MAIN, [
    'nat',
    '--server',
    lab.internet.stunPrimary,
    '--rto',
    '100',
    '--json',
  ]);
  const result = await readJsonLine<NatBehavior>(cli, (v) => 'natClass' in v, { timeoutMs: 60_000 });
  assert.equal(result.natClass, 'port-restricted');
  assert.equal(result.mappedAddress?.address, lab.natWanAddress('pr'));
});
