// The live peer protocol on ARQ conversations over a datagram link: an edge and a peer on an
// in-memory link that loses 5 % of the datagrams and reorders them; the peer plays the stream,
// every chunk verified, control and data on their own conversations; a peer that never
// acknowledges the data it asks for holds the edge to a bounded backlog and is refused BUSY.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createChannel,
  LINK_BACKLOG_MAX_BYTES,
  LIVE_CONTROL_CONV,
  LIVE_DATA_CONV,
  LiveArqNode,
  type LivePeerEvent,
  openChannel,
} from '../../src/live/index.ts';
import type { DatagramLink } from '../../src/mux/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { Prng, testSeed } from '../support/prng.ts';
import { waitFor } from '../support/wait.ts';
import { feedChunks } from './helpers.ts';

checkLeaks();

function linkPair(
  random: () => number,
  loss: number,
  drop: (data: Uint8Array, from: 0 | 1) => boolean = () => false,
): [DatagramLink, DatagramLink] {
  const handlers: (((data: Buffer) => void) | undefined)[] = [undefined, undefined];
  const timers = new Set<NodeJS.Timeout>();
  const end = (self: 0 | 1): DatagramLink => ({
    send(data: Uint8Array): void {
      if (random() < loss || drop(data, self)) return;
      const copy = Buffer.from(data);
      const t = setTimeout(
        () => {
          timers.delete(t);
          handlers[1 - self]?.(copy);
        },
        1 + Math.floor(random() * 4),
      );
      timers.add(t);
    },
    onDatagram(handler) {
      handlers[self] = handler;
      return {
        remove(): void {
          if (handlers[self] === handler) handlers[self] = undefined;
          for (const t of timers) clearTimeout(t);
        },
      };
    },
  });
  return [end(0), end(1)];
}

describe('LiveArqNode over a lossy datagram link', () => {
  it('carries a signed chunk stream from an edge to a peer, which plays it in order', async () => {
    const prng = new Prng(testSeed(0x11ae));
    const channel = createChannel(Buffer.alloc(32, 5));
    const key = openChannel(channel.publicKey, channel.id);
    const [toPeer, toEdge] = linkPair(prng.next, 0.05);
    const edge = new LiveArqNode({ channel: key, role: 'edge' });
    const peer = new LiveArqNode({
      channel: key,
      uploadCapBps: 0,
      playout: { targetDelayMs: 400, chunkDurationMs: 50 },
    });
    const played: number[] = [];
    const events: LivePeerEvent[] = [];
    peer.on('event', (e) => {
      events.push(e);
      if (e.type === 'play') played.push(e.seq);
    });
    edge.attach('peer', toPeer, 'direct');
    peer.attach('edge', toEdge, 'direct');
    const source = feedChunks(edge, channel, 40);
    try {
      await waitFor(() => played.length >= 30, { what: '30 chunks played', timeoutMs: 20_000 });
    } finally {
      clearInterval(source);
      await edge.close();
      await peer.close();
    }
    for (let i = 1; i < played.length; i++) assert.equal(played[i], played[i - 1]! + 1, 'in order');
    assert.equal(played[0]! % 4, 0, 'started at a random-access chunk');
    const s = peer.core.stats();
    assert.ok(s.bytesFromEdge > 30 * 40 * 188, `${s.bytesFromEdge} bytes from the edge`);
    assert.equal(s.forgedDropped, 0);
    assert.equal(s.protocolErrors, 0);
    assert.ok(events.some((e) => e.type === 'chunk'));
    assert.deepEqual([LIVE_CONTROL_CONV, LIVE_DATA_CONV], [1, 2]);
  });

  it('a peer that never acknowledges its data cannot grow the edge: past the backlog cap it is refused BUSY', async () => {
    const prng = new Prng(testSeed(0x11af));
    const channel = createChannel(Buffer.alloc(32, 6));
    const key = openChannel(channel.publicKey, channel.id);
    // The peer's datagrams of the data conversation (its acks) never reach the edge.
    const [toPeer, toEdge] = linkPair(
      prng.next,
      0,
      (d, from) => from === 1 && d[0] === 0x06 && Buffer.from(d).readUInt32LE(1) === LIVE_DATA_CONV,
    );
    const edge = new LiveArqNode({ channel: key, role: 'edge' });
    const peer = new LiveArqNode({
      channel: key,
      uploadCapBps: 0,
      playout: { targetDelayMs: 400, chunkDurationMs: 50 },
    });
    edge.attach('peer', toPeer, 'direct');
    peer.attach('edge', toEdge, 'direct');
    const chunkBytes = 200 * 188;
    let most = 0;
    const source = feedChunks(edge, channel, 200, () => {
      most = Math.max(most, edge.backlogBytes('peer'));
    });
    try {
      // 20 chunks a second of 37.6 kB: unchecked, the edge would queue ~750 kB a second.
      await waitFor(() => edge.core.stats().backlogRefused >= 10, {
        what: 'the edge to refuse the backlogged peer 10 times',
        timeoutMs: 20_000,
        detail: () => ({ backlog: edge.backlogBytes('peer'), stats: edge.core.stats().requestsRefused }),
      });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      clearInterval(source);
      await edge.close();
      await peer.close();
    }
    // At most one chunk (and its head) is accepted past the cap.
    assert.ok(most <= LINK_BACKLOG_MAX_BYTES + 2 * chunkBytes, `backlog reached ${most} bytes`);
    assert.ok(most > LINK_BACKLOG_MAX_BYTES / 2, `the backlog did build up (${most} bytes)`);
  });
});
