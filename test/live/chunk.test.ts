// Channels and signed chunks: derived vectors, RFC 8032 TEST 1, negative decodes by code and
// offset, and a flipped bit anywhere in a chunk rejected by decodeChunk or verifyChunk.
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, ParseError } from '../../src/errors/index.ts';
import {
  CHUNK_FLAG_RANDOM_ACCESS,
  ChunkRejection,
  createChannel,
  decodeChunk,
  decodeChunkHead,
  openChannel,
  pieceLength,
  signChunk,
  verifyChunk,
  verifyChunkHead,
  verifyPiece,
} from '../../src/live/index.ts';
import { tsPayload } from './helpers.ts';

const vector = JSON.parse(readFileSync(new URL('../vectors/live/chunk-v2.json', import.meta.url), 'utf8'));
const seed = Buffer.from(vector.seedHex, 'hex');

describe('channel', () => {
  it('derives the RFC 8032 §7.1 TEST 1 key pair and signature from its seed', () => {
    const ch = createChannel(
      Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'),
    );
    assert.equal(
      ch.publicKey.toString('hex'),
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
    assert.equal(
      sign(null, Buffer.alloc(0), ch.privateKey).toString('hex'),
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });

  it('names a channel by the SHA-256 of its public key, and refuses a key of another id', () => {
    const ch = createChannel(seed);
    assert.equal(ch.publicKey.toString('hex'), vector.publicKeyHex);
    assert.equal(ch.id.toString('hex'), vector.channelIdHex);
    assert.deepEqual(openChannel(ch.publicKey, ch.id).id, ch.id);
    const other = createChannel();
    assert.throws(() => openChannel(other.publicKey, ch.id), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => openChannel(Buffer.alloc(31)), ConfigError);
    assert.throws(() => createChannel(Buffer.alloc(16)), { code: 'ERR_INVALID_OPTION' });
  });
});

describe('chunk', () => {
  const ch = createChannel(seed);
  const reader = openChannel(ch.publicKey, ch.id);
  const bytes = Buffer.from(vector.chunkHex, 'hex');

  it('encodes the derived vector byte for byte and decodes it back', () => {
    const payload = bytes.subarray(152 + 64);
    const encoded = signChunk(ch, {
      seq: vector.seq,
      timestampMs: vector.timestampMs,
      durationMs: vector.durationMs,
      flags: vector.flags,
      payload,
      piecePackets: vector.piecePackets,
    });
    assert.equal(encoded.toString('hex'), vector.chunkHex);
    const c = decodeChunk(bytes);
    assert.equal(c.seq, vector.seq);
    assert.equal(c.timestampMs, vector.timestampMs);
    assert.equal(c.durationMs, 250);
    assert.equal(c.flags, CHUNK_FLAG_RANDOM_ACCESS);
    assert.equal(c.payload.length, 376);
    assert.equal(c.pieceCount, 2);
    assert.equal(c.head.length, 216);
    assert.equal(c.payload.buffer, bytes.buffer, 'the payload is a slice, not a copy');
    assert.equal(verifyChunk(c, reader), null);
  });

  it('verifies a head on its own and each piece against it', () => {
    const head = decodeChunkHead(Buffer.from(bytes.subarray(0, 216)));
    assert.equal(head.seq, vector.seq);
    assert.equal(verifyChunkHead(head, reader), null);
    assert.equal(pieceLength(head, 1), 188);
    assert.equal(pieceLength(head, 2), 0);
    const piece0 = bytes.subarray(216, 404);
    const piece1 = bytes.subarray(404);
    assert.ok(verifyPiece(head, 0, piece0) && verifyPiece(head, 1, piece1));
    assert.ok(!verifyPiece(head, 1, piece0), 'a piece at another index');
    assert.ok(!verifyPiece(head, 2, piece1), 'past the last piece');
    assert.ok(!verifyPiece(head, 0, piece0.subarray(0, 187)), 'a short piece');
    for (let bit = 0; bit < 188 * 8; bit += 7) {
      const copy = Buffer.from(piece0);
      copy[bit >>> 3]! ^= 0x80 >>> (bit & 7);
      assert.ok(!verifyPiece(head, 0, copy), `piece bit ${bit} flipped and still verified`);
    }
    const wrong = Buffer.from(bytes.subarray(0, 216));
    wrong[200]! ^= 1; // inside the piece hash list
    assert.equal(verifyChunkHead(decodeChunkHead(wrong), reader), ChunkRejection.PAYLOAD_HASH);
    assert.throws(() => decodeChunkHead(bytes), { code: 'ERR_LIVE_BAD_LENGTH', offset: 152 });
  });

  it('cuts a payload into pieces of the given size, the last one shorter', () => {
    const c = decodeChunk(
      signChunk(ch, {
        seq: 1,
        timestampMs: 0,
        durationMs: 250,
        flags: 0,
        payload: tsPayload(7, 1),
        piecePackets: 3,
      }),
    );
    assert.deepEqual([c.pieceCount, c.pieceBytes, pieceLength(c, 2)], [3, 564, 188]);
    assert.equal(verifyChunk(c, reader), null);
    const empty = decodeChunk(
      signChunk(ch, { seq: 2, timestampMs: 0, durationMs: 250, flags: 0, payload: Buffer.alloc(0) }),
    );
    assert.equal(empty.pieceCount, 0);
    assert.equal(verifyChunk(empty, reader), null);
  });

  it('rejects a flipped bit anywhere in the chunk', () => {
    let decodeRejects = 0;
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const copy = Buffer.from(bytes);
      copy[bit >>> 3]! ^= 0x80 >>> (bit & 7);
      let rejected: string | null;
      try {
        rejected = verifyChunk(decodeChunk(copy), reader);
      } catch (error) {
        assert.ok(error instanceof ParseError);
        decodeRejects++;
        continue;
      }
      assert.notEqual(rejected, null, `bit ${bit} flipped and still verified`);
    }
    assert.ok(decodeRejects > 0);
  });

  it('says why a chunk is refused', () => {
    const payload = tsPayload(2, 9);
    const good = signChunk(ch, { seq: 1, timestampMs: 0, durationMs: 250, flags: 0, payload });
    const other = createChannel();
    assert.equal(verifyChunk(decodeChunk(good), openChannel(other.publicKey)), ChunkRejection.WRONG_CHANNEL);
    const body = Buffer.from(good);
    body[good.length - 1]! ^= 1;
    assert.equal(verifyChunk(decodeChunk(body), reader), ChunkRejection.PAYLOAD_HASH);
    const header = Buffer.from(good);
    header[37]! ^= 1;
    assert.equal(verifyChunk(decodeChunk(header), reader), ChunkRejection.SIGNATURE);
    // A chunk re-signed by another key but claiming this channel id.
    const forged = signChunk(
      { ...other, id: ch.id },
      { seq: 1, timestampMs: 0, durationMs: 250, flags: 0, payload },
    );
    assert.equal(verifyChunk(decodeChunk(forged), reader), ChunkRejection.SIGNATURE);
  });

  const cases: [string, (b: Buffer) => Buffer, string, number][] = [
    ['short', (b) => b.subarray(0, 151), 'ERR_LIVE_TRUNCATED', 151],
    ['version 1', (b) => set(b, 0, 1), 'ERR_LIVE_BAD_VERSION', 0],
    ['unknown flag', (b) => set(b, 1, 0x04), 'ERR_LIVE_RESERVED', 1],
    ['zero piece size', (b) => set(b, 2, 0, 0), 'ERR_LIVE_BAD_VALUE', 2],
    ['more than 1024 pieces', (b) => set(b, 52, 0x00, 0x02, 0xf0, 0xbc), 'ERR_LIVE_BAD_VALUE', 52],
    ['timestamp past 2^53', (b) => set(b, 40, 0x00, 0x20), 'ERR_LIVE_BAD_VALUE', 40],
    ['zero duration', (b) => set(b, 48, 0, 0, 0, 0), 'ERR_LIVE_BAD_VALUE', 48],
    ['length too long', (b) => set(b, 52, 0, 0, 1, 0x79), 'ERR_LIVE_BAD_LENGTH', 52],
    ['partial packet', (b) => b.subarray(0, b.length - 1), 'ERR_LIVE_BAD_LENGTH', 52],
    ['lost sync byte', (b) => set(b, 216 + 188, 0x48), 'ERR_LIVE_BAD_TS', 404],
  ];
  for (const [name, mutate, code, offset] of cases) {
    it(`refuses a chunk with ${name} (${code} at ${offset})`, () => {
      assert.throws(
        () => decodeChunk(mutate(Buffer.from(bytes))),
        (e: unknown) => e instanceof ParseError && e.code === code && e.offset === offset,
      );
    });
  }

  it('refuses to sign what it could not decode', () => {
    const payload = tsPayload(1, 0);
    for (const init of [
      { seq: -1 },
      { seq: 2 ** 32 },
      { timestampMs: 2 ** 53 },
      { durationMs: 0 },
      { flags: 8 },
      { payload: Buffer.alloc(187) },
      { payload: Buffer.alloc(188) },
      { piecePackets: 0 },
      { piecePackets: 65536 },
      { payload: tsPayload(1025, 0), piecePackets: 1 },
    ]) {
      assert.throws(
        () => signChunk(ch, { seq: 0, timestampMs: 0, durationMs: 250, flags: 0, payload, ...init }),
        { code: 'ERR_INVALID_OPTION' },
        JSON.stringify(init),
      );
    }
  });
});

function set(b: Buffer, offset: number, ...values: number[]): Buffer {
  for (let i = 0; i < values.length; i++) b[offset + i] = values[i]!;
  return b;
}
