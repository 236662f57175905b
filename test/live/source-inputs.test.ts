// Source inputs with a real ffmpeg sending: MPEG-TS over UDP and MPEG-TS in RTP (RFC 2250) on an
// even/odd pair reserved from a PortPool under the ingest's owner (double start refused, stop
// releases the pair, the ports cool down); a file looped and paced; stdin-like streams; the
// input spec parser; the RTP header decoder fuzzed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import { LiveSourceErrorCode, MpegTsParseCode } from '../../src/live/errors.ts';
import { findFfmpeg } from '../../src/live/ffmpeg.ts';
import { createChannel, decodeChunk, IngestServer, LiveSource } from '../../src/live/index.ts';
import { TsChunker } from '../../src/live/source-chunker.ts';
import { FileTsInput, StreamTsInput } from '../../src/live/source-file.ts';
import type { TsInput } from '../../src/live/source-input.ts';
import { parseInputSpec } from '../../src/live/source-input-spec.ts';
import { openRtpInput, readRtpPayload } from '../../src/live/source-rtp.ts';
import { openUdpInput } from '../../src/live/source-udp.ts';
import { demuxOf } from '../../src/mux/index.ts';
import { PortPool } from '../../src/ports/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { Prng, testSeed } from '../support/prng.ts';
import { waitFor } from '../support/wait.ts';

const ffmpeg = findFfmpeg();
const channel = createChannel(Buffer.alloc(32, 4));
const VECTOR = new URL('../vectors/live/ts/h264-aac-2s.mpegts', import.meta.url);
const children: ChildProcess[] = [];

after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
checkLeaks();

/** ffmpeg sending a 320x180 test pattern in real time to `url` as format `format`. */
function sender(format: 'mpegts' | 'rtp_mpegts', url: string): ChildProcess {
  const child = spawn(
    ffmpeg,
    [
      ...[
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'error',
        '-re',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x180:rate=25',
      ],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '25', '-b:v', '400k'],
      ...['-pix_fmt', 'yuv420p', '-f', format, url],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(child);
  return child;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('close', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Chunks `input` until `raps` random-access chunks were cut; returns the chunker's stats. */
async function chunkUntil(input: TsInput, raps: number): Promise<ReturnType<TsChunker['stats']>> {
  const chunker = new TsChunker({ channel });
  for await (const packets of input) {
    chunker.push(packets, Date.now());
    for (const c of chunker.takeChunks()) assert.ok(decodeChunk(c).payload.length > 0);
    if (chunker.stats().randomAccess >= raps) break;
  }
  return chunker.stats();
}

describe('source inputs', () => {
  it('takes MPEG-TS over UDP from ffmpeg (unicast) into a LiveSource: the edge gets chunks that decode without errors', async () => {
    const input = await openUdpInput({ address: '127.0.0.1', port: 0 });
    const child = sender('mpegts', `udp://127.0.0.1:${input.port}?pkt_size=1316`);
    const edgeSocket = createSocket('udp4');
    await new Promise<void>((resolve) => edgeSocket.bind(0, '127.0.0.1', () => resolve()));
    const server = new IngestServer({ demux: demuxOf(edgeSocket), channel });
    const got: Buffer[] = [];
    server.on('chunk', (_bytes, c) => {
      // From the first random-access chunk on: what a viewer joining there would play.
      if (got.length > 0 || c.flags & 1) got.push(c.payload);
    });
    const source = await LiveSource.start({
      channel,
      input,
      edges: [`127.0.0.1:${edgeSocket.address().port}`],
      address: '127.0.0.1',
    });
    await waitFor(() => source.stats().randomAccess >= 3 && got.length >= 8, {
      what: 'chunks of the UDP input at the edge',
      detail: () => source.stats(),
      timeoutMs: 20_000,
    });
    await stop(child);
    const stats = source.stats();
    await source.close();
    assert.equal(stats.chunker.codec, 'h264');
    assert.equal(stats.chunker.malformedPackets, 0);
    assert.ok(stats.input !== undefined && stats.input.packets > 100 && stats.input.resyncs === 0);
    const decoded = spawnSync(ffmpeg, ['-v', 'error', '-i', 'pipe:0', '-f', 'null', '-'], {
      input: Buffer.concat(got),
    });
    assert.equal(decoded.status, 0);
    assert.equal(decoded.stderr.toString().trim(), '', 'ffmpeg decodes the chunks without a single error');
    await server.close();
    await new Promise<void>((resolve) => edgeSocket.close(() => resolve()));
  });

  it('takes MPEG-TS over UDP multicast from ffmpeg (a group joined on loopback)', async () => {
    const group = '239.255.42.7';
    const input = await openUdpInput({ address: group, port: 46_377, interfaceAddress: '127.0.0.1' });
    const child = sender('mpegts', `udp://${group}:46377?localaddr=127.0.0.1&ttl=0&pkt_size=1316`);
    const stats = await chunkUntil(input, 2);
    assert.equal(stats.malformedPackets, 0);
    assert.ok(input.datagrams > 50);
    await stop(child);
    await input.close();
  });

  it('takes RTP (RFC 2250) on a pool pair under the ingest owner: double start refused, stop releases and cools', async () => {
    const pool = new PortPool({
      range: '46200-46299',
      host: '127.0.0.1',
      cooldownMs: 60_000,
      warnEphemeralOverlap: false,
    });
    const input = await openRtpInput({ pool, owner: 'ingest-1' });
    assert.equal(input.port % 2, 0, 'RTP on the even port');
    assert.equal(pool.reservation('ingest-1')?.ports.join(), `${input.port},${input.port + 1}`);
    await assert.rejects(openRtpInput({ pool, owner: 'ingest-1' }), { code: 'ERR_PORT_OWNER_EXISTS' });
    const child = sender('rtp_mpegts', `rtp://127.0.0.1:${input.port}`);
    const stats = await chunkUntil(input, 2);
    assert.equal(stats.malformedPackets, 0);
    assert.equal(input.stats().malformed, 0);
    assert.ok(input.packets > 50);
    await stop(child);
    const port = input.port;
    const cooling = pool.stats().cooling;
    await input.close();
    assert.equal(pool.reservation('ingest-1'), undefined, 'the owner id is free again');
    assert.equal(pool.stats().cooling, cooling + 2, 'both ports of the pair cool down in the pool');
    assert.ok(!pool.holds(port) || pool.stats().cooling >= 2);
    // The same ingest starts again: a new pair (the old one is cooling), no race.
    const again = await openRtpInput({ pool, owner: 'ingest-1' });
    assert.notEqual(again.port, port);
    await again.close();
    await pool.close();
  });

  it('reads a file looped and paced by its PCR, and a stream until it ends', async () => {
    const file = new FileTsInput({ path: VECTOR.pathname, realTime: false });
    let bytes = 0;
    for await (const packets of file) {
      bytes += packets.length;
      if (file.loops >= 2) break;
    }
    assert.ok(bytes >= 2 * readFileSync(VECTOR).length, 'two passes');
    await file.close();
    const paced = new FileTsInput({ path: VECTOR.pathname });
    const t0 = performance.now();
    let seen = 0;
    for await (const packets of paced) {
      seen += packets.length;
      if (seen > 40_000) break;
    }
    await paced.close();
    // About 1 s of media: pacing can only make it slower than the PCR says, never faster.
    assert.ok(performance.now() - t0 >= 300, 'paced by the PCR, not read at disk speed');
    const pipe = new PassThrough();
    const stream = new StreamTsInput(pipe, 'pipe');
    const vector = readFileSync(VECTOR);
    pipe.end(Buffer.concat([vector.subarray(0, 1000), vector.subarray(1000)]));
    let total = 0;
    for await (const packets of stream) total += packets.length;
    assert.equal(total, vector.length);
    await stream.close();
  });

  it('says which ffmpeg is missing with ERR_LIVE_FFMPEG_MISSING', () => {
    assert.throws(() => findFfmpeg('/nonexistent/ffmpeg'), {
      code: LiveSourceErrorCode.FFMPEG_MISSING,
      message: /\/nonexistent\/ffmpeg is not an executable file/,
    });
  });

  it('parses input specs and refuses bad ones with the option named', () => {
    assert.deepEqual(parseInputSpec('testpattern'), { kind: 'testpattern' });
    assert.deepEqual(parseInputSpec('udp://239.1.2.3:5000'), {
      kind: 'udp',
      address: '239.1.2.3',
      port: 5000,
    });
    assert.deepEqual(parseInputSpec('udp://@:5000'), { kind: 'udp', address: '0.0.0.0', port: 5000 });
    assert.deepEqual(parseInputSpec('rtp://127.0.0.1:40000-40009'), {
      kind: 'rtp',
      address: '127.0.0.1',
      range: '40000-40009',
    });
    assert.deepEqual(parseInputSpec('file:/tmp/a.ts'), { kind: 'file', path: '/tmp/a.ts' });
    assert.deepEqual(parseInputSpec('-'), { kind: 'stdin' });
    assert.deepEqual(parseInputSpec('rist://@127.0.0.1:5000'), {
      kind: 'rist',
      address: '127.0.0.1',
      port: 5000,
    });
    assert.deepEqual(parseInputSpec('rist://@:6000'), { kind: 'rist', address: '0.0.0.0', port: 6000 });
    for (const bad of [
      'udp://1.2.3.4',
      'udp://host:1',
      'rtp://1.2.3.4:5-4',
      'http://x',
      'file:',
      '',
      'rist://@127.0.0.1:5001',
      'rist://host:5000',
    ]) {
      assert.throws(
        () => parseInputSpec(bad, '--input'),
        { code: 'ERR_INVALID_OPTION', option: '--input' },
        bad,
      );
    }
  });

  it('decodes RTP headers (CSRC, extension, padding) and survives 200,000 fuzzed ones', () => {
    const packet = Buffer.concat([
      Buffer.from([0xb1, 33, 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]), // P, X, CC=1
      Buffer.from([0xbe, 0xde, 0x00, 0x01, 1, 2, 3, 4]), // one extension word
      Buffer.alloc(188, 0x47),
      Buffer.from([0, 0, 3]), // 3 bytes of padding
    ]);
    const rtp = readRtpPayload(packet);
    assert.deepEqual(rtp, { payloadType: 33, sequence: 0x1234, start: 24, end: 24 + 188 });
    assert.throws(() => readRtpPayload(packet.subarray(0, 11)), { code: MpegTsParseCode.TRUNCATED });
    const prng = new Prng(testSeed(0x2250));
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (let i = 0; i < 200_000; i++) {
        const input = Buffer.from(packet.subarray(0, prng.int(packet.length + 1)));
        for (let k = 0; k < 3 && input.length > 0; k++) input[prng.int(input.length)] = prng.int(256);
        try {
          const r = readRtpPayload(input);
          assert.ok(r.start <= r.end && r.end <= input.length);
        } catch (error) {
          assert.ok(error instanceof ParseError && error.offset <= input.length, String(error));
        }
      }
    } finally {
      Error.stackTraceLimit = limit;
    }
  });
});
