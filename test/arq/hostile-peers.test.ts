// An ArqEndpoint that accepts conversations from strangers (`accept: 'any'`) against an attacker on
// a raw loopback socket: the unacknowledged echo and the new-conversation flood never put more than
// 3× the attacker's bytes on its (possibly spoofed) address, one source cannot take every
// conversation slot, and a peer that does acknowledge (it proves it receives there) is not limited.
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { describe, it } from 'node:test';
import { ARQ_TURBO, ArqEndpoint, type ArqEndpointOptions, type ArqStream } from '../../src/arq/index.ts';
import { demuxOf, PortholeFrame } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { collect, nextConversation } from './helpers/peers.ts';

checkLeaks();

const HOST = '127.0.0.1';

/** A KCP PUSH segment of `conv` with `sn` and `data`, as any KCP peer would send it (raw framing). */
function push(conv: number, sn: number, data: Buffer, frame = false): Buffer {
  const head = frame ? 1 : 0;
  const out = Buffer.alloc(head + 24 + data.length);
  if (frame) out[0] = PortholeFrame.ARQ_SEGMENT;
  out.writeUInt32LE(conv, head);
  out[head + 4] = 81; // PUSH
  out[head + 5] = 0; // frg
  out.writeUInt16LE(128, head + 6); // wnd
  out.writeUInt32LE(1000 + sn, head + 8); // ts
  out.writeUInt32LE(sn, head + 12); // sn
  out.writeUInt32LE(0, head + 16); // una: nothing of ours ever acknowledged
  out.writeUInt32LE(data.length, head + 20);
  data.copy(out, head + 24);
  return out;
}

/** Counts what reaches `socket`, in bytes and datagrams. */
function meter(socket: Socket): { bytes: number; datagrams: number } {
  const m = { bytes: 0, datagrams: 0 };
  socket.on('message', (data: Buffer) => {
    m.bytes += data.length;
    m.datagrams++;
  });
  return m;
}

/** An echoing server: every message of every accepted conversation is written back. */
async function echoServer(
  framing: 'raw' | 'muxed',
  options: Omit<ArqEndpointOptions, 'demux' | 'link' | 'framing'>,
): Promise<{ endpoint: ArqEndpoint; port: number; close(): void }> {
  const socket = await bindUdpSocket({ family: 'udp4', address: HOST, port: 0 });
  const demux = demuxOf(socket);
  const endpoint = new ArqEndpoint({ ...options, demux, framing, accept: 'any' });
  endpoint.on('conversation', (stream: ArqStream) => {
    stream.on('error', () => {});
    stream.on('data', (m: Buffer) => stream.write(m));
  });
  return {
    endpoint,
    port: socket.address().port,
    close(): void {
      endpoint.close();
      demux.detach();
      socket.close();
    },
  };
}

describe('ArqEndpoint facing a hostile peer', () => {
  for (const [name, tuning] of [
    ['default tuning without the congestion window', { congestionControl: false, deadLinkTransmissions: 4 }],
    ['ARQ_TURBO', { ...ARQ_TURBO, deadLinkTransmissions: 6 }],
  ] as const) {
    for (const framing of ['raw', 'muxed'] as const) {
      it(`the unacknowledged echo (${name}, ${framing}): bytes to the unverified source ≤ 3× received`, async (t) => {
        const server = await echoServer(framing, tuning);
        const attacker = await bindUdpSocket({ family: 'udp4', address: HOST, port: 0 });
        t.after(() => {
          server.close();
          attacker.close();
        });
        const received = meter(attacker);
        let sent = 0;
        for (let sn = 0; sn < 10; sn++) {
          const datagram = push(5, sn, Buffer.alloc(40, sn), framing === 'muxed');
          sent += datagram.length;
          attacker.send(datagram, server.port, HOST);
        }
        await waitFor(() => server.endpoint.stats().conversationsAccepted === 1, {
          what: 'the conversation',
        });
        // The attacker never acknowledges: the conversation ends at the dead-link limit.
        await waitFor(() => server.endpoint.size === 0, {
          what: 'the unacknowledged conversation to end',
          timeoutMs: 30_000,
          detail: () => ({ received, stats: server.endpoint.stats() }),
        });
        t.diagnostic(`${sent} bytes in, ${received.bytes} out to the source`);
        assert.ok(received.bytes > 0, 'the attacker got acknowledgements');
        assert.ok(
          received.bytes <= 3 * sent,
          `${received.bytes} bytes (${received.datagrams} datagrams) to a source that sent ${sent}`,
        );
        assert.ok(server.endpoint.stats().unvalidatedBlocked > 0, 'blocked sends are counted');
      });
    }
  }

  it('the new-conversation flood: ≤ 3× to the source, one source cannot take every slot, a legitimate client still gets a conversation', async (t) => {
    const server = await echoServer('raw', { ...ARQ_TURBO, deadLinkTransmissions: 4, maxConversations: 200 });
    const attacker = await bindUdpSocket({ family: 'udp4', address: '127.0.0.3', port: 0 });
    const clientSocket = await bindUdpSocket({ family: 'udp4', address: HOST, port: 0 });
    const client = new ArqEndpoint({ demux: demuxOf(clientSocket), framing: 'raw', ...ARQ_TURBO });
    t.after(() => {
      client.close();
      demuxOf(clientSocket).detach();
      clientSocket.close();
      server.close();
      attacker.close();
    });
    const received = meter(attacker);
    let sent = 0;
    for (let conv = 100; conv < 400; conv++) {
      const datagram = push(conv, 0, Buffer.from('hello, echo me'));
      sent += datagram.length;
      attacker.send(datagram, server.port, HOST);
      // Paced in bursts of 20 so the server's receive buffer keeps up (this is not a loss test).
      if (conv % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await waitFor(() => server.endpoint.stats().datagramsIn >= 300, {
      what: 'the flood to arrive',
      detail: () => server.endpoint.stats(),
    });
    const stats = server.endpoint.stats();
    assert.ok(
      stats.conversationsAccepted < 200,
      `one source holds ${stats.conversationsAccepted} of 200 slots`,
    );
    assert.ok(stats.refusedPerAddress > 0, 'refusals counted');
    // A legitimate client still gets a conversation, and its echo.
    const stream = client.open({ address: HOST, port: server.port }, 1);
    stream.write(Buffer.from('ping'));
    const [echo] = await collect(stream, 1);
    assert.equal(String(echo), 'ping');
    // Raw framing has no RST: the client's conversation stays until its idle timeout; the
    // attacker's end at the dead-link limit.
    await waitFor(() => server.endpoint.size === 1, {
      what: 'the flooded conversations to end',
      timeoutMs: 30_000,
      detail: () => server.endpoint.stats(),
    });
    t.diagnostic(`${sent} bytes in, ${received.bytes} out to the source`);
    assert.ok(received.bytes <= 3 * sent, `${received.bytes} bytes to a source that sent ${sent}`);
  });

  it('a peer that acknowledges proves its address: a reply far above 3× its request arrives whole', async (t) => {
    const server = await echoServer('muxed', ARQ_TURBO);
    const clientSocket = await bindUdpSocket({ family: 'udp4', address: HOST, port: 0 });
    const demux = demuxOf(clientSocket);
    const client = new ArqEndpoint({ demux, ...ARQ_TURBO });
    t.after(() => {
      client.close();
      demux.detach();
      clientSocket.close();
      server.close();
    });
    // One small write, then the server answers with 50 times as much (the echo of 50 writes
    // arrives only because the client's acks of the first echo validate its address).
    const stream = client.open({ address: HOST, port: server.port }, 3);
    const accepted = nextConversation(server.endpoint);
    stream.write(Buffer.from('x'));
    const serverStream = await accepted;
    const big = Buffer.alloc(1000, 7);
    const got = collect(stream, 51);
    for (let i = 0; i < 50; i++) serverStream.write(big);
    const messages = await got;
    assert.equal(messages.length, 51);
    assert.equal(
      messages.slice(1).reduce((n, m) => n + m.length, 0),
      50_000,
    );
    const stats = server.endpoint.stats();
    assert.ok(stats.addressesValidated >= 1, 'the address was validated');
  });
});
