import assert from 'node:assert/strict';
import type { RemoteInfo } from 'node:dgram';
import { after, describe, test } from 'node:test';
import { STUN_RANGE } from '../../src/mux/index.ts';
import { PortPool } from '../../src/ports/index.ts';
import { MediaTransport } from '../../src/transport/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { closeAll, rawSocket, reader, rtp, tags } from './helpers.ts';

checkLeaks();

const FROM: RemoteInfo = { address: '127.0.0.1', family: 'IPv4', port: 4000, size: 0 };

describe('MediaTransport lifecycle', () => {
  const pool = new PortPool({
    range: '63200-63239',
    host: '127.0.0.1',
    cooldownMs: 60_000,
    warnEphemeralOverlap: false,
  });
  after(() => pool.close());

  test('close() ends iterators after what is queued, is idempotent and refuses sends', async () => {
    const t = await MediaTransport.listenPair('127.0.0.1', 63200);
    const pending = t.rtcp.datagrams();
    const waiting = pending.next();
    const queued = t.media.datagrams();
    t.media.demux.inject(rtp(1), FROM);
    t.media.demux.inject(rtp(2), FROM);
    const first = t.close();
    assert.equal(t.close(), first, 'the same promise');
    assert.equal(t.closed, true);
    assert.deepEqual(await waiting, { value: undefined, done: true });
    const drained: number[] = [];
    for await (const d of queued) drained.push(d.data.at(-1)!);
    assert.deepEqual(drained, [1, 2]);
    const late: unknown[] = [];
    for await (const d of t.media) late.push(d);
    assert.deepEqual(late, [], 'an iterator made after close ends at once');
    assert.throws(() => t.sendMedia(rtp(3), { address: '127.0.0.1', port: 9 }), { code: 'ERR_CLOSED' });
    assert.throws(() => t.sendRtcp(rtp(3), { address: '127.0.0.1', port: 9 }), { code: 'ERR_CLOSED' });
    assert.throws(() => t.joinMulticast({ group: '239.1.2.3' }), { code: 'ERR_CLOSED' });
    await assert.rejects(t.rebind(), { code: 'ERR_CLOSED' });
    await first;
    assert.deepEqual(t.ports, { media: 63200, rtcp: 63201 }, 'ports stay readable after close');
    const again = await rawSocket('udp4', 63200);
    await closeAll([again]);
  });

  test('close() returns pool ports, which then cool down', async () => {
    const t = await MediaTransport.listenEphemeralPair(undefined, { pool });
    const { media, rtcp } = t.ports;
    const before = pool.stats();
    await t[Symbol.asyncDispose]();
    const after = pool.stats();
    assert.equal(after.cooling, before.cooling + 2);
    assert.ok(pool.holds(media) && pool.holds(rtcp), 'cooling ports are not handed out');
    await using next = await MediaTransport.listenEphemeralPair(undefined, { pool });
    assert.notEqual(next.ports.media, media);
  });

  test('rebind() swaps in fresh pool sockets and keeps readers and handlers attached', async () => {
    let callbacks = 0;
    await using t = await MediaTransport.listenEphemeralPair(undefined, { pool, onMedia: () => callbacks++ });
    const stun: number[] = [];
    t.media.demux.register(STUN_RANGE, (d) => stun.push(d[0]!));
    const it = t.media.datagrams();
    const old = t.ports;
    const oldSocket = t.media.socket;
    await t.rebind();
    assert.notEqual(t.ports.media, old.media);
    assert.equal(t.ports.rtcp, t.ports.media + 1);
    assert.equal(t.ports.media % 2, 0);
    assert.notEqual(t.media.socket, oldSocket);
    assert.throws(() => oldSocket.address(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' }, 'old socket released');
    assert.ok(pool.holds(old.media), 'old ports cool down');
    const tx = await rawSocket();
    try {
      tx.send(Buffer.from([0x01, 0x01]), t.ports.media, '127.0.0.1');
      tx.send(rtp(7), t.ports.media, '127.0.0.1');
      const r = await it.next();
      assert.equal(r.value?.data.at(-1), 7);
      assert.deepEqual(stun, [1], "another layer's handler survived");
      assert.equal(callbacks, 1);
      assert.equal(t.stats().rebinds, 1);
    } finally {
      await closeAll([tx]);
      await it.return?.();
    }
  });

  test('rebind() without a pool takes OS ports; fixed ports refuse', async () => {
    await using single = await MediaTransport.listenEphemeralSingle('127.0.0.1');
    const before = single.ports.media;
    await single.rebind();
    assert.notEqual(single.ports.media, before);
    await using fixed = await MediaTransport.listenSingle('127.0.0.1', 63202);
    await assert.rejects(fixed.rebind(), { code: 'ERR_INVALID_STATE' });
  });

  test('an iterator queue drops the oldest beyond its capacity and counts it', async () => {
    await using t = await MediaTransport.listenEphemeralSingle('127.0.0.1', { queueCapacity: 2 });
    const it = t.media.datagrams();
    for (let i = 1; i <= 5; i++) t.media.demux.inject(rtp(i), FROM);
    assert.equal(t.stats().drops.queueFull, 3);
    assert.equal((await it.next()).value?.data.at(-1), 4);
    assert.equal((await it.next()).value?.data.at(-1), 5);
    await it.return?.();
    assert.equal(t.stats().media.drops.queueFull, 3, 'drops of ended iterators stay counted');
    assert.throws(() => t.media.datagrams({ capacity: 0 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'capacity',
    });
  });

  test('an abort signal ends an iterator; break detaches it', async () => {
    await using t = await MediaTransport.listenEphemeralSingle('127.0.0.1');
    const ac = new AbortController();
    const it = t.media.datagrams({ signal: ac.signal });
    const pending = it.next();
    ac.abort();
    assert.deepEqual(await pending, { value: undefined, done: true });
    const seen: number[] = [];
    const loop = (async () => {
      for await (const d of t.media) {
        seen.push(d.data.at(-1)!);
        break;
      }
    })();
    t.media.demux.inject(rtp(1), FROM);
    await loop;
    t.media.demux.inject(rtp(2), FROM);
    assert.deepEqual(seen, [1]);
    assert.equal(t.stats().drops.queueFull, 0);
  });

  test('stats count unclaimed, empty and throwing-callback datagrams; nothing throws', async () => {
    await using t = await MediaTransport.listenEphemeralPair('127.0.0.1', {
      onRtcp: () => {
        throw new Error('user bug');
      },
    });
    const tx = await rawSocket();
    try {
      const got = reader(t.media, 1);
      const gotRtcp = reader(t.rtcp, 1);
      tx.send(Buffer.alloc(0), t.ports.media, '127.0.0.1');
      tx.send(Buffer.from([0x16, 0xfe]), t.ports.media, '127.0.0.1'); // DTLS: nobody registered
      tx.send(rtp(1), t.ports.rtcp, '127.0.0.1');
      tx.send(rtp(2), t.ports.media, '127.0.0.1');
      assert.deepEqual(tags(await got), [2]);
      assert.deepEqual(tags(await gotRtcp), [1], 'iterators get the datagram before the callback throws');
      const s = t.stats();
      assert.equal(s.drops.empty, 1);
      assert.equal(s.drops.unclaimed, 1);
      assert.equal(s.drops.handlerErrors, 1);
      assert.equal(s.rtcp.datagramsIn, 1);
    } finally {
      await closeAll([tx]);
    }
  });
});
