// PunchPeer on loopback with real sockets: concurrent dials, remote close, address forms.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { Demux } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { Broker, type PunchLink, PunchPeer, type PunchPeerOptions } from '../../src/punch/index.ts';
import { StunClass, StunClient, StunMethod, StunServer } from '../../src/stun/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';

checkLeaks();

const TOKENS = new Map([
  ['alice', 'a-secret'],
  ['bob', 'b-secret'],
]);

async function next(link: PunchLink): Promise<string> {
  const r = await link[Symbol.asyncIterator]().next();
  assert.equal(r.done, false);
  return String(r.value);
}

describe('PunchPeer', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  async function startBroker(): Promise<{ address: string; port: number }> {
    const broker = await Broker.listen({
      address: '127.0.0.1',
      port: 0,
      authenticate: (id, token) => TOKENS.get(id) === token.toString(),
    });
    closers.push(() => broker.close());
    return { address: '127.0.0.1', port: broker.address().port };
  }

  async function open(
    id: string,
    broker: PunchPeerOptions['broker'],
    signal: AbortSignal,
    extra: Partial<PunchPeerOptions> = {},
  ): Promise<PunchPeer> {
    const peer = await PunchPeer.open({
      broker,
      id,
      token: TOKENS.get(id) ?? '',
      address: '127.0.0.1',
      natClass: 'open',
      signal,
      ...extra,
    });
    closers.push(() => peer.close());
    return peer;
  }

  it('two concurrent dials to one peer each get their own link', async () => {
    const broker = await startBroker();
    // Bounded well under the 15 s introduction timeout a lost dial would wait for.
    const signal = AbortSignal.timeout(8000);
    const bob = await open('bob', broker, signal);
    const alice = await open('alice', broker, signal);
    const accepted = Promise.all([bob.accept({ signal }), bob.accept({ signal })]);
    const [first, second] = await Promise.all([alice.dial('bob', { signal }), alice.dial('bob', { signal })]);
    assert.notDeepEqual(first.linkId, second.linkId, 'two links, not one link twice');
    assert.equal(first.path, 'direct');
    assert.equal(second.path, 'direct');
    const [b1, b2] = await accepted;
    const bobLinks = new Map([
      [b1.linkId.toString('hex'), b1],
      [b2.linkId.toString('hex'), b2],
    ]);
    for (const [i, link] of [first, second].entries()) {
      const theirs = bobLinks.get(link.linkId.toString('hex'));
      assert.ok(theirs, 'Bob holds the same link');
      link.send(Buffer.from(`on link ${i}`));
      assert.equal(await next(theirs), `on link ${i}`);
    }
    assert.equal(alice.stats().links, 2);
    await alice.close();
    await bob.close();
  });

  it('a closed link tells its peer: the other side closes too, with no "path lost, re-punching"', async () => {
    const broker = await startBroker();
    // Without the CLOSE frame Bob would notice after ~20 s of keepalives and fail ~40 s later.
    const signal = AbortSignal.timeout(8000);
    const bob = await open('bob', broker, signal);
    const alice = await open('alice', broker, signal);
    const accepted = bob.accept({ signal });
    const link = await alice.dial('bob', { signal });
    const theirs = await accepted;
    const paths: { side: string; path: unknown }[] = [];
    link.on('path', (path) => paths.push({ side: 'alice', path }));
    theirs.on('path', (path) => paths.push({ side: 'bob', path }));
    const localClose = once(link, 'close', { signal });
    const remoteClose = once(theirs, 'close', { signal });
    const reading = theirs[Symbol.asyncIterator]().next();
    await link.close();
    assert.deepEqual(await localClose, ['local']);
    assert.deepEqual(await remoteClose, ['remote']);
    assert.equal(link.closeReason, 'local');
    assert.equal(theirs.closeReason, 'remote');
    assert.deepEqual(await reading, { value: undefined, done: true }, "Bob's reader ends");
    assert.equal(theirs.stats().remoteCloses, 1);
    assert.equal(theirs.stats().repunches, 0);
    assert.deepEqual(paths, [], 'closing is not a path change');
    assert.equal(bob.stats().links, 0, 'Bob forgot the link');
    assert.throws(() => theirs.send(Buffer.from('x')), { code: 'ERR_CLOSED' });
  });

  it('takes the broker as "host:port" as well as { address, port }', async () => {
    const broker = await startBroker();
    const signal = AbortSignal.timeout(8000);
    const bob = await open('bob', `127.0.0.1:${broker.port}`, signal);
    const alice = await open('alice', broker, signal);
    const accepted = bob.accept({ signal });
    const link = await alice.dial('bob', { signal });
    assert.equal((await accepted).peerId, 'alice');
    assert.equal(link.path, 'direct');
    for (const bad of ['127.0.0.1:99999', '127.0.0.1:x', '', ' :1']) {
      await assert.rejects(open('alice', bad, signal), { code: 'ERR_INVALID_OPTION', option: 'broker' }, bad);
    }
    await assert.rejects(open('alice', { address: '127.0.0.1', port: 70_000 }, signal), {
      code: 'ERR_INVALID_OPTION',
      option: 'broker.port',
      message: /^broker\.port/,
    });
  });

  it('refuses a port that is not an integer 0-65535 instead of wrapping it', async () => {
    const broker = { address: '127.0.0.1', port: 9 };
    for (const port of [70_000, -1, 3478.9, 65_536, Number.NaN]) {
      await assert.rejects(
        PunchPeer.open({ broker, id: 'alice', token: 'a', address: '127.0.0.1', port }),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'ERR_INVALID_OPTION');
          assert.equal((error as { option?: string }).option, 'port');
          assert.match(error.message, new RegExp(`port .*got ${port}`));
          return true;
        },
      );
      await assert.rejects(Broker.listen({ address: '127.0.0.1', port, authenticate: () => true }), {
        code: 'ERR_INVALID_OPTION',
        option: 'port',
      });
    }
    await assert.rejects(
      PunchPeer.open({
        broker,
        id: 'alice',
        token: 'a',
        address: '127.0.0.1',
        hostCandidates: [{ address: '127.0.0.1', port: 0 }],
      }),
      { code: 'ERR_INVALID_OPTION', option: 'hostCandidates[0].port' },
    );
  });

  it("breaking out of a link's iterator ends that reader only; a full queue drops the newest and counts it", async () => {
    const broker = await startBroker();
    const signal = AbortSignal.timeout(8000);
    const bob = await open('bob', broker, signal, { maxQueued: 3 });
    const alice = await open('alice', broker, signal);
    const accepted = bob.accept({ signal });
    const link = await alice.dial('bob', { signal });
    const theirs = await accepted;
    link.send(Buffer.from('first'));
    for await (const d of theirs) {
      assert.equal(String(d), 'first');
      break;
    }
    assert.equal(theirs.closeReason, null, 'the link is still open');
    for (let i = 0; i < 5; i++) link.send(Buffer.from(`n${i}`));
    await waitFor(() => theirs.stats().received === 6, { what: 'six datagrams at Bob', timeoutMs: 5000 });
    assert.equal(theirs.stats().droppedQueueFull, 2);
    const got: string[] = [];
    for await (const d of theirs) {
      got.push(String(d));
      if (got.length === 3) break;
    }
    assert.deepEqual(got, ['n0', 'n1', 'n2'], 'a new reader reads on; the newest were dropped');
    await assert.rejects(PunchPeer.open({ broker, id: 'carol', token: 'c', maxQueued: 0 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'maxQueued',
    });
  });
  it("new Broker({ demux }) serves beside a StunServer on the caller's socket and leaves it open", async () => {
    const socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const demux = new Demux(socket);
    const stun = new StunServer({ demux, rateLimit: false });
    const broker = new Broker({ demux, authenticate: (id, token) => TOKENS.get(id) === token.toString() });
    closers.push(async () => {
      await broker.close();
      await stun.close();
      demux.detach();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    });
    const signal = AbortSignal.timeout(8000);
    const where = { address: '127.0.0.1', port: socket.address().port };
    await open('bob', where, signal);
    await waitFor(() => broker.stats().peers === 1, { what: 'bob registered with the broker' });
    // The StunServer answers a Binding request on the same socket the broker serves.
    const client = new StunClient({
      demux: new Demux(await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 })),
    });
    closers.push(async () => {
      const own = client.socket;
      await client.close();
      await new Promise<void>((resolve) => own.close(() => resolve()));
    });
    const response = await client.request(
      { method: StunMethod.BINDING, class: StunClass.REQUEST },
      { to: where, signal },
    );
    assert.equal(response.message.class, StunClass.SUCCESS_RESPONSE);
    await broker.close();
    await broker.close(); // idempotent
    assert.equal(broker.stats().peers, 1);
    socket.address(); // still bound: throws ERR_SOCKET_DGRAM_NOT_RUNNING once closed
  });
});
