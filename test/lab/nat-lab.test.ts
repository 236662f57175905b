import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  checkLabSupport,
  cleanupLabs,
  hostAddress,
  INTERNET_ADDRESSES,
  LabCommandError,
  listNamespaces,
  missingTool,
  NatLab,
  natWanAddress,
  OPEN_HOST_ADDRESS,
  readJsonLine,
} from '../../src/lab/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const support = await checkLabSupport();
const skip = support.supported ? false : support.reason;
const conntrackMissing = support.supported ? await missingTool('conntrack', 'conntrack') : undefined;
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));

describe('NatLab (real namespaces)', { skip }, () => {
  let lab: NatLab;
  before(async () => {
    lab = await NatLab.create({ nats: ['fc', 'pr', 'sym'], openHost: true });
  });
  after(() => lab?.close());

  test('creates uniquely named namespaces for every node', async () => {
    const names = await listNamespaces();
    for (const node of ['inet', 'nat-fc', 'h-fc', 'nat-pr', 'h-pr', 'nat-sym', 'h-sym', 'h-open'] as const) {
      assert.ok(names.includes(lab.namespace(node)), `${lab.namespace(node)} exists`);
      assert.ok(lab.namespace(node).startsWith(`${lab.prefix}-`));
    }
    assert.throws(() => lab.namespace('h-ar'), { code: 'ERR_INVALID_OPTION', option: 'node' });
  });

  test('addresses follow the plan and the root namespace gets no link', async () => {
    const { stdout } = await lab.exec('h-pr', 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    assert.match(stdout, new RegExp(`inet ${hostAddress('pr').replaceAll('.', '\\.')}/24`));
    const inet = await lab.exec('inet', 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'br0']);
    for (const address of Object.values(INTERNET_ADDRESSES))
      assert.ok(inet.stdout.includes(`inet ${address}/24`));
    const root = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    assert.ok(!root.stdout.includes('w-pr'), 'no bridge port leaked into the root namespace');
  });

  test('traffic from behind a NAT leaves with the NAT address; h-open is not translated', async () => {
    const echo = lab.spawnNode('inet', fixture('udp-echo'), [INTERNET_ADDRESSES.stunPrimary, '3470']);
    await readJsonLine(echo, (v) => v.ready === true, { timeoutMs: 20_000 });
    for (const [node, expected] of [
      ['h-pr', natWanAddress('pr')],
      ['h-sym', natWanAddress('sym')],
      ['h-fc', natWanAddress('fc')],
      ['h-open', OPEN_HOST_ADDRESS],
    ] as const) {
      const probe = lab.spawnNode(node, fixture('udp-probe'), [INTERNET_ADDRESSES.stunPrimary, '3470']);
      const answer = await readJsonLine<{ from?: string }>(probe, () => true, { timeoutMs: 20_000 });
      assert.equal(answer.from?.split(':')[0], expected, `${node} is seen as ${expected}`);
    }
    echo.kill('SIGKILL');
  });

  test('exec reports a failing command with its code and stderr', async () => {
    await assert.rejects(lab.exec('h-fc', 'ip', ['link', 'show', 'dev', 'nope0']), (error: unknown) => {
      assert.ok(error instanceof LabCommandError);
      assert.equal(error.code, 'ERR_LAB_COMMAND_FAILED');
      assert.equal(error.exitCode, 1);
      assert.match(error.stderr, /nope0/);
      return true;
    });
  });

  test('conntrack timeouts are per namespace', async () => {
    await lab.setConntrackTimeouts('pr', { udpS: 7, udpStreamS: 9 });
    const pr = await lab.exec('nat-pr', 'sysctl', ['-n', 'net.netfilter.nf_conntrack_udp_timeout_stream']);
    assert.equal(pr.stdout.trim(), '9');
    const fc = await lab.exec('nat-fc', 'sysctl', ['-n', 'net.netfilter.nf_conntrack_udp_timeout']);
    assert.notEqual(fc.stdout.trim(), '7');
    await assert.rejects(lab.setConntrackTimeouts('pr', { udpS: 0 }), {
      code: 'ERR_INVALID_OPTION',
    });
  });

  test('flushConntrack empties the NAT table', { skip: conntrackMissing ?? false }, async () => {
    const echo = lab.spawnNode('inet', fixture('udp-echo'), [INTERNET_ADDRESSES.stunAlternate, '3471']);
    await readJsonLine(echo, (v) => v.ready === true, { timeoutMs: 20_000 });
    const probe = lab.spawnNode('h-fc', fixture('udp-probe'), [INTERNET_ADDRESSES.stunAlternate, '3471']);
    await readJsonLine(probe, () => true, { timeoutMs: 20_000 });
    const before = await lab.exec('nat-fc', 'conntrack', ['-L', '-p', 'udp']);
    assert.match(before.stdout, /dport=3471/);
    await lab.flushConntrack('fc');
    const afterFlush = await lab.exec('nat-fc', 'conntrack', ['-L', '-p', 'udp']);
    assert.doesNotMatch(afterFlush.stdout, /dport=3471/);
    const map = await lab.exec('nat-fc', 'nft', ['list', 'map', 'ip', 'nl', 'fcmap']);
    assert.doesNotMatch(map.stdout, /10\.0\.1\.2/);
    echo.kill('SIGKILL');
  });

  test('netem is applied to the uplink: tc netem on the veth, or a relayed tap pair without netem', async () => {
    assert.equal(lab.uplinkKind('pr'), 'veth', 'the default lab builds veth uplinks');
    await lab.setNetem('pr', { delayMs: 20, jitterMs: 5, lossPercent: 1, reorderPercent: 10 });
    if (lab.uplinkKind('pr') === 'veth') {
      assert.match(await lab.showQdisc('pr'), /netem .*delay 20ms/);
      await lab.clearNetem('pr');
      assert.doesNotMatch(await lab.showQdisc('pr'), /netem/);
    } else {
      // No netem in this kernel: the uplink was rebuilt as two taps joined by the relay.
      const wan = await lab.exec('nat-pr', 'ip', ['-d', '-o', 'link', 'show', 'dev', 'wan']);
      assert.match(wan.stdout, /tun type tap/);
      const stats = await lab.uplinkStats('pr');
      assert.ok(stats !== undefined && stats.up.overflow === 0);
      await lab.clearNetem('pr');
    }
    // The NAT still translates over its (possibly rebuilt) uplink.
    const echo = lab.spawnNode('inet', fixture('udp-echo'), [INTERNET_ADDRESSES.stunPrimary, '3472']);
    await readJsonLine(echo, (v) => v.ready === true, { timeoutMs: 20_000 });
    const probe = lab.spawnNode('h-pr', fixture('udp-probe'), [INTERNET_ADDRESSES.stunPrimary, '3472']);
    const answer = await readJsonLine<{ from?: string }>(probe, () => true, { timeoutMs: 20_000 });
    assert.equal(answer.from?.split(':')[0], natWanAddress('pr'));
    echo.kill('SIGKILL');
    await assert.rejects(lab.setNetem('pr', { lossPercent: 101 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'lossPercent',
    });
  });
});

describe('NatLab lifecycle (real namespaces)', { skip }, () => {
  test('two labs coexist; close is idempotent, kills children and removes every namespace', async () => {
    const [a, b] = await Promise.all([NatLab.create({ nats: ['ar'] }), NatLab.create({ nats: ['ar'] })]);
    try {
      assert.notEqual(a.prefix, b.prefix);
      const sleeper = a.spawn('h-ar', 'sleep', ['60']);
      const exited = new Promise((resolve) => sleeper.once('exit', resolve));
      await Promise.all([a.close(), a.close()]);
      await exited;
      const names = await listNamespaces();
      assert.ok(!names.some((n) => n.startsWith(`${a.prefix}-`)), 'lab a is gone');
      assert.ok(names.includes(b.namespace('h-ar')), 'lab b is untouched');
      assert.throws(() => a.spawn('h-ar', 'true'), { code: 'ERR_CLOSED' });
    } finally {
      await a.close();
      await b[Symbol.asyncDispose]();
    }
  });

  test('cleanupLabs removes the namespaces of a dead creator only', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const stale = `phl${Number(dead.stdout).toString(36)}-zzzz-inet`;
    const alive = `phl${process.pid.toString(36)}-yyyy-inet`;
    spawnSync('ip', ['netns', 'add', stale]);
    spawnSync('ip', ['netns', 'add', alive]);
    try {
      const removed = await cleanupLabs();
      assert.ok(removed.includes(stale));
      assert.ok(!removed.includes(alive));
      const names = await listNamespaces();
      assert.ok(!names.includes(stale));
      assert.ok(names.includes(alive));
    } finally {
      spawnSync('ip', ['netns', 'del', stale]);
      spawnSync('ip', ['netns', 'del', alive]);
    }
  });

  test('a second lab with a taken prefix is refused and leaves the first intact', async () => {
    const prefix = `taken${process.pid.toString(36)}`;
    await using first = await NatLab.create({ nats: ['pr'], prefix });
    await assert.rejects(NatLab.create({ nats: ['pr'], prefix }), { code: 'ERR_LAB_EXISTS' });
    assert.ok((await listNamespaces()).includes(first.namespace('h-pr')));
  });

  test('an abort in the middle of the build tears down what was built', async () => {
    const prefix = `abort${process.pid.toString(36)}`;
    const controller = new AbortController();
    const creating = NatLab.create({ prefix, signal: controller.signal });
    for (let i = 0; i < 500 && !(await listNamespaces()).includes(`${prefix}-inet`); i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    controller.abort();
    try {
      await assert.rejects(creating, { code: 'ERR_ABORTED' });
      assert.deepEqual(
        (await listNamespaces()).filter((n) => n.startsWith(`${prefix}-`)),
        [],
      );
    } finally {
      await (await creating.catch(() => undefined))?.close();
      await cleanupLabs({ prefix });
    }
  });

  test('bad options are refused before anything is built', async () => {
    await assert.rejects(NatLab.create({ nats: ['xx' as 'fc'] }), {
      code: 'ERR_INVALID_OPTION',
      option: 'nats',
    });
    await assert.rejects(NatLab.create({ prefix: 'Bad Prefix' }), {
      code: 'ERR_INVALID_OPTION',
      option: 'prefix',
    });
    await assert.rejects(NatLab.create({ nats: ['fc'], netem: { pr: { delayMs: 5 } } }), {
      code: 'ERR_INVALID_OPTION',
      option: 'netem',
    });
  });
});

describe('NatLab teardown of a dying process (real namespaces)', { skip }, () => {
  for (const [mode, signal] of [
    ['throw', undefined],
    ['wait', 'SIGINT'],
    ['wait', 'SIGTERM'],
  ] as const) {
    test(`leaves nothing behind after ${signal ?? 'an uncaught exception'}`, async () => {
      const prefix = `crash${process.pid.toString(36)}${mode}${signal?.toLowerCase() ?? ''}`;
      const child = spawn(process.execPath, [fixture('lab-crash'), prefix, mode], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        await readJsonLine(child, (v) => v.ready === true, { timeoutMs: 30_000 });
        const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
        if (signal !== undefined) child.kill(signal);
        await exited;
        const names = await listNamespaces();
        assert.deepEqual(
          names.filter((n) => n.startsWith(`${prefix}-`)),
          [],
        );
        const sleepers = spawnSync('pgrep', ['-f', `ip netns exec ${prefix}-`], { encoding: 'utf8' });
        assert.equal(sleepers.stdout.trim(), '');
      } finally {
        child.kill('SIGKILL');
        await cleanupLabs({ prefix });
      }
    });
  }
});
