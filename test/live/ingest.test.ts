// The source → edge ingest over loopback: IngestServer on one socket's demux, ChunkPublisher on
// another's; real sockets, real ARQ. Verified chunks arrive in order; a forged chunk is dropped,
// counted and its publisher reset (it reconnects); an edge that restarts on the same port is
// found again; a LiveSource on the ffmpeg test pattern feeds an IngestServer.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openTestPattern } from '../../src/live/ffmpeg.ts';
import {
  CHUNK_FLAG_DISCONTINUITY,
  CHUNK_FLAG_RANDOM_ACCESS,
  type Chunk,
  createChannel,
  decodeChunk,
  encodeChannelKey,
  openChannel,
  signChunk,
} from '../../src/live/index.ts';
import { ChunkPublisher } from '../../src/live/ingest-publisher.ts';
import { IngestServer } from '../../src/live/ingest-server.ts';
import { FileTsInput } from '../../src/live/source-file.ts';
import { LiveSource } from '../../src/live/source-process.ts';
import { demuxOf } from '../../src/mux/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { tsPayload } from './helpers.ts';

const channel = createChannel(Buffer.alloc(32, 9));
const key = openChannel(channel.publicKey, channel.id);
const other = createChannel(Buffer.alloc(32, 8));
const sockets: Socket[] = [];
const VECTOR = new URL('../vectors/live/ts/h264-aac-2s.mpegts', import.meta.url).pathname;

async function bind(port = 0): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve());
  });
  sockets.push(socket);
  return socket;
}

function close(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

after(async () => {
  for (const s of sockets) await close(s).catch(() => {});
});
checkLeaks();

function chunk(seq: number, signer = channel, size = 40): Buffer {
  return signChunk(signer, {
    seq,
    timestampMs: Date.now(),
    durationMs: 250,
    flags: seq % 4 === 0 ? 1 : 0,
    payload: tsPayload(size, seq & 0xff),
  });
}

describe('IngestServer and ChunkPublisher over loopback', () => {
  it('delivers verified chunks in order, drops and counts a forged one, and the publisher reconnects', async () => {
    const edgeSocket = await bind();
    const sourceSocket = await bind();
    const server = new IngestServer({ demux: demuxOf(edgeSocket), channel: key });
    const got: number[] = [];
    server.on('chunk', (bytes, c) => {
      assert.equal(bytes, c.bytes);
      got.push(c.seq);
    });
    const publisher = new ChunkPublisher({
      demux: demuxOf(sourceSocket),
      edges: [`127.0.0.1:${edgeSocket.address().port}`],
      reconnectDelayMs: 50,
    });
    for (let seq = 0; seq < 10; seq++) publisher.publish(chunk(seq));
    await waitFor(() => got.length === 10, {
      what: '10 chunks',
      detail: () => [server.stats(), publisher.stats()],
    });
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // A chunk signed by another key, and one with a flipped payload byte.
    publisher.publish(chunk(10, other));
    await waitFor(() => server.stats().forged === 1, { what: 'the forged chunk counted' });
    await waitFor(() => publisher.stats().edges[0]!.reconnects >= 1 && publisher.stats().edges[0]!.up, {
      what: 'the reset publisher reconnected',
      detail: () => publisher.stats(),
    });
    const flipped = chunk(11);
    flipped[flipped.length - 1]! ^= 1;
    publisher.publish(flipped);
    await waitFor(() => server.stats().forged === 2, { what: 'the flipped chunk counted' });
    await waitFor(() => publisher.stats().edges[0]!.reconnects >= 2 && publisher.stats().edges[0]!.up, {
      what: 'reconnected again',
    });
    publisher.publish(chunk(12));
    await waitFor(() => got.includes(12), {
      what: 'chunk 12 after the resets',
      detail: () => [server.stats(), publisher.stats()],
    });
    assert.ok(!got.includes(10) && !got.includes(11), 'no forged chunk emitted');
    assert.equal(server.stats().resets, 2);
    assert.equal(server.stats().sources, 1);
    await publisher.close();
    await server.close();
  });

  it('finds an edge again after it restarts on the same port, and drops the oldest while it is away', async () => {
    let edgeSocket = await bind();
    const port = edgeSocket.address().port;
    const sourceSocket = await bind();
    let server = new IngestServer({ demux: demuxOf(edgeSocket), channel: key });
    const got: number[] = [];
    const onChunk = (_b: Buffer, c: { seq: number }): void => {
      got.push(c.seq);
    };
    server.on('chunk', onChunk);
    const publisher = new ChunkPublisher({
      demux: demuxOf(sourceSocket),
      edges: [{ address: '127.0.0.1', port }],
      maxQueuedChunks: 4,
      idleTimeoutMs: 600,
      reconnectDelayMs: 50,
    });
    publisher.publish(chunk(0));
    await waitFor(() => got.includes(0), { what: 'chunk 0' });
    // The edge process dies: its socket and server go, a new one binds the same port.
    await server.close();
    await close(edgeSocket);
    await waitFor(() => !publisher.stats().edges[0]!.up, { what: 'the publisher noticing the silence' });
    for (let seq = 1; seq <= 10; seq++) publisher.publish(chunk(seq));
    assert.ok(publisher.stats().edges[0]!.dropped >= 6, 'a 4-chunk queue dropped the oldest');
    edgeSocket = await bind(port);
    server = new IngestServer({ demux: demuxOf(edgeSocket), channel: key });
    server.on('chunk', onChunk);
    await waitFor(() => got.includes(10), {
      what: 'chunk 10 at the restarted edge',
      detail: () => [publisher.stats(), server.stats()],
      timeoutMs: 15_000,
    });
    assert.ok(!got.includes(1), 'chunk 1 was among the dropped oldest');
    assert.ok(publisher.stats().edges[0]!.reconnects >= 1);
    await publisher.close();
    await server.close();
  });

  it('lets an edge republish to another edge on the same socket (server and publisher side by side)', async () => {
    const [sourceSocket, aSocket, bSocket] = [await bind(), await bind(), await bind()];
    const a = new IngestServer({ demux: demuxOf(aSocket), channel: key });
    const b = new IngestServer({ demux: demuxOf(bSocket), channel: key });
    const onward = new ChunkPublisher({
      demux: demuxOf(aSocket),
      edges: [`127.0.0.1:${bSocket.address().port}`],
    });
    // B publishes back to A as well: the same pair of sockets in both directions.
    const back = new ChunkPublisher({
      demux: demuxOf(bSocket),
      edges: [`127.0.0.1:${aSocket.address().port}`],
    });
    a.on('chunk', (bytes) => onward.publish(bytes));
    const atB: number[] = [];
    b.on('chunk', (_bytes, c) => atB.push(c.seq));
    const source = new ChunkPublisher({
      demux: demuxOf(sourceSocket),
      edges: [`127.0.0.1:${aSocket.address().port}`],
    });
    for (let seq = 0; seq < 5; seq++) source.publish(chunk(seq));
    await waitFor(() => atB.length === 5, {
      what: 'chunks relayed A → B',
      detail: () => [a.stats(), b.stats()],
    });
    assert.deepEqual(atB, [0, 1, 2, 3, 4]);
    back.publish(chunk(100));
    await waitFor(() => a.stats().chunks === 6, { what: 'a chunk B → A on the same sockets' });
    for (const c of [source, onward, back]) await c.close();
    await a.close();
    await b.close();
  });

  it('refuses publishers past maxSources and counts strangers', async () => {
    const edgeSocket = await bind();
    const server = new IngestServer({ demux: demuxOf(edgeSocket), channel: key, maxSources: 1 });
    const a = new ChunkPublisher({
      demux: demuxOf(await bind()),
      edges: [`127.0.0.1:${edgeSocket.address().port}`],
    });
    const b = new ChunkPublisher({
      demux: demuxOf(await bind()),
      edges: [`127.0.0.1:${edgeSocket.address().port}`],
    });
    await waitFor(() => server.stats().sources === 1 && server.stats().refusedSources > 0, {
      what: 'one accepted, one refused',
    });
    const garbage = await bind();
    garbage.send(Buffer.from([0x09, 0x01, 0x06, 1, 2, 3]), edgeSocket.address().port, '127.0.0.1');
    await waitFor(() => server.stats().strangerDrops > 0, { what: 'the stranger dropped' });
    await a.close();
    await b.close();
    await server.close();
  });
});

describe('LiveSource', () => {
  it('survives its input ending: restarted, the next chunk flagged discontinuous, sequence numbers go on', async () => {
    const edgeSocket = await bind();
    const server = new IngestServer({ demux: demuxOf(edgeSocket), channel: key });
    const got: Chunk[] = [];
    server.on('chunk', (_bytes, c) => got.push(c));
    let opened = 0;
    const dir = mkdtempSync(join(tmpdir(), 'porthole-ingest-'));
    const keyFile = join(dir, 'channel.pem');
    writeFileSync(keyFile, encodeChannelKey(channel));
    const source = await LiveSource.start({
      keyFile,
      input: () => {
        opened++;
        return new FileTsInput({ path: VECTOR, loop: false, realTime: false });
      },
      edges: [`127.0.0.1:${edgeSocket.address().port}`],
      address: '127.0.0.1',
      restartDelayMs: 50,
      maxQueuedChunks: 64,
    });
    await waitFor(() => got.filter((c) => c.flags & CHUNK_FLAG_DISCONTINUITY).length >= 2, {
      what: 'two restarts seen at the edge',
      detail: () => source.stats(),
    });
    await source.close();
    const stats = source.stats();
    rmSync(dir, { recursive: true });
    assert.ok(source.channel.id.equals(channel.id), 'the key read from the file');
    assert.ok(stats.inputRestarts >= 2 && opened >= 3);
    assert.equal(stats.lastInputError, undefined, 'the file ended, it did not fail');
    const seqs = got.map((c) => c.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => seqs[0]! + i),
      'one sequence across restarts',
    );
    for (const c of got.filter((c) => c.flags & CHUNK_FLAG_DISCONTINUITY)) {
      assert.ok(c.flags & CHUNK_FLAG_RANDOM_ACCESS, 'a restarted input starts at its first IDR');
    }
    await server.close();
  });

  it('publishes the ffmpeg test pattern to an edge: signed chunks, random-access points, stats', async () => {
    const edgeSocket = await bind();
    const server = new IngestServer({ demux: demuxOf(edgeSocket), channel: key });
    const got: Buffer[] = [];
    server.on('chunk', (bytes) => got.push(bytes));
    const source = await LiveSource.start({
      channel,
      input: () => openTestPattern({ bitrateKbps: 500, width: 320, height: 180 }),
      edges: [`127.0.0.1:${edgeSocket.address().port}`],
      address: '127.0.0.1',
    });
    await waitFor(() => got.filter((b) => decodeChunk(b).flags & 1).length >= 2, {
      what: 'two random-access chunks at the edge',
      detail: () => source.stats(),
      timeoutMs: 15_000,
    });
    const stats = source.stats();
    assert.ok(stats.chunks >= 2 && stats.randomAccess >= 2);
    assert.ok(stats.bitrateBps > 100_000, `bitrate ${stats.bitrateBps}`);
    assert.equal(stats.edges.length, 1);
    assert.ok(stats.edges[0]!.sent >= got.length - 1);
    assert.equal(server.stats().forged, 0);
    await source.close();
    await server.close();
  });
});
