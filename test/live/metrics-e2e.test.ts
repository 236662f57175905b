// The /metrics of live processes during a real run on loopback: an edge fed a real ffmpeg stream and
// two peers playing it, each with its own registry served over HTTP as `--metrics` does; the key
// series exist and move between two scrapes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AdmitStatus,
  createChannel,
  LiveEdge,
  LivePeer,
  loadChannelKey,
  openChannel,
  type ProcessMetrics,
  startProcessMetrics,
} from '../../src/live/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { cutAtKeyframes, encodeTestPattern, publishChunks } from './media.ts';

checkLeaks();

const channel = createChannel();
const key = openChannel(channel.publicKey, channel.id);
const admit = (token: Buffer) =>
  token.toString().startsWith('ok-') ? { id: token.toString() } : AdmitStatus.BAD_TOKEN;
let payloads: Buffer[] = [];

const dir = mkdtempSync(join(tmpdir(), 'porthole-metrics-e2e-'));
before(async () => {
  payloads = cutAtKeyframes(await encodeTestPattern(20));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** One sample of a scrape: `name{labels} value` with the labels given (others ignored). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return Number.NaN;
}

describe('metrics during a live run', () => {
  it('the edge and the peers serve their series, and they move', async () => {
    await using edge = await LiveEdge.start({ channel: key, admit, address: '127.0.0.1' });
    const publisher = publishChunks(channel, payloads, (bytes) => edge.ingest(bytes));
    const metrics: ProcessMetrics[] = [];
    try {
      metrics.push(
        await startProcessMetrics({
          process: 'edge',
          listen: '127.0.0.1:0',
          node: () => edge.node.core.stats(),
          components: { edge: () => edge.stats() },
        }),
      );
      await using a = await LivePeer.start({
        channel: key,
        token: 'ok-a',
        peerId: 'ok-a',
        address: '127.0.0.1',
        edges: [{ id: 'e1', endpoint: edge.endpoint }],
      });
      await using b = await LivePeer.start({
        channel: key,
        token: 'ok-b',
        peerId: 'ok-b',
        address: '127.0.0.1',
        edges: [{ id: 'e1', endpoint: edge.endpoint }],
      });
      for (const peer of [a, b]) {
        metrics.push(
          await startProcessMetrics({
            process: 'peer',
            listen: '127.0.0.1:0',
            node: () => peer.node.core.stats(),
            arqRttsMs: () => peer.node.rttsMs(),
            components: { peer: () => peer.stats() },
            natClass: () => 'open',
          }),
        );
      }
      const scrape = async (m: ProcessMetrics): Promise<string> => (await fetch(m.server!.url)).text();
      await waitFor(() => a.stats().played >= 2 && b.stats().played >= 2, {
        what: 'both peers playing',
        timeoutMs: 15_000,
      });
      const first = await Promise.all(metrics.map(scrape));
      await waitFor(() => a.stats().played >= 8 && b.stats().played >= 8, {
        what: 'eight chunks played by each',
        timeoutMs: 15_000,
      });
      const second = await Promise.all(metrics.map(scrape));

      const [edgeBefore, ...peersBefore] = first;
      const [edgeAfter, ...peersAfter] = second;
      assert.ok(
        sample(edgeAfter!, 'porthole_live_uploaded_bytes_total', { process: 'edge' }) >
          sample(edgeBefore!, 'porthole_live_uploaded_bytes_total', { process: 'edge' }),
        'the edge uploaded more',
      );
      assert.ok(
        sample(edgeAfter!, 'porthole_stat', { component: 'edge', field: 'chunksIngested' }) >
          sample(edgeBefore!, 'porthole_stat', { component: 'edge', field: 'chunksIngested' }),
      );
      assert.equal(sample(edgeAfter!, 'porthole_live_neighbours', { path: 'edge' }) >= 0, true);
      for (let i = 0; i < 2; i++) {
        const before = peersBefore[i]!;
        const after = peersAfter[i]!;
        for (const name of ['porthole_live_chunks_played_total']) {
          assert.ok(sample(after, name) > sample(before, name), `${name} moved`);
        }
        const received = (t: string) =>
          sample(t, 'porthole_live_received_bytes_total', { from: 'edge' }) +
          sample(t, 'porthole_live_received_bytes_total', { from: 'peer' });
        assert.ok(received(after) > received(before), 'received bytes moved');
        assert.equal(sample(after, 'porthole_live_continuity_ratio'), 1);
        const rtt = sample(after, 'porthole_live_arq_rtt_ms', { stat: 'max' });
        assert.ok(
          Number.isFinite(rtt) && rtt >= 0 && rtt < 10_000,
          `ARQ RTT ${rtt} ms (whole ms: loopback reads 0)`,
        );
        const p50 = sample(after, 'porthole_live_chunk_latency_seconds', { quantile: '0.5' });
        assert.ok(p50 > 0 && p50 < 10, `p50 ${p50} s`);
        assert.ok(sample(after, 'porthole_stat', { component: 'peer', field: 'played' }) >= 8);
        assert.match(after, /^process_resident_memory_bytes\{process="peer"\} \d+/m);
        assert.match(after, /^# TYPE porthole_punch_outcomes_total counter$/m);
      }
    } finally {
      publisher.stop();
      for (const m of metrics) await m.close();
    }
  });

  it('porthole source --metrics serves the source series while it pushes to an edge', async () => {
    const keyFile = join(dir, 'channel.pem');
    const { channel: signer } = await loadChannelKey(keyFile, { create: true });
    const channelKey = openChannel(signer.publicKey, signer.id);
    await using edge = await LiveEdge.start({ channel: channelKey, admit, address: '127.0.0.1' });
    // The edge runs the ingest server on its socket (LiveEdge's `ingest`, default on).
    const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
    const child = spawn(
      process.execPath,
      [
        main,
        ...['source', '--key', keyFile, '--input', 'testpattern', '--listen', '127.0.0.1:0'],
        ...['--edge', `127.0.0.1:${edge.endpoint.port}`, '--metrics', '127.0.0.1:0', '--stats', '1'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: Record<string, unknown>[] = [];
    let buffered = '';
    child.stderr.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const url = await waitFor(() => lines.find((l) => typeof l.metrics === 'string')?.metrics as string, {
        what: 'the source logging its metrics address',
        timeoutMs: 15_000,
      });
      await waitFor(() => edge.stats().chunksIngested >= 2, {
        what: 'chunks at the edge',
        timeoutMs: 15_000,
      });
      const first = await (await fetch(url)).text();
      await waitFor(() => edge.stats().chunksIngested >= 6, {
        what: 'more chunks at the edge',
        timeoutMs: 15_000,
      });
      const second = await (await fetch(url)).text();
      const edgeLabel = { edge: `127.0.0.1:${edge.endpoint.port}` };
      assert.ok(
        sample(second, 'porthole_source_chunks_total') > sample(first, 'porthole_source_chunks_total'),
      );
      assert.ok(
        sample(second, 'porthole_source_edge_sent_chunks_total', edgeLabel) >
          sample(first, 'porthole_source_edge_sent_chunks_total', edgeLabel),
      );
      assert.equal(sample(second, 'porthole_source_edge_up', edgeLabel), 1);
      assert.ok(sample(second, 'porthole_source_bitrate_bps') > 0);
      assert.match(second, /^process_cpu_user_seconds_total\{process="source"\} /m);
      // The periodic log line: one JSON object, fields named like the metrics.
      const stats = await waitFor(() => lines.find((l) => l.msg === 'source stats'), {
        what: 'a stats line',
        timeoutMs: 5_000,
      });
      assert.equal(stats.name, 'porthole-source');
      assert.ok((stats.porthole_source_chunks_total as number) > 0);
      assert.equal(
        typeof (stats.porthole_source_edge_sent_chunks_total as Record<string, number>)[edgeLabel.edge],
        'number',
      );
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
