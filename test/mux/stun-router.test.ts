// The STUN sub-router of a Demux: classes routed by the first two bytes, responses and indications
// offered to the routes that claim them, unclaimed ones counted by class.
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { describe, it } from 'node:test';
import { Demux, demuxOf, STUN_RANGE } from '../../src/mux/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const FROM: RemoteInfo = { address: '192.0.2.1', port: 3478, family: 'IPv4', size: 20 };

/** A 20-byte STUN header of `cls` (0 request, 1 indication, 2 success, 3 error) whose ID ends in `tag`. */
function header(cls: number, tag: number): Buffer {
  const type = 0x0001 | ((cls & 2) << 7) | ((cls & 1) << 4);
  const out = Buffer.alloc(20);
  out.writeUInt16BE(type, 0);
  out.writeUInt32BE(0x2112a442, 4);
  out[19] = tag;
  return out;
}

function withDemux(run: (demux: Demux) => void): void {
  const socket = createSocket('udp4');
  const demux = new Demux(socket);
  try {
    run(demux);
  } finally {
    demux.detach();
    socket.close();
  }
}

describe('Demux STUN sub-router', () => {
  it('routes requests to the server, responses and indications to the routes that claim them', () => {
    withDemux((demux) => {
      const got: string[] = [];
      demux.registerStun({ request: (d) => got.push(`server:${d[19]}`) });
      demux.registerStun({
        response: (d) => d[19] === 1 && got.push('client:1') > 0,
      });
      demux.registerStun({
        response: (d) => d[19] === 2 && got.push('turn:2') > 0,
        indication: (d) => d[19] === 2 && got.push('turn-data:2') > 0,
      });
      demux.inject(header(0, 7), FROM);
      demux.inject(header(2, 1), FROM);
      demux.inject(header(3, 2), FROM);
      demux.inject(header(1, 2), FROM);
      demux.inject(header(2, 9), FROM); // nobody's transaction
      demux.inject(header(1, 9), FROM); // nobody's indication
      demux.inject(Buffer.from([0, 1, 0, 0]), FROM); // too short for a header
      assert.deepEqual(got, ['server:7', 'client:1', 'turn:2', 'turn-data:2']);
      assert.deepEqual(demux.stats().stun, {
        requests: 1,
        indications: 1,
        responses: 2,
        unclaimedRequests: 0,
        unclaimedIndications: 1,
        unclaimedResponses: 1,
        tooShort: 1,
      });
      const bytes = demux.stats().byFirstByte;
      assert.equal(bytes[0]! + bytes[1]! + bytes[2]! + bytes[3]!, 7, 'all seven went through bytes 0–3');
    });
  });

  it('counts requests when no route takes them', () => {
    withDemux((demux) => {
      demux.registerStun({ response: () => false });
      demux.inject(header(0, 1), FROM);
      assert.equal(demux.stats().stun.unclaimedRequests, 1);
    });
  });

  it('one route takes requests; a plain handler on 0–3 and the router exclude each other', () => {
    withDemux((demux) => {
      const server = demux.registerStun({ request: () => {} });
      assert.throws(() => demux.registerStun({ request: () => {} }), { code: 'ERR_MUX_RANGE_TAKEN' });
      assert.throws(() => demux.register(STUN_RANGE, () => {}), { code: 'ERR_MUX_RANGE_TAKEN' });
      assert.throws(() => demux.registerStun({}), { code: 'ERR_INVALID_OPTION', option: 'route' });
      server.remove();
      server.remove(); // idempotent
      const plain = demux.register(STUN_RANGE, () => {});
      assert.throws(() => demux.registerStun({ response: () => true }), { code: 'ERR_MUX_RANGE_TAKEN' });
      plain.remove();
      demux.registerStun({ request: () => {} }).remove();
    });
  });

  it('a removed route no longer sees anything; the last removal frees bytes 0–3', () => {
    withDemux((demux) => {
      let a = 0;
      let b = 0;
      const ra = demux.registerStun({ response: () => ++a > 0 });
      const rb = demux.registerStun({ response: () => ++b > 0 });
      demux.inject(header(2, 1), FROM);
      ra.remove();
      demux.inject(header(2, 1), FROM);
      assert.deepEqual([a, b], [1, 1], 'first route first, then only the remaining one');
      rb.remove();
      demux.inject(header(2, 1), FROM);
      assert.equal(demux.stats().droppedUnclaimed, 1, 'bytes 0–3 have no handler any more');
    });
  });

  it('demuxOf returns the one demux of a socket until it detaches', () => {
    const socket = createSocket('udp4');
    try {
      const first = demuxOf(socket);
      assert.equal(demuxOf(socket), first);
      assert.equal(socket.listenerCount('message'), 1, 'one reader');
      const made = new Demux(createSocket('udp4'));
      assert.equal(demuxOf(made.socket), made, 'new Demux(socket) is found too');
      made.detach();
      made.socket.close();
      first.detach();
      const second = demuxOf(socket);
      assert.notEqual(second, first);
      second.detach();
      assert.equal(socket.listenerCount('message'), 0);
    } finally {
      socket.close();
    }
  });
});
