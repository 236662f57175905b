// LiveEdge and LivePeer in one process on loopback, without a tracker: admission by token before
// anything is served, a peer playing a real ffmpeg stream from an edge to a file (byte for byte the
// source's payloads, decoded by ffmpeg with zero errors) and over HTTP (starting at a random-access
// point), and the failover to a second edge when the first closes. The multi-process runs with the
// tracker and the source are e2e-swarm.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PortholeError } from '../../src/errors/index.ts';
import {
  AdmitStatus,
  createChannel,
  EdgeLinkTable,
  LiveEdge,
  LiveEdgeErrorCode,
  LivePeer,
  openChannel,
} from '../../src/live/index.ts';
import { Demux } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { cutAtKeyframes, encodeTestPattern, publishChunks } from './media.ts';

checkLeaks();
const run = promisify(execFile);

const channel = createChannel();
const key = openChannel(channel.publicKey, channel.id);
const admit = (token: Buffer) =>
  token.toString().startsWith('ok-') ? { id: token.toString() } : AdmitStatus.BAD_TOKEN;
let payloads: Buffer[] = [];
let dir = '';

before(async () => {
  payloads = cutAtKeyframes(await encodeTestPattern(12));
  dir = mkdtempSync(join(tmpdir(), 'porthole-e2e-edge-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('LiveEdge and LivePeer on loopback', () => {
  it('serves nothing before a token is admitted: a bad token is refused, stray ARQ is dropped', async () => {
    await using edge = await LiveEdge.start({ channel: key, admit, address: '127.0.0.1' });
    const socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
    const demux = new Demux(socket);
    const table = new EdgeLinkTable({ demux });
    try {
      await assert.rejects(
        table.dial(edge.endpoint, Buffer.from('forged')),
        (e: unknown) => e instanceof PortholeError && e.code === LiveEdgeErrorCode.REFUSED,
      );
      socket.send(Buffer.from('0600000001', 'hex'), edge.endpoint.port, '127.0.0.1');
      await waitFor(() => edge.stats().links.droppedUnadmitted >= 1, {
        what: 'the stray ARQ datagram dropped',
      });
      assert.equal(edge.stats().peers, 0);
      assert.equal(edge.stats().links.refused, 1);
      const link = await table.dial(edge.endpoint, Buffer.from('ok-peer'));
      assert.ok(link.instance > 0, 'the edge named its instance');
      await waitFor(() => edge.stats().peers === 1, { what: 'the admitted peer attached at the edge' });
    } finally {
      await table.close();
      demux.detach();
      socket.close();
    }
  });

  it('plays the source byte for byte to a file and over HTTP from a random-access point; ffmpeg decodes it', async () => {
    await using edge = await LiveEdge.start({ channel: key, admit, address: '127.0.0.1' });
    const file = join(dir, 'out.ts');
    const publisher = publishChunks(channel, payloads, (bytes) => edge.ingest(bytes));
    try {
      await using peer = await LivePeer.start({
        channel: key,
        token: 'ok-a',
        edgeCredential: Buffer.from('ok-a'),
        peerId: 'ok-a',
        address: '127.0.0.1',
        edges: [{ id: 'e1', endpoint: edge.endpoint }],
        outputs: [{ file }, { http: 0 }],
      });
      await waitFor(() => peer.stats().played >= 2, { what: 'the peer playing', timeoutMs: 15_000 });
      const url = peer.httpUrl!;
      const head = await new Promise<Buffer>((resolve, reject) => {
        get(url, (res) => {
          assert.equal(res.headers['content-type'], 'video/mp2t');
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => {
            parts.push(d);
            if (Buffer.concat(parts).length >= 188 * 4) {
              res.destroy();
              resolve(Buffer.concat(parts));
            }
          });
          res.on('error', reject);
        }).on('error', reject);
      });
      assert.equal(head[0], 0x47);
      assert.equal(
        ((head[1]! & 0x1f) << 8) | head[2]!,
        0,
        'an HTTP client starts at a chunk that opens with the PAT',
      );
      await waitFor(() => peer.stats().played >= 16, { what: '16 chunks played', timeoutMs: 15_000 });
      const s = peer.stats();
      await peer.close();
      assert.equal(s.skipped, 0);
      assert.equal(s.continuity, 1);
      const written = readFileSync(file);
      const expected = Buffer.concat(payloads.slice(s.firstPlayedSeq, s.firstPlayedSeq + written.length));
      assert.ok(
        written.equals(expected.subarray(0, written.length)),
        'the file is the source payloads in order',
      );
      assert.equal(
        written.length,
        Buffer.concat(payloads.slice(s.firstPlayedSeq, s.lastPlayedSeq + 1)).length,
      );
      const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
      assert.equal(stderr, '', 'ffmpeg decodes the output with zero errors');
    } finally {
      publisher.stop();
    }
  });

  it('moves to the second edge when the first one closes, and keeps playing', async () => {
    const edges = [
      await LiveEdge.start({ channel: key, admit, address: '127.0.0.1' }),
      await LiveEdge.start({ channel: key, admit, address: '127.0.0.1' }),
    ];
    const publisher = publishChunks(channel, payloads, (bytes) => {
      for (const e of edges) e.ingest(bytes);
    });
    try {
      await using peer = await LivePeer.start({
        channel: key,
        token: 'ok-b',
        edgeCredential: Buffer.from('ok-b'),
        peerId: 'ok-b',
        address: '127.0.0.1',
        edges: edges.map((e, i) => ({ id: `e${i}`, endpoint: e.endpoint })),
      });
      await waitFor(() => peer.stats().played >= 4, { what: 'the peer playing', timeoutMs: 15_000 });
      const first = edges.findIndex((e) => e.stats().peers === 1);
      assert.ok(first >= 0, 'one edge serves the peer');
      await edges[first]!.close();
      const playedAtClose = peer.stats().played;
      await waitFor(() => edges[1 - first]!.stats().peers === 1, { what: 'the peer at the other edge' });
      await waitFor(() => peer.stats().played >= playedAtClose + 8, {
        what: '8 more chunks played',
        timeoutMs: 15_000,
      });
      const s = peer.stats();
      assert.equal(s.edge.edge, `e${1 - first}`);
      assert.ok(s.edge.switches >= 1);
      assert.equal(s.skipped, 0, 'no chunk missed its deadline across the failover');
    } finally {
      publisher.stop();
      for (const e of edges) await e.close();
    }
  });
});
