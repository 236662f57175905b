// ARQ over a relayed PunchLink carrying a chunk stream between two real processes: this process is
// the edge ("alice"), a child process the viewer ("bob"); the direct path between their sockets is
// blocked with nftables, so the punch layer puts them on a coturn TURN relay, and the peer protocol
// (LiveArqNode: control and data conversations) runs over that link. Needs coturn and root.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { missingTool } from '../../src/lab/index.ts';
import { createChannel, LiveArqNode, openChannel } from '../../src/live/index.ts';
import { Broker, PunchPeer, TurnRelayProvider } from '../../src/punch/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { startCoturn, TURN_PASSWORD, TURN_USER } from '../support/turn-coturn.ts';
import { feedChunks } from './helpers.ts';

checkLeaks();

const run = promisify(execFile);
const skip =
  (await missingTool('turnserver', 'coturn')) ??
  (process.getuid?.() !== 0 ? 'needs root: blocks the direct path with nftables' : undefined) ??
  (await missingTool('nft', 'nftables')) ??
  false;
const fixture = fileURLToPath(new URL('./fixtures/relay-peer.ts', import.meta.url));
const TOKENS = new Map([
  ['alice', 'a-secret'],
  ['bob', 'b-secret'],
]);

describe('LiveArqNode over a TURN-relayed PunchLink, two processes', { skip }, () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });

  it('the viewer process plays 20 chunks in order from the edge through coturn', async () => {
    const coturn = await startCoturn();
    closers.push(() => coturn.close());
    const broker = await Broker.listen({
      address: '127.0.0.1',
      port: 0,
      authenticate: (id, t) => TOKENS.get(id) === t.toString(),
    });
    closers.push(() => broker.close());
    const signal = AbortSignal.timeout(40_000);
    const relay = new TurnRelayProvider({
      server: { address: '127.0.0.1', port: coturn.port },
      username: TURN_USER,
      password: TURN_PASSWORD,
    });
    const alice = await PunchPeer.open({
      broker: { address: '127.0.0.1', port: broker.address().port },
      address: '127.0.0.1',
      id: 'alice',
      token: 'a-secret',
      relay,
      punch: { punchTimeoutMs: 1_000 },
      relayRetryDirectMs: 60_000,
      signal,
    });
    closers.push(() => alice.close());

    const child = spawn(process.execPath, [fixture, String(broker.address().port), String(coturn.port)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    closers.push(async () => {
      if (child.exitCode === null) {
        child.kill();
        await once(child, 'exit');
      }
    });
    const lines = createInterface({ input: child.stdout! });
    const played: number[] = [];
    let childPath = '';
    const bobPort = await new Promise<number>((resolve, reject) => {
      lines.on('line', (line) => {
        if (line.startsWith('port ')) resolve(Number(line.slice(5)));
        else if (line.startsWith('path ')) childPath = line.slice(5);
        else if (line.startsWith('played ')) played.push(Number(line.slice(7)));
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });

    const table = `porthole_live_${process.pid}`;
    const a = alice.localPort;
    await run('nft', ['add', 'table', 'inet', table]);
    closers.push(() => run('nft', ['delete', 'table', 'inet', table]));
    await run('nft', ['add', 'chain', 'inet', table, 'out', '{ type filter hook output priority 0 ; }']);
    for (const [from, to] of [
      [a, bobPort],
      [bobPort, a],
    ]) {
      await run('nft', [
        'add',
        'rule',
        'inet',
        table,
        'out',
        'udp',
        'sport',
        `${from}`,
        'udp',
        'dport',
        `${to}`,
        'drop',
      ]);
    }
    child.stdin!.write('go\n');
    const link = await alice.dial('bob', { signal });
    closers.push(() => link.close());
    assert.equal(link.path, 'relay', 'the blocked pair meets on the TURN relay');

    const channel = createChannel(Buffer.alloc(32, 8));
    const edge = new LiveArqNode({ channel: openChannel(channel.publicKey, channel.id), role: 'edge' });
    closers.push(() => edge.close());
    edge.attach('bob', link, 'relay');
    const source = feedChunks(edge, channel, 20);
    closers.push(async () => clearInterval(source));
    const [code] = await once(child, 'exit');
    clearInterval(source);
    assert.equal(code, 0, 'the viewer played 20 chunks and closed cleanly');
    assert.equal(childPath, 'relay');
    assert.equal(played.length, 20);
    for (let i = 1; i < played.length; i++) assert.equal(played[i], played[i - 1]! + 1, 'in order');
    assert.equal(played[0]! % 4, 0, 'it started at a random-access chunk');
    assert.ok((relay.stats().turn?.channelDataReceived ?? 0) > 0, 'the stream went through coturn');
    assert.ok(edge.core.stats().chunksUploaded >= 20);
  });
});
