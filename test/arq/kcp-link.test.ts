// KCP over an in-process lossy link (seeded loss, duplication, reordering, delay), virtual clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeSegment, Kcp, KcpCommand, KcpSegment, KcpSendResult } from '../../src/arq/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { Prng, replayHint, testSeed } from '../support/prng.ts';
import { LossyLink } from './helpers/lossy-link.ts';

checkLeaks();

function turbo(link: LossyLink): void {
  for (const end of [link.a, link.b]) {
    end.kcp.setNoDelay(1, 10, 2, true);
    end.kcp.update(0);
  }
}

function messages(prng: Prng, count: number, maxSize: number): Buffer[] {
  return Array.from({ length: count }, () => prng.bytes(Buffer.allocUnsafe(1 + prng.int(maxSize))));
}

describe('delivery through a lossy link', () => {
  const cases = [
    { loss: 0, duplicate: 0, jitterMs: 0 },
    { loss: 0.1, duplicate: 0.05, jitterMs: 20 },
    { loss: 0.2, duplicate: 0.1, jitterMs: 30 },
    { loss: 0.3, duplicate: 0, jitterMs: 5 },
  ];
  for (const [i, c] of cases.entries()) {
    it(`delivers every message once and in order (loss ${c.loss}, dup ${c.duplicate}, jitter ${c.jitterMs} ms)`, (t) => {
      const seed = testSeed(1000 + i);
      t.diagnostic(`seed ${seed} (rerun with ${replayHint()})`);
      const link = new LossyLink({ seed, delayMs: 25, ...c });
      turbo(link);
      const sent = messages(new Prng(seed), 400, 4000);
      for (const m of sent) assert.ok(link.a.kcp.send(m) >= 0);
      link.run(600_000, () => link.b.received.length === sent.length);
      assert.equal(link.b.received.length, sent.length, `seed ${seed}`);
      for (const [k, m] of link.b.received.entries())
        assert.ok(m.equals(sent[k]!), `message ${k} differs, seed ${seed}`);
      const stats = link.a.kcp.stats();
      if (c.loss > 0) assert.ok(stats.timeoutRetransmits + stats.fastRetransmits > 0);
      if (c.duplicate > 0) assert.ok(link.duplicated > 0 && link.b.kcp.stats().duplicateSegments > 0);
      link.run(link.now + 5000, () => link.a.kcp.waitSnd() === 0);
      assert.equal(link.a.kcp.waitSnd(), 0);
    });
  }

  it('carries both directions at once', (t) => {
    const seed = testSeed(77);
    t.diagnostic(`seed ${seed}`);
    const link = new LossyLink({ seed, loss: 0.1, jitterMs: 10 });
    turbo(link);
    const prng = new Prng(seed);
    const ab = messages(prng, 200, 2000);
    const ba = messages(prng, 200, 2000);
    for (const m of ab) link.a.kcp.send(m);
    for (const m of ba) link.b.kcp.send(m);
    link.run(300_000, () => link.b.received.length === ab.length && link.a.received.length === ba.length);
    assert.deepEqual(link.b.received, ab);
    assert.deepEqual(link.a.received, ba);
  });

  it('carries the largest message (127 fragments) and refuses 128', (t) => {
    const seed = testSeed(5);
    t.diagnostic(`seed ${seed}`);
    const link = new LossyLink({ seed, loss: 0.1, jitterMs: 10 });
    turbo(link);
    const kcp = link.a.kcp;
    assert.equal(kcp.maxMessageBytes, 127 * 1376);
    const big = new Prng(seed).bytes(Buffer.allocUnsafe(kcp.maxMessageBytes));
    assert.equal(kcp.send(big), big.length);
    assert.equal(kcp.send(Buffer.alloc(kcp.maxMessageBytes + 1)), KcpSendResult.TOO_LARGE);
    assert.equal(kcp.stats().sendTooLarge, 1);
    link.run(600_000, () => link.b.received.length === 1);
    assert.ok(link.b.received[0]?.equals(big));
  });

  it('stream mode merges writes into full segments and keeps the bytes', (t) => {
    const seed = testSeed(9);
    t.diagnostic(`seed ${seed}`);
    const link = new LossyLink({ seed, loss: 0.05, jitterMs: 10 });
    link.a.kcp.setStreamMode(true);
    link.b.kcp.setStreamMode(true);
    turbo(link);
    const prng = new Prng(seed);
    const chunks = messages(prng, 500, 700);
    const total = Buffer.concat(chunks);
    for (const c of chunks) link.a.kcp.send(c);
    assert.equal(
      link.a.kcp.queueSizes().sndQueue + link.a.kcp.queueSizes().sndBuf,
      Math.ceil(total.length / 1376),
    );
    link.run(300_000, () => Buffer.concat(link.b.received).length === total.length);
    assert.ok(Buffer.concat(link.b.received).equals(total));
  });
});

describe('windows', () => {
  it('stalls on a full receive window, probes, and recovers when the reader drains', (t) => {
    const seed = testSeed(3);
    t.diagnostic(`seed ${seed}`);
    const link = new LossyLink({ seed, delayMs: 20 });
    turbo(link);
    const sent = messages(new Prng(seed), 300, 100);
    for (const m of sent) link.a.kcp.send(m);
    // The reader does not read: run the link without draining b.
    const drain = link.b.drain.bind(link.b);
    link.b.drain = () => {};
    link.run(20_000);
    assert.equal(link.b.kcp.queueSizes().rcvQueue, 128, 'receive queue holds one window');
    assert.equal(link.a.kcp.remoteWindow, 0, 'sender saw the window close');
    assert.ok(link.a.kcp.waitSnd() > 0, 'sender is stalled');
    const before = link.b.kcp.stats().inputSegments;
    link.run(45_000); // probes at +5 s, +7.5 s, +11.25 s after the window closed
    assert.ok(link.b.kcp.stats().inputSegments > before, 'window probes (WASK) keep arriving');
    link.b.drain = drain;
    link.run(120_000, () => link.b.received.length === sent.length);
    assert.deepEqual(link.b.received, sent);
  });

  it('declares the link dead after dead_link transmissions', () => {
    const link = new LossyLink({ seed: 1, loss: 1 });
    turbo(link);
    link.a.kcp.setDeadLink(5);
    link.a.kcp.send(Buffer.from('hello'));
    link.run(60_000, () => link.a.kcp.state === -1);
    assert.equal(link.a.kcp.state, -1);
    assert.equal(link.a.kcp.stats().timeoutRetransmits, 4);
  });
});

describe('hostile segments', () => {
  function push(conv: number, sn: number, data = Buffer.from('x')): Buffer {
    const seg = new KcpSegment();
    Object.assign(seg, { conv, cmd: KcpCommand.PUSH, sn, wnd: 128 });
    seg.data = data;
    return encodeSegment(seg);
  }

  it('drops sn outside the window without acknowledging it', () => {
    const out: Buffer[] = [];
    const kcp = new Kcp(1, { onKcpOutput: (d) => out.push(d) });
    kcp.update(0);
    for (const sn of [128, 1000, 0x7fffffff, 0x80000000, 0xffffffff]) kcp.input(push(1, sn));
    assert.equal(kcp.stats().outOfWindowSegments, 4);
    assert.equal(
      kcp.stats().duplicateSegments,
      1,
      'sn 2^32-1 lies behind rcv_nxt 0: old, acknowledged again',
    );
    assert.equal(kcp.queueSizes().rcvBuf, 0);
    assert.equal(kcp.queueSizes().acks, 1);
  });

  it('caps the ack list under a flood and counts what it drops', () => {
    const kcp = new Kcp(1, { onKcpOutput: () => {} }, { ackListLimit: 64 });
    kcp.update(0);
    const dup = push(1, 5);
    for (let i = 0; i < 10_000; i++) kcp.input(dup);
    assert.equal(kcp.queueSizes().acks, 64);
    assert.equal(kcp.stats().acksDropped, 10_000 - 64);
    assert.equal(kcp.queueSizes().rcvBuf, 1);
  });

  it('ignores an ACK flood for unsent sn and keeps the send buffer intact', () => {
    const kcp = new Kcp(1, { onKcpOutput: () => {} });
    kcp.setNoDelay(1, 10, 2, true);
    kcp.send(Buffer.from('abc'));
    kcp.update(0);
    const seg = new KcpSegment();
    Object.assign(seg, { conv: 1, cmd: KcpCommand.ACK, wnd: 128 });
    for (let sn = 1; sn < 5000; sn++) {
      seg.sn = sn;
      kcp.input(encodeSegment(seg));
    }
    assert.equal(kcp.waitSnd(), 1);
    assert.equal(kcp.stats().inputAcks, 4999);
  });

  it('bounds the send queue', () => {
    const kcp = new Kcp(1, { onKcpOutput: () => {} }, { sendQueueLimit: 10 });
    for (let i = 0; i < 10; i++) assert.equal(kcp.send(Buffer.from('m')), 1);
    assert.equal(kcp.send(Buffer.from('m')), KcpSendResult.QUEUE_FULL);
    assert.equal(kcp.stats().sendQueueFull, 1);
  });

  it('reports the reference input codes and processes segments before a bad one', () => {
    const kcp = new Kcp(1, { onKcpOutput: () => {} });
    kcp.update(0);
    assert.equal(kcp.input(Buffer.alloc(10)), -1);
    assert.equal(kcp.input(push(2, 0)), -1);
    const truncated = push(1, 1, Buffer.alloc(10)).subarray(0, 30);
    assert.equal(kcp.input(Buffer.concat([push(1, 0), truncated])), -2);
    assert.equal(kcp.rcvNxt, 1, 'the good segment before the truncated one was taken');
    const badCmd = push(1, 1);
    badCmd[4] = 99;
    assert.equal(kcp.input(badCmd), -3);
    const s = kcp.stats();
    assert.deepEqual([s.rejectedShort, s.rejectedConv, s.rejectedLength, s.rejectedCommand], [1, 1, 1, 1]);
  });
});

describe('settings', () => {
  it('validates mtu, windows and conv with stable codes', () => {
    const kcp = new Kcp(1, { onKcpOutput: () => {} });
    assert.throws(() => kcp.setMtu(49), { code: 'ERR_INVALID_OPTION', option: 'mtu' });
    assert.throws(() => kcp.setMtu(70_000), { code: 'ERR_INVALID_OPTION', option: 'mtu' });
    assert.throws(() => kcp.setWindow(70_000, 0), { code: 'ERR_INVALID_OPTION', option: 'sndWnd' });
    assert.throws(() => new Kcp(2 ** 32, { onKcpOutput: () => {} }), {
      code: 'ERR_INVALID_OPTION',
      option: 'conv',
    });
    assert.throws(() => new Kcp(1, { onKcpOutput: () => {} }, { headroomBytes: -1 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'headroomBytes',
    });
    kcp.setWindow(0, 16);
    assert.equal(kcp.receiveWindow, 128, 'the receive window never drops below 128 (ikcp_wndsize)');
    kcp.setInterval(1);
    assert.equal(kcp.interval, 10);
    kcp.setInterval(99_999);
    assert.equal(kcp.interval, 5000);
  });

  it('keeps every datagram within a smaller mtu and reserves headroom', () => {
    const out: Buffer[] = [];
    const kcp = new Kcp(1, { onKcpOutput: (d) => out.push(d) }, { headroomBytes: 1 });
    kcp.setMtu(500);
    kcp.setNoDelay(1, 10, 0, true);
    for (let i = 0; i < 20; i++) kcp.send(Buffer.alloc(300, i));
    kcp.update(0);
    assert.ok(out.length > 1);
    for (const d of out) {
      assert.ok(d.length - 1 <= 500, `datagram of ${d.length - 1} bytes`);
      assert.equal(d[0], 0, 'headroom left zero for the caller');
      assert.equal(d.readUInt32LE(1), 1);
    }
  });
});
