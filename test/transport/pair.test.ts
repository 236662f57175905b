import assert from 'node:assert/strict';
import type { RemoteInfo } from 'node:dgram';
import { after, describe, test } from 'node:test';
import { PortPool } from '../../src/ports/index.ts';
import { MediaTransport } from '../../src/transport/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { closeAll, rawSocket, reader, rtcp, rtp, tags } from './helpers.ts';

checkLeaks();

describe('MediaTransport pairs', () => {
  const pool = new PortPool({
    range: '63100-63139',
    host: '127.0.0.1',
    cooldownMs: 60_000,
    warnEphemeralOverlap: false,
  });
  after(() => pool.close());

  test('listenPair binds media on even P and RTCP on P+1 and routes each', async () => {
    await using rx = await MediaTransport.listenPair('127.0.0.1', 63000);
    assert.deepEqual(rx.ports, { media: 63000, rtcp: 63001 });
    assert.equal(rx.shape, 'pair');
    assert.equal(rx.family, 'udp4');
    const tx = await rawSocket();
    try {
      const media = reader(rx.media, 2);
      const control = reader(rx.rtcp, 1);
      tx.send(rtp(1), 63000, '127.0.0.1');
      tx.send(rtcp(9), 63001, '127.0.0.1');
      tx.send(rtp(2), 63000, '127.0.0.1');
      const [m, c] = await Promise.all([media, control]);
      assert.deepEqual(tags(m), [1, 2]);
      assert.deepEqual(tags(c), [9]);
      assert.equal(m[0]!.from.port, tx.address().port);
      assert.equal(m[0]!.from.address, '127.0.0.1');
      const s = rx.stats();
      assert.equal(s.media.datagramsIn, 2);
      assert.equal(s.media.bytesIn, 2 * rtp(0).length);
      assert.equal(s.rtcp.datagramsIn, 1);
    } finally {
      await closeAll([tx]);
    }
  });

  test('the iterator and the callback see the very Buffer that was received', async () => {
    let seen: Buffer | undefined;
    let seenFrom: RemoteInfo | undefined;
    await using rx = await MediaTransport.listenPair('127.0.0.1', 63002, {
      onMedia: (data, from) => {
        seen = data;
        seenFrom = from;
      },
    });
    const tx = await rawSocket();
    try {
      const got = reader(rx.media, 1);
      tx.send(rtp(5), 63002, '127.0.0.1');
      const [item] = await got;
      assert.equal(item!.data, seen, 'same Buffer instance, not a copy');
      assert.equal(item!.from, seenFrom);
      const injected = rtp(6);
      const next = reader(rx.media, 1);
      rx.media.demux.inject(injected, item!.from);
      assert.equal((await next)[0]!.data, injected);
    } finally {
      await closeAll([tx]);
    }
  });

  const bad: readonly [string, () => Promise<unknown>, object][] = [
    [
      'odd port',
      () => MediaTransport.listenPair('127.0.0.1', 63005),
      { code: 'ERR_INVALID_OPTION', option: 'port' },
    ],
    [
      'port 0',
      () => MediaTransport.listenPair('127.0.0.1', 0),
      { code: 'ERR_INVALID_OPTION', option: 'port' },
    ],
    [
      'port 65536',
      () => MediaTransport.listenPair('127.0.0.1', 65536),
      { code: 'ERR_INVALID_OPTION', option: 'port' },
    ],
    [
      'fractional port',
      () => MediaTransport.listenPair('127.0.0.1', 63006.5),
      { code: 'ERR_INVALID_OPTION', option: 'port' },
    ],
    [
      'host name',
      () => MediaTransport.listenPair('localhost', 63006),
      { code: 'ERR_INVALID_OPTION', option: 'host' },
    ],
    [
      'unknown family',
      () => MediaTransport.listenEphemeral(undefined, { family: 'udp5' as 'udp4' }),
      { code: 'ERR_INVALID_OPTION', option: 'family' },
    ],
    [
      'host of the other family',
      () => MediaTransport.listenEphemeral('::1', { family: 'udp4' }),
      { code: 'ERR_INVALID_OPTION', option: 'family' },
    ],
    [
      'host other than the pool',
      () => MediaTransport.listenEphemeral('0.0.0.0', { pool }),
      { code: 'ERR_INVALID_OPTION', option: 'pool' },
    ],
    [
      'bad latch',
      () => MediaTransport.listenSingle('127.0.0.1', 0, { latch: 'x' as 'first' }),
      { code: 'ERR_INVALID_OPTION', option: 'latch' },
    ],
    [
      'bad remote',
      () => MediaTransport.listenSingle('127.0.0.1', 0, { remote: { media: { address: 'x', port: 1 } } }),
      { code: 'ERR_INVALID_OPTION', option: 'remote.media' },
    ],
    [
      'negative buffer',
      () => MediaTransport.listenSingle('127.0.0.1', 0, { recvBufferSize: -1 }),
      { code: 'ERR_INVALID_OPTION', option: 'recvBufferSize' },
    ],
  ];
  for (const [name, call, expected] of bad) {
    test(`refuses ${name} with ${JSON.stringify(expected)}`, async () => {
      await assert.rejects(call(), expected);
    });
  }

  test('a pair whose odd port is taken fails with ERR_PORT_IN_USE and leaks nothing', async () => {
    const holder = await rawSocket('udp4', 63009);
    try {
      await assert.rejects(MediaTransport.listenPair('127.0.0.1', 63008), { code: 'ERR_PORT_IN_USE' });
    } finally {
      await closeAll([holder]);
    }
    const probe = await rawSocket('udp4', 63008);
    await closeAll([probe]);
  });

  test('listenEphemeralPair without a pool finds an even/odd pair', async () => {
    await using tx = await MediaTransport.listenEphemeralPair('127.0.0.1');
    assert.equal(tx.ports.media % 2, 0);
    assert.equal(tx.ports.rtcp, tx.ports.media + 1);
  });

  test('listenEphemeralPair from a pool takes an even pair of its range', async () => {
    const tx = await MediaTransport.listenEphemeralPair(undefined, { pool });
    const { media, rtcp: control } = tx.ports;
    assert.equal(media % 2, 0);
    assert.equal(control, media + 1);
    assert.ok(media >= 63100 && control <= 63139, `${media} in the pool's range`);
    assert.ok(pool.holds(media) && pool.holds(control));
    await tx.close();
    assert.ok(pool.holds(media), 'released ports cool down');
    assert.equal(pool.stats().cooling >= 2, true);
  });

  test('listenEphemeral takes two ports of the pool, or of the OS', async () => {
    await using a = await MediaTransport.listenEphemeral('127.0.0.1', { pool });
    assert.equal(a.shape, 'two');
    assert.notEqual(a.ports.media, a.ports.rtcp);
    for (const p of [a.ports.media, a.ports.rtcp]) assert.ok(p >= 63100 && p <= 63139);
    await using b = await MediaTransport.listenEphemeral('127.0.0.1');
    assert.notEqual(b.ports.media, b.ports.rtcp);
    await using c = await MediaTransport.listenEphemeral(undefined, { family: 'udp6' });
    assert.equal(c.family, 'udp6');
  });

  test('a single socket splits RTCP from RTP by RFC 5761 §4', async () => {
    await using rx = await MediaTransport.listenSingle('127.0.0.1', 63010);
    assert.deepEqual(rx.ports, { media: 63010, rtcp: 63010 });
    assert.equal(rx.media.socket, rx.rtcp.socket);
    assert.equal(rx.media.demux, rx.rtcp.demux);
    const tx = await rawSocket();
    try {
      const media = reader(rx.media, 2);
      const control = reader(rx.rtcp, 2);
      tx.send(Buffer.from([0x80]), 63010, '127.0.0.1'); // too short to classify
      tx.send(rtp(1), 63010, '127.0.0.1');
      tx.send(rtcp(2), 63010, '127.0.0.1');
      tx.send(Buffer.from([0x80, 200, 0, 0, 3]), 63010, '127.0.0.1'); // sender report
      tx.send(rtp(4), 63010, '127.0.0.1');
      assert.deepEqual(tags(await media), [1, 4]);
      assert.deepEqual(tags(await control), [2, 3]);
      assert.equal(rx.stats().drops.malformed, 1);
    } finally {
      await closeAll([tx]);
    }
  });

  test('fromSockets takes ownership; close() closes the sockets', async () => {
    const media = await rawSocket();
    const control = await rawSocket();
    const t = MediaTransport.fromSockets(media, control);
    assert.deepEqual(t.ports, { media: media.address().port, rtcp: control.address().port });
    await assert.rejects(t.rebind(), { code: 'ERR_INVALID_STATE' });
    await t.close();
    assert.throws(() => media.address(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    assert.throws(() => control.address(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
  });

  test('fromSockets refuses the same socket twice, mixed families and unbound sockets', async () => {
    const a = await rawSocket();
    const b = await rawSocket('udp6');
    try {
      assert.throws(() => MediaTransport.fromSockets(a, a), { code: 'ERR_INVALID_OPTION', option: 'rtcp' });
      assert.throws(() => MediaTransport.fromSockets(a, b), { code: 'ERR_INVALID_OPTION', option: 'rtcp' });
      const { createSocket } = await import('node:dgram');
      const unbound = createSocket('udp4');
      assert.throws(() => MediaTransport.fromSockets(unbound), {
        code: 'ERR_INVALID_OPTION',
        option: 'media',
      });
      unbound.close();
    } finally {
      await closeAll([a, b]);
    }
  });

  test('a receiver pair and a sender pair talk over IPv6, replies go to learned peers', async () => {
    await using rx = await MediaTransport.listenPair('::1', 63012);
    assert.equal(rx.family, 'udp6');
    await using tx = await MediaTransport.listenEphemeralPair('::1', {
      remote: { media: { address: '::1', port: 63012 }, rtcp: { address: '::1', port: 63013 } },
    });
    const media = reader(rx.media, 1);
    const control = reader(rx.rtcp, 1);
    tx.sendMedia(rtp(1));
    tx.sendRtcp(rtcp(2));
    assert.deepEqual(tags(await media), [1]);
    assert.deepEqual(tags(await control), [2]);
    assert.deepEqual(rx.rtcp.peer, { address: '::1', port: tx.ports.rtcp, origin: 'learned' });
    const back = reader(tx.rtcp, 1);
    rx.sendRtcp(rtcp(3));
    const [reply] = await back;
    assert.equal(reply!.data.at(-1), 3);
    assert.equal(reply!.from.port, 63013);
    const s = tx.stats();
    assert.equal(s.media.datagramsOut, 1);
    assert.equal(s.media.bytesOut, rtp(1).length);
    assert.equal(s.rtcp.datagramsIn, 1);
  });
});
