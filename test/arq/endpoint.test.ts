// ArqEndpoint over real loopback sockets: raw and muxed framing, close handshake, backpressure,
// accept policies, dead link, reset, limits, idle cost.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { ARQ_TURBO, ArqEndpoint, type ArqStream } from '../../src/arq/index.ts';
import { Demux, demuxOf, frameRange, PortholeFrame, STUN_RANGE } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { Prng } from '../support/prng.ts';
import { waitFor } from '../support/wait.ts';
import { collect, makePeers, nextConversation } from './helpers/peers.ts';

checkLeaks();

function payloads(count: number, seed: number, maxSize: number): Buffer[] {
  const prng = new Prng(seed);
  return Array.from({ length: count }, () => prng.bytes(Buffer.allocUnsafe(1 + prng.int(maxSize))));
}

async function writeAll(stream: ArqStream, messages: readonly Buffer[]): Promise<void> {
  for (const m of messages) if (!stream.write(m)) await once(stream, 'drain');
}

describe('ArqEndpoint', () => {
  for (const [framing, family] of [
    ['raw', 'udp4'],
    ['muxed', 'udp4'],
    ['raw', 'udp6'],
  ] as const) {
    it(`delivers messages in order with boundaries (${framing}, ${family})`, async (t) => {
      const peers = await makePeers(framing, ARQ_TURBO, { ...ARQ_TURBO, accept: 'any' }, family);
      t.after(() => peers.dispose());
      const messages = payloads(300, 11, 20_000);
      const stream = peers.a.open(peers.bRemote, 42);
      const accepted = nextConversation(peers.b);
      const writing = writeAll(stream, messages);
      const remote = await accepted;
      assert.equal(remote.conv, 42);
      assert.equal(remote.mode, 'message');
      const got = await collect(remote, messages.length);
      await writing;
      assert.deepEqual(got, messages);
      assert.equal(peers.b.stats().conversationsAccepted, 1);
    });
  }

  it('ackNoDelay acknowledges a burst read in one turn with one datagram, not one per segment', async (t) => {
    const peers = await makePeers('muxed', ARQ_TURBO, { ...ARQ_TURBO, accept: 'any' });
    t.after(() => peers.dispose());
    const messages = payloads(20, 13, 600);
    const stream = peers.a.open(peers.bRemote, 8);
    const accepted = nextConversation(peers.b);
    // One synchronous loop: 20 datagrams wait in b's socket before b's event loop runs again.
    for (const m of messages) stream.write(m);
    const remote = await accepted;
    assert.deepEqual(await collect(remote, messages.length), messages);
    await waitFor(() => stream.stats().waitSnd === 0, { what: 'a to see every segment acknowledged' });
    assert.equal(remote.stats().acksSent, messages.length);
    // Every ack in one or two datagrams (a read may split the burst); one per segment before.
    const out = peers.b.stats().datagramsOut;
    assert.ok(out >= 1 && out <= 3, `b sent ${out} datagrams for ${messages.length} acks`);
  });

  it('stream mode keeps the bytes, not the boundaries', async (t) => {
    const peers = await makePeers(
      'muxed',
      { ...ARQ_TURBO, mode: 'stream' },
      { ...ARQ_TURBO, mode: 'stream', accept: 'any' },
    );
    t.after(() => peers.dispose());
    const chunks = payloads(200, 12, 3000);
    const total = Buffer.concat(chunks);
    const stream = peers.a.open(peers.bRemote, 1);
    const accepted = nextConversation(peers.b);
    await writeAll(stream, chunks);
    const remote = await accepted;
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of remote as AsyncIterable<Buffer>) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= total.length) break;
    }
    assert.ok(Buffer.concat(parts).equals(total));
  });

  it('feeds one large stream-mode write into KCP in pieces, within maxWaitSegments', async (t) => {
    const settings = { ...ARQ_TURBO, mode: 'stream' as const, sendWindow: 128, maxWaitSegments: 16 };
    const peers = await makePeers('muxed', settings, { ...settings, accept: 'any' });
    t.after(() => peers.dispose());
    const big = new Prng(21).bytes(Buffer.allocUnsafe(1_500_000));
    const stream = peers.a.open(peers.bRemote, 4);
    const accepted = nextConversation(peers.b);
    let maxWait = 0;
    const probe = setInterval(() => {
      maxWait = Math.max(maxWait, stream.stats().waitSnd);
    }, 1);
    t.after(() => clearInterval(probe));
    const written = new Promise<void>((resolve, reject) =>
      stream.write(big, (e) => (e ? reject(e) : resolve())),
    );
    const remote = await accepted;
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of remote as AsyncIterable<Buffer>) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= big.length) break;
    }
    await written;
    assert.ok(Buffer.concat(parts).equals(big));
    assert.ok(maxWait <= 16 + 64, `waitSnd peaked at ${maxWait}`);
  });

  it('closes gracefully with FIN both ways and forgets the conversation (muxed)', async (t) => {
    const peers = await makePeers('muxed', ARQ_TURBO, { ...ARQ_TURBO, accept: 'any' });
    t.after(() => peers.dispose());
    const stream = peers.a.open(peers.bRemote, 5);
    const accepted = nextConversation(peers.b);
    stream.write(Buffer.from('last words'));
    stream.end();
    const remote = await accepted;
    const got = collect(remote, 1);
    await once(remote, 'end');
    assert.equal((await got)[0]!.toString(), 'last words');
    remote.end(Buffer.from('reply'));
    const [reply] = (await once(stream, 'data')) as [Buffer];
    assert.equal(reply.toString(), 'reply');
    stream.resume();
    await Promise.all([once(stream, 'close'), once(remote, 'close')]);
    assert.equal(peers.a.size, 0);
    assert.equal(peers.b.size, 0);
    assert.equal(stream.errored, null);
  });

  it('shares the socket with STUN through mux', async (t) => {
    const peers = await makePeers('muxed', ARQ_TURBO, { ...ARQ_TURBO, accept: 'any' });
    t.after(() => peers.dispose());
    const stunSeen: Buffer[] = [];
    const reg = peers.demuxes[1]!.register(STUN_RANGE, (data) => stunSeen.push(data));
    t.after(() => reg.remove());
    const stream = peers.a.open(peers.bRemote, 2);
    const accepted = nextConversation(peers.b);
    stream.write(Buffer.from('kcp'));
    const stun = Buffer.alloc(20);
    stun.writeUInt16BE(0x0001, 0);
    peers.sockets[0].send(stun, peers.bRemote.port, peers.bRemote.address);
    const remote = await accepted;
    assert.equal((await collect(remote, 1))[0]!.toString(), 'kcp');
    await waitFor(() => stunSeen.length > 0, { what: 'the STUN datagram at the demux' });
    assert.equal(stunSeen[0]!.length, 20);
  });

  it('applies backpressure: write() returns false, drain follows when the reader resumes', async (t) => {
    const peers = await makePeers(
      'muxed',
      { ...ARQ_TURBO, writableHighWaterMark: 8192 },
      { ...ARQ_TURBO, accept: 'any' },
    );
    t.after(() => peers.dispose());
    const stream = peers.a.open(peers.bRemote, 3);
    const accepted = nextConversation(peers.b);
    const message = Buffer.alloc(1000, 1);
    stream.write(message);
    const remote = await accepted;
    remote.pause();
    const results: boolean[] = [];
    for (let i = 0; i < 1000; i++) results.push(stream.write(message));
    const written = results.length + 1;
    assert.ok(results.includes(false), 'write() returned false');
    // The reader stays paused: its readable buffer fills, its receive window closes, and the sender
    // keeps what it could not send (queued in KCP and in the Writable) until the reader resumes.
    await waitFor(() => remote.readableLength >= remote.readableHighWaterMark, {
      what: "the paused reader's buffer to fill",
      detail: () => ({ readable: remote.readableLength, in: remote.stats().messagesIn }),
    });
    assert.ok(
      remote.stats().messagesIn < written,
      `the reader took ${remote.stats().messagesIn} of ${written}`,
    );
    assert.ok(stream.writableLength > 0, `writableLength ${stream.writableLength}`);
    assert.ok(stream.stats().waitSnd >= 64, `waitSnd ${stream.stats().waitSnd}`);
    let received = 0;
    remote.on('data', () => received++);
    remote.resume();
    await once(stream, 'drain');
    await waitFor(() => received === written, {
      what: `all ${written} messages at the resumed reader`,
      detail: () => ({ received }),
    });
  });

  it('refuses unknown conversations by default and counts them', async (t) => {
    const peers = await makePeers('raw', ARQ_TURBO, ARQ_TURBO);
    t.after(() => peers.dispose());
    let emitted = 0;
    peers.b.on('conversation', () => emitted++);
    const stream = peers.a.open(peers.bRemote, 9);
    stream.write(Buffer.from('hello?'));
    await waitFor(() => peers.b.stats().refusedConversations > 0, { what: 'b to refuse the conversation' });
    assert.equal(emitted, 0);
    assert.equal(peers.b.size, 0);
  });

  it("'known-peers' accepts a new conv only from a peer it already talks to", async (t) => {
    const peers = await makePeers(
      'muxed',
      { ...ARQ_TURBO, accept: 'any' },
      { ...ARQ_TURBO, accept: 'known-peers' },
    );
    t.after(() => peers.dispose());
    const first = peers.a.open(peers.bRemote, 0);
    first.write(Buffer.from('x'));
    await waitFor(() => peers.b.stats().refusedConversations > 0, { what: 'b to refuse the conversation' });
    assert.equal(peers.b.size, 0);
    // b opens conv 0 towards a: a accepts it (policy any) and a becomes a known peer of b.
    const aAddress = { address: '127.0.0.1', port: peers.sockets[0].address().port };
    const fromB = peers.b.open(aAddress, 100);
    const atA = nextConversation(peers.a);
    fromB.write(Buffer.from('hi'));
    await atA;
    const video = peers.a.open(peers.bRemote, 1);
    const accepted = nextConversation(peers.b);
    video.write(Buffer.from('frame'));
    const remote = await accepted;
    assert.equal(remote.conv, 1);
  });

  it('destroys the stream with ERR_ARQ_DEAD_LINK after the retransmission limit', async (t) => {
    const silent = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const endpoint = new ArqEndpoint({
      demux: demuxOf(socket),
      framing: 'raw',
      ...ARQ_TURBO,
      deadLinkTransmissions: 3,
    });
    t.after(() => {
      endpoint.close();
      demuxOf(socket).detach();
      socket.close();
      silent.close();
    });
    const stream = endpoint.open({ address: '127.0.0.1', port: silent.address().port }, 1);
    stream.write(Buffer.from('anyone?'));
    const [error] = (await once(stream, 'error')) as [Error & { code: string }];
    assert.equal(error.code, 'ERR_ARQ_DEAD_LINK');
    assert.match(error.message, /3 times/);
    if (!stream.closed) await once(stream, 'close');
    assert.equal(endpoint.size, 0);
  });

  it('destroys the stream with ERR_ARQ_DEAD_LINK after idleTimeoutMs of silence', async (t) => {
    const silent = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const endpoint = new ArqEndpoint({
      demux: demuxOf(socket),
      framing: 'raw',
      ...ARQ_TURBO,
      deadLinkTransmissions: 1000,
      idleTimeoutMs: 100,
    });
    t.after(() => {
      endpoint.close();
      demuxOf(socket).detach();
      socket.close();
      silent.close();
    });
    const stream = endpoint.open({ address: '127.0.0.1', port: silent.address().port }, 1);
    const [error] = (await once(stream, 'error')) as [Error & { code: string }];
    assert.equal(error.code, 'ERR_ARQ_DEAD_LINK');
    assert.match(error.message, /nothing was received/);
  });

  it('reports ERR_ARQ_RESET when the peer destroys the conversation (muxed)', async (t) => {
    const peers = await makePeers('muxed', ARQ_TURBO, { ...ARQ_TURBO, accept: 'any' });
    t.after(() => peers.dispose());
    const stream = peers.a.open(peers.bRemote, 8);
    const accepted = nextConversation(peers.b);
    stream.write(Buffer.from('x'));
    (await accepted).destroy();
    const [error] = (await once(stream, 'error')) as [Error & { code: string }];
    assert.equal(error.code, 'ERR_ARQ_RESET');
  });

  it('refuses a message above 127 fragments with ERR_ARQ_MESSAGE_TOO_LARGE', async (t) => {
    const socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const endpoint = new ArqEndpoint({ demux: demuxOf(socket), framing: 'raw' });
    t.after(() => {
      endpoint.close();
      demuxOf(socket).detach();
      socket.close();
    });
    const stream = endpoint.open({ address: '127.0.0.1', port: 9 }, 1);
    stream.write(Buffer.alloc(127 * 1376 + 1));
    const [error] = (await once(stream, 'error')) as [Error & { code: string }];
    assert.equal(error.code, 'ERR_ARQ_MESSAGE_TOO_LARGE');
  });

  it('validates options and open() arguments with stable codes', async (t) => {
    const socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const demux = new Demux(socket);
    t.after(() => {
      demux.detach();
      socket.close();
    });
    assert.throws(() => new ArqEndpoint({}), { code: 'ERR_INVALID_OPTION', option: 'demux' });
    const link = { send: () => {}, onDatagram: () => ({ remove: () => {} }) };
    assert.throws(() => new ArqEndpoint({ link, demux }), { code: 'ERR_INVALID_OPTION', option: 'demux' });
    assert.throws(() => new ArqEndpoint({ link, framing: 'raw' }), {
      code: 'ERR_INVALID_OPTION',
      option: 'framing',
    });
    assert.throws(() => new ArqEndpoint({ demux, framing: 'tcp' as 'raw' }), {
      code: 'ERR_INVALID_OPTION',
      option: 'framing',
    });
    assert.throws(() => new ArqEndpoint({ demux, intervalMs: 1 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'intervalMs',
    });
    assert.throws(() => new ArqEndpoint({ demux, receiveWindow: 10 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'receiveWindow',
    });
    const taken = demux.register(frameRange(PortholeFrame.ARQ_CONTROL), () => {});
    assert.throws(() => new ArqEndpoint({ demux }), { code: 'ERR_MUX_RANGE_TAKEN' });
    taken.remove();
    const endpoint = new ArqEndpoint({ demux, maxConversations: 2 });
    const remote = { address: '127.0.0.1', port: 9 };
    endpoint.open(remote, 1);
    assert.throws(() => endpoint.open(remote, 1), { code: 'ERR_ARQ_CONVERSATION_EXISTS' });
    assert.throws(() => endpoint.open(remote, -1), { code: 'ERR_INVALID_OPTION', option: 'conv' });
    assert.throws(() => endpoint.open({ address: '127.0.0.1', port: 0 }, 3), {
      code: 'ERR_INVALID_OPTION',
      option: 'remote.port',
    });
    assert.throws(
      () => endpoint.open(5),
      { code: 'ERR_INVALID_OPTION', option: 'remote' },
      'a demux endpoint needs a remote',
    );
    endpoint.open(remote, 2);
    assert.throws(() => endpoint.open(remote, 3), { code: 'ERR_ARQ_CONVERSATION_LIMIT' });
    endpoint.close();
    endpoint.close();
    assert.equal(endpoint.size, 0);
    assert.throws(() => endpoint.open(remote, 4), { code: 'ERR_CLOSED' });
    await endpoint[Symbol.asyncDispose]();
  });

  it('keeps idle conversations out of the timer: 2000 idle conversations, no wake-ups', async (t) => {
    // a's clock and timers are fake (datagrams still cross real loopback sockets): time moves only
    // when the test says, so "no wake-up for a minute" is checked in no time.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let clockMs = 0;
    const advance = (ms: number): void => {
      clockMs += ms;
      t.mock.timers.tick(ms);
    };
    const peers = await makePeers(
      'muxed',
      { ...ARQ_TURBO, now: () => clockMs },
      { ...ARQ_TURBO, accept: 'any' },
    );
    t.after(() => peers.dispose());
    const streams = Array.from({ length: 2000 }, (_, conv) => peers.a.open(peers.bRemote, conv));
    const some = streams.slice(0, 20);
    for (const s of some) s.write(Buffer.from('wake'));
    await waitFor(
      () => {
        advance(10);
        return peers.b.size === some.length && peers.a.stats().scheduled === 0;
      },
      {
        what: 'the 20 woken conversations to be delivered, acknowledged and idle',
        detail: () => ({ accepted: peers.b.size, scheduled: peers.a.stats().scheduled }),
      },
    );
    const before = peers.a.stats().timerWakeups;
    assert.ok(before > 0, 'the timer ran while the conversations were busy');
    advance(60_000);
    assert.equal(peers.a.stats().scheduled, 0);
    assert.equal(peers.a.stats().timerWakeups, before, 'no wake-up in a minute of idleness');
    assert.equal(peers.a.size, 2000);
  });
});
