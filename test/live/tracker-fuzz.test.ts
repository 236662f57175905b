// Fuzz: ≥ 1,000,000 seeded inputs into the tracker's decoders (every tracker frame type, the node
// report, the token) and a slice of them into TrackerCore.receive, which must never throw. Every
// input either decodes or throws the documented error (ParseError with a live code and an offset
// inside the input; TokenError MALFORMED for tokens). Kept findings under
// test/vectors/fuzz/live-tracker*/ are replayed first. TRACKER_FUZZ_INPUTS=<n> changes the count.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import {
  decodeNodeReport,
  decodeTrackerFrame,
  encodeNodeReport,
  encodeTrackerFrame,
  LiveParseCode,
  LiveTokenCode,
  TrackerCore,
  type TrackerFrame,
  TrackerMessage,
  TrackerStatus,
} from '../../src/live/index.ts';
import { decodeTokenPayload, TokenError, tokenBytes } from '../../src/live/token.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { mulberry32, replayHint, testSeed } from '../support/prng.ts';
import { CHANNEL, SECRET, tokenFor } from './tracker-helpers.ts';

const TOTAL = Number(process.env.TRACKER_FUZZ_INPUTS ?? 1_000_000);
const SEED = testSeed(0x7acc_e5);
const CODES = new Set<string>(Object.values(LiveParseCode));
const keptFrames = new FuzzCorpus('live-tracker-frame');
const keptReports = new FuzzCorpus('live-tracker-report');
const keptTokens = new FuzzCorpus('live-tracker-token');

const session = Buffer.from('0011223344556677', 'hex');
const token = tokenBytes(tokenFor('fuzz-peer', 'peer', 4_102_444_800_000));
const edges = [
  { id: 'edge-a', endpoint: { address: '192.0.2.1', port: 9000 } },
  { id: 'edge-b', endpoint: { address: '2001:db8::1', port: 9001 } },
];
const frames: Buffer[] = (
  [
    {
      type: TrackerMessage.JOIN,
      seq: 1,
      role: 'peer',
      nat: 'symmetric',
      relay: true,
      uploadCapBps: 5e6,
      channelId: CHANNEL.id,
      nonce: Buffer.alloc(8, 3),
      peerId: 'fuzz-peer',
      tokenPayload: token.subarray(0, -32),
      proof: Buffer.alloc(32, 4),
      edgeEndpoint: null,
      source: null,
    },
    {
      type: TrackerMessage.JOIN,
      seq: 2,
      role: 'source',
      nat: 'open',
      relay: false,
      uploadCapBps: 0,
      channelId: CHANNEL.id,
      nonce: Buffer.alloc(8, 3),
      peerId: 'src',
      tokenPayload: Buffer.alloc(0),
      proof: Buffer.alloc(0),
      edgeEndpoint: { address: '198.51.100.3', port: 5000 },
      source: { publicKey: CHANNEL.publicKey, signature: Buffer.alloc(64, 7) },
    },
    { type: TrackerMessage.CHALLENGE, seq: 3, nonce: Buffer.alloc(8, 9) },
    {
      type: TrackerMessage.JOINED,
      seq: 4,
      status: TrackerStatus.OK,
      session,
      nodeTimeoutMs: 30000,
      publicKey: CHANNEL.publicKey,
      observed: { address: '203.0.113.9', port: 40000 },
      edgesVersion: 7,
      edges,
    },
    { type: TrackerMessage.KEEPALIVE, seq: 5, session, spareUploadBps: 123 },
    { type: TrackerMessage.ACK, seq: 6, status: TrackerStatus.NOT_JOINED, session, edgesVersion: 2 },
    { type: TrackerMessage.SAMPLE, seq: 7, session, want: 16 },
    {
      type: TrackerMessage.SAMPLE_RESULT,
      seq: 8,
      status: TrackerStatus.OK,
      edgesVersion: 3,
      edges,
      candidates: [
        { id: 'c1', nat: 'full-cone', uploads: true, spareUploadBps: 1e6 },
        { id: 'c2', nat: 'port-restricted', uploads: false, spareUploadBps: 0 },
      ],
    },
    { type: TrackerMessage.REPORT, seq: 0, session, report: Buffer.alloc(3) },
    { type: TrackerMessage.FORGED, seq: 9, session, peerId: 'polluter' },
    { type: TrackerMessage.LEAVE, seq: 10, session },
  ] satisfies TrackerFrame[]
).map(encodeTrackerFrame);
const report = encodeNodeReport({
  role: 'peer',
  natClass: 'symmetric',
  uploadBps: 1,
  downloadBps: 2,
  bytesFromEdge: 3,
  bytesFromPeers: 4,
  bytesUp: 5,
  continuity: 0.5,
  latencyP50Ms: 6,
  latencyP95Ms: 7,
  stalls: 8,
  bans: 9,
  chunksPlayed: 10,
  chunksMissed: 11,
  neighbours: [
    { id: 'n1', pathKind: 'relay', rxBps: 1, txBps: 2 },
    { id: 'n2-longer-id', pathKind: 'edge', rxBps: 3, txBps: 4 },
  ],
});

function attempt(decode: (b: Buffer) => unknown, input: Buffer, what: string, corpus?: FuzzCorpus): unknown {
  try {
    return decode(input);
  } catch (error) {
    const ok =
      (error instanceof ParseError &&
        CODES.has(error.code) &&
        error.offset >= 0 &&
        error.offset <= input.length) ||
      (error instanceof TokenError && error.code === LiveTokenCode.MALFORMED);
    if (!ok) {
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
  for (let f = 0; f < flips && length > 0; f++) {
    const at = random() < 0.5 ? Math.floor(random() * Math.min(16, length)) : Math.floor(random() * length);
    if (random() < 0.5) scratch[at] = Math.floor(random() * 256);
    else scratch[at]! ^= 1 << Math.floor(random() * 8);
  }
  return scratch.subarray(0, length);
}

describe('tracker fuzz', () => {
  it('replays the kept findings first', () => {
    keptFrames.replay((input) => attempt(decodeTrackerFrame, input, 'kept frame'));
    keptReports.replay((input) => attempt(decodeNodeReport, input, 'kept report'));
    keptTokens.replay((input) => attempt(decodeTokenPayload, input, 'kept token'));
  });

  const nFrames = Math.floor(TOTAL * 0.6);
  it(`decodeTrackerFrame takes ${nFrames} mutated frames; TrackerCore.receive a slice, never throwing`, (t) => {
    t.diagnostic(`seed ${SEED} (${replayHint()})`);
    const random = mulberry32(SEED);
    const scratch = Buffer.alloc(512);
    const core = new TrackerCore({ secret: SECRET, random });
    const kinds = new Set<number>();
    let rejected = 0;
    for (let i = 0; i < nFrames; i++) {
      const input = mutate(random, frames[i % frames.length]!, scratch);
      const frame = attempt(decodeTrackerFrame, input, 'decodeTrackerFrame', keptFrames) as
        | TrackerFrame
        | undefined;
      if (frame === undefined) rejected++;
      else kinds.add(frame.type);
      if (i % 32 === 0) {
        core.receive(input, { address: '192.0.2.77', port: 1 + (i % 1000) }, 1_000_000 + i);
        core.drain();
        core.drainEvents();
      }
    }
    assert.equal(kinds.size, new Set(frames.map((f) => f[2])).size, 'every frame type decoded at least once');
    assert.ok(rejected > nFrames / 10, `${rejected} rejected`);
    const s = core.stats();
    assert.ok(s.malformed > 0 && s.nodes === 0, JSON.stringify(s));
  });

  const nReports = Math.floor(TOTAL * 0.25);
  it(`decodeNodeReport takes ${nReports} mutated reports`, () => {
    const random = mulberry32(SEED ^ 0x4e70);
    const scratch = Buffer.alloc(256);
    let decoded = 0;
    for (let i = 0; i < nReports; i++) {
      if (
        attempt(decodeNodeReport, mutate(random, report, scratch), 'decodeNodeReport', keptReports) !==
        undefined
      )
        decoded++;
    }
    assert.ok(decoded > 0 && decoded < nReports, `${decoded} decoded`);
  });

  const nTokens = TOTAL - nFrames - nReports;
  it(`token payloads: ${nTokens} mutated`, () => {
    const random = mulberry32(SEED ^ 0x70c3);
    const scratch = Buffer.alloc(256);
    const payload = token.subarray(0, -32);
    let decoded = 0;
    for (let i = 0; i < nTokens; i++) {
      if (
        attempt(decodeTokenPayload, mutate(random, payload, scratch), 'decodeTokenPayload', keptTokens) !==
        undefined
      )
        decoded++;
    }
    assert.ok(decoded > 0 && decoded < nTokens, `${decoded} decoded`);
  });
});
