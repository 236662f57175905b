// The rist diagnostics channels: flow (a new sender's SSRC), loss (packets given up at their
// output time) and dropped (an undecodable datagram), each published on real sockets; and none
// published without a subscriber.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, test } from 'node:test';
import {
  RistDiagnostics,
  type RistDroppedMessage,
  type RistFlowMessage,
  type RistLossMessage,
  RistReceiver,
  RistSenderCore,
} from '../../src/rist/index.ts';
import { MediaTransport } from '../../src/transport/index.ts';
import { recorder, spyPublishes } from '../support/diagnostics.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';

const record = recorder();
checkLeaks();

/** Sends RTP packets 0, 1, 3 (2 is never sent) and a 5-byte malformed datagram to `port`. */
async function sendWithGap(port: number): Promise<void> {
  const core = new RistSenderCore({ ssrc: 0x4200, initialSeq: 0 }, 0);
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const packets = [0, 1, 2, 3].map((i) => Buffer.from(core.send(Buffer.alloc(188, i), i)));
  for (const i of [0, 1, 3]) socket.send(packets[i]!, port, '127.0.0.1');
  socket.send(Buffer.from([0x80, 0x21, 0, 0, 0]), port, '127.0.0.1');
  await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise<void>((resolve) => socket.close(() => resolve()));
}

async function receiver(): Promise<RistReceiver> {
  const transport = await MediaTransport.listenEphemeralPair('127.0.0.1');
  return new RistReceiver(transport, { latencyMs: 30, maxRetries: 1 }, true);
}

describe('rist diagnostics channels', () => {
  test('publishes flow, loss and dropped', async () => {
    const flows = record<RistFlowMessage>(RistDiagnostics.FLOW);
    const losses = record<RistLossMessage>(RistDiagnostics.LOSS);
    const drops = record<RistDroppedMessage>(RistDiagnostics.DROPPED);
    await using rx = await receiver();
    await sendWithGap(rx.ports.media);
    await waitFor(() => rx.stats().delivered === 3, { what: 'three packets out', detail: () => rx.stats() });
    assert.deepEqual(flows.messages[0], {
      event: 'added',
      ssrc: 0x4200,
      from: flows.messages[0]?.from,
    });
    assert.deepEqual(losses.messages, [{ ssrc: 0x4200, seq: 2, count: 1 }]);
    assert.deepEqual(drops.messages, [{ reason: 'malformed', stream: 'media', size: 5 }]);
  });

  test('publishes nothing without a subscriber', async () => {
    const spy = spyPublishes(Object.values(RistDiagnostics));
    try {
      await using rx = await receiver();
      await sendWithGap(rx.ports.media);
      await waitFor(() => rx.stats().delivered === 3, { what: 'three packets out' });
      assert.equal(rx.stats().malformed, 1);
      assert.deepEqual([...spy.counts.values()], [0, 0, 0]);
    } finally {
      spy.restore();
    }
  });
});
