// Fuzz: ≥ 1,000,000 seeded inputs into the RIST decoders (decodeRtp, decodeRtcp) and, for what
// decodes, into the sender and receiver cores; ≥ 1,000,000 more into the Main profile's GRE
// decoders through MainFraming.unwrap in the clear (decodeGre, decodeGreBody, then the inner RTP or
// RTCP decoder), and RIST_FUZZ_INPUTS / 50 through a framing with a secret (decryption and the
// key check). Every input either decodes or throws a ParseError with a rist code and an offset
// inside the input; the cores never throw on what decodes; with a secret, nothing under a nonce
// whose key no RTCP compound proved is delivered as RTP.
// Kept findings under test/vectors/fuzz/rist-rtp/, rist-rtcp/ and rist-gre/ are replayed first.
// PORTHOLE_SEED=<n> varies the seed (test/support/prng.ts); RIST_FUZZ_INPUTS=<n> changes the count.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import {
  decodeGre,
  decodeRtcp,
  decodeRtp,
  encodeKeepalive,
  GreProtocol,
  MainFraming,
  RistParseCode,
  RistReceiverCore,
  RistSenderCore,
  RtcpWriter,
  writeRtpHeader,
} from '../../src/rist/index.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { mutateInput } from '../support/fuzz-mutate.ts';
import { mulberry32, replayHint, testSeed } from '../support/prng.ts';
import {
  LIBRIST_MAIN_RTP_HEAD,
  LIBRIST_MAIN_SR,
  LIBRIST_PSK_SECRET,
  LIBRIST_PSK128_SR,
  LIBRIST_PSK256_SR,
  LIBRIST_SENDER_ECHO,
  LIBRIST_SENDER_SR,
  REPORT_BLOCK,
} from './vectors.ts';

const TOTAL = Number(process.env.RIST_FUZZ_INPUTS ?? 1_000_000);
const SEED = testSeed(20_261_217);
const CODES = new Set<string>(Object.values(RistParseCode));
const keptRtp = new FuzzCorpus('rist-rtp');
const keptRtcp = new FuzzCorpus('rist-rtcp');
const keptGre = new FuzzCorpus('rist-gre');

/** GRE seeds: librist's datagrams, porthole's own (clear, keepalive, the VSF type, a checksum). */
function greSeeds(): Buffer[] {
  const clear = new MainFraming();
  const rtcp = new RtcpWriter().receiverReport(4, REPORT_BLOCK).sdes(4, 'fuzz').finish();
  const vsf = Buffer.from(LIBRIST_MAIN_SR, 'hex');
  const vsfData = Buffer.concat([vsf.subarray(0, 4), Buffer.from([0, 0, 0, 0]), vsf.subarray(4)]);
  vsfData.writeUInt16BE(GreProtocol.VSF, 2);
  const withChecksum = Buffer.concat([Buffer.from([0x80, 0, 0x88, 0xb6, 0, 0, 0, 0]), vsf.subarray(4)]);
  return [
    Buffer.from(LIBRIST_MAIN_SR, 'hex'),
    Buffer.from(LIBRIST_MAIN_RTP_HEAD, 'hex'),
    clear.wrap(rtpSeed(), { src: 1971, dst: 1968 }),
    clear.wrap(rtcp, { src: 1971, dst: 1969 }),
    encodeKeepalive(Buffer.from('020000000001', 'hex'), 0xffff),
    vsfData,
    withChecksum,
  ];
}

/** The key a receiver would use for an encrypted datagram (as PskOpener tells keys apart). */
function keyId(input: Buffer): string {
  try {
    const g = decodeGre(input);
    return g.keyed ? `${g.nonce}/${g.version >= 1 && g.aes256 ? 256 : 128}` : 'clear';
  } catch {
    return 'malformed';
  }
}

/** Unwraps one GRE datagram and decodes what is inside (the RTP or RTCP decoder). */
function unwrapAll(framing: MainFraming, input: Buffer, nowMs: number, known: boolean): string {
  const u = framing.unwrap(input, { address: '127.0.0.1', port: 9 }, nowMs, () => known);
  for (const held of framing.drainReleased()) if (held.kind === 'rtp') decodeRtp(held.packet);
  if (u === undefined) return 'dropped';
  if (u.kind === 'rtp') decodeRtp(u.packet);
  else if (u.kind === 'rtcp') decodeRtcp(u.packet);
  return u.kind;
}

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
    const framing = new MainFraming();
    keptGre.replay((input) => attempt((b) => unwrapAll(framing, b, 0, false), input, 'kept gre', keptGre));
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

  it(`MainFraming.unwrap (GRE, reduced header, keepalive, inner RTP/RTCP) takes ${TOTAL} mutated datagrams in the clear`, (t) => {
    t.diagnostic(`seed ${SEED} (${replayHint()})`);
    const random = mulberry32(SEED ^ 0x6e1e);
    const seeds = greSeeds();
    const scratch = Buffer.alloc(512);
    const framing = new MainFraming();
    const kinds = new Map<string, number>();
    for (let i = 0; i < TOTAL; i++) {
      const input = mutateInput(random, seeds[i % seeds.length] as Buffer, scratch, 24);
      const kind = attempt((b) => unwrapAll(framing, b, i, false), input, 'unwrap', keptGre) ?? 'error';
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    t.diagnostic(JSON.stringify(Object.fromEntries(kinds)));
    for (const kind of ['rtp', 'rtcp', 'keepalive', 'dropped', 'error'])
      assert.ok((kinds.get(kind) ?? 0) > 0, kind);
  });

  it(`with a secret, ${Math.floor(TOTAL / 50)} mutated encrypted datagrams decode or drop, and nothing under an unproven key is delivered as RTP`, (t) => {
    t.diagnostic(`seed ${SEED} (${replayHint()})`);
    const random = mulberry32(SEED ^ 0xae5);
    const seeds = [LIBRIST_PSK128_SR, LIBRIST_PSK256_SR].map((h) => Buffer.from(h, 'hex'));
    const scratch = Buffer.alloc(256);
    const framing = new MainFraming({ secret: LIBRIST_PSK_SECRET });
    const kinds = new Map<string, number>();
    const n = Math.floor(TOTAL / 50);
    // Nonces whose key an RTCP compound proved. CTR has no integrity (nor has librist's PSK): a
    // flipped bit under a proven key may turn into RTP; under any other nonce nothing is RTP.
    const proven = new Set<string>();
    for (let i = 0; i < n; i++) {
      const input = mutateInput(random, seeds[i % seeds.length] as Buffer, scratch, 24);
      const nonce = keyId(input);
      const kind =
        attempt((b) => unwrapAll(framing, b, i, false), input, 'unwrap (secret)', keptGre) ?? 'error';
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      if (kind === 'rtcp') proven.add(nonce);
      if (kind === 'rtp')
        assert.ok(proven.has(nonce), `RTP under an unproven nonce ${nonce} (${replayHint()})`);
    }
    t.diagnostic(`${JSON.stringify(Object.fromEntries(kinds))} ${JSON.stringify(framing.stats())}`);
    assert.ok((kinds.get('rtcp') ?? 0) > 0 && (kinds.get('dropped') ?? 0) > 0);
  });
});
