// The Main profile on a multicast group between two network namespaces (root, Linux): one sender
// to the group, two receivers joined to it — one any-source in the other namespace, one
// source-specific beside the sender (multicast loop) — with 5 % of the datagrams towards each
// receiver dropped by nftables. Each receiver NACKs by unicast to the sender, the sender resends
// to the group, and each receiver gets every packet in order.
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { MulticastLink, netnsSkipReason, nsh } from '../transport/netns.ts';

checkLeaks();

const peerScript = fileURLToPath(new URL('./fixtures/mc-peer.ts', import.meta.url));
const skip =
  netnsSkipReason() ??
  (spawnSync('nft', ['--version']).status === 0 ? false : 'needs nftables (nft) to drop datagrams');

const SENDER = '10.231.0.1';
const RECEIVER = '10.231.0.2';
const GROUP = '232.43.0.1';
const PORT = 63_470;
const COUNT = 800;

/** One mc-peer process in a namespace: its JSON lines, and a stop. */
class Peer {
  readonly lines: Record<string, unknown>[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #exited: Promise<void>;
  #stderr = '';
  #stopping: Promise<Record<string, unknown>> | undefined;

  constructor(ns: string, args: readonly string[]) {
    this.#child = spawn('ip', ['netns', 'exec', ns, process.execPath, peerScript, ...args], {
      stdio: 'pipe',
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin.on('error', () => {}); // a peer that died already: its exit tells
    this.#child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    let buffered = '';
    this.#child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        this.lines.push(JSON.parse(buffered.slice(0, i)) as Record<string, unknown>);
        buffered = buffered.slice(i + 1);
      }
    });
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Waits (bounded) for a line with `key`. */
  async until(key: string): Promise<Record<string, unknown>> {
    await waitFor(() => this.lines.some((l) => key in l), {
      what: `a "${key}" line`,
      timeoutMs: 20_000,
      detail: () => this.#stderr,
    });
    return this.lines.find((l) => key in l) as Record<string, unknown>;
  }

  /** Asks it to stop; returns its stats line (kills it when it does not exit in 10 s). Idempotent. */
  stop(): Promise<Record<string, unknown>> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<Record<string, unknown>> {
    this.#child.stdin.write('stop\n');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    const stats = await this.until('stats').catch(() => ({}));
    this.#child.stdin.end();
    await this.#exited;
    clearTimeout(timer);
    return (stats as { stats?: Record<string, unknown> }).stats ?? {};
  }

  /** The numbers delivered, and the holes. */
  delivered(): { numbers: number[]; holes: number } {
    const numbers = this.lines.filter((l) => typeof l.n === 'number').map((l) => l.n as number);
    const holes = this.lines.reduce((sum, l) => sum + ((l.lost as number | undefined) ?? 0), 0);
    return { numbers, holes };
  }
}

/** Drops `percent` % of the UDP datagrams to `port` arriving in namespace `ns` (input hook). */
function dropShare(ns: string, port: number, percent: number): void {
  const table = `phrist${process.pid}`;
  nsh(ns, 'nft', ['add', 'table', 'ip', table]);
  nsh(
    ns,
    'nft',
    ['add chain ip', table, 'in { type filter hook input priority 0; policy accept; }'].join(' ').split(' '),
  );
  nsh(ns, 'nft', [
    'add',
    'rule',
    'ip',
    table,
    'in',
    'udp',
    'dport',
    String(port),
    'numgen',
    'random',
    'mod',
    '100',
    '<',
    String(percent),
    'counter',
    'drop',
  ]);
}

describe('RIST Main profile on a multicast group between two network namespaces', { skip }, () => {
  let link: MulticastLink;
  const peers: Peer[] = [];
  before(() => {
    link = MulticastLink.create();
    dropShare(link.receiver, PORT, 5);
    dropShare(link.sender, PORT, 5);
  });
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    link?.destroy();
  });

  it('two joined receivers (ASM and SSM) recover every packet from one group sender', async () => {
    const far = new Peer(link.receiver, ['recv', String(PORT), GROUP, RECEIVER]);
    const near = new Peer(link.sender, ['recv', String(PORT), GROUP, SENDER, SENDER]);
    peers.push(far, near);
    await Promise.all([far.until('ready'), near.until('ready')]);
    const sender = new Peer(link.sender, ['send', GROUP, String(PORT), SENDER, String(COUNT + 30)]);
    peers.push(sender);
    await sender.until('sent');
    const expected = Array.from({ length: COUNT }, (_, i) => i);
    for (const [name, peer] of [
      ['any-source receiver in the other namespace', far],
      ['source-specific receiver beside the sender', near],
    ] as const) {
      await waitFor(() => peer.delivered().numbers.includes(COUNT + 10), {
        what: `${name}: the packets after the ${COUNT} (a loss at the end shows)`,
        timeoutMs: 20_000,
        detail: () => ({ last: peer.lines.slice(-3), stderr: peer.stderr }),
      });
      const { numbers, holes } = peer.delivered();
      assert.equal(holes, 0, `${name}: no hole`);
      assert.deepEqual(
        numbers.filter((n) => n < COUNT),
        expected,
        `${name}: every packet, in order`,
      );
    }
    const txStats = await sender.stop();
    const [farStats, nearStats] = [await far.stop(), await near.stop()];
    for (const [name, s] of [
      ['far', farStats],
      ['near', nearStats],
    ] as const) {
      const lost = s.lost as number;
      assert.ok(lost > 5 && s.recovered === lost && s.unrecovered === 0, `${name}: ${JSON.stringify(s)}`);
    }
    assert.ok((txStats.retransmitsSent as number) > 10, JSON.stringify(txStats));
  });
});
