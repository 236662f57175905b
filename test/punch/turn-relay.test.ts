// TurnRelayProvider against a real coturn on 127.0.0.1: the relay candidate travels through the
// broker; two peers whose direct path is blocked (an nftables drop between their two loopback
// ports — root only) end up on path 'relay' and exchange data both ways through ChannelData; once
// the block is lifted, both move to 'direct' on their own. Skips without turnserver (apt coturn).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { missingTool } from '../../src/lab/index.ts';
import { Demux } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import {
  Broker,
  type Introduction,
  LinkRole,
  type PathKind,
  type PunchLink,
  PunchPeer,
  TurnRelayProvider,
} from '../../src/punch/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { type Coturn, startCoturn, TURN_PASSWORD, TURN_USER } from '../support/turn-coturn.ts';

checkLeaks();

const run = promisify(execFile);
const skip = (await missingTool('turnserver', 'coturn')) ?? false;
const skipRoot =
  skip ||
  (process.getuid?.() !== 0
    ? 'needs root: blocks the direct path with nftables'
    : ((await missingTool('nft', 'nftables')) ?? false));

const TOKENS = new Map([
  ['alice', 'a-secret'],
  ['bob', 'b-secret'],
]);

/** Sends `text` every 100 ms until the other link yields it (at most 10 s). */
async function roundTrip(from: PunchLink, to: PunchLink, text: string): Promise<void> {
  const iterator = to[Symbol.asyncIterator]();
  const got = iterator.next();
  for (let i = 0; i < 100; i++) {
    from.send(Buffer.from(text));
    const r = await Promise.race([got, sleep(100, null)]);
    if (r !== null) {
      assert.equal(r.done, false);
      assert.equal(String(r.value), text);
      return;
    }
  }
  assert.fail(`${text} did not arrive within 10 s`);
}

function pathBecomes(link: PunchLink, kind: PathKind, ms: number): Promise<void> {
  if (link.path === kind) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`path not ${kind} within ${ms} ms`)), ms);
    const onPath = (k: PathKind | null): void => {
      if (k !== kind) return;
      clearTimeout(timer);
      link.off('path', onPath);
      resolve();
    };
    link.on('path', onPath);
  });
}

describe('TurnRelayProvider with coturn', { skip }, () => {
  let coturn: Coturn;
  const closers: (() => Promise<void>)[] = [];
  const relayOptions = () => ({
    server: { address: '127.0.0.1', port: coturn.port },
    username: TURN_USER,
    password: TURN_PASSWORD,
  });
  before(async () => {
    coturn = await startCoturn();
  });
  after(async () => {
    for (const close of closers.reverse()) await close();
    await coturn?.close();
  });

  it('allocates on a shared demux, announces one relay candidate, and refuses misuse', async () => {
    const socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const demux = new Demux(socket);
    closers.push(async () => {
      demux.detach();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    });
    const relay = new TurnRelayProvider(relayOptions());
    const candidates = await relay.attach(demux, { signal: AbortSignal.timeout(10_000) });
    closers.push(() => relay.detach());
    assert.equal(candidates.length, 1);
    assert.equal(candidates[0]!.kind, 'relay');
    assert.equal(candidates[0]!.address, '127.0.0.1');
    assert.ok(candidates[0]!.port >= coturn.relayMin && candidates[0]!.port <= coturn.relayMax);
    assert.deepEqual(relay.relayedAddress, { address: '127.0.0.1', port: candidates[0]!.port });
    await assert.rejects(relay.attach(demux), { code: 'ERR_INVALID_STATE' });
    const intro: Introduction = {
      linkId: Buffer.alloc(8, 1),
      role: LinkRole.INITIATOR,
      secret: Buffer.alloc(32, 2),
      peerId: 'bob',
      natClass: 'symmetric',
      candidates: [{ kind: 'srflx', address: '127.0.0.1', port: 9 }],
    };
    await assert.rejects(
      relay.open(intro, () => {}, { signal: AbortSignal.timeout(5_000) }),
      {
        code: 'ERR_PUNCH_RELAY_NO_CANDIDATE',
      },
    );
    assert.equal(relay.stats().noCandidate, 1);
    assert.equal(relay.stats().turn?.state, 'allocated');
    await relay.detach();
    await relay.detach(); // idempotent
    assert.equal(relay.relayedAddress, null);
    await assert.rejects(
      relay.open({ ...intro, candidates: [{ kind: 'relay', address: '127.0.0.1', port: 9 }] }, () => {}, {
        signal: AbortSignal.timeout(5_000),
      }),
      { code: 'ERR_CLOSED' },
    );
    assert.throws(() => new TurnRelayProvider({ ...relayOptions(), maxChannels: 0 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'maxChannels',
    });
  });

  it('blocked direct path: both sides on the relay, data both ways, then up to direct', {
    skip: skipRoot,
  }, async () => {
    const broker = await Broker.listen({
      address: '127.0.0.1',
      port: 0,
      authenticate: (id, t) => TOKENS.get(id) === t.toString(),
    });
    closers.push(() => broker.close());
    const brokerAddress = { address: '127.0.0.1', port: broker.address().port };
    const signal = AbortSignal.timeout(40_000);
    const common = {
      broker: brokerAddress,
      address: '127.0.0.1',
      punch: { punchTimeoutMs: 1_000 },
      relayRetryDirectMs: 1_000,
      signal,
    };
    const aliceRelay = new TurnRelayProvider(relayOptions());
    const bobRelay = new TurnRelayProvider(relayOptions());
    const alice = await PunchPeer.open({ ...common, id: 'alice', token: 'a-secret', relay: aliceRelay });
    closers.push(() => alice.close());
    const bob = await PunchPeer.open({ ...common, id: 'bob', token: 'b-secret', relay: bobRelay });
    closers.push(() => bob.close());

    const table = `porthole_relay_${process.pid}`;
    const a = alice.localPort;
    const b = bob.localPort;
    await run('nft', ['add', 'table', 'inet', table]);
    let blocked = true;
    const unblock = async (): Promise<void> => {
      if (!blocked) return;
      blocked = false;
      await run('nft', ['delete', 'table', 'inet', table]);
    };
    closers.push(unblock);
    await run('nft', ['add', 'chain', 'inet', table, 'out', '{ type filter hook output priority 0 ; }']);
    await run('nft', [
      'add',
      'rule',
      'inet',
      table,
      'out',
      'udp',
      'sport',
      `${a}`,
      'udp',
      'dport',
      `${b}`,
      'drop',
    ]);
    await run('nft', [
      'add',
      'rule',
      'inet',
      table,
      'out',
      'udp',
      'sport',
      `${b}`,
      'udp',
      'dport',
      `${a}`,
      'drop',
    ]);

    const accepted = bob.accept({ signal });
    const aliceLink = await alice.dial('bob', { signal });
    const bobLink = await accepted;
    assert.equal(aliceLink.path, 'relay');
    assert.equal(bobLink.path, 'relay');
    assert.ok(aliceLink.stats().probesSent > 0, 'it tried direct first');
    await roundTrip(aliceLink, bobLink, 'alice→bob via TURN');
    await roundTrip(bobLink, aliceLink, 'bob→alice via TURN');
    assert.equal(aliceRelay.stats().channels, 1);
    assert.ok((aliceRelay.stats().turn?.channelDataReceived ?? 0) >= 1, 'received as ChannelData');
    assert.ok((bobRelay.stats().turn?.sentChannelData ?? 0) >= 1, 'sent as ChannelData');
    assert.equal(aliceLink.stats().droppedNotPath, 0);

    await unblock();
    await Promise.all([pathBecomes(aliceLink, 'direct', 20_000), pathBecomes(bobLink, 'direct', 20_000)]);
    assert.equal(aliceLink.remote?.port, b);
    assert.equal(aliceRelay.stats().channels, 0, 'the relayed channel is closed once direct');
    await roundTrip(aliceLink, bobLink, 'alice→bob direct');
    await roundTrip(bobLink, aliceLink, 'bob→alice direct');

    await aliceLink.close();
    await alice.close();
    await bob.close();
    assert.equal(aliceRelay.relayedAddress, null, 'closing the peer deletes the allocation');
    await broker.close();
  });
});
