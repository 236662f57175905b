// Ack repetition (porthole's receiver-side extension, Kcp.setAckRepeat): exact segments on the
// wire, and its effect on spurious retransmissions through a seeded two-way lossy link.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeSegmentHeader,
  encodeSegment,
  Kcp,
  KcpCommand,
  KcpSegment,
  type KcpSegmentHeader,
} from '../../src/arq/index.ts';
import { replayHint, testSeed } from '../support/prng.ts';
import { LossyLink } from './helpers/lossy-link.ts';

class Capture {
  readonly datagrams: Buffer[] = [];
  onKcpOutput(datagram: Buffer): void {
    this.datagrams.push(datagram);
  }
  /** Segments of the last datagram, then forgets everything captured. */
  takeAcks(): KcpSegmentHeader[] {
    const out: KcpSegmentHeader[] = [];
    for (const d of this.datagrams) {
      for (let at = 0; at < d.length; at += 24 + decodeSegmentHeader(d, at).len)
        out.push(decodeSegmentHeader(d, at));
    }
    this.datagrams.length = 0;
    return out;
  }
}

function push(sn: number, ts: number): Buffer {
  const seg = new KcpSegment();
  seg.conv = 7;
  seg.cmd = KcpCommand.PUSH;
  seg.wnd = 128;
  seg.sn = sn;
  seg.ts = ts;
  seg.data = Buffer.from([sn]);
  return encodeSegment(seg);
}

function receiver(repeat: number): { kcp: Kcp; out: Capture } {
  const out = new Capture();
  const kcp = new Kcp(7, out);
  kcp.setAckRepeat(repeat);
  kcp.update(0);
  return { kcp, out };
}

const acked = (segs: KcpSegmentHeader[]) => segs.map((s) => [s.cmd, s.sn, s.ts, s.una]);

describe('ack repetition', () => {
  it('repeats the ack of a segment above a gap once, behind the next new ack, until una covers it', () => {
    const { kcp, out } = receiver(1);
    kcp.input(push(0, 100));
    kcp.input(push(2, 102)); // sn 1 is missing: 2 waits above a gap
    kcp.flush();
    assert.deepEqual(acked(out.takeAcks()), [
      [KcpCommand.ACK, 0, 100, 1],
      [KcpCommand.ACK, 2, 102, 1],
    ]);
    kcp.flush(); // nothing new to acknowledge: a repeat never travels alone
    assert.deepEqual(out.takeAcks(), []);
    kcp.input(push(3, 103));
    kcp.flush();
    assert.deepEqual(acked(out.takeAcks()), [
      [KcpCommand.ACK, 3, 103, 1],
      [KcpCommand.ACK, 2, 102, 1], // the repeat, after the new ack
    ]);
    kcp.input(push(4, 104));
    kcp.flush();
    assert.deepEqual(acked(out.takeAcks()), [
      [KcpCommand.ACK, 4, 104, 1],
      [KcpCommand.ACK, 3, 103, 1], // 2 was repeated its one time; 3 now
    ]);
    kcp.input(push(1, 105)); // the gap fills: una 5 covers 2, 3, 4
    kcp.flush();
    assert.deepEqual(acked(out.takeAcks()), [[KcpCommand.ACK, 1, 105, 5]]);
    kcp.input(push(5, 106));
    kcp.flush();
    assert.deepEqual(acked(out.takeAcks()), [[KcpCommand.ACK, 5, 106, 6]]);
    assert.equal(kcp.stats().acksRepeated, 2);
  });

  it('sends exactly the reference acks when off (the default)', () => {
    const { kcp, out } = receiver(0);
    for (const sn of [0, 2, 3, 4]) {
      kcp.input(push(sn, 100 + sn));
      kcp.flush();
    }
    assert.deepEqual(
      out.takeAcks().map((s) => s.sn),
      [0, 2, 3, 4],
    );
    assert.equal(kcp.stats().acksRepeated, 0);
  });

  it('keeps at most ackListLimit acks to repeat', () => {
    const out = new Capture();
    const kcp = new Kcp(7, out, { ackListLimit: 3 });
    kcp.setAckRepeat(4);
    kcp.update(0);
    for (const sn of [2, 3, 4]) kcp.input(push(sn, sn)); // sn 0 and 1 missing: all above the gap
    kcp.flush();
    out.takeAcks();
    for (const sn of [5, 6, 7]) kcp.input(push(sn, sn)); // three more: the acks at the cap are not kept
    kcp.flush();
    const acks = out.takeAcks().map((a) => a.sn);
    assert.deepEqual(acks, [5, 6, 7, 2, 3, 4]);
    kcp.input(push(8, 8));
    kcp.flush();
    assert.deepEqual(
      out.takeAcks().map((a) => a.sn),
      [8, 2, 3, 4],
      'only the first three were kept to repeat',
    );
  });

  it('refuses a count outside 0-4', () => {
    const { kcp } = receiver(0);
    assert.throws(() => kcp.setAckRepeat(5), { code: 'ERR_INVALID_OPTION', option: 'ackRepeat' });
    assert.throws(() => kcp.setAckRepeat(-1), { code: 'ERR_INVALID_OPTION', option: 'ackRepeat' });
  });

  it('under 10% loss both ways, cuts the retransmissions a lost ack causes', (t) => {
    const seed = testSeed(4242);
    t.diagnostic(`seed ${seed} (rerun with ${replayHint()})`);
    const retransmissions = (repeat: number): { resent: number; lost: number } => {
      const link = new LossyLink({ seed, loss: 0.1, delayMs: 25 });
      for (const end of [link.a, link.b]) {
        end.kcp.setNoDelay(1, 10, 2, true);
        end.kcp.setWindow(256, 256);
        end.kcp.setAckRepeat(repeat);
        end.kcp.update(0);
      }
      // 2000 messages, one every 4 ms (1 KB at 2 Mbit/s), as the benchmark sends them.
      const total = 2000;
      let sent = 0;
      while (link.b.received.length < total && link.now < 120_000) {
        if (sent < total && link.now % 4 === 0) link.a.kcp.send(Buffer.alloc(1024, sent++ & 0xff));
        link.run(link.now + 1);
      }
      assert.equal(link.b.received.length, total, `repeat ${repeat}: every message arrives`);
      const s = link.a.kcp.stats();
      return { resent: s.segmentsSent - total, lost: link.lost };
    };
    const plain = retransmissions(0);
    const repeated = retransmissions(1);
    t.diagnostic(`retransmissions: ${plain.resent} without repetition, ${repeated.resent} with`);
    // About 10% of 2000 first transmissions are lost either way (~220 retransmissions needed);
    // without repetition every ack lost above a gap adds a spurious one on top.
    assert.ok(
      repeated.resent < plain.resent * 0.85,
      `with repetition ${repeated.resent} retransmissions, without ${plain.resent}`,
    );
  });
});
