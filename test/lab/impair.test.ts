// The user-space uplink impairment (relayed tap pair) of the NAT lab: it delays and drops what it
// should, it is used only when asked for (or when netem is missing), and it leaves nothing behind.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  checkLabSupport,
  checkUplinkRelaySupport,
  cleanupLabs,
  INTERNET_ADDRESSES,
  listNamespaces,
  NatLab,
  type NatType,
  readJsonLine,
  type UplinkRelayStats,
} from '../../src/lab/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const support = await checkLabSupport();
let skip: string | false = support.supported ? false : support.reason;
if (skip === false) skip = (await checkUplinkRelaySupport()) ?? false;
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));

/** Probe run in a host namespace: `count` UDP round trips to argv address:port, one at a time. */
const RTT_PROBE = `
import { createSocket } from 'node:dgram';
const [address, port, count] = process.argv.slice(1);
const socket = createSocket('udp4');
const rtts = [];
let sentAt = 0, n = 0, timer;
const next = () => {
  if (n++ >= Number(count)) { process.stdout.write(JSON.stringify({ rtts }) + '\\n'); socket.close(); return; }
  sentAt = performance.now();
  socket.send('rtt', Number(port), address);
  timer = setTimeout(next, 2000);
};
socket.on('message', () => { clearTimeout(timer); rtts.push(performance.now() - sentAt); next(); });
socket.bind(0, next);
`;

/**
 * Loss counter, both ends. "recv <address> <port> <count>": binds there, counts datagrams "u…";
 * once they stop (1 s quiet after the first), prints {"up":n} and sends `count` datagrams "d…"
 * back to their sender. "send <address> <port> <count>": sends `count` datagrams "u…" (10 every
 * 10 ms), counts the "d…" answers until 1.5 s quiet after the first (or 30 s), prints {"down":n}.
 */
const LOSS_COUNTER = `
import { createSocket } from 'node:dgram';
const [mode, address, port, count] = process.argv.slice(1);
const total = Number(count);
const socket = createSocket('udp4');
let seen = 0, quiet, peer;
const pace = (send, done) => {
  let i = 0;
  const tick = setInterval(() => {
    for (let k = 0; k < 10 && i < total; k++, i++) send(i);
    if (i >= total) { clearInterval(tick); done(); }
  }, 10);
};
const settle = (ms, report) => { clearTimeout(quiet); quiet = setTimeout(report, ms); };
if (mode === 'recv') {
  socket.on('message', (data, from) => {
    if (data[0] !== 0x75) return;
    seen++; peer = from;
    settle(1000, () => {
      process.stdout.write(JSON.stringify({ up: seen }) + '\\n');
      pace((i) => socket.send('d' + i, peer.port, peer.address), () => {});
    });
  });
  socket.bind(Number(port), address, () => process.stdout.write(JSON.stringify({ ready: true }) + '\\n'));
} else {
  const deadline = setTimeout(() => finish(), 30000);
  const finish = () => { clearTimeout(deadline); clearTimeout(quiet); process.stdout.write(JSON.stringify({ down: seen }) + '\\n'); socket.close(); };
  socket.on('message', (data) => { if (data[0] === 0x64) { seen++; settle(1500, finish); } });
  socket.bind(0, () => pace((i) => socket.send('u' + i, Number(port), address), () => {}));
}
`;

/** Minimum of a list of round-trip times, in milliseconds. */
function min(values: readonly number[]): number {
  return values.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
}

/**
 * Largest deviation of a Binomial(n, p) count from its mean n·p that the test accepts: 5 standard
 * deviations, 5·√(n·p·(1−p)). By Chebyshev the chance of a larger deviation is < 1/25 for any
 * distribution; under the normal approximation of the binomial (n·p ≥ 10 here) it is ≈ 6·10⁻⁷.
 */
function binomialBound(n: number, p: number): number {
  return 5 * Math.sqrt(n * p * (1 - p));
}

async function rtts(lab: NatLab, nat: NatType, port: number, count: number): Promise<number[]> {
  const probe = lab.spawn(`h-${nat}`, process.execPath, [
    '--input-type=module',
    '-e',
    RTT_PROBE,
    INTERNET_ADDRESSES.stunPrimary,
    String(port),
    String(count),
  ]);
  const { rtts: values } = await readJsonLine<{ rtts: number[] }>(probe, (v) => Array.isArray(v.rtts), {
    timeoutMs: 60_000,
  });
  return values;
}

function runCounter(lab: NatLab, node: 'inet' | `h-${NatType}`, args: readonly string[]): ChildProcess {
  return lab.spawn(node, process.execPath, ['--input-type=module', '-e', LOSS_COUNTER, ...args]);
}

describe('NatLab impair: options are checked before anything is built', () => {
  test('impair for a NAT the lab does not build, or a bad seed, is refused', async () => {
    await assert.rejects(NatLab.create({ nats: ['fc'], impair: ['pr'] }), {
      code: 'ERR_INVALID_OPTION',
      option: 'impair',
    });
    await assert.rejects(NatLab.create({ nats: ['fc'], impair: true, impairSeed: -1 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'impairSeed',
    });
  });
});

describe('NatLab impaired uplink (relayed tap pair, real namespaces)', { skip }, () => {
  let lab: NatLab;
  let echo: ChildProcess;
  const ECHO_PORT = 3490;

  before(async () => {
    lab = await NatLab.create({ nats: ['fc', 'pr'], impair: ['fc'], impairSeed: 7 });
    echo = lab.spawnNode('inet', fixture('udp-echo'), [INTERNET_ADDRESSES.stunPrimary, String(ECHO_PORT)]);
    await readJsonLine(echo, (v) => v.ready === true, { timeoutMs: 20_000 });
  });
  after(() => lab?.close());

  test('only the NAT asked for gets the relay; its uplink is two taps, one a bridge port', async () => {
    assert.equal(lab.uplinkKind('fc'), 'tap-relay');
    assert.equal(lab.uplinkKind('pr'), 'veth');
    assert.equal(await lab.uplinkStats('pr'), undefined);
    const wan = await lab.exec('nat-fc', 'ip', ['-d', '-o', 'link', 'show', 'dev', 'wan']);
    assert.match(wan.stdout, /tun type tap/);
    const port = await lab.exec('inet', 'ip', ['-d', '-o', 'link', 'show', 'dev', 'w-fc']);
    assert.match(port.stdout, /master br0/);
    assert.match(port.stdout, /tun type tap/);
    const veth = await lab.exec('nat-pr', 'ip', ['-d', '-o', 'link', 'show', 'dev', 'wan']);
    assert.match(veth.stdout, /veth/);
  });

  test('delay: every round trip through the relayed uplink takes at least 2 × delayMs', async () => {
    const delayMs = 40;
    await lab.setNetem('fc', { delayMs });
    const impaired = await rtts(lab, 'fc', ECHO_PORT, 10);
    const baseline = await rtts(lab, 'pr', ECHO_PORT, 10);
    process.stdout.write(
      `rtt min ms: relayed uplink with ${delayMs} ms each way ${min(impaired).toFixed(1)}, veth baseline ${min(baseline).toFixed(1)}\n`,
    );
    assert.equal(impaired.length, 10, 'no round trip lost without loss');
    assert.ok(min(impaired) >= 2 * delayMs, `min rtt ${min(impaired)} ≥ ${2 * delayMs}`);
    assert.ok(min(baseline) < 2 * delayMs, 'the veth uplink next to it is not delayed');
    await lab.setNetem('fc', {});
    const cleared = await rtts(lab, 'fc', ECHO_PORT, 5);
    assert.ok(min(cleared) < 2 * delayMs, `all-zero settings remove the delay (min ${min(cleared)})`);
  });

  test('loss: over 1000 datagrams each way the loss rate is within a binomial bound of the setting', async () => {
    const n = 1000;
    const p = 0.2;
    await lab.setNetem('fc', { lossPercent: p * 100 });
    const before = (await lab.uplinkStats('fc')) as UplinkRelayStats;
    const receiver = runCounter(lab, 'inet', ['recv', INTERNET_ADDRESSES.stunAlternate, '3491', String(n)]);
    await readJsonLine(receiver, (v) => v.ready === true, { timeoutMs: 20_000 });
    const sender = runCounter(lab, 'h-fc', ['send', INTERNET_ADDRESSES.stunAlternate, '3491', String(n)]);
    const { up } = await readJsonLine<{ up: number }>(receiver, (v) => typeof v.up === 'number', {
      timeoutMs: 60_000,
    });
    const { down } = await readJsonLine<{ down: number }>(sender, (v) => typeof v.down === 'number', {
      timeoutMs: 60_000,
    });
    const afterStats = (await lab.uplinkStats('fc')) as UplinkRelayStats;
    await lab.setNetem('fc', {});
    const bound = binomialBound(n, p);
    const lostUp = n - up;
    const lostDown = n - down;
    process.stdout.write(
      `loss ${p * 100}%: lost up ${lostUp}/${n}, down ${lostDown}/${n} (expected ${n * p} ± ${bound.toFixed(1)})\n`,
    );
    assert.ok(Math.abs(lostUp - n * p) <= bound, `up: lost ${lostUp}, expected ${n * p} ± ${bound}`);
    assert.ok(Math.abs(lostDown - n * p) <= bound, `down: lost ${lostDown}, expected ${n * p} ± ${bound}`);
    // Every datagram that went missing was dropped by the relay (it counts what it drops).
    assert.ok(afterStats.up.lost - before.up.lost >= lostUp, 'the relay counted the up losses');
    assert.ok(afterStats.down.lost - before.down.lost >= lostDown, 'the relay counted the down losses');
    assert.equal(afterStats.up.overflow + afterStats.down.overflow, 0, 'nothing overflowed');
  });

  test('setNetem on a veth uplink uses tc netem, or the relay when the kernel has no netem', async () => {
    await lab.setNetem('pr', { delayMs: 30, jitterMs: 5 });
    const qdisc = await lab.showQdisc('pr');
    if (lab.uplinkKind('pr') === 'veth') assert.match(qdisc, /netem/);
    else assert.notEqual(await lab.uplinkStats('pr'), undefined, 'converted to a relayed uplink');
    const impaired = await rtts(lab, 'pr', ECHO_PORT, 5);
    assert.equal(impaired.length, 5);
    assert.ok(min(impaired) >= 2 * (30 - 5), `min rtt ${min(impaired)} ≥ 50`);
    await lab.clearNetem('pr');
  });
});

/** Pids of the python3 processes in namespace `ns`. */
function relayPids(ns: string): number[] {
  const out = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout;
  return out
    .split(/\s+/)
    .filter((word) => word !== '')
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('python3');
      } catch {
        return false;
      }
    });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pids: readonly number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return !pids.some(isAlive);
}

function rootLinks(): string {
  return spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
}

describe('NatLab impaired uplink teardown (real namespaces)', { skip }, () => {
  test('close kills every relay and removes every namespace and tap', async () => {
    const lab = await NatLab.create({ nats: ['ar', 'sym'], impair: true });
    let pids: number[] = [];
    try {
      pids = [...relayPids(lab.namespace('nat-ar')), ...relayPids(lab.namespace('nat-sym'))];
      assert.equal(pids.length, 2, 'one relay per impaired uplink');
      assert.doesNotMatch(rootLinks(), /w-ar|w-sym/, 'no tap in the root namespace');
    } finally {
      await Promise.all([lab.close(), lab.close()]);
    }
    assert.ok(await waitGone(pids, 5_000), 'the relays are gone');
    assert.deepEqual(
      (await listNamespaces()).filter((n) => n.startsWith(`${lab.prefix}-`)),
      [],
    );
    assert.doesNotMatch(rootLinks(), /w-ar|w-sym/);
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`a lab process killed by ${signal} leaves no relay behind`, async () => {
      const prefix = `imp${process.pid.toString(36)}${signal.slice(3, 6).toLowerCase()}`;
      const script = `
        import { NatLab } from ${JSON.stringify(new URL('../../src/lab/index.ts', import.meta.url).href)};
        await NatLab.create({ nats: ['pr'], prefix: ${JSON.stringify(prefix)}, impair: true });
        process.stdout.write(JSON.stringify({ ready: true }) + '\\n');
        setTimeout(() => {}, 60000);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        await readJsonLine(child, (v) => v.ready === true, { timeoutMs: 30_000 });
        const pids = relayPids(`${prefix}-nat-pr`);
        assert.equal(pids.length, 1, 'the relay runs');
        const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
        child.kill(signal);
        await exited;
        // SIGTERM: the lab's registry tears down. SIGKILL: nothing runs in the dead process, but
        // the relay exits by itself when its stdin (the dead owner's pipe) closes.
        assert.ok(await waitGone(pids, 5_000), 'the relay is gone');
        if (signal === 'SIGTERM') {
          assert.deepEqual(
            (await listNamespaces()).filter((n) => n.startsWith(`${prefix}-`)),
            [],
          );
        }
      } finally {
        child.kill('SIGKILL');
        await cleanupLabs({ prefix });
      }
      assert.deepEqual(
        (await listNamespaces()).filter((n) => n.startsWith(`${prefix}-`)),
        [],
      );
    });
  }
});
