// Fuzz: ≥ 1,000,000 seeded inputs into every live decoder (decodeChunk, decodePeerFrame, and the
// buffer map fed from decoded frames). Every input either decodes or throws a ParseError with a
// live code and an offset inside the input; a mutated chunk that still decodes never verifies.
// Kept findings under test/vectors/fuzz/live/ (hex, one per file) are replayed first.
// PORTHOLE_SEED=<n> varies the seed (test/support/prng.ts); LIVE_FUZZ_INPUTS=<n> changes the count.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import {
  BufferMap,
  ByeReason,
  createChannel,
  decodeChunk,
  decodeChunkHead,
  decodePeerFrame,
  encodePeerFrame,
  LiveParseCode,
  openChannel,
  type PeerFrame,
  PeerFrameType,
  PeerRole,
  RejectReason,
  signChunk,
  verifyChunk,
  verifyChunkHead,
  verifyPiece,
} from '../../src/live/index.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { mulberry32, replayHint, testSeed } from '../support/prng.ts';
import { tsPayload } from './helpers.ts';

const TOTAL = Number(process.env.LIVE_FUZZ_INPUTS ?? 1_000_000);
const SEED = testSeed(20_261_201);
const CODES = new Set<string>(Object.values(LiveParseCode));
const keptChunks = new FuzzCorpus('live-chunk');
const keptFrames = new FuzzCorpus('live-frame');

const channel = createChannel(Buffer.alloc(32, 7));
const reader = openChannel(channel.publicKey, channel.id);
const chunk = signChunk(channel, {
  seq: 5,
  timestampMs: 1000,
  durationMs: 250,
  flags: 1,
  payload: tsPayload(3, 0x5a),
  piecePackets: 1,
});
const frames: Buffer[] = (
  [
    {
      type: PeerFrameType.HELLO,
      version: 2,
      role: PeerRole.PEER,
      seedPermille: 0,
      channelId: channel.id,
      publicKey: channel.publicKey,
      peerId: Buffer.alloc(16, 1),
    },
    {
      type: PeerFrameType.BUFFER_MAP,
      base: 100,
      count: 37,
      bitmap: Buffer.from([0xff, 0x0f, 0xf0, 0xaa, 0xe0]),
      rapBitmap: Buffer.from([0x88, 0x08, 0x80, 0x88, 0x80]),
    },
    { type: PeerFrameType.HAVE, seq: 9, randomAccess: false },
    { type: PeerFrameType.REQUEST, seq: 9, urgent: false },
    { type: PeerFrameType.REQUEST, seq: 9, urgent: true, ahead: true },
    { type: PeerFrameType.CANCEL, seq: 9 },
    { type: PeerFrameType.REJECT, seq: 9, reason: RejectReason.BUSY },
    { type: PeerFrameType.CHOKE, ms: 500 },
    { type: PeerFrameType.BYE, reason: ByeReason.LEAVING },
    { type: PeerFrameType.DATA, chunk },
    { type: PeerFrameType.REQUEST, seq: 9, urgent: false, resume: true, fromPiece: 3 },
    { type: PeerFrameType.HEAD, head: decodeChunk(chunk).head },
    { type: PeerFrameType.PIECE, seq: 5, index: 0, piece: decodeChunk(chunk).payload.subarray(0, 188) },
  ] satisfies PeerFrame[]
).map(encodePeerFrame);

/** Decodes `input` with `decode`; returns the value or undefined, asserting the error contract. */
function attempt(decode: (b: Buffer) => unknown, input: Buffer, what: string, corpus?: FuzzCorpus): unknown {
  try {
    return decode(input);
  } catch (error) {
    if (
      !(error instanceof ParseError) ||
      !CODES.has(error.code) ||
      error.offset < 0 ||
      error.offset > input.length
    ) {
      const kept = corpus?.keep(Buffer.from(input), `${what}: ${String(error)} (${replayHint()})`);
      assert.fail(`${what}: ${String(error)}; kept as ${kept ?? '-'} (${replayHint()})`);
    }
    return undefined;
  }
}

function mutate(random: () => number, base: Buffer, scratch: Buffer): Buffer {
  base.copy(scratch, 0);
  const r = random();
  let length = base.length;
  if (r < 0.15) length = Math.floor(random() * base.length);
  else if (r < 0.25) {
    length = Math.min(scratch.length, base.length + 1 + Math.floor(random() * 16));
    for (let i = base.length; i < length; i++) scratch[i] = Math.floor(random() * 256);
  }
  const flips = 1 + Math.floor(random() * 3);
  for (let f = 0; f < flips; f++) {
    // Half the flips land in the first 64 bytes, where the headers are.
    const at = random() < 0.5 ? Math.floor(random() * Math.min(64, length)) : Math.floor(random() * length);
    if (random() < 0.5) scratch[at] = Math.floor(random() * 256);
    else scratch[at]! ^= 1 << Math.floor(random() * 8);
  }
  return scratch.subarray(0, length);
}

describe('fuzz', () => {
  it('replays the kept findings first', () => {
    keptChunks.replay((input) => attempt(decodeChunk, input, 'kept chunk'));
    keptFrames.replay((input) => attempt(decodePeerFrame, input, 'kept frame'));
  });

  it(`decodeChunk takes ${Math.floor(TOTAL / 2)} mutated chunks; none that decodes verifies`, (t) => {
    t.diagnostic(`seed ${SEED} (${replayHint()})`);
    const random = mulberry32(SEED);
    const scratch = Buffer.alloc(chunk.length + 32);
    let decoded = 0;
    let verified = 0;
    const n = Math.floor(TOTAL / 2);
    for (let i = 0; i < n; i++) {
      const input = mutate(random, chunk, scratch);
      const c = attempt(decodeChunk, input, 'decodeChunk', keptChunks) as
        | ReturnType<typeof decodeChunk>
        | undefined;
      if (c === undefined) continue;
      decoded++;
      // Ed25519 verification costs ~100 µs: check a sample, and every header mutation it covers.
      if (decoded % 128 === 0 && !input.equals(chunk)) {
        verified++;
        assert.notEqual(verifyChunk(c, reader), null, `mutated chunk verified (${replayHint()}, input ${i})`);
      }
    }
    assert.ok(decoded > 0 && decoded < n, `${decoded} of ${n} decoded`);
    assert.ok(verified > 500, `${verified} verified`);
  });

  it(`decodeChunkHead and verifyPiece take ${Math.floor(TOTAL / 10)} mutated heads and pieces; none verifies`, (t) => {
    t.diagnostic(`seed ${SEED} (${replayHint()})`);
    const random = mulberry32(SEED ^ 0x9ead);
    const whole = decodeChunk(chunk);
    const head = whole.head;
    const piece = whole.payload.subarray(0, whole.pieceBytes);
    const scratch = Buffer.alloc(chunk.length + 32);
    let decoded = 0;
    let verified = 0;
    const n = Math.floor(TOTAL / 10);
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) {
        const input = mutate(random, head, scratch);
        const h = attempt((b) => decodeChunkHead(b), input, 'decodeChunkHead', keptChunks) as
          | ReturnType<typeof decodeChunkHead>
          | undefined;
        if (h === undefined) continue;
        decoded++;
        if (decoded % 64 === 0 && !input.equals(head)) {
          verified++;
          assert.notEqual(
            verifyChunkHead(h, reader),
            null,
            `mutated head verified (${replayHint()}, input ${i})`,
          );
        }
      } else {
        const input = mutate(random, piece, scratch);
        if (!input.equals(piece))
          assert.ok(!verifyPiece(whole, 0, input), `mutated piece verified (${replayHint()}, input ${i})`);
      }
    }
    assert.ok(decoded > 0 && verified > 10, `${decoded} decoded, ${verified} verified`);
  });

  it(`decodePeerFrame takes ${TOTAL - Math.floor(TOTAL / 2)} mutated and random frames`, (t) => {
    t.diagnostic(`seed ${SEED} (${replayHint()})`);
    const random = mulberry32(SEED ^ 0x5eed);
    const scratch = Buffer.alloc(chunk.length + 64);
    const map = new BufferMap(64);
    const kinds = new Set<number>();
    let rejected = 0;
    const n = TOTAL - Math.floor(TOTAL / 2);
    for (let i = 0; i < n; i++) {
      let input: Buffer;
      if (i % 8 === 0) {
        const length = Math.floor(random() * 24);
        for (let j = 0; j < length; j++) scratch[j] = Math.floor(random() * 256);
        if (length > 0) scratch[0] = Math.floor(random() * 13);
        input = scratch.subarray(0, length);
      } else {
        input = mutate(random, frames[i % frames.length]!, scratch);
      }
      const frame = attempt(decodePeerFrame, input, 'decodePeerFrame', keptFrames) as PeerFrame | undefined;
      if (frame === undefined) {
        rejected++;
        continue;
      }
      kinds.add(frame.type);
      if (frame.type === PeerFrameType.BUFFER_MAP) {
        map.assign(frame.base, frame.count, frame.bitmap, frame.rapBitmap);
        assert.ok(map.size <= map.capacity);
      }
    }
    assert.equal(kinds.size, new Set(frames.map((f) => f[0])).size, 'every frame type decoded at least once');
    assert.ok(rejected > n / 10, `${rejected} rejected`);
  });
});
