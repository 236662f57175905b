// The sans-I/O cores under a fake clock: output in order at the latency, NACK timing (reorder
// wait, retry spacing by RTT, retry limit), the latency bound (a packet that cannot be recovered
// is given up and reported, never waited for), duplicates and reordering, the sender's recovery
// buffer (age bound, unavailable and suppressed requests), and a sender and receiver core joined
// by a seeded lossy link that recovers everything.
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
import { Prng, testSeed } from '../support/prng.ts';

function nackedSeqs(datagrams: Buffer[]): number[] {
  return datagrams.flatMap((d) => decodeRtcp(d).flatMap((p) => (p.type === 'nack' ? p.seqs : [])));
}

function packet(sender: RistSenderCore, nowMs: number, fill = 0): ReturnType<typeof decodeRtp> {
  return decodeRtp(Buffer.from(sender.send(Buffer.alloc(188, fill), nowMs)));
}

describe('RistReceiverCore', () => {
  it('releases in order at the latency and reports a hole it could not recover', () => {
    const sender = new RistSenderCore({ initialSeq: 65_534 }, 0);
    const rx = new RistReceiverCore({ latencyMs: 300, reorderMs: 10, maxRetries: 3 }, 0);
    const packets = [0, 1, 2, 3, 4].map((i) => packet(sender, i, i));
    rx.receiveRtp(packets[0]!, 0);
    rx.receiveRtp(packets[1]!, 1);
    rx.receiveRtp(packets[3]!, 3); // seq 0 (index 2) missing, across the wrap
    rx.receiveRtp(packets[4]!, 4);
    // 1. The first NACK waits for the reorder window, then retries are spaced by the RTT bound.
    const nackTimes: number[] = [];
    const out: RistReceived[] = [];
    for (let t = 4; t <= 500; t++) {
      rx.poll(t);
      if (nackedSeqs(rx.drainRtcp()).includes(0)) nackTimes.push(t);
      const released = rx.drainOutput();
      if (t < 300) assert.deepEqual(released, [], 'nothing before the latency');
      out.push(...released);
    }
    assert.equal(nackTimes[0], 13);
    assert.equal(nackTimes.length, 3, 'maxRetries bounds the requests');
    assert.ok(
      nackTimes.every((t) => t < 303),
      'no request after the output time',
    );
    assert.ok(
      (nackTimes[1] as number) - (nackTimes[0] as number) >= 55,
      'retries spaced by the RTT (50 ms before a sample) × 1.25',
    );
    assert.deepEqual(
      out.map((o) => (o.type === 'data' ? `d${o.seq}` : `lost${o.seq}x${o.count}`)),
      ['d65534', 'd65535', 'lost0x1', 'd1', 'd2'],
    );
    const s = rx.stats(500);
    assert.deepEqual([s.lost, s.recovered, s.unrecovered, s.retransmitsRequested], [1, 0, 1, 3]);
  });

  it('spreads the tries left over a long latency, RTT-paced at least, the last before the output time', () => {
    const sender = new RistSenderCore({}, 0);
    const rx = new RistReceiverCore({ latencyMs: 3000, reorderMs: 10, maxRetries: 10 }, 0);
    const [a, , c] = [packet(sender, 0), packet(sender, 1), packet(sender, 2)];
    rx.receiveRtp(a, 0);
    rx.receiveRtp(c, 2); // the middle one missing: output time 3002
    const nackTimes: number[] = [];
    for (let t = 2; t <= 3100; t++) {
      rx.poll(t);
      if (nackedSeqs(rx.drainRtcp()).length > 0) nackTimes.push(t);
    }
    assert.equal(nackTimes.length, 10, 'every try is used');
    assert.equal(nackTimes[0], 12, 'the first after the reorder window');
    const gaps = nackTimes.slice(1).map((t, i) => t - (nackTimes[i] as number));
    assert.ok(
      gaps.every((g) => g >= 62),
      `never faster than the RTT bound (50 ms before a sample) × 1.25: ${gaps}`,
    );
    // A sender that takes one request a second still sees three of them in time.
    let taken = 0;
    let last = Number.NEGATIVE_INFINITY;
    for (const t of nackTimes) {
      if (t - last >= 1000) {
        taken++;
        last = t;
      }
    }
    assert.ok(taken >= 3, `requests a second apart: ${taken} (${nackTimes})`);
    assert.ok((nackTimes.at(-1) as number) <= 3002 - 62, 'the last leaves an interval for the answer');
  });

  it('counts a reordered original as recovered and reordered, a second copy as a duplicate', () => {
    const sender = new RistSenderCore({}, 0);
    const rx = new RistReceiverCore({ latencyMs: 50, reorderMs: 20 }, 0);
    const [a, b, c] = [packet(sender, 0), packet(sender, 1), packet(sender, 2)];
    rx.receiveRtp(a, 0);
    rx.receiveRtp(c, 1);
    rx.receiveRtp(b, 5);
    rx.poll(30);
    assert.deepEqual(nackedSeqs(rx.drainRtcp()), [], 'arrived inside the reorder window: no NACK');
    rx.receiveRtp(b, 31);
    rx.poll(60);
    rx.receiveRtp(a, 61);
    const s = rx.stats(61);
    assert.deepEqual([s.delivered, s.recovered, s.reordered, s.duplicates, s.unrecovered], [3, 1, 1, 2, 0]);
  });

  it('answers an echo request at once and takes the RTT from an echo response', () => {
    const rx = new RistReceiverCore({}, 0);
    const w = new RtcpWriter();
    rx.receiveRtcp(decodeRtcp(w.senderReport(42, 1, 2, 3, 4, 5).sdes(42, 'tx').finish()), 0);
    rx.receiveRtcp(decodeRtcp(w.echo(false, 42, 7, 8).finish()), 1);
    const reply = rx.drainRtcp().flatMap((d) => decodeRtcp(d));
    assert.ok(reply.some((p) => p.type === 'echo-response' && p.ntpMsw === 7 && p.ntpLsw === 8));
    rx.poll(1000); // periodic report with an echo request stamped 1 000 ms
    const request = rx
      .drainRtcp()
      .flatMap((d) => decodeRtcp(d))
      .find((p) => p.type === 'echo-request');
    assert.ok(request?.type === 'echo-request');
    rx.receiveRtcp(decodeRtcp(w.echo(true, 42, request.ntpMsw, request.ntpLsw, 2000).finish()), 1032);
    assert.ok(Math.abs(rx.stats(1032).rttMs - 30) < 0.01);
    assert.equal(rx.stats(1032).cname, 'tx');
  });
});

describe('RistSenderCore', () => {
  it('retransmits from the recovery buffer with the SSRC LSB set, within its age bound', () => {
    const tx = new RistSenderCore({ recoveryBufferMs: 100, ssrc: 0x1000 }, 0);
    const seqs = [0, 1, 2].map((i) => packet(tx, i * 10, i).seq);
    const w = new RtcpWriter();
    const nack = (format: 'range' | 'bitmask', seq: number): Buffer => {
      w.nack(format, 0x1000, [seq]);
      return w.finish();
    };
    tx.receiveRtcp(decodeRtcp(nack('range', seqs[1]!)), 50);
    const [again] = tx.drain();
    assert.ok(again !== undefined && !again.rtcp);
    const p = decodeRtp(again.data);
    assert.deepEqual([p.seq, p.retransmit, p.payload[0]], [seqs[1], true, 1]);
    // 2. A repeated request inside half an RTT is suppressed; an old packet is unavailable.
    tx.receiveRtcp(decodeRtcp(nack('bitmask', seqs[1]!)), 51);
    tx.receiveRtcp(decodeRtcp(nack('range', seqs[0]!)), 150);
    tx.receiveRtcp(decodeRtcp(nack('range', (seqs[2]! + 5) & 0xffff)), 150);
    assert.equal(tx.drain().length, 0);
    const s = tx.stats(150);
    assert.deepEqual([s.retransmitsSent, s.retransmitsSuppressed, s.retransmitsUnavailable], [1, 1, 2]);
  });

  it('answers an echo request and sends a sender report with SDES each interval', () => {
    const tx = new RistSenderCore({ rtcpIntervalMs: 100, cname: 'src' }, 0);
    tx.poll(0);
    tx.poll(50);
    tx.poll(100);
    const reports = tx.drain().flatMap((t) => decodeRtcp(t.data));
    assert.equal(reports.filter((p) => p.type === 'sr').length, 2);
    assert.ok(reports.some((p) => p.type === 'sdes' && p.cname === 'src'));
  });
});

describe('sender and receiver cores over a lossy link', () => {
  for (const loss of [0.05, 0.1, 0.2]) {
    it(`recovers every packet at ${loss * 100} % loss both ways with 1 000 ms latency`, () => {
      const prng = new Prng(testSeed(0x71570 + loss * 100));
      const tx = new RistSenderCore({}, 0);
      const rx = new RistReceiverCore({ latencyMs: 1000 }, 0);
      const oneWayMs = 10;
      type InFlight = { at: number; data: Buffer; rtcp: boolean; toRx: boolean };
      let flight: InFlight[] = [];
      const out: RistReceived[] = [];
      const put = (data: Buffer, rtcp: boolean, toRx: boolean, now: number): void => {
        if (prng.next() >= loss) flight.push({ at: now + oneWayMs, data: Buffer.from(data), rtcp, toRx });
      };
      const total = 3000;
      for (let now = 0, sent = 0; now < 8000; now++) {
        if (sent < total && now % 2 === 0)
          put(tx.send(Buffer.alloc(1316, sent++ & 0xff), now), false, true, now);
        const due = flight.filter((f) => f.at <= now);
        flight = flight.filter((f) => f.at > now);
        for (const f of due) {
          if (!f.toRx) tx.receiveRtcp(decodeRtcp(f.data), now);
          else if (f.rtcp) rx.receiveRtcp(decodeRtcp(f.data), now);
          else rx.receiveRtp(decodeRtp(f.data), now);
        }
        tx.poll(now);
        rx.poll(now);
        for (const t of tx.drain()) put(t.data, t.rtcp, true, now);
        for (const d of rx.drainRtcp()) put(d, true, false, now);
        out.push(...rx.drainOutput());
      }
      const s = rx.stats(8000);
      assert.equal(s.unrecovered, 0);
      assert.equal(s.delivered, total);
      assert.ok(out.every((o, i) => o.type === 'data' && o.payload[0] === (i & 0xff)));
      assert.ok(s.lost > 0 && s.recovered === s.lost, `${s.recovered} of ${s.lost} recovered`);
      assert.ok(Math.abs(s.rttMs - 2 * oneWayMs) < 2, `rtt ${s.rttMs}`);
    });
  }
});

describe('RistReceiverCore interarrival jitter (RFC 3550 §6.4.1)', () => {
  const rtp = (seq: number, timestamp: number, retransmit = false) => ({
    payloadType: 33,
    marker: false,
    seq,
    timestamp,
    ssrc: retransmit ? 0x1235 : 0x1234,
    retransmit,
    payload: Buffer.alloc(188, 0x47),
  });
  const rrJitter = (rx: RistReceiverCore, nowMs: number): number => {
    rx.poll(nowMs);
    const rr = rx
      .drainRtcp()
      .flatMap((d) => decodeRtcp(d))
      .find((p) => p.type === 'rr');
    assert.ok(rr !== undefined && rr.type === 'rr' && rr.reports.length === 1, 'an RR with one block');
    return rr.reports[0]?.jitter ?? -1;
  };

  it('is 0 for packets arriving exactly at their timestamps’ pace', () => {
    const rx = new RistReceiverCore({ rtcpIntervalMs: 1000 }, 0);
    rx.poll(0);
    rx.drainRtcp(); // the first report, before any packet
    for (let i = 0; i < 50; i++) rx.receiveRtp(rtp(i, 1_000 + i * 900), i * 10); // 900 ticks = 10 ms
    assert.equal(rrJitter(rx, 1000), 0);
    assert.equal(rx.stats(1000).jitterMs, 0);
  });

  it('follows J += (|D| − J)/16 for varying transit, across the 32-bit timestamp wrap, ignoring retransmissions', () => {
    const rx = new RistReceiverCore({ rtcpIntervalMs: 1000, latencyMs: 5000 }, 0);
    rx.poll(0);
    rx.drainRtcp(); // the first report, before any packet
    const prng = new Prng(testSeed(0x71));
    let expected = 0;
    let lastTransit: number | undefined;
    const start = 0xffff_ffff - 20 * 900; // wraps after 20 packets
    for (let i = 0; i < 100; i++) {
      const delay = Math.floor(prng.next() * 8); // 0–7 ms of extra network delay
      const arrivalMs = i * 10 + delay;
      const timestamp = (start + i * 900) % 0x1_0000_0000;
      rx.receiveRtp(rtp(i, timestamp), arrivalMs);
      // A retransmission of an earlier packet, late: it must not move the estimate.
      if (i % 10 === 5) rx.receiveRtp(rtp(i - 3, (start + (i - 3) * 900) % 0x1_0000_0000, true), arrivalMs);
      const transit = delay * 90; // arrival on the 90 kHz clock − timestamp, up to a constant
      if (lastTransit !== undefined) expected += (Math.abs(transit - lastTransit) - expected) / 16;
      lastTransit = transit;
    }
    assert.ok(expected > 0);
    assert.equal(rrJitter(rx, 1000), Math.floor(expected));
    assert.ok(Math.abs(rx.stats(1000).jitterMs - expected / 90) < 1e-6);
  });
});
