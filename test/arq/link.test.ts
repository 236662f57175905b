// ARQ over any datagram link: two endpoints on an in-memory link that loses, delays and reorders
// datagrams (seeded PRNG); and over demuxLink, a Demux registration plus a remote.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { beforeEach, describe, it } from 'node:test';
import { ARQ_TURBO, ArqEndpoint, type ArqStream } from '../../src/arq/index.ts';
import { type DatagramLink, demuxLink, demuxOf, frameRange, PortholeFrame } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { mulberry32, testSeed } from '../support/prng.ts';
import { waitFor } from '../support/wait.ts';

checkLeaks();

interface Wire {
  sent: number;
  lost: number;
}

/** Two ends of an in-memory link; each datagram is lost with `loss`, else arrives 0–3 ms later (reordered). */
function linkPair(seed: number, loss: number, wire: Wire): [DatagramLink, DatagramLink] {
  const random = mulberry32(testSeed(seed));
  const handlers: (((data: Buffer) => void) | undefined)[] = [undefined, undefined];
  const end = (self: 0 | 1): DatagramLink => ({
    send(data: Uint8Array): void {
      wire.sent++;
      if (random() < loss) {
        wire.lost++;
        return;
      }
      const copy = Buffer.from(data);
      setTimeout(() => handlers[1 - self]?.(copy), Math.floor(random() * 4));
    },
    onDatagram(handler) {
      if (handlers[self] !== undefined) throw new Error('one handler at a time');
      handlers[self] = handler;
      return {
        remove(): void {
          if (handlers[self] === handler) handlers[self] = undefined;
        },
      };
    },
  });
  return [end(0), end(1)];
}

describe('ArqEndpoint over a DatagramLink', () => {
  const wire: Wire = { sent: 0, lost: 0 };
  beforeEach(() => {
    wire.sent = 0;
    wire.lost = 0;
  });

  it('delivers every message in order across 20% loss, reordering and delay', async () => {
    const [la, lb] = linkPair(0x5eed, 0.2, wire);
    const a = new ArqEndpoint({ link: la, ...ARQ_TURBO });
    const b = new ArqEndpoint({ link: lb, ...ARQ_TURBO, accept: 'any' });
    try {
      const got: Buffer[] = [];
      let remote: ArqStream | undefined;
      b.on('conversation', (accepted: ArqStream) => {
        remote = accepted;
        accepted.on('data', (m: Buffer) => got.push(m));
      });
      const stream = a.open(7);
      const messages = Array.from({ length: 200 }, (_, i) => Buffer.from(`chunk-${i}-${'x'.repeat(i % 50)}`));
      for (const m of messages) stream.write(m);
      await waitFor(() => got.length >= messages.length, { what: 'all 200 messages', timeoutMs: 30_000 });
      assert.ok(remote !== undefined, 'b accepted the conversation');
      assert.equal(remote.conv, 7);
      assert.equal(got.length, messages.length, `${got.length} of ${messages.length} delivered`);
      assert.deepEqual(got, messages);
      assert.ok(wire.lost > 0, 'the link did lose datagrams');
      assert.ok(a.stats().datagramsOut > messages.length / 8, 'segments went out over the link');
      // Reply on the same conversation: the accepting side sends over its own link end.
      const back: Buffer[] = [];
      stream.on('data', (m: Buffer) => back.push(m));
      remote.write(Buffer.from('ack'));
      await waitFor(() => back.length > 0, { what: 'the reply', timeoutMs: 30_000 });
      assert.deepEqual(back, [Buffer.from('ack')]);
    } finally {
      a.close();
      b.close();
    }
  });

  it('open(conv) only: a remote over a link is refused; close() removes the link handler', () => {
    const [la] = linkPair(1, 0, wire);
    const a = new ArqEndpoint({ link: la });
    assert.throws(() => a.open({ address: '127.0.0.1', port: 9 }, 1), {
      code: 'ERR_INVALID_OPTION',
      option: 'remote',
    });
    a.open(1);
    assert.throws(() => a.open(1), { code: 'ERR_ARQ_CONVERSATION_EXISTS' });
    a.close();
    // The handler is gone: a second endpoint may take the link.
    const again = new ArqEndpoint({ link: la });
    again.close();
  });

  it('counts datagrams on the link that are not ARQ frames', () => {
    let deliver: ((data: Buffer) => void) | undefined;
    const link: DatagramLink = {
      send() {},
      onDatagram(handler) {
        deliver = handler;
        return { remove: () => {} };
      },
    };
    const a = new ArqEndpoint({ link });
    deliver!(Buffer.from([PortholeFrame.APPLICATION, 1, 2]));
    assert.equal(a.stats().droppedMalformed, 1);
    a.close();
  });
});

describe('ArqEndpoint over demuxLink (a Demux registration plus a remote address)', () => {
  it('carries a conversation between two loopback sockets and drops other sources', async (t) => {
    const sa = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const sb = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const stranger = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const range = { first: PortholeFrame.ARQ_SEGMENT, last: PortholeFrame.ARQ_CONTROL };
    const linkA = demuxLink(demuxOf(sa), range, { address: '127.0.0.1', port: sb.address().port });
    const linkB = demuxLink(demuxOf(sb), range, { address: '127.0.0.1', port: sa.address().port });
    const a = new ArqEndpoint({ link: linkA, ...ARQ_TURBO });
    const b = new ArqEndpoint({ link: linkB, ...ARQ_TURBO, accept: 'any' });
    t.after(() => {
      a.close();
      b.close();
      for (const s of [sa, sb]) demuxOf(s).detach();
      for (const s of [sa, sb, stranger]) s.close();
    });
    assert.throws(() => demuxOf(sa).register(frameRange(PortholeFrame.ARQ_SEGMENT), () => {}), {
      code: 'ERR_MUX_RANGE_TAKEN',
    });
    stranger.send(Buffer.from([PortholeFrame.ARQ_SEGMENT, 0]), sb.address().port, '127.0.0.1');
    const accepted = once(b, 'conversation') as Promise<[ArqStream]>;
    a.open(3).write(Buffer.from('over the demux link'));
    const [remote] = await accepted;
    const [first] = (await once(remote, 'data')) as [Buffer];
    assert.equal(first.toString(), 'over the demux link');
    await waitFor(() => linkB.dropped === 1, { what: 'the stranger datagram dropped', timeoutMs: 5_000 });
  });
});
