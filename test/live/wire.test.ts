// Peer-protocol frames and buffer maps: round trips, hex vectors of every frame type, negative
// decodes by code and offset, and the sliding window.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import {
  BufferMap,
  ByeReason,
  decodePeerFrame,
  encodePeerFrame,
  type PeerFrame,
  PeerFrameType,
  PeerRole,
  RejectReason,
} from '../../src/live/index.ts';

const id = Buffer.alloc(32, 0xaa);
const key = Buffer.alloc(32, 0xbb);
const peer = Buffer.alloc(16, 0xcc);
const vectors: [PeerFrame, string][] = [
  [
    {
      type: PeerFrameType.HELLO,
      version: 2,
      role: PeerRole.EDGE,
      seedPermille: 30,
      channelId: id,
      publicKey: key,
      peerId: peer,
    },
    `010201001e${'aa'.repeat(32)}${'bb'.repeat(32)}${'cc'.repeat(16)}`,
  ],
  [
    {
      type: PeerFrameType.BUFFER_MAP,
      base: 0x100,
      count: 10,
      bitmap: Buffer.from([0xa5, 0x40]),
      rapBitmap: Buffer.from([0x84, 0x00]),
    },
    '0200000100000aa5408400',
  ],
  [{ type: PeerFrameType.HAVE, seq: 0x01020304, randomAccess: true }, '030102030401'],
  [{ type: PeerFrameType.REQUEST, seq: 7, urgent: true }, '040000000701'],
  [{ type: PeerFrameType.REQUEST, seq: 8, urgent: false, ahead: true }, '040000000802'],
  [{ type: PeerFrameType.REQUEST, seq: 8, urgent: true, resume: true, fromPiece: 0 }, '0400000008050000'],
  [{ type: PeerFrameType.REQUEST, seq: 8, urgent: false, resume: true, fromPiece: 11 }, '040000000804000b'],
  [{ type: PeerFrameType.CANCEL, seq: 7 }, '0500000007'],
  [{ type: PeerFrameType.DATA, chunk: Buffer.from('0102', 'hex') }, '060102'],
  [{ type: PeerFrameType.REJECT, seq: 9, reason: RejectReason.OVER_SHARE }, '070000000903'],
  [{ type: PeerFrameType.CHOKE, ms: 2000 }, '08000007d0'],
  [{ type: PeerFrameType.BYE, reason: ByeReason.BANNED }, '0902'],
  [{ type: PeerFrameType.HEAD, head: Buffer.from('0201', 'hex') }, '0a0201'],
  [
    { type: PeerFrameType.PIECE, seq: 0x01020304, index: 0x0102, piece: Buffer.from('47ff', 'hex') },
    '0b01020304010247ff',
  ],
];

describe('peer frames', () => {
  for (const [frame, hex] of vectors) {
    it(`type ${frame.type} encodes to its vector and back`, () => {
      const bytes = encodePeerFrame(frame);
      assert.equal(bytes.toString('hex'), hex);
      assert.deepEqual(decodePeerFrame(bytes), frame);
    });
  }

  const bad: [string, string, string, number][] = [
    ['empty', '', 'ERR_LIVE_TRUNCATED', 0],
    ['unknown type', '0c', 'ERR_LIVE_BAD_TYPE', 0],
    ['type 0', '00', 'ERR_LIVE_BAD_TYPE', 0],
    ['HELLO version 1', `0101010000${'00'.repeat(80)}`, 'ERR_LIVE_BAD_VERSION', 1],
    ['HELLO role 2', `01020200${'00'.repeat(81)}`, 'ERR_LIVE_BAD_VALUE', 2],
    ['HELLO seed share 1001', `01020003e9${'00'.repeat(80)}`, 'ERR_LIVE_BAD_VALUE', 3],
    ['short HELLO', '0101', 'ERR_LIVE_TRUNCATED', 2],
    ['map of 4097', '02000000001001', 'ERR_LIVE_BAD_VALUE', 5],
    ['map bitmap short', '0200000000000affff00', 'ERR_LIVE_BAD_LENGTH', 7],
    ['map past 2^32', '02ffffffff0010ffffffff', 'ERR_LIVE_BAD_VALUE', 1],
    ['HAVE trailing', '03000000010000', 'ERR_LIVE_TRAILING_BYTES', 6],
    ['HAVE flags', '030000000102', 'ERR_LIVE_RESERVED', 5],
    ['HAVE flags', '030000000102', 'ERR_LIVE_RESERVED', 5],
    ['REQUEST flags', '040000000108', 'ERR_LIVE_RESERVED', 5],
    ['REQUEST resume without its piece', '040000000104', 'ERR_LIVE_TRUNCATED', 6],
    ['REQUEST piece past the most a chunk has', '0400000001040400', 'ERR_LIVE_BAD_VALUE', 6],
    ['REQUEST piece on a plain request', '0400000001000000', 'ERR_LIVE_TRAILING_BYTES', 6],
    ['empty DATA', '06', 'ERR_LIVE_TRUNCATED', 1],
    ['empty HEAD', '0a', 'ERR_LIVE_TRUNCATED', 1],
    ['PIECE without bytes', '0b000000010000', 'ERR_LIVE_TRUNCATED', 7],
    ['PIECE index 1024', '0b00000001040047', 'ERR_LIVE_BAD_VALUE', 5],
    ['REJECT reason 0', '070000000100', 'ERR_LIVE_BAD_VALUE', 5],
    ['BYE reason 9', '0909', 'ERR_LIVE_BAD_VALUE', 1],
  ];
  for (const [name, hex, code, offset] of bad) {
    it(`refuses ${name} (${code} at ${offset})`, () => {
      assert.throws(
        () => decodePeerFrame(Buffer.from(hex, 'hex')),
        (e: unknown) => e instanceof ParseError && e.code === code && e.offset === offset,
      );
    });
  }

  it('DATA carries the chunk as a slice of the message', () => {
    const bytes = Buffer.from('06aabbcc', 'hex');
    const frame = decodePeerFrame(bytes);
    assert.equal(frame.type, PeerFrameType.DATA);
    if (frame.type === PeerFrameType.DATA) assert.equal(frame.chunk.buffer, bytes.buffer);
    const piece = decodePeerFrame(Buffer.from('0b000000050003474748', 'hex'));
    assert.equal(piece.type, PeerFrameType.PIECE);
    if (piece.type === PeerFrameType.PIECE)
      assert.deepEqual([piece.seq, piece.index, piece.piece.length], [5, 3, 3]);
  });
});

describe('buffer map', () => {
  it('slides its window forward, forgetting what falls out', () => {
    const map = new BufferMap(16);
    for (const s of [3, 4, 6]) assert.ok(map.add(s));
    assert.equal(map.size, 3);
    assert.ok(map.add(20));
    assert.equal(map.base, 5);
    assert.equal(map.has(4), false);
    assert.equal(map.has(6), true);
    assert.equal(map.add(4), false, 'below the window');
    assert.equal(map.size, 2);
    assert.equal(map.newest, 20);
    map.advance(100);
    assert.equal(map.size, 0);
    assert.equal(map.has(20), false);
  });

  it('round-trips through a BUFFER_MAP frame, keeping the newest chunks when it is smaller', () => {
    const a = new BufferMap(64);
    for (const s of [10, 11, 13, 40, 73]) a.add(s, s % 2 === 1);
    const snap = a.snapshot();
    assert.equal(snap.base, 10);
    assert.equal(snap.count, 64);
    const frame = decodePeerFrame(encodePeerFrame({ type: PeerFrameType.BUFFER_MAP, ...snap }));
    assert.equal(frame.type, PeerFrameType.BUFFER_MAP);
    if (frame.type !== PeerFrameType.BUFFER_MAP) return;
    const b = new BufferMap(64);
    b.assign(frame.base, frame.count, frame.bitmap, frame.rapBitmap);
    for (let s = 0; s < 100; s++) {
      assert.equal(b.has(s), a.has(s), `seq ${s}`);
      assert.equal(b.isRandomAccess(s), a.isRandomAccess(s), `seq ${s}`);
    }
    assert.equal(b.newestRandomAccess(), 73);
    const small = new BufferMap(8);
    small.assign(frame.base, frame.count, frame.bitmap, frame.rapBitmap);
    assert.equal(small.has(73), true);
    assert.equal(small.has(40), false);
    assert.equal(small.size, 1);
  });

  it('refuses a capacity it cannot hold', () => {
    for (const c of [0, 7, 12, 8192]) assert.throws(() => new BufferMap(c), { code: 'ERR_INVALID_OPTION' });
  });
});
