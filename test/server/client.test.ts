import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { connectUdp } from '../../src/server/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

/** A bound socket that never answers (so the handshake cannot complete). */
async function silentPeer(): Promise<{ port: number; close: () => Promise<void> }> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    port: socket.address().port,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

describe('connectUdp', () => {
  test('a server that never answers the handshake: ERR_TIMEOUT, socket closed', async () => {
    const peer = await silentPeer();
    try {
      await assert.rejects(connectUdp({ host: '127.0.0.1', port: peer.port, timeoutMs: 100, retryMs: 20 }), {
        name: 'TimeoutError',
        code: 'ERR_TIMEOUT',
      });
    } finally {
      await peer.close();
    }
  });

  test('abort during the handshake: ERR_ABORTED', async () => {
    const peer = await silentPeer();
    try {
      const controller = new AbortController();
      const pending = connectUdp({ host: '127.0.0.1', port: peer.port, signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      await assert.rejects(pending, { code: 'ERR_ABORTED' });
      await assert.rejects(connectUdp({ host: '127.0.0.1', port: peer.port, signal: AbortSignal.abort() }), {
        code: 'ERR_ABORTED',
      });
    } finally {
      await peer.close();
    }
  });

  test('options are checked', async () => {
    await assert.rejects(connectUdp({ host: 'example.org', port: 1 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'host',
    });
    await assert.rejects(connectUdp({ host: '127.0.0.1', port: 0 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'port',
    });
  });

  test('without handshake: send, receive, close ends the iterator, send after close throws', async () => {
    const peer = createSocket('udp4');
    peer.bind(0, '127.0.0.1');
    await once(peer, 'listening');
    peer.on('message', (m, from) => peer.send(m, from.port, from.address));
    const client = await connectUdp({ host: '127.0.0.1', port: peer.address().port, handshake: false });
    try {
      client.send(Buffer.from('ping'));
      const it = client[Symbol.asyncIterator]();
      assert.equal(String((await it.next()).value), 'ping');
      const ending = it.next();
      await client.close();
      assert.equal((await ending).done, true);
      assert.throws(() => client.send(Buffer.from('x')), { code: 'ERR_CLOSED' });
      assert.equal(client.stats().datagramsIn, 1);
    } finally {
      await client.close();
      await new Promise<void>((resolve) => peer.close(() => resolve()));
    }
  });
});
