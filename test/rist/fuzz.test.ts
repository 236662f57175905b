// Fuzz: ≥ 1,000,000 seeded inputs into the RIST decoders (decodeRtp, decodeRtcp) and, for what
// decodes, into the sender and receiver cores. Every input either decodes or throws a ParseError
// with a rist code and an offset inside the input; the cores never throw on what decodes.
// Kept findings under test/vectors/fuzz/rist-rtp/ and rist-rtcp/ are replayed first.
// PORTHOLE_SEED=<n> varies the seed (test/support/prng.ts); RIST_FUZZ_INPUTS=<n> changes the count.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import {
  decodeRtcp,
  decodeRtp,
  RistParseCode,
  RistReceiverCore,
  RistSenderCore,
  RtcpWriter,
  writeRtpHeader,
} from '../../src/rist/index.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { mutateInput } from '../support/fuzz-mutate.ts';
import { mulberry32, replayHint, testSeed } from '../support/prng.ts';
import { LIBRIST_SENDER_ECHO, LIBRIST_SENDER_SR, REPORT_BLOCK } from './vectors.ts';

const TOTAL = Number(process.env.RIST_FUZZ_INPUTS ?? 1_000_000);
const SEED = testSeed(20_261_217);
const CODES = new Set<string>(Object.values(RistParseCode));
const keptRtp = new FuzzCorpus('rist-rtp');
const keptRtcp = new FuzzCorpus('rist-rtcp');

function rtcpSeeds(): Buffer[] {
  const w = new RtcpWriter();
  const block = REPORT_BLOCK;
  const seeds: Buffer[] = [Buffer.from(LIBRIST_SENDER_SR, 'hex'), Buffer.from(LIBRIST_SENDER_ECHO, 'hex')];
  w.receiverReport(4, block).sdes(4, 'fuzz');
  w.nack('range', 4, [1, 2, 3, 9, 100]);
  seeds.push(w.finish());
  w.receiverReport(4).sdes(4, 'fuzz');
  w.nack('bitmask', 4, [1, 2, 3, 9, 100]);
  seeds.push(w.finish());
  seeds.push(w.echo(true, 4, 1, 2, 3).finish());
  return seeds;
}

function rtpSeed(): Buffer {
  const data = Buffer.alloc(12 + 4 + 8 + 188 * 2 + 3);
  writeRtpHeader(data, 33, 100, 5, 8);
  data[0] = 0x80 | 0x20 | 0x10 | 1;
  data.writeUInt16BE(1, 18);
  data[data.length - 1] = 3;
  return data;
}

function attempt<T>(
  decode: (b: Buffer) => T,
  input: Buffer,
  what: string,
  corpus: FuzzCorpus,
): T | undefined {
  try {
    return decode(input);
  } catch (error) {
    if (
      !(error instanceof ParseError) ||
      !CODES.has(error.code) ||
      error.offset < 0 ||
      error.offset > input.length
    ) {
      const kept = corpus.keep(Buffer.from(input), `${what}: ${String(error)} (${replayHint()})`);
      assert.fail(`${what}: ${String(error)}; kept as ${kept} (${replayHint()})`);
    }
    return undefined;
  }
}

describe('fuzz', () => {
  it('replays the kept findings first', () => {
    keptRtp.replay((input) => attempt(decodeRtp, input, 'kept rtp', keptRtp));
    keptRtcp.replay((input) => attempt(decodeRtcp, input, 'kept rtcp', keptRtcp));
  });

  it(`decodeRtp takes ${Math.floor(TOTAL / 2)} mutated packets; the receiver core takes what decodes`, (t) => {
    t.diagnostic(`seed ${SEED} (${replayHint()})`);
    const random = mulberry32(SEED);
    const base = rtpSeed();
    const scratch = Buffer.alloc(base.length + 32);
    const core = new RistReceiverCore({ latencyMs: 50, bufferPackets: 1024 }, 0);
    let decoded = 0;
    const n = Math.floor(TOTAL / 2);
    for (let i = 0; i < n; i++) {
      const input = mutateInput(random, base, scratch, 32);
      const p = attempt(decodeRtp, input, 'decodeRtp', keptRtp);
      if (p === undefined) continue;
      decoded++;
      core.receiveRtp(p, i / 100);
      if ((i & 63) === 0) {
        core.poll(i / 100);
        core.drainOutput();
        core.drainRtcp();
      }
    }
    assert.ok(decoded > 0 && decoded < n, `${decoded} of ${n} decoded`);
  });

  it(`decodeRtcp takes ${TOTAL - Math.floor(TOTAL / 2)} mutated compounds; both cores take what decodes`, (t) => {
    t.diagnostic(`seed ${SEED} (${replayHint()})`);
    const random = mulberry32(SEED ^ 0x5eed);
    const seeds = rtcpSeeds();
    const scratch = Buffer.alloc(256);
    const sender = new RistSenderCore({ bufferPackets: 1024 }, 0);
    for (let i = 0; i < 200; i++) sender.send(Buffer.alloc(188), 0);
    const receiver = new RistReceiverCore({}, 0);
    let decoded = 0;
    const n = TOTAL - Math.floor(TOTAL / 2);
    for (let i = 0; i < n; i++) {
      const input = mutateInput(random, seeds[i % seeds.length] as Buffer, scratch, 32);
      const packets = attempt(decodeRtcp, input, 'decodeRtcp', keptRtcp);
      if (packets === undefined) continue;
      decoded++;
      sender.receiveRtcp(packets, i);
      receiver.receiveRtcp(packets, i);
      if ((i & 63) === 0) {
        sender.drain();
        receiver.drainRtcp();
      }
    }
    assert.ok(decoded > 0 && decoded < n, `${decoded} of ${n} decoded`);
  });
});
