import assert from 'node:assert/strict';
import type { RemoteInfo } from 'node:dgram';
import { describe, test } from 'node:test';
import {
  MediaTransport,
  type TransportDatagramDroppedMessage,
  TransportDiagnostics,
  type TransportPeerLearnedMessage,
} from '../../src/transport/index.ts';
import { countingRemote, recorder, spyPublishes } from '../support/diagnostics.ts';
import { checkLeaks } from '../support/leaks.ts';
import { closeAll, fakeClock, rawSocket, reader, rtp } from './helpers.ts';

const record = recorder();

checkLeaks();

describe('transport diagnostics channels', () => {
  test("publishes peer-learned for the first source and, under 'follow', for the one that replaces it", async () => {
    const learned = record<TransportPeerLearnedMessage>(TransportDiagnostics.PEER_LEARNED);
    const clock = fakeClock();
    await using rx = await MediaTransport.listenEphemeralPair('127.0.0.1', {
      latch: 'follow',
      followAfterSilenceMs: 1000,
      now: clock.now,
    });
    const [a, b] = [await rawSocket(), await rawSocket()];
    try {
      const port = rx.ports.media;
      let got = reader(rx.media, 1);
      a.send(rtp(1), port, '127.0.0.1');
      await got;
      assert.deepEqual(learned.messages, [
        {
          stream: 'media',
          peer: { address: '127.0.0.1', port: a.address().port },
          replaced: false,
          localPort: port,
        },
      ]);
      got = reader(rx.media, 1);
      a.send(rtp(2), port, '127.0.0.1');
      await got;
      assert.equal(learned.messages.length, 1, 'datagrams from the peer teach nothing');
      clock.advance(1000);
      got = reader(rx.media, 1);
      b.send(rtp(3), port, '127.0.0.1');
      await got;
      assert.deepEqual(learned.messages[1], {
        stream: 'media',
        peer: { address: '127.0.0.1', port: b.address().port },
        replaced: true,
        localPort: port,
      });
    } finally {
      await closeAll([a, b]);
    }
  });

  test('publishes datagram-dropped unexpected-source under strict latching', async () => {
    const dropped = record<TransportDatagramDroppedMessage>(TransportDiagnostics.DATAGRAM_DROPPED);
    const [a, b] = [await rawSocket(), await rawSocket()];
    try {
      await using rx = await MediaTransport.listenEphemeralPair('127.0.0.1', {
        latch: 'strict',
        remote: { media: { address: '127.0.0.1', port: a.address().port } },
      });
      const data = rtp(1);
      b.send(data, rx.ports.media, '127.0.0.1');
      assert.deepEqual(await dropped.next(), {
        stream: 'media',
        reason: 'unexpected-source',
        from: { address: '127.0.0.1', port: b.address().port },
        size: data.length,
        localPort: rx.ports.media,
      });
    } finally {
      await closeAll([a, b]);
    }
  });

  test('publishes datagram-dropped queue-full once per evicting iterator, and malformed on a single socket', async () => {
    const dropped = record<TransportDatagramDroppedMessage>(TransportDiagnostics.DATAGRAM_DROPPED);
    await using rx = await MediaTransport.listenEphemeralSingle('127.0.0.1');
    const a = await rawSocket();
    try {
      const port = rx.ports.media;
      const from = { address: '127.0.0.1', port: a.address().port };
      const it = rx.media.datagrams({ capacity: 1 });
      const data = rtp(1);
      for (let i = 0; i < 3; i++) a.send(data, port, '127.0.0.1');
      a.send(Buffer.from([0x80]), port, '127.0.0.1');
      await dropped.next((m) => m.reason === 'malformed');
      assert.deepEqual(dropped.messages, [
        { stream: 'media', reason: 'queue-full', from, size: data.length, localPort: port },
        { stream: 'media', reason: 'queue-full', from, size: data.length, localPort: port },
        { stream: 'media', reason: 'malformed', from, size: 1, localPort: port },
      ]);
      assert.equal(rx.stats().media.drops.queueFull, 2);
      await it.return?.();
    } finally {
      await closeAll([a]);
    }
  });

  test('publishes nothing, and reads the sender only for the latch, when nobody subscribes', async () => {
    const names = Object.values(TransportDiagnostics);
    const spy = spyPublishes(names);
    try {
      // Strict latching on a configured peer: every datagram from elsewhere is dropped.
      await using rx = await MediaTransport.listenEphemeralSingle('127.0.0.1', {
        latch: 'strict',
        remote: { media: { address: '127.0.0.1', port: 1 } },
      });
      const it = rx.media.datagrams({ capacity: 1 });
      const unobserved = countingRemote('127.0.0.1', 2);
      for (let i = 0; i < 3; i++) rx.media.demux.inject(rtp(i), unobserved.from as RemoteInfo);
      rx.media.demux.inject(Buffer.from([0x80]), unobserved.from as RemoteInfo);
      for (const name of names) assert.equal(spy.counts.get(name), 0, `${name} published`);
      const dropped = record<TransportDatagramDroppedMessage>(TransportDiagnostics.DATAGRAM_DROPPED);
      const observed = countingRemote('127.0.0.1', 2);
      for (let i = 0; i < 3; i++) rx.media.demux.inject(rtp(i), observed.from as RemoteInfo);
      rx.media.demux.inject(Buffer.from([0x80]), observed.from as RemoteInfo);
      assert.equal(dropped.messages.length, 4);
      assert.equal(
        observed.reads(),
        unobserved.reads() + 2 * 4,
        'each observed drop copies address and port',
      );
      await it.return?.();
    } finally {
      spy.restore();
    }
  });
});
