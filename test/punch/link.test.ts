// Real sockets on loopback: a broker and two peers in one process (no NAT).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Broker, dialPeer, type PunchLink, PunchPeer, type RelayProvider } from '../../src/punch/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { linkAliceToBob, startLoopbackBroker } from './loopback.ts';

checkLeaks();

/** Open UDP handles, once pending handle closes have run. */
async function udpHandles(): Promise<number> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  return udpHandlesNow();
}

function udpHandlesNow(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
}

async function next(link: PunchLink): Promise<string> {
  const r = await link[Symbol.asyncIterator]().next();
  assert.equal(r.done, false);
  return String(r.value);
}

describe('punching on loopback with real sockets', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  const startBroker = () => startLoopbackBroker(closers);

  it('connects two peers through a broker and exchanges data both ways', async () => {
    const before = await udpHandles();
    const { broker, brokerAddress } = await startBroker();
    const signal = AbortSignal.timeout(20_000);
    const { bob, aliceLink, bobLink } = await linkAliceToBob(brokerAddress, closers, signal);
    assert.equal(aliceLink.path, 'direct');
    assert.equal(bobLink.path, 'direct');
    assert.equal(aliceLink.peerId, 'bob');
    assert.equal(bobLink.peerId, 'alice');
    assert.equal(aliceLink.remote?.port, bob.localPort);

    aliceLink.send(Buffer.from('hello bob'));
    assert.equal(await next(bobLink), 'hello bob');
    bobLink.send(Buffer.from('hello alice'));
    assert.equal(await next(aliceLink), 'hello alice');
    for (let i = 0; i < 20; i++) aliceLink.send(Buffer.from(`n${i}`));
    const got: string[] = [];
    for await (const d of bobLink) {
      got.push(String(d));
      if (got.length === 20) break; // ends this reader only: bobLink stays open until Alice closes
    }
    assert.equal(got.length, 20);
    assert.equal(broker.stats().introductions, 1);
    assert.equal(broker.stats().peers, 2);
    assert.ok(udpHandlesNow() >= before + 3, 'the handle count sees UDP sockets');

    await aliceLink.close();
    await aliceLink.close(); // idempotent
    assert.throws(() => aliceLink.send(Buffer.from('x')), { code: 'ERR_CLOSED' });
    await bob.close();
    await broker.close();
    assert.equal(await udpHandles(), before, 'every socket closed');
  });

  it('gives an unauthenticated peer nothing: registration times out', async () => {
    const broker = await Broker.listen({ address: '127.0.0.1', port: 0, authenticate: () => false });
    closers.push(() => broker.close());
    await assert.rejects(
      PunchPeer.open({
        broker: { address: '127.0.0.1', port: broker.address().port },
        id: 'mallory',
        token: 'guess',
        address: '127.0.0.1',
        brokerRetransmit: { initialRtoMs: 20, maxTransmissions: 3 },
      }),
      { code: 'ERR_PUNCH_BROKER_UNREACHABLE' },
    );
    assert.equal(broker.stats().rejectedAuth >= 1, true);
    await broker.close();
  });

  it('a closing peer says goodbye: the broker forgets it at once, and connecting to it fails fast', async () => {
    const { broker, brokerAddress } = await startBroker();
    const signal = AbortSignal.timeout(20_000);
    const open = (id: string, token: string) =>
      PunchPeer.open({ broker: brokerAddress, id, token, address: '127.0.0.1', natClass: 'open', signal });
    const alice = await open('alice', 'a-secret');
    closers.push(() => alice.close());
    const bob = await open('bob', 'b-secret');
    assert.equal(broker.stats().peers, 2);
    await bob.close();
    for (let i = 0; i < 200 && broker.stats().unregistered === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(broker.stats().unregistered, 1);
    assert.equal(broker.stats().peers, 1);
    // Without the goodbye the broker would introduce Alice to Bob's dead registration for 45 s.
    await assert.rejects(alice.dial('bob', { signal }), { code: 'ERR_PUNCH_PEER_UNKNOWN' });
  });

  it('rejects an unknown peer, and releases every prediction socket', async () => {
    const before = await udpHandles();
    const { broker, brokerAddress } = await startBroker();
    const signal = AbortSignal.timeout(20_000);
    // Pretend Alice is behind a symmetric NAT and Bob behind a port-restricted one: Alice opens
    // prediction sockets; the loopback path wins, and every extra socket must go.
    const alice = await PunchPeer.open({
      broker: brokerAddress,
      id: 'alice',
      token: 'a-secret',
      address: '127.0.0.1',
      natClass: 'symmetric',
      punch: { prediction: { sockets: 32, probes: 64 } },
      signal,
    });
    closers.push(() => alice.close());
    await assert.rejects(alice.dial('carol', { signal }), { code: 'ERR_PUNCH_PEER_UNKNOWN' });
    assert.ok(udpHandlesNow() >= before + 2, 'the handle count sees the broker and Alice');
    const bob = await PunchPeer.open({
      broker: brokerAddress,
      id: 'bob',
      token: 'b-secret',
      address: '127.0.0.1',
      natClass: 'port-restricted',
      signal,
    });
    closers.push(() => bob.close());
    const accepted = bob.accept({ signal });
    const link = await alice.dial('bob', { signal });
    const bobLink = await accepted;
    assert.ok(link.path === 'direct' || link.path === 'predicted');
    link.send(Buffer.from('via prediction sockets or not'));
    assert.equal(await next(bobLink), 'via prediction sockets or not');
    const { extraSocketsPeak } = link.stats();
    assert.ok(
      extraSocketsPeak > 0 && extraSocketsPeak <= 32,
      `prediction opened ${extraSocketsPeak} sockets`,
    );
    await link.close();
    assert.equal(link.stats().extraSockets, 0, 'no prediction socket left');
    await alice.close();
    await bob.close();
    await broker.close();
    assert.equal(await udpHandles(), before, 'every socket closed');
  });

  it('moves to the relay provider when punching fails, and closes the relay with the link', async () => {
    const { broker, brokerAddress } = await startBroker();
    const signal = AbortSignal.timeout(20_000);
    // Bob takes no incoming links (maxUnaccepted 0): he never punches back, so Alice's punch fails.
    const bob = await PunchPeer.open({
      broker: brokerAddress,
      id: 'bob',
      token: 'b-secret',
      address: '127.0.0.1',
      maxUnaccepted: 0,
      signal,
    });
    closers.push(() => bob.close());
    const sent: string[] = [];
    let closedChannels = 0;
    const relay: RelayProvider = {
      async open(introduction, onData) {
        assert.equal(introduction.peerId, 'bob');
        return {
          send: (data) => {
            sent.push(String(data));
            onData(Buffer.from(`echo:${data}`));
          },
          close: () => {
            closedChannels++;
          },
        };
      },
    };
    const link = await dialPeer({
      broker: brokerAddress,
      id: 'alice',
      token: 'a-secret',
      address: '127.0.0.1',
      peer: 'bob',
      relay,
      punch: { punchTimeoutMs: 300 },
      signal,
    });
    closers.push(() => link.close());
    assert.equal(link.path, 'relay');
    assert.ok(link.stats().probesSent > 0, 'it tried direct first');
    link.send(Buffer.from('x'));
    assert.deepEqual(sent, ['x']);
    assert.equal(await next(link), 'echo:x');
    assert.equal(bob.stats().droppedUnaccepted, 1);
    await link.close();
    assert.equal(closedChannels, 1);
    await bob.close();
    await broker.close();
  });

  /**
   * Bob behind a declared symmetric NAT who never punches back (no direct path), and the options
   * for Alice (symmetric too) to dial him with `relay`: a 60 s punch deadline, no prediction, a
   * 300 ms symmetric-pair deadline.
   */
  async function symmetricPair(relay: RelayProvider, signal: AbortSignal) {
    const { broker, brokerAddress } = await startBroker();
    const bob = await PunchPeer.open({
      broker: brokerAddress,
      id: 'bob',
      token: 'b-secret',
      address: '127.0.0.1',
      natClass: 'symmetric',
      maxUnaccepted: 0,
      signal,
    });
    closers.push(() => bob.close());
    const alice = {
      broker: brokerAddress,
      id: 'alice',
      token: 'a-secret',
      address: '127.0.0.1',
      natClass: 'symmetric',
      peer: 'bob',
      relay,
      punch: { punchTimeoutMs: 60_000, prediction: false },
      symmetricPairTimeoutMs: 300,
      signal,
    } as const;
    const close = async (): Promise<void> => {
      await bob.close();
      await broker.close();
    };
    return { alice, close };
  }

  it('a symmetric <-> symmetric pair with a relay starts on it without punching; direct is retried later', async () => {
    // The punch deadline is 60 s and the test gives up after 20 s: only going to the relay first
    // brings the link up in time; the retry of direct (after relayRetryDirectMs) ends at the
    // symmetric-pair deadline (300 ms) and the link stays on the relay.
    let opened = 0;
    const relay: RelayProvider = {
      async open() {
        opened++;
        return { send: () => {}, close: () => {} };
      },
    };
    const { alice, close } = await symmetricPair(relay, AbortSignal.timeout(20_000));
    const link = await dialPeer({ ...alice, relayRetryDirectMs: 200 });
    closers.push(() => link.close());
    assert.equal(link.path, 'relay');
    assert.equal(link.stats().probesSent, 0, 'no punch probe before the relay');
    assert.equal(opened, 1);
    await waitFor(() => link.stats().probesSent > 0, {
      what: 'the retry of direct after relayRetryDirectMs',
    });
    await waitFor(() => link.stats().state === 'failed', {
      what: 'the retry ending at symmetricPairTimeoutMs',
    });
    assert.equal(link.path, 'relay', 'the link stays on the relay');
    assert.equal(opened, 1, 'the relay channel is kept, not reopened');
    await link.close();
    await close();
  });

  it('a symmetric pair whose relay fails at first punches, and fails only when the relay fails again', async () => {
    let opened = 0;
    const relay: RelayProvider = {
      async open() {
        opened++;
        throw new Error('no allocation');
      },
    };
    const { alice, close } = await symmetricPair(relay, AbortSignal.timeout(20_000));
    await assert.rejects(dialPeer(alice), { code: 'ERR_PUNCH_FAILED' });
    assert.equal(opened, 2, 'the relay first, then again after the punch failed');
    await close();
  });

  it('refuses bad punch tuning when it opens, not later inside a datagram handler', async () => {
    const base = { broker: { address: '127.0.0.1', port: 9 }, id: 'alice', token: 'a', address: '127.0.0.1' };
    await assert.rejects(PunchPeer.open({ ...base, punch: { punchTimeoutMs: -1 } }), {
      code: 'ERR_INVALID_OPTION',
      option: 'punch.punchTimeoutMs',
    });
    await assert.rejects(PunchPeer.open({ ...base, symmetricPairTimeoutMs: 0 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'symmetricPairTimeoutMs',
    });
  });

  it('without a relay, a failed punch rejects ERR_PUNCH_FAILED', async () => {
    const { broker, brokerAddress } = await startBroker();
    const bob = await PunchPeer.open({
      broker: brokerAddress,
      id: 'bob',
      token: 'b-secret',
      address: '127.0.0.1',
      maxUnaccepted: 0,
    });
    closers.push(() => bob.close());
    await assert.rejects(
      dialPeer({
        broker: brokerAddress,
        id: 'alice',
        token: 'a-secret',
        address: '127.0.0.1',
        peer: 'bob',
        punch: { punchTimeoutMs: 300 },
      }),
      { code: 'ERR_PUNCH_FAILED' },
    );
    await bob.close();
    await broker.close();
  });
});
