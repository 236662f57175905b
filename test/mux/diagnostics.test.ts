import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import {
  Demux,
  frameRange,
  type MuxDatagramDroppedMessage,
  MuxDiagnostics,
  PortholeFrame,
  STUN_RANGE,
} from '../../src/mux/index.ts';
import { countingRemote, recordChannel, spyPublishes } from '../support/diagnostics.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

describe('mux diagnostics channels', () => {
  let receiver: Socket;
  let sender: Socket;
  before(async () => {
    receiver = createSocket('udp4');
    sender = createSocket('udp4');
    receiver.bind(0, '127.0.0.1');
    sender.bind(0, '127.0.0.1');
    await Promise.all([once(receiver, 'listening'), once(sender, 'listening')]);
  });
  after(() => {
    receiver.close();
    sender.close();
  });

  it('publishes datagram-dropped for empty, unclaimed and handler-error datagrams from a real socket', async () => {
    const dropped = recordChannel<MuxDatagramDroppedMessage>(MuxDiagnostics.DATAGRAM_DROPPED);
    const demux = new Demux(receiver);
    const boom = new Error('boom');
    const reg = demux.register(STUN_RANGE, () => {
      throw boom;
    });
    try {
      const port = receiver.address().port;
      const from = { address: '127.0.0.1', port: sender.address().port };
      sender.send(Buffer.alloc(0), port, '127.0.0.1');
      sender.send(Buffer.from([0xff, 1, 2]), port, '127.0.0.1');
      sender.send(Buffer.from([0x01, 0, 0, 0]), port, '127.0.0.1');
      await dropped.next((m) => m.reason === 'handler-error');
      assert.deepEqual(dropped.messages, [
        { reason: 'empty', firstByte: undefined, size: 0, from },
        { reason: 'unclaimed', firstByte: 0xff, size: 3, from },
        { reason: 'handler-error', firstByte: 0x01, size: 4, from, error: boom },
      ]);
      const stats = demux.stats();
      assert.equal(stats.droppedEmpty + stats.droppedUnclaimed + stats.handlerErrors, 3);
    } finally {
      reg.remove();
      demux.detach();
      dropped.stop();
    }
  });

  it('publishes datagram-dropped for STUN datagrams the sub-router cannot route', () => {
    const dropped = recordChannel<MuxDatagramDroppedMessage>(MuxDiagnostics.DATAGRAM_DROPPED);
    const demux = new Demux(receiver);
    const reg = demux.registerStun({ response: () => false, indication: () => false });
    const stun = (type: number): Buffer => {
      const b = Buffer.alloc(20);
      b.writeUInt16BE(type, 0);
      b.writeUInt32BE(0x2112a442, 4);
      return b;
    };
    const from = { address: '127.0.0.1', port: 9 };
    const remote: RemoteInfo = { ...from, family: 'IPv4', size: 0 };
    try {
      demux.inject(Buffer.from([0, 1, 0, 0]), remote);
      demux.inject(stun(0x0001), remote); // Binding request: no server route
      demux.inject(stun(0x0011), remote); // Binding indication nobody claims
      demux.inject(stun(0x0101), remote); // Binding success response of no known transaction
      assert.deepEqual(dropped.messages, [
        { reason: 'stun-too-short', firstByte: 0, size: 4, from },
        { reason: 'stun-unclaimed-request', firstByte: 0, size: 20, from },
        { reason: 'stun-unclaimed-indication', firstByte: 0, size: 20, from },
        { reason: 'stun-unclaimed-response', firstByte: 1, size: 20, from },
      ]);
      const { stun: counts } = demux.stats();
      assert.equal(
        counts.tooShort + counts.unclaimedRequests + counts.unclaimedIndications + counts.unclaimedResponses,
        4,
      );
    } finally {
      reg.remove();
      demux.detach();
      dropped.stop();
    }
  });

  it('routes without publishing anything', () => {
    const dropped = recordChannel<MuxDatagramDroppedMessage>(MuxDiagnostics.DATAGRAM_DROPPED);
    const demux = new Demux(receiver);
    let handled = 0;
    const reg = demux.register(frameRange(PortholeFrame.APPLICATION), () => {
      handled++;
    });
    demux.inject(Buffer.from([PortholeFrame.APPLICATION]), {
      address: '127.0.0.1',
      port: 9,
      family: 'IPv4',
      size: 1,
    });
    reg.remove();
    demux.detach();
    dropped.stop();
    assert.equal(handled, 1);
    assert.deepEqual(dropped.messages, []);
  });

  it('builds no message on the drop path when nobody subscribes (one boolean check)', () => {
    const spy = spyPublishes([MuxDiagnostics.DATAGRAM_DROPPED]);
    const demux = new Demux(receiver);
    const reg = demux.register(STUN_RANGE, () => {
      throw new Error('boom');
    });
    try {
      const sender = countingRemote();
      const from = sender.from as RemoteInfo;
      for (let i = 0; i < 1000; i++) {
        demux.inject(Buffer.alloc(0), from);
        demux.inject(Buffer.from([0xff]), from);
        demux.inject(Buffer.from([0x00]), from);
      }
      assert.equal(demux.stats().droppedUnclaimed, 1000);
      assert.equal(spy.counts.get(MuxDiagnostics.DATAGRAM_DROPPED), 0, 'nothing published');
      assert.equal(sender.reads(), 0, 'no message built: the sender was never read');
      // The same paths with a subscriber do read it, so the zero above is the gate's doing.
      const dropped = recordChannel<MuxDatagramDroppedMessage>(MuxDiagnostics.DATAGRAM_DROPPED);
      demux.inject(Buffer.from([0xff]), from);
      dropped.stop();
      assert.equal(spy.counts.get(MuxDiagnostics.DATAGRAM_DROPPED), 1);
      assert.equal(sender.reads(), 2);
      assert.deepEqual(dropped.messages, [
        { reason: 'unclaimed', firstByte: 0xff, size: 1, from: { address: '127.0.0.1', port: 9 } },
      ]);
    } finally {
      reg.remove();
      demux.detach();
      spy.restore();
    }
  });
  it('builds no message on the STUN sub-router drop path when nobody subscribes', () => {
    const spy = spyPublishes([MuxDiagnostics.DATAGRAM_DROPPED]);
    const demux = new Demux(receiver);
    const reg = demux.registerStun({ response: () => false });
    try {
      const sender = countingRemote();
      const response = Buffer.alloc(20);
      response.writeUInt16BE(0x0101, 0);
      for (let i = 0; i < 1000; i++) {
        demux.inject(response, sender.from as RemoteInfo);
        demux.inject(Buffer.from([0, 1]), sender.from as RemoteInfo);
      }
      assert.equal(demux.stats().stun.unclaimedResponses, 1000);
      assert.equal(spy.counts.get(MuxDiagnostics.DATAGRAM_DROPPED), 0, 'nothing published');
      assert.equal(sender.reads(), 0, 'no message built: the sender was never read');
    } finally {
      reg.remove();
      demux.detach();
      spy.restore();
    }
  });
});
