// RistSender and RistReceiver on real loopback sockets: recovery through the impairing relay at
// 10 % loss each way (every packet delivered in order, the stats agree with the relay), one
// receiver serving two senders at once (flows by SSRC, RTCP back to each), multicast on loopback, the diagnostics
// channels, option validation and idempotent close.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { ErrorCode, InvalidOptionError } from '../../src/errors/index.ts';
import { RistDiagnostics, type RistFlowMessage, RistReceiver, RistSender } from '../../src/rist/index.ts';
import { MediaTransport } from '../../src/transport/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { testSeed } from '../support/prng.ts';
import { waitFor } from '../support/wait.ts';
import { ImpairRelay } from './impair-relay.ts';

checkLeaks();

async function receiverOnPair(latencyMs: number): Promise<RistReceiver> {
  const transport = await MediaTransport.listenEphemeralPair('127.0.0.1');
  return new RistReceiver(transport, { latencyMs }, true);
}

/** Sends `count` numbered payloads, a few per timer tick. */
async function sendNumbered(sender: RistSender, count: number, tag: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const payload = Buffer.alloc(1316);
    payload.writeUInt32BE(i, 0);
    payload[4] = tag;
    sender.send(payload);
    if (i % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('RistSender → RistReceiver', () => {
  it('recovers every packet through 10 % loss each way, in order, within the latency', async () => {
    await using receiver = await receiverOnPair(800);
    const relay = await ImpairRelay.open(receiver.ports.media, {
      forwardLoss: 0.1,
      backwardLoss: 0.1,
      delayMs: 5,
      seed: testSeed(0x7e57),
    });
    try {
      await using sender = await RistSender.connect('127.0.0.1', relay.port);
      const seen: number[] = [];
      let holes = 0;
      const reading = (async () => {
        // Bounded: 20 packets after the 1 500 reveal a loss at the end (a lost last packet leaves no gap).
        for await (const item of receiver.packets({ signal: AbortSignal.timeout(30_000) })) {
          if (item.type !== 'data') holes += item.count;
          else if (item.payload.readUInt32BE(0) >= 1500) break;
          else seen.push(item.payload.readUInt32BE(0));
        }
      })();
      await sendNumbered(sender, 1520, 1);
      await reading;
      const stats = receiver.stats();
      assert.equal(holes, 0, JSON.stringify(stats));
      assert.deepEqual(
        seen,
        Array.from({ length: 1500 }, (_, i) => i),
      );
      assert.equal(stats.unrecovered, 0);
      assert.ok(stats.lost > 50 && stats.recovered === stats.lost, JSON.stringify(stats));
      assert.ok(stats.rttMs > 0, 'RTT measured');
      const tx = sender.stats();
      assert.equal(tx.sent, 1520);
      assert.ok(tx.retransmitsSent >= stats.recovered, JSON.stringify(tx));
      // Every gap the receiver saw is a datagram the relay dropped (it also dropped RTCP and
      // retransmissions, which the receiver asked for again).
      assert.ok(
        stats.lost <= relay.stats.dropped,
        `${stats.lost} lost, relay dropped ${relay.stats.dropped}`,
      );
    } finally {
      await relay.close();
    }
  });

  it('serves two senders at once, each flow by its SSRC', async () => {
    await using receiver = await receiverOnPair(100);
    const flows: RistFlowMessage[] = [];
    const onFlow = (m: unknown): void => void flows.push(m as RistFlowMessage);
    subscribe(RistDiagnostics.FLOW, onFlow);
    try {
      await using a = await RistSender.connect('127.0.0.1', receiver.ports.media, { ssrc: 0x100 });
      await using b = await RistSender.connect('127.0.0.1', receiver.ports.media, { ssrc: 0x200 });
      const byFlow = new Map<number, number[]>();
      const reading = (async () => {
        let n = 0;
        for await (const item of receiver) {
          if (item.type !== 'data') continue;
          const list = byFlow.get(item.ssrc) ?? [];
          list.push(item.payload.readUInt32BE(0));
          byFlow.set(item.ssrc, list);
          if (++n === 400) break;
        }
      })();
      await Promise.all([sendNumbered(a, 200, 1), sendNumbered(b, 200, 2)]);
      await reading;
      const expected = Array.from({ length: 200 }, (_, i) => i);
      assert.deepEqual(byFlow.get(0x100), expected);
      assert.deepEqual(byFlow.get(0x200), expected);
      assert.deepEqual(
        receiver
          .stats()
          .flows.map((f) => f.ssrc)
          .sort(),
        [0x100, 0x200],
      );
      await waitFor(() => receiver.stats().flows.every((f) => !Number.isNaN(f.rttMs)), {
        what: 'an RTT for each flow (its RTCP answered at its own port)',
        detail: () => receiver.stats().flows,
      });
      assert.deepEqual(
        flows
          .filter((f) => f.event === 'added')
          .map((f) => f.ssrc)
          .sort(),
        [0x100, 0x200],
      );
    } finally {
      unsubscribe(RistDiagnostics.FLOW, onFlow);
    }
  });

  it('multicast: a group sender and a joined receiver on loopback, RTCP back by unicast', async (t) => {
    const group = '239.255.42.7';
    let receiver: RistReceiver;
    try {
      const transport = await MediaTransport.listenEphemeralPair('0.0.0.0');
      receiver = new RistReceiver(
        transport,
        { latencyMs: 100, multicast: { group, iface: '127.0.0.1' } },
        true,
      );
    } catch (error) {
      t.skip(`no multicast on loopback here: ${String(error)}`);
      return;
    }
    await using _receiver = receiver;
    await using sender = await RistSender.connect(group, receiver.ports.media, {
      multicast: { ttl: 0, iface: '127.0.0.1', loopback: true },
    });
    const seen: number[] = [];
    const reading = (async () => {
      for await (const item of receiver) {
        if (item.type === 'data') seen.push(item.payload.readUInt32BE(0));
        if (seen.length === 50) break;
      }
    })();
    await sendNumbered(sender, 50, 3);
    await reading;
    assert.deepEqual(
      seen,
      Array.from({ length: 50 }, (_, i) => i),
    );
    await waitFor(() => !Number.isNaN(sender.stats().rttMs) && !Number.isNaN(receiver.stats().rttMs), {
      what: 'an RTT on both sides (the receiver answers the group sender by unicast)',
      detail: () => ({ sender: sender.stats(), receiver: receiver.stats() }),
    });
  });

  it('validates options and closes idempotently', async () => {
    await assert.rejects(RistReceiver.listen('127.0.0.1', 5004, { bufferPackets: 1000 }), (e: unknown) => {
      return (
        e instanceof InvalidOptionError && e.option === 'bufferPackets' && e.code === ErrorCode.INVALID_OPTION
      );
    });
    await assert.rejects(
      RistSender.connect('localhost', 5004),
      (e: unknown) => e instanceof InvalidOptionError && e.option === 'host',
    );
    await assert.rejects(
      RistSender.connect('127.0.0.1', 5005),
      (e: unknown) => e instanceof InvalidOptionError && e.option === 'port',
    );
    const receiver = await receiverOnPair(100);
    const sender = await RistSender.connect('127.0.0.1', receiver.ports.media);
    await Promise.all([sender.close(), sender.close(), receiver.close(), receiver.close()]);
    assert.throws(() => sender.send(Buffer.alloc(10)), { code: ErrorCode.CLOSED });
  });
});
