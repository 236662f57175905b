// The chunker on real ffmpeg output: the kept vectors, and the live test pattern from the ffmpeg
// binary (the npm one or Debian's). Chunks verify; their payloads concatenated decode with ffmpeg
// without a single error; every random-access chunk starts with the PAT, the PMT and an IDR.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { findFfmpeg, openTestPattern } from '../../src/live/ffmpeg.ts';
import { createChannel, decodeChunk, openChannel, verifyChunk } from '../../src/live/index.ts';
import { createTsPacketInfo, PAT_PID, readTsPacket } from '../../src/live/mpegts-packet.ts';
import { AccessUnitKind, AccessUnitScanner, readPesHeader, VideoCodec } from '../../src/live/mpegts-pes.ts';
import { TsChunker } from '../../src/live/source-chunker.ts';
import { checkLeaks } from '../support/leaks.ts';

const VECTORS = new URL('../vectors/live/ts/', import.meta.url);
const channel = createChannel(Buffer.alloc(32, 3));
const key = openChannel(channel.publicKey, channel.id);
const ffmpeg = findFfmpeg();
checkLeaks();

/** ffmpeg's error output decoding `ts` (empty: no error). */
function decodeErrors(ts: Buffer): string {
  const r = spawnSync(ffmpeg, ['-hide_banner', '-v', 'error', '-i', 'pipe:0', '-f', 'null', '-'], {
    input: ts,
    maxBuffer: 1 << 24,
  });
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stderr
    .toString()
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('Fontconfig'))
    .join('\n');
}

/** PIDs of the first packets of a payload, and whether the video PES at the first video packet is an IDR. */
function describeStart(payload: Buffer, videoPid: number): { pids: number[]; idr: boolean } {
  const info = createTsPacketInfo();
  const pids: number[] = [];
  for (let at = 0; at < Math.min(payload.length, 188 * 3); at += 188)
    pids.push(readTsPacket(payload, at, info).pid);
  const scanner = new AccessUnitScanner();
  for (let at = 0; at < payload.length; at += 188) {
    readTsPacket(payload, at, info);
    if (info.pid !== videoPid) continue;
    const end = info.payloadStart + info.payloadLength;
    let from = info.payloadStart;
    if (info.payloadUnitStart) {
      from = readPesHeader(payload, from, end).esStart;
      scanner.reset(VideoCodec.H264);
    }
    const kind = scanner.feed(payload, from, end);
    if (kind !== AccessUnitKind.UNKNOWN) return { pids, idr: kind === AccessUnitKind.RANDOM_ACCESS };
  }
  return { pids, idr: false };
}

function checkChunks(chunks: Buffer[], chunker: TsChunker): Buffer {
  const payloads: Buffer[] = [];
  let seq = -1;
  for (const bytes of chunks) {
    const c = decodeChunk(bytes);
    assert.equal(verifyChunk(c, key), null);
    if (seq >= 0) assert.equal(c.seq, seq + 1);
    seq = c.seq;
    assert.ok(c.durationMs >= 1 && c.durationMs <= 1100, `duration ${c.durationMs}`);
    if (c.flags & 1) {
      const start = describeStart(c.payload, chunker.stats().videoPid);
      assert.deepEqual(
        start.pids.slice(0, 2),
        [PAT_PID, 0x1000],
        'a random-access chunk starts with PAT, PMT',
      );
      assert.equal(start.pids[2], chunker.stats().videoPid, 'then the video');
      assert.ok(start.idr, 'and its first picture is an IDR');
    }
    payloads.push(c.payload);
  }
  return Buffer.concat(payloads);
}

describe('TsChunker', () => {
  it('cuts the kept H.264 vector at its IDRs into chunks that verify and decode without errors', () => {
    const ts = readFileSync(new URL('h264-aac-2s.mpegts', VECTORS));
    const chunker = new TsChunker({ channel, chunkDurationMs: 250, firstSeq: 10 });
    let now = 1_000_000;
    for (let at = 0; at < ts.length; at += 188 * 7) {
      now += 5;
      chunker.push(ts.subarray(at, at + 188 * 7), now);
    }
    chunker.flush(now);
    const chunks = chunker.takeChunks();
    const stats = chunker.stats();
    assert.equal(stats.randomAccess, 2, 'one random-access chunk per IDR');
    assert.equal(stats.codec, 'h264');
    assert.ok(stats.chunks >= 6, `${stats.chunks} chunks of about 250 ms in 2 s`);
    assert.equal(decodeChunk(chunks[0]!).seq, 10);
    assert.equal(decodeChunk(chunks[0]!).flags & 1, 1, 'the stream starts at an IDR');
    const total = chunks.reduce((n, c) => n + decodeChunk(c).durationMs, 0);
    assert.ok(total >= 1800 && total <= 2100, `durations add up to the media time: ${total} ms`);
    assert.equal(decodeErrors(checkChunks(chunks, chunker)), '');
    // A viewer joining at the second random-access chunk decodes from its first byte.
    const join = chunks.findIndex((c, i) => i > 0 && decodeChunk(c).flags & 1);
    assert.equal(decodeErrors(Buffer.concat(chunks.slice(join).map((c) => decodeChunk(c).payload))), '');
  });

  it('cuts the kept HEVC vector at its IRAP pictures', () => {
    const ts = readFileSync(new URL('hevc-2s.mpegts', VECTORS));
    const chunker = new TsChunker({ channel, firstSeq: 0 });
    chunker.push(ts, 1);
    chunker.flush(2);
    const chunks = chunker.takeChunks().map((b) => decodeChunk(b));
    assert.equal(chunker.stats().codec, 'hevc');
    assert.equal(chunker.stats().randomAccess, 2);
    assert.ok(chunks.every((c) => verifyChunk(c, key) === null));
    assert.equal(decodeErrors(Buffer.concat(chunks.map((c) => c.payload))), '');
  });

  it('honours maxPayloadBytes and flags a discontinuity after markDiscontinuity', () => {
    const ts = readFileSync(new URL('h264-aac-2s.mpegts', VECTORS));
    const chunker = new TsChunker({ channel, maxPayloadBytes: 188 * 40, firstSeq: 0 });
    chunker.push(ts.subarray(0, 188 * 200), 1);
    chunker.flush(2);
    chunker.markDiscontinuity();
    chunker.push(ts, 3);
    chunker.flush(4);
    const chunks = chunker.takeChunks().map((b) => decodeChunk(b));
    assert.ok(chunks.every((c) => c.payload.length <= 188 * 40));
    assert.ok(chunker.stats().sizeCuts > 0);
    const flagged = chunks.filter((c) => c.flags & 2);
    assert.equal(flagged.length, 1, 'exactly the first chunk after the restart');
    assert.ok(flagged[0]!.flags & 1, 'which starts at the new stream’s IDR');
  });

  it('cuts the live test pattern (real ffmpeg) into chunks that decode with zero errors', async () => {
    const input = openTestPattern({ bitrateKbps: 600, width: 320, height: 180 });
    const chunker = new TsChunker({ channel });
    const chunks: Buffer[] = [];
    for await (const packets of input) {
      chunker.push(packets, Date.now());
      chunks.push(...chunker.takeChunks());
      if (chunker.stats().randomAccess >= 3) break;
    }
    await input.close();
    chunker.flush(Date.now());
    chunks.push(...chunker.takeChunks());
    const stats = chunker.stats();
    assert.ok(stats.randomAccess >= 3);
    assert.equal(stats.malformedPackets, 0);
    assert.equal(stats.psiErrors, 0);
    const now = Date.now();
    for (const c of chunks)
      assert.ok(Math.abs(decodeChunk(c).timestampMs - now) < 60_000, 'wall-clock Unix ms');
    assert.equal(decodeErrors(checkChunks(chunks, chunker)), '');
    assert.equal(input.stats().kind, 'testpattern');
  });
});
