// MPEG-TS parsing: packet headers, PAT/PMT with CRC-32, PES headers and IDR/IRAP detection, the
// sync-recovering reader — on real ffmpeg output kept under test/vectors/live/ts/ (see its README)
// and fuzzed with ≥ 1,000,000 seeded inputs (MPEGTS_FUZZ_INPUTS=<n> changes the count;
// PORTHOLE_SEED varies it). Kept findings: test/vectors/fuzz/live-mpegts/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import { MpegTsParseCode } from '../../src/live/errors.ts';
import { createTsPacketInfo, PAT_PID, readTsPacket } from '../../src/live/mpegts-packet.ts';
import { AccessUnitKind, AccessUnitScanner, readPesHeader, VideoCodec } from '../../src/live/mpegts-pes.ts';
import {
  crc32Mpeg,
  parsePat,
  parsePmt,
  SectionAssembler,
  STREAM_TYPE_H264,
  STREAM_TYPE_HEVC,
} from '../../src/live/mpegts-psi.ts';
import { TsPacketReader } from '../../src/live/mpegts-reader.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { Prng, replayHint, testSeed } from '../support/prng.ts';

const VECTORS = new URL('../vectors/live/ts/', import.meta.url);
const h264 = readFileSync(new URL('h264-aac-2s.mpegts', VECTORS));
const hevc = readFileSync(new URL('hevc-2s.mpegts', VECTORS));
const CODES = new Set<string>(Object.values(MpegTsParseCode));
const TOTAL = Number(process.env.MPEGTS_FUZZ_INPUTS ?? 1_000_000);
const kept = new FuzzCorpus('live-mpegts');

/** The first complete section of `pid` in `ts`. */
function firstSection(ts: Buffer, pid: number): Buffer {
  const info = createTsPacketInfo();
  const assembler = new SectionAssembler();
  for (let at = 0; at + 188 <= ts.length; at += 188) {
    readTsPacket(ts, at, info);
    if (info.pid !== pid) continue;
    const s = assembler.push(
      ts.subarray(info.payloadStart, info.payloadStart + info.payloadLength),
      info.payloadUnitStart,
    );
    if (s !== undefined) return Buffer.from(s);
  }
  throw new Error(`no section on PID ${pid}`);
}

/** Random-access points of the video PID: PES starts whose access unit is IDR/IRAP. */
function randomAccessPoints(ts: Buffer, videoPid: number, codec: 'h264' | 'hevc'): number {
  const info = createTsPacketInfo();
  const scanner = new AccessUnitScanner();
  let raps = 0;
  let open = false;
  for (let at = 0; at + 188 <= ts.length; at += 188) {
    readTsPacket(ts, at, info);
    if (info.pid !== videoPid || info.payloadLength === 0) continue;
    const end = info.payloadStart + info.payloadLength;
    let from = info.payloadStart;
    if (info.payloadUnitStart) {
      from = readPesHeader(ts, info.payloadStart, end).esStart;
      scanner.reset(codec);
      open = true;
    }
    if (!open) continue;
    const kind = scanner.feed(ts, from, end);
    if (kind !== AccessUnitKind.UNKNOWN) {
      if (kind === AccessUnitKind.RANDOM_ACCESS) raps++;
      open = false;
    }
  }
  return raps;
}

describe('MPEG-TS parsing of real ffmpeg output', () => {
  it('reads every packet header of the vectors', () => {
    const info = createTsPacketInfo();
    for (const ts of [h264, hevc]) {
      assert.equal(ts.length % 188, 0);
      let pcrs = 0;
      for (let at = 0; at < ts.length; at += 188) {
        readTsPacket(ts, at, info);
        assert.ok(info.payloadStart >= at + 4 && info.payloadStart + info.payloadLength <= at + 188);
        if (info.pcr >= 0) pcrs++;
      }
      assert.ok(pcrs > 10, 'ffmpeg carries a PCR every few tens of ms');
    }
  });

  it('parses the PAT and PMT (CRC checked) and finds the video PID and codec', () => {
    const pat = parsePat(firstSection(h264, PAT_PID));
    assert.equal(pat.programs.length, 1);
    const pmtPid = pat.programs[0]!.pmtPid;
    assert.equal(pmtPid, 0x1000, "ffmpeg's default PMT PID");
    const pmt = parsePmt(firstSection(h264, pmtPid));
    const video = pmt.streams.find((s) => s.streamType === STREAM_TYPE_H264);
    assert.equal(video?.pid, 0x100);
    assert.ok(
      pmt.streams.some((s) => s.streamType === 0x0f),
      'the AAC stream',
    );
    assert.equal(pmt.pcrPid, 0x100);
    const hevcPmt = parsePmt(firstSection(hevc, parsePat(firstSection(hevc, 0)).programs[0]!.pmtPid));
    assert.equal(hevcPmt.streams[0]?.streamType, STREAM_TYPE_HEVC);
  });

  it('rejects a section whose CRC does not match, at the CRC', () => {
    const pat = firstSection(h264, PAT_PID);
    assert.equal(crc32Mpeg(pat), 0, 'a whole section has CRC residue 0');
    const bad = Buffer.from(pat);
    bad[4]! ^= 0x01;
    assert.throws(
      () => parsePat(bad),
      (e: unknown) =>
        e instanceof ParseError && e.code === MpegTsParseCode.BAD_CRC && e.offset === bad.length - 4,
    );
  });

  it('finds one IDR (H.264) / IRAP (HEVC) per second: the keyframes ffprobe reports', () => {
    // ffprobe -select_streams v -show_entries packet=flags: 2 keyframes in each 2 s vector (GOP 25 at 25 fps).
    assert.equal(randomAccessPoints(h264, 0x100, VideoCodec.H264), 2);
    assert.equal(randomAccessPoints(hevc, 0x100, VideoCodec.HEVC), 2);
  });

  it('recovers sync after garbage and across arbitrary read boundaries', () => {
    const prng = new Prng(testSeed(0x7511));
    const garbage = prng.bytes(Buffer.alloc(1000));
    garbage.fill(0x47, 100, 101);
    const stream = Buffer.concat([
      garbage,
      h264.subarray(0, 188 * 50),
      garbage.subarray(0, 77),
      h264.subarray(188 * 50),
    ]);
    const reader = new TsPacketReader();
    const out: Buffer[] = [];
    for (let at = 0; at < stream.length; ) {
      const n = 1 + prng.int(3000);
      reader.push(stream.subarray(at, at + n), (p) => out.push(Buffer.from(p)));
      at += n;
    }
    const got = Buffer.concat(out);
    assert.equal(got.length % 188, 0);
    for (let at = 0; at < got.length; at += 188) assert.equal(got[at], 0x47);
    // Every packet of the vector came through but the one the inserted garbage broke.
    assert.ok(got.length >= h264.length - 188 * 2, `${got.length} of ${h264.length}`);
    assert.equal(reader.stats().resyncs, 1);
    assert.ok(reader.stats().skippedBytes >= 1000);
  });

  it('names the byte of each malformed packet', () => {
    const info = createTsPacketInfo();
    const packet = Buffer.from(h264.subarray(0, 188));
    const cases: [(p: Buffer) => void, string, number][] = [
      [
        (p) => {
          p[0] = 0x00;
        },
        MpegTsParseCode.SYNC,
        0,
      ],
      [
        (p) => {
          p[3] = p[3]! & 0xcf;
        },
        MpegTsParseCode.BAD_ADAPTATION,
        3,
      ],
      [
        (p) => {
          p[3] = (p[3]! & 0xcf) | 0x30;
          p[4] = 183;
        },
        MpegTsParseCode.BAD_ADAPTATION,
        4,
      ],
    ];
    for (const [mutate, code, offset] of cases) {
      const p = Buffer.from(packet);
      mutate(p);
      assert.throws(
        () => readTsPacket(p, 0, info),
        (e: unknown) => e instanceof ParseError && e.code === code && e.offset === offset,
      );
    }
    assert.throws(() => readTsPacket(packet.subarray(0, 100), 0, info), { code: MpegTsParseCode.TRUNCATED });
  });
});

/** Runs one decoder; a throw other than a ParseError with an MPEG-TS code inside the input fails. */
function attempt(what: string, input: Buffer, run: (b: Buffer) => unknown): void {
  try {
    run(input);
  } catch (error) {
    if (
      error instanceof ParseError &&
      CODES.has(error.code) &&
      error.offset >= 0 &&
      error.offset <= input.length
    )
      return;
    const file = kept.keep(Buffer.from(input), `${what}: ${String(error)} (${replayHint()})`);
    assert.fail(`${what}: ${String(error)}; kept as ${file} (${replayHint()})`);
  }
}

const info = createTsPacketInfo();
const scanner = new AccessUnitScanner();
const decoders: [string, (b: Buffer) => unknown][] = [
  ['packet', (b) => readTsPacket(b, 0, info)],
  ['pat', (b) => parsePat(b)],
  ['pmt', (b) => parsePmt(b)],
  ['pes', (b) => readPesHeader(b, 0, b.length)],
  [
    'access unit',
    (b) => {
      scanner.reset(b[0]! & 1 ? VideoCodec.HEVC : VideoCodec.H264);
      return scanner.feed(b, 0, b.length);
    },
  ],
  ['section assembler', (b) => new SectionAssembler().push(b, (b[0]! & 1) === 1)],
];

describe('MPEG-TS fuzz', () => {
  it('replays the kept findings first', () => {
    kept.replay((input) => {
      for (const [what, run] of decoders) attempt(what, input, run);
    });
  });

  it(`${TOTAL} seeded inputs: every decoder returns or throws a ParseError inside the input`, (t) => {
    const seed = testSeed(0x2e75);
    t.diagnostic(`seed ${seed} (${replayHint()})`);
    const prng = new Prng(seed);
    // Seeds: real packets and sections, mutated.
    const pat = firstSection(h264, PAT_PID);
    const pmt = firstSection(h264, 0x1000);
    const samples = [
      pat,
      pmt,
      h264.subarray(0, 188),
      h264.subarray(188 * 3, 188 * 4),
      hevc.subarray(188 * 5, 188 * 6),
    ];
    let readerInput = 0;
    const reader = new TsPacketReader();
    // Stack traces of a million expected ParseErrors are most of the run's time.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    t.after(() => {
      Error.stackTraceLimit = limit;
    });
    for (let i = 0; i < TOTAL; i++) {
      const base = samples[i % samples.length]!;
      const input = Buffer.from(
        base.subarray(0, prng.int(8) === 0 ? prng.int(base.length + 1) : base.length),
      );
      const flips = 1 + prng.int(4);
      for (let k = 0; k < flips && input.length > 0; k++) input[prng.int(input.length)] = prng.int(256);
      const [what, run] = decoders[i % decoders.length]!;
      attempt(what, input, run);
      if (i % 64 === 0) {
        reader.push(input, () => readerInput++);
      }
    }
    assert.ok(readerInput >= 0);
  });
});
