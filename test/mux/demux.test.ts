import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import {
  type ByteRange,
  Demux,
  DTLS_RANGE,
  frameRange,
  PORTHOLE_RANGE,
  PortholeFrame,
  RTP_RANGE,
  STUN_RANGE,
  TURN_CHANNEL_RANGE,
  ZRTP_RANGE,
} from '../../src/mux/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const FROM: RemoteInfo = { address: '127.0.0.1', family: 'IPv4', port: 9, size: 0 };

async function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

/** Sends `payloads` in order, then a sentinel (APPLICATION frame) and resolves once the sentinel came back. */
async function sendAndSettle(demux: Demux, sender: Socket, payloads: readonly Buffer[]): Promise<void> {
  const port = demux.socket.address().port;
  const { promise, resolve } = Promise.withResolvers<void>();
  const sentinel = demux.register(frameRange(PortholeFrame.APPLICATION), () => resolve());
  for (const p of payloads) sender.send(p, port, '127.0.0.1');
  sender.send(Buffer.from([PortholeFrame.APPLICATION]), port, '127.0.0.1');
  await promise;
  sentinel.remove();
}

describe('Demux over a real socket', () => {
  let receiver: Socket;
  let sender: Socket;
  before(async () => {
    receiver = await bound();
    sender = await bound();
  });
  after(() => {
    receiver.close();
    sender.close();
  });

  test('routes each datagram by its first byte to the handler of its range', async () => {
    const demux = new Demux(receiver);
    const seen: Record<string, number[]> = { stun: [], dtls: [], turn: [], rtp: [], punch: [] };
    const regs = [
      demux.register(STUN_RANGE, (d) => seen.stun!.push(d[0]!)),
      demux.register(DTLS_RANGE, (d) => seen.dtls!.push(d[0]!)),
      demux.register(TURN_CHANNEL_RANGE, (d) => seen.turn!.push(d[0]!)),
      demux.register(RTP_RANGE, (d) => seen.rtp!.push(d[0]!)),
      demux.register(frameRange(PortholeFrame.PUNCH), (d) => seen.punch!.push(d[0]!)),
    ];
    const bytes = [0x00, 0x01, 0x03, 0x14, 0x17, 0x3f, 0x40, 0x4f, 0x80, 0xbf, 0x04];
    await sendAndSettle(
      demux,
      sender,
      bytes.map((b) => Buffer.from([b, 1, 2, 3])),
    );
    assert.deepEqual(seen, {
      stun: [0x00, 0x01, 0x03],
      dtls: [0x14, 0x17, 0x3f],
      turn: [0x40, 0x4f],
      rtp: [0x80, 0xbf],
      punch: [0x04],
    });
    const stats = demux.stats();
    assert.equal(stats.routed, bytes.length + 1);
    assert.equal(stats.byFirstByte[0x80], 1);
    assert.equal(stats.byFirstByte[0x04], 1);
    assert.equal(stats.byFirstByte.length, 256);
    for (const r of regs) r.remove();
    demux.detach();
  });

  test('unclaimed and empty datagrams are dropped and counted', async () => {
    const demux = new Demux(receiver);
    let rtp = 0;
    demux.register(RTP_RANGE, () => rtp++);
    await sendAndSettle(demux, sender, [
      Buffer.alloc(0),
      Buffer.from([0xc0]), // QUIC long header: nobody registered
      Buffer.from([0x10]), // ZRTP: nobody registered
      Buffer.from([0x80]),
    ]);
    const stats = demux.stats();
    assert.equal(rtp, 1);
    assert.equal(stats.droppedEmpty, 1);
    assert.equal(stats.droppedUnclaimed, 2);
    demux.detach();
  });

  test('a throwing handler is counted, never thrown past the socket', async () => {
    const demux = new Demux(receiver);
    let calls = 0;
    demux.register(RTP_RANGE, () => {
      calls++;
      throw new Error('handler bug');
    });
    await sendAndSettle(demux, sender, [Buffer.from([0x80]), Buffer.from([0x81])]);
    assert.equal(calls, 2);
    assert.equal(demux.stats().handlerErrors, 2);
    demux.detach();
  });

  test('detach() stops routing and leaves the socket open', async () => {
    const demux = new Demux(receiver);
    let rtp = 0;
    demux.register(RTP_RANGE, () => rtp++);
    demux.detach();
    demux.detach();
    assert.equal(demux.detached, true);
    const probe = new Demux(receiver);
    await sendAndSettle(probe, sender, [Buffer.from([0x80])]);
    assert.equal(rtp, 0, 'a detached demux sees nothing');
    assert.equal(demux.stats().routed, 0);
    assert.equal(probe.stats().droppedUnclaimed, 1);
    probe.detach();
    assert.equal(receiver.address().port > 0, true, 'socket still bound');
  });

  test('moveTo() keeps registrations and reads only the new socket', async () => {
    const other = await bound();
    try {
      const demux = new Demux(receiver);
      const got: number[] = [];
      demux.register(RTP_RANGE, (d) => got.push(d[1]!));
      demux.moveTo(other);
      assert.equal(demux.socket, other);
      const oldReader = new Demux(receiver);
      await sendAndSettle(oldReader, sender, [Buffer.from([0x80, 1])]);
      await sendAndSettle(demux, sender, [Buffer.from([0x80, 2])]);
      assert.deepEqual(got, [2]);
      assert.equal(
        oldReader.stats().droppedUnclaimed,
        1,
        'the old socket is no longer read by the moved demux',
      );
      oldReader.detach();
      demux.detach();
      demux.moveTo(receiver);
      assert.equal(demux.detached, false, 'moveTo re-attaches');
      demux.detach();
    } finally {
      other.close();
    }
  });
});

describe('Demux registrations', () => {
  let socket: Socket;
  before(async () => {
    socket = await bound();
  });
  after(() => socket.close());

  const invalid: readonly [string, ByteRange][] = [
    ['negative', { first: -1, last: 3 }],
    ['above 255', { first: 250, last: 256 }],
    ['reversed', { first: 10, last: 4 }],
    ['fractional', { first: 1.5, last: 3 }],
    ['NaN', { first: Number.NaN, last: 3 }],
  ];
  for (const [name, range] of invalid) {
    test(`an invalid range (${name}) is ERR_INVALID_OPTION on range`, () => {
      const demux = new Demux(socket);
      assert.throws(() => demux.register(range, () => {}), { code: 'ERR_INVALID_OPTION', option: 'range' });
      demux.detach();
    });
  }

  test('an overlapping range is ERR_MUX_RANGE_TAKEN and changes nothing', () => {
    const demux = new Demux(socket);
    const got: number[] = [];
    demux.register(STUN_RANGE, (d) => got.push(d[0]!));
    assert.throws(() => demux.register({ first: 3, last: 5 }, () => {}), { code: 'ERR_MUX_RANGE_TAKEN' });
    demux.inject(Buffer.from([5]), FROM);
    assert.equal(demux.stats().droppedUnclaimed, 1, 'the failed registration claimed nothing');
    demux.inject(Buffer.from([3]), FROM);
    assert.deepEqual(got, [3]);
    demux.detach();
  });

  test('remove() frees the range, is idempotent and never removes a later handler', () => {
    const demux = new Demux(socket);
    const a: number[] = [];
    const b: number[] = [];
    const first = demux.register(RTP_RANGE, (d) => a.push(d[0]!));
    assert.deepEqual(first.range, RTP_RANGE);
    first.remove();
    const second = demux.register(RTP_RANGE, (d) => b.push(d[0]!));
    first.remove();
    demux.inject(Buffer.from([0x90]), FROM);
    assert.deepEqual(a, []);
    assert.deepEqual(b, [0x90]);
    second.remove();
    demux.inject(Buffer.from([0x90]), FROM);
    assert.equal(demux.stats().droppedUnclaimed, 1);
    demux.detach();
  });

  test('a handler receives the very Buffer and RemoteInfo it was given (no copy)', () => {
    const demux = new Demux(socket);
    const seen: [Buffer, RemoteInfo][] = [];
    demux.register(RTP_RANGE, (data, from) => seen.push([data, from]));
    const one = Buffer.from([0x80, 1, 2]);
    const two = Buffer.from([0x80, 3, 4]);
    demux.inject(one, FROM);
    demux.inject(two, FROM);
    assert.equal(seen[0]![0], one);
    assert.equal(seen[1]![0], two);
    assert.equal(seen[0]![1], FROM);
    demux.detach();
  });
});

describe('byte ranges', () => {
  const named: Record<string, ByteRange> = {
    STUN_RANGE,
    ZRTP_RANGE,
    DTLS_RANGE,
    TURN_CHANNEL_RANGE,
    RTP_RANGE,
    PORTHOLE_RANGE,
  };

  test('match RFC 7983 §7 and never overlap', () => {
    assert.deepEqual(STUN_RANGE, { first: 0, last: 3 });
    assert.deepEqual(DTLS_RANGE, { first: 20, last: 63 });
    assert.deepEqual(TURN_CHANNEL_RANGE, { first: 64, last: 79 });
    assert.deepEqual(RTP_RANGE, { first: 128, last: 191 });
    const owner = new Array<string | undefined>(256);
    for (const [name, r] of Object.entries(named)) {
      for (let b = r.first; b <= r.last; b++) {
        assert.equal(owner[b], undefined, `${name} overlaps ${owner[b]} at byte ${b}`);
        owner[b] = name;
      }
    }
  });

  test('porthole frames are distinct, inside PORTHOLE_RANGE, and all register together', () => {
    const values = Object.values(PortholeFrame);
    assert.equal(new Set(values).size, values.length);
    const socket = createSocket('udp4');
    const demux = new Demux(socket);
    for (const v of values) {
      assert.ok(v >= PORTHOLE_RANGE.first && v <= PORTHOLE_RANGE.last, `0x${v.toString(16)} in 4–15`);
      assert.deepEqual(frameRange(v), { first: v, last: v });
      demux.register(frameRange(v), () => {});
    }
    demux.register(STUN_RANGE, () => {});
    demux.register(RTP_RANGE, () => {});
    demux.detach();
    socket.close();
  });
});
