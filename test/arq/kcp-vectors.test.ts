// Conformance vectors: the reference ikcp.c's bytes and state for given inputs under a fake clock.
// Derivations live in test/vectors/arq/kcp-vectors.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { encodeSegment, Kcp, type KcpOutputSink, KcpSegment } from '../../src/arq/index.ts';

const vectors = JSON.parse(readFileSync(new URL('../vectors/arq/kcp-vectors.json', import.meta.url), 'utf8'));

class Capture implements KcpOutputSink {
  readonly datagrams: Buffer[] = [];
  onKcpOutput(datagram: Buffer): void {
    this.datagrams.push(datagram);
  }
  take(): Buffer[] {
    return this.datagrams.splice(0);
  }
}

function pattern(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = i & 0xff;
  return out;
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('KCP conformance vectors', () => {
  it('encodes a segment byte for byte', () => {
    const seg = new KcpSegment();
    Object.assign(seg, { conv: 0x11223344, cmd: 81, frg: 2, wnd: 128, ts: 0x01020304, sn: 5, una: 7 });
    seg.data = Buffer.from('abc');
    assert.equal(encodeSegment(seg).toString('hex'), vectors.segment.hex);
  });

  function fragmentedSender(): { kcp: Kcp; out: Capture } {
    const out = new Capture();
    const kcp = new Kcp(1, out);
    kcp.setNoDelay(1, 10, 2, true);
    assert.equal(kcp.send(pattern(3000)), 3000);
    kcp.update(0);
    return { kcp, out };
  }

  it('fragments 3000 bytes into frg 2,1,0 with the reference headers', () => {
    const { kcp, out } = fragmentedSender();
    const v = vectors.fragmentation;
    const datagrams = out.take();
    assert.deepEqual(
      datagrams.map((d) => d.length),
      v.datagramSizes,
    );
    datagrams.forEach((d, i) => {
      assert.equal(d.subarray(0, 24).toString('hex'), v.headers[i]);
    });
    assert.deepEqual(Buffer.concat(datagrams.map((d) => d.subarray(24))), pattern(3000));
    assert.equal(kcp.check(0), v.checkAfter['check(0)']);
  });

  it('starts the congestion window at 0 then 1', () => {
    const out = new Capture();
    const kcp = new Kcp(1, out);
    kcp.send(pattern(3000));
    kcp.update(0);
    assert.equal(out.take().length, vectors.congestionStart.afterFirstUpdate.datagrams);
    assert.equal(kcp.cwnd, vectors.congestionStart.afterFirstUpdate.cwnd);
    kcp.update(100);
    const datagrams = out.take();
    assert.equal(datagrams.length, 1);
    assert.equal(
      datagrams[0]!.subarray(0, 24).toString('hex'),
      vectors.congestionStart.afterSecondUpdate.header,
    );
  });

  it('acknowledges with una and wnd, and updates RTO as ikcp_update_ack', () => {
    const { kcp: sender, out } = fragmentedSender();
    const datagrams = out.take();
    const rxOut = new Capture();
    const receiver = new Kcp(1, rxOut);
    receiver.update(0);
    for (const d of datagrams) assert.equal(receiver.input(d), 0);
    assert.equal(receiver.peekSize(), 3000);
    receiver.update(100);
    const acks = rxOut.take();
    assert.equal(acks.length, 1);
    assert.equal(acks[0]!.toString('hex'), vectors.ackAndUna.ackDatagram);
    assert.deepEqual(receiver.recv(), pattern(3000));
    assert.equal(receiver.recv(), undefined);

    sender.update(40);
    assert.equal(out.take().length, 0);
    assert.equal(sender.input(acks[0]!), 0);
    const want = vectors.ackAndUna.senderAfter;
    assert.deepEqual(
      {
        rto: sender.rto,
        srtt: sender.srtt,
        rttVar: sender.rttVar,
        sndUna: sender.sndUna,
        waitSnd: sender.waitSnd(),
        cwnd: sender.cwnd,
        remoteWindow: sender.remoteWindow,
      },
      want,
    );
  });

  for (const [name, nodelay] of [
    ['rtoBackoffNormal', 0],
    ['rtoBackoffNoDelay', 1],
  ] as const) {
    it(`retransmits on the reference schedule (${name})`, () => {
      const out = new Capture();
      const kcp = new Kcp(2, out);
      kcp.setNoDelay(nodelay, 100, 0, true);
      kcp.send(pattern(10));
      const times: number[] = [];
      for (let t = 0; t <= 3100; t += 100) {
        kcp.update(t);
        for (const d of out.take()) times.push(d.readUInt32LE(8));
      }
      assert.deepEqual(times, vectors[name].transmissions);
    });
  }

  it('fast-retransmits after 2 skipping acks (conservative)', () => {
    const v = vectors.fastResend;
    const out = new Capture();
    const kcp = new Kcp(3, out);
    kcp.setNoDelay(1, 10, 2, true);
    for (let i = 0; i < 4; i++) kcp.send(pattern(10));
    kcp.update(0);
    const first = out.take();
    assert.equal(first.length, 1);
    assert.equal(first[0]!.length, v.firstDatagramSize);
    kcp.update(10);
    assert.equal(out.take().length, 0);
    assert.equal(kcp.input(hex(v.ackDatagram1)), 0);
    kcp.update(20);
    assert.equal(out.take().length, 0, 'one skipping ack is not enough');
    assert.equal(kcp.input(hex(v.ackDatagram2)), 0);
    kcp.update(30);
    const again = out.take();
    assert.equal(again.length, 1);
    assert.equal(again[0]!.subarray(0, 24).toString('hex'), v.retransmitHeader);
    assert.equal(again[0]!.length, 34);
    assert.equal(kcp.stats().fastRetransmits, 1);
  });

  it('probes a zero window at 5 s then ×1.5 (ikcp.c 2.x IKCP_PROBE_INIT)', () => {
    const v = vectors.windowProbe;
    const out = new Capture();
    const kcp = new Kcp(4, out);
    kcp.update(0);
    assert.equal(kcp.input(hex(v.winsInput)), 0);
    assert.equal(kcp.remoteWindow, 0);
    const times: number[] = [];
    for (let t = 100; t <= 20_000; t += 100) {
      kcp.update(t);
      for (const d of out.take()) {
        assert.equal(d.toString('hex'), v.waskHeader);
        times.push(t);
      }
    }
    assert.deepEqual(times, v.waskAt);
  });

  it('takes the threshold after a timeout from the congestion window before the flush (ikcp.c 2.x prior_cwnd)', () => {
    const v = vectors.timeoutThreshold;
    const out = new Capture();
    const kcp = new Kcp(5, out);
    kcp.setNoDelay(0, 100, 0, true);
    assert.equal(kcp.send(pattern(10)), 10);
    kcp.update(0);
    assert.equal(out.take().length, 1);
    kcp.update(100);
    kcp.update(200);
    assert.equal(out.take().length, 0);
    kcp.update(v.retransmitAt);
    const [again] = out.take();
    assert.equal(again?.subarray(0, 24).toString('hex'), v.retransmitHeader);
    assert.equal(kcp.ssthresh, v.ssthreshAfter);
    assert.equal(kcp.cwnd, v.cwndAfter);
  });

  it('queues nothing for an empty stream-mode send on an empty queue', () => {
    const v = vectors.streamEmptySend;
    const out = new Capture();
    const kcp = new Kcp(6, out);
    kcp.setNoDelay(1, 10, 2, true);
    kcp.setStreamMode(true);
    assert.equal(kcp.send(Buffer.alloc(0)), v.sendEmptyReturns);
    assert.equal(kcp.waitSnd(), v.waitSndAfterEmpty);
    kcp.update(0);
    assert.equal(out.take().length, v.datagramsAfterEmpty);
    assert.equal(kcp.send(Buffer.from('abc')), 3);
    kcp.update(10);
    const [push] = out.take();
    assert.equal(push?.subarray(0, 24).toString('hex'), v.pushHeader);
    assert.equal(push?.subarray(24).toString(), 'abc');
  });

  it('answers a window probe with WINS in the next flush', () => {
    const out = new Capture();
    const kcp = new Kcp(4, out);
    kcp.update(0);
    const wask = hex(vectors.windowProbe.waskHeader);
    assert.equal(kcp.input(wask), 0);
    kcp.update(100);
    const [d] = out.take();
    assert.equal(d?.[4], 84);
    assert.equal(d?.readUInt16LE(6), 128);
  });
});
