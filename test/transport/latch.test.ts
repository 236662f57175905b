import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LatchPolicy, LatchVerdict, MediaTransport, PeerLatch } from '../../src/transport/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { closeAll, fakeClock, rawSocket, reader, rtcp, rtp, tags } from './helpers.ts';

checkLeaks();

describe('PeerLatch (sans I/O)', () => {
  const A = ['10.0.0.1', 5000] as const;
  const B = ['10.0.0.2', 6000] as const;

  test('first: the first source stays the peer, others are delivered', () => {
    const latch = new PeerLatch(LatchPolicy.FIRST, 1000, () => 0);
    assert.equal(latch.accept(...A), LatchVerdict.LEARN);
    assert.equal(latch.accept(...B), LatchVerdict.ACCEPT_OTHER);
    assert.equal(latch.accept(...A), LatchVerdict.ACCEPT);
    assert.deepEqual(latch.peer, { address: A[0], port: A[1], origin: 'learned' });
  });

  test('strict: a configured peer admits nobody else, ever', () => {
    const clock = fakeClock();
    const latch = new PeerLatch(LatchPolicy.STRICT, 1000, clock.now);
    latch.configure(...A);
    assert.equal(latch.accept(...B), LatchVerdict.DROP);
    clock.advance(1e9);
    assert.equal(latch.accept(...B), LatchVerdict.DROP);
    assert.equal(latch.accept(...A), LatchVerdict.ACCEPT);
  });

  test('follow: a new source takes over only after the silence', () => {
    const clock = fakeClock();
    const latch = new PeerLatch(LatchPolicy.FOLLOW, 1000, clock.now);
    assert.equal(latch.accept(...A), LatchVerdict.LEARN);
    clock.advance(999);
    assert.equal(latch.accept(...B), LatchVerdict.DROP);
    assert.equal(latch.accept(...A), LatchVerdict.ACCEPT, 'A refreshes its silence');
    clock.advance(999);
    assert.equal(latch.accept(...B), LatchVerdict.DROP);
    clock.advance(1);
    assert.equal(latch.accept(...B), LatchVerdict.LEARN);
    assert.equal(latch.changes, 1);
    assert.equal(latch.accept(...A), LatchVerdict.DROP, 'the old peer is now the stranger');
  });

  test('an inferred peer yields to the first real source and never blocks it', () => {
    const latch = new PeerLatch(LatchPolicy.STRICT, 1000, () => 0);
    latch.infer(...A);
    assert.equal(latch.peer?.origin, 'inferred');
    assert.equal(latch.accept(...B), LatchVerdict.LEARN);
    latch.infer(...A);
    assert.deepEqual(
      latch.peer,
      { address: B[0], port: B[1], origin: 'learned' },
      'inference never overrides',
    );
  });
});

describe('address learning over real sockets', () => {
  test("latch 'first': both sources delivered, replies go to the first", async () => {
    await using rx = await MediaTransport.listenPair('127.0.0.1', 63300, { latch: 'first' });
    const [a, b] = [await rawSocket(), await rawSocket()];
    try {
      const first = reader(rx.media, 1);
      a.send(rtp(1), 63300, '127.0.0.1');
      assert.deepEqual(tags(await first), [1]);
      const second = reader(rx.media, 1);
      b.send(rtp(2), 63300, '127.0.0.1');
      assert.deepEqual(tags(await second), [2]);
      assert.equal(rx.media.peer?.port, a.address().port);
      const back = new Promise<Buffer>((resolve) => a.once('message', resolve));
      rx.sendMedia(rtp(3));
      assert.equal((await back).at(-1), 3);
    } finally {
      await closeAll([a, b]);
    }
  });

  test("latch 'strict': a configured peer only; others dropped and counted", async () => {
    const [a, b] = [await rawSocket(), await rawSocket()];
    try {
      await using rx = await MediaTransport.listenPair('127.0.0.1', 63302, {
        latch: 'strict',
        remote: { media: { address: '127.0.0.1', port: a.address().port } },
      });
      const got = reader(rx.media, 1);
      b.send(rtp(1), 63302, '127.0.0.1');
      b.send(rtp(2), 63302, '127.0.0.1');
      a.send(rtp(3), 63302, '127.0.0.1');
      assert.deepEqual(tags(await got), [3]);
      const s = rx.stats();
      assert.equal(s.media.drops.unexpectedSource, 2);
      assert.equal(s.drops.unexpectedSource, 2);
      assert.equal(s.media.datagramsIn, 1);
    } finally {
      await closeAll([a, b]);
    }
  });

  test("latch 'follow': a new source is accepted after the old one was silent", async () => {
    const clock = fakeClock();
    await using rx = await MediaTransport.listenPair('127.0.0.1', 63304, {
      latch: 'follow',
      followAfterSilenceMs: 5_000,
      now: clock.now,
    });
    const [a, b] = [await rawSocket(), await rawSocket()];
    try {
      let got = reader(rx.media, 1);
      a.send(rtp(1), 63304, '127.0.0.1');
      assert.deepEqual(tags(await got), [1]);
      clock.advance(4_999);
      got = reader(rx.media, 1);
      b.send(rtp(2), 63304, '127.0.0.1'); // too early: dropped
      a.send(rtp(3), 63304, '127.0.0.1');
      assert.deepEqual(tags(await got), [3]);
      clock.advance(5_000);
      got = reader(rx.media, 2);
      b.send(rtp(4), 63304, '127.0.0.1'); // a silent for 5 s: b takes over
      a.send(rtp(5), 63304, '127.0.0.1'); // now a is the stranger
      b.send(rtp(6), 63304, '127.0.0.1');
      assert.deepEqual(tags(await got), [4, 6]);
      assert.equal(rx.media.peer?.port, b.address().port);
      const s = rx.stats();
      assert.equal(s.media.peerChanges, 1);
      assert.equal(s.media.drops.unexpectedSource, 2);
    } finally {
      await closeAll([a, b]);
    }
  });

  test('Simple profile: RTCP from port Q+1 makes Q the media peer (and media P makes P+1 the RTCP peer)', async () => {
    await using rx = await MediaTransport.listenPair('127.0.0.1', 63306);
    await using tx = await MediaTransport.listenEphemeralPair('127.0.0.1');
    assert.throws(() => tx.sendMedia(rtp(0)), { code: 'ERR_TRANSPORT_NO_PEER' });
    const got = reader(rx.rtcp, 1);
    tx.sendRtcp(rtcp(1), { address: '127.0.0.1', port: 63307 });
    await got;
    assert.deepEqual(rx.media.peer, { address: '127.0.0.1', port: tx.ports.media, origin: 'inferred' });
    const media = reader(tx.media, 1);
    rx.sendMedia(rtp(2));
    assert.deepEqual(tags(await media), [2]);

    await using rx2 = await MediaTransport.listenPair('127.0.0.1', 63308);
    const m = reader(rx2.media, 1);
    tx.sendMedia(rtp(3), { address: '127.0.0.1', port: 63308 });
    await m;
    assert.deepEqual(rx2.rtcp.peer, { address: '127.0.0.1', port: tx.ports.rtcp, origin: 'inferred' });
  });

  test('a configured media peer makes its port + 1 the RTCP peer', async () => {
    await using rx = await MediaTransport.listenPair('127.0.0.1', 63312);
    await using tx = await MediaTransport.listenEphemeral('127.0.0.1', {
      remote: { media: { address: '127.0.0.1', port: 63312 } },
    });
    assert.deepEqual(tx.rtcp.peer, { address: '127.0.0.1', port: 63313, origin: 'inferred' });
    const got = reader(rx.rtcp, 1);
    tx.sendRtcp(rtcp(7));
    assert.deepEqual(tags(await got), [7]);
  });

  test('inferPeers: false leaves the other stream without a peer', async () => {
    await using rx = await MediaTransport.listenPair('127.0.0.1', 63310, { inferPeers: false });
    const tx = await rawSocket();
    try {
      const got = reader(rx.rtcp, 1);
      tx.send(rtcp(1), 63311, '127.0.0.1');
      await got;
      assert.equal(rx.media.peer, undefined);
      assert.throws(() => rx.sendMedia(rtp(1)), { code: 'ERR_TRANSPORT_NO_PEER' });
      assert.throws(() => rx.sendMedia(rtp(1), { address: '127.0.0.1', port: 0 }), {
        code: 'ERR_INVALID_OPTION',
        option: 'to',
      });
    } finally {
      await closeAll([tx]);
    }
  });
});
