// A flow's lost first packets, under a fake clock: the receiver learns where the flow began from
// the sender report's packet count and asks for what it never saw (it failed before: a flow
// started at its first arriving packet); a receiver joining a running stream asks for nothing
// before it; a sender report with a zero count (librist's sender) changes nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeRtcp,
  decodeRtp,
  type RistReceived,
  RistReceiverCore,
  RistSenderCore,
  RtcpWriter,
} from '../../src/rist/index.ts';

interface Run {
  readonly out: RistReceived[];
  readonly rx: RistReceiverCore;
  readonly tx: RistSenderCore;
  /** Sequence numbers the receiver NACKed. */
  readonly nacked: number[];
}

/**
 * One sender and one receiver core, 10 ms each way, a packet every 2 ms; `drop(i)` drops the
 * i-th original, `startMs` is when the receiver starts listening, `rtcpLagMs` delays the
 * sender's RTCP more than its RTP (the Simple profile's two ports: later packets overtake a report).
 */
function run(
  total: number,
  drop: (i: number) => boolean,
  startMs = 0,
  initialSeq = 65_530,
  rtcpLagMs = 0,
): Run {
  const tx = new RistSenderCore({ initialSeq }, 0);
  let rx: RistReceiverCore | undefined;
  const oneWayMs = 10;
  type InFlight = { at: number; data: Buffer; rtcp: boolean; toRx: boolean };
  let flight: InFlight[] = [];
  const out: RistReceived[] = [];
  const nacked: number[] = [];
  const put = (data: Buffer, rtcp: boolean, toRx: boolean, now: number): void => {
    const lag = rtcp && toRx ? rtcpLagMs : 0;
    flight.push({ at: now + oneWayMs + lag, data: Buffer.from(data), rtcp, toRx });
  };
  for (let now = 0, sent = 0; now < 3000; now++) {
    if (now === startMs) rx = new RistReceiverCore({ latencyMs: 500 }, now);
    if (sent < total && now % 2 === 0) {
      const i = sent++;
      const datagram = tx.send(Buffer.alloc(1316, i & 0xff), now);
      if (!drop(i)) put(datagram, false, true, now);
    }
    const due = flight.filter((f) => f.at <= now);
    flight = flight.filter((f) => f.at > now);
    for (const f of due) {
      if (!f.toRx) tx.receiveRtcp(decodeRtcp(f.data), now);
      else if (rx === undefined) continue;
      else if (f.rtcp) rx.receiveRtcp(decodeRtcp(f.data), now);
      else rx.receiveRtp(decodeRtp(f.data), now);
    }
    tx.poll(now);
    for (const t of tx.drain()) put(t.data, t.rtcp, true, now);
    if (rx === undefined) continue;
    rx.poll(now);
    for (const d of rx.drainRtcp()) {
      for (const p of decodeRtcp(d)) if (p.type === 'nack') nacked.push(...p.seqs);
      put(d, true, false, now);
    }
    out.push(...rx.drainOutput());
  }
  assert.ok(rx !== undefined);
  return { out, rx, tx, nacked };
}

const payloadIndex = (o: RistReceived): number => (o.type === 'data' ? (o.payload[0] as number) : -1);

describe('RistReceiverCore: a flow whose first packets were lost', () => {
  for (const lostFirst of [1, 3]) {
    it(`recovers the first ${lostFirst} packet(s) of a flow from the sender report's count`, () => {
      const total = 200;
      const { out, rx, tx } = run(total, (i) => i < lostFirst);
      const s = rx.stats(3000);
      assert.deepEqual(
        out.map(payloadIndex),
        Array.from({ length: total }, (_, i) => i & 0xff),
        'every packet, the first ones too, in order',
      );
      assert.deepEqual(
        [s.startMissing, s.lost, s.recovered, s.unrecovered, s.delivered],
        [lostFirst, lostFirst, lostFirst, 0, total],
      );
      assert.equal(tx.stats(3000).retransmitsUnavailable, 0, 'asked only for packets that were sent');
    });
  }

  it('recovers them when packets sent after the report arrive before it (RTCP on another port)', () => {
    const total = 200;
    const { out, rx, tx } = run(total, (i) => i < 2, 0, 100, 7);
    assert.deepEqual(
      out.map(payloadIndex),
      Array.from({ length: total }, (_, i) => i & 0xff),
    );
    assert.deepEqual([rx.stats(3000).startMissing, rx.stats(3000).unrecovered], [2, 0]);
    assert.equal(tx.stats(3000).retransmitsUnavailable, 0, 'asked only for packets that were sent');
  });

  it('asks for nothing before its first packet when it joined a running stream', () => {
    // The receiver starts 500 ms in (250 packets sent): what it missed is not a loss.
    const { out, rx, nacked } = run(400, () => false, 500);
    const s = rx.stats(3000);
    assert.deepEqual([s.startMissing, s.lost, s.unrecovered], [0, 0, 0]);
    assert.deepEqual(nacked, []);
    assert.ok(out.length > 0 && out.every((o) => o.type === 'data'));
  });

  it('ignores a sender report with a packet count of 0 (librist writes no count)', () => {
    const tx = new RistSenderCore({ initialSeq: 100 }, 0);
    const rx = new RistReceiverCore({ latencyMs: 500 }, 0);
    tx.send(Buffer.alloc(188), 0); // seq 100: lost
    const second = decodeRtp(Buffer.from(tx.send(Buffer.alloc(188), 2)));
    rx.receiveRtp(second, 12);
    const sr = new RtcpWriter().senderReport(tx.ssrc, 0, 0, second.timestamp, 0, 0).finish();
    rx.receiveRtcp(decodeRtcp(sr), 20);
    rx.receiveRtp(decodeRtp(Buffer.from(tx.send(Buffer.alloc(188), 30))), 40);
    rx.poll(100);
    assert.deepEqual(
      rx.drainRtcp().flatMap((d) => decodeRtcp(d).filter((p) => p.type === 'nack')),
      [],
    );
    assert.equal(rx.stats(100).startMissing, 0);
  });
});
