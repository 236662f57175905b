// The /metrics of live processes during a real run on loopback: an edge fed a real ffmpeg stream and
// two peers playing it, each with its own registry served over HTTP as `--metrics` does; the key
// series exist and move between two scrapes.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  AdmitStatus,
  createChannel,
  LiveEdge,
  LivePeer,
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

before(async () => {
  payloads = cutAtKeyframes(await encodeTestPattern(20));
});

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
});
