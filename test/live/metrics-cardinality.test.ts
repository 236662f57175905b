// Label cardinality of the live metrics: the series a scrape holds do not grow with the number of
// peers (5 or 50 peers, 1 or 40 channels, thousands of punches), and their values follow the input.
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { ArqDiagnostics } from '../../src/arq/index.ts';
import {
  CHANNEL_LABELS_MAX,
  ComponentStats,
  collectDiagnosticsMetrics,
  collectNodeMetrics,
  collectTrackerMetrics,
  createChannel,
  createMetricsRegistry,
  LivePeerCore,
  type SwarmChannelView,
  type SwarmNodeView,
  signChunk,
} from '../../src/live/index.ts';
import { MuxDiagnostics } from '../../src/mux/index.ts';
import { PunchDiagnostics } from '../../src/punch/index.ts';
import { Prng, testSeed } from '../support/prng.ts';

const NATS = ['open', 'full-cone', 'port-restricted', 'symmetric', 'address-restricted', 'firewalled'];
const KINDS = ['direct', 'predicted', 'relay'];

/** An integer in [lo, hi]. */
const between = (prng: Prng, lo: number, hi: number): number => lo + prng.int(hi - lo + 1);

function peers(count: number, prng: Prng, prefix: string): SwarmNodeView[] {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${i.toString(16).padStart(8, '0')}`);
  return ids.map((id, i) => ({
    id,
    role: 'peer',
    natClass: NATS[i % NATS.length],
    joinedAtMs: 1_000 * i,
    report: {
      uploadBps: between(prng, 0, 5e6),
      downloadBps: between(prng, 1e6, 2e6),
      bytesFromEdge: between(prng, 0, 1e6),
      bytesFromPeers: between(prng, 0, 9e6),
      bytesUp: between(prng, 0, 9e6),
      continuity: 0.9 + prng.next() / 10,
      latencyP50Ms: between(prng, 100, 900),
      latencyP95Ms: between(prng, 900, 1500),
      stalls: between(prng, 0, 3),
      bans: between(prng, 0, 2),
      chunksPlayed: between(prng, 100, 1000),
      chunksMissed: between(prng, 0, 10),
      neighbours: ids
        .slice(0, 24)
        .map((n, j) => ({ id: n, pathKind: KINDS[j % 3]!, rxBps: 1e5, txBps: 1e5 })),
    },
  }));
}

function channels(count: number, peersEach: number): SwarmChannelView[] {
  const prng = new Prng(testSeed(16));
  return Array.from({ length: count }, (_, c) => ({
    id: c.toString(16).padStart(4, '0').padEnd(64, 'a'),
    nodes: [
      { id: `edge${c}`, role: 'edge', report: { ...peers(1, prng, 'x')[0]!.report!, uploadBps: 8e6 } },
      { id: `source${c}`, role: 'source' },
      ...peers(peersEach, prng, `p${c}-`),
    ],
    joins: peersEach + 2,
    leaves: 3,
    expired: 1,
  }));
}

/** Series of each porthole_* metric in a scrape: name → label sets. */
async function seriesOf(registry: ReturnType<typeof createMetricsRegistry>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const metric of await registry.getMetricsAsJSON()) {
    if (metric.name.startsWith('porthole_')) counts.set(metric.name, metric.values.length);
  }
  return counts;
}

async function trackerSeries(list: SwarmChannelView[]): Promise<Map<string, number>> {
  const registry = createMetricsRegistry('tracker', { defaultMetrics: false });
  collectTrackerMetrics(registry, { swarm: () => ({ channels: list }) });
  return seriesOf(registry);
}

describe('live metrics: bounded label sets', () => {
  it('the tracker exports the same series for 5 peers and for 50', async () => {
    const five = await trackerSeries(channels(1, 5));
    const fifty = await trackerSeries(channels(1, 50));
    assert.deepEqual([...fifty], [...five]);
    const total = [...fifty.values()].reduce((a, b) => a + b, 0);
    assert.ok(total < 40, `one channel, ${total} series`);
  });

  it('channels past the named ones share the label "other"', async () => {
    const registry = createMetricsRegistry('tracker', { defaultMetrics: false });
    const list = channels(40, 3);
    collectTrackerMetrics(registry, { swarm: () => ({ channels: list }) });
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'porthole_tracker_nodes')!;
    const labels = new Set(metric.values.map((v) => v.labels.channel));
    assert.equal(labels.size, CHANNEL_LABELS_MAX + 1);
    assert.ok(labels.has('other'));
    const otherPeers = metric.values.find((v) => v.labels.channel === 'other' && v.labels.role === 'peer')!;
    assert.equal(otherPeers.value, (40 - CHANNEL_LABELS_MAX) * 3, 'the other channels are summed');
  });

  it('tracker values follow the reports', async () => {
    const registry = createMetricsRegistry('tracker', { defaultMetrics: false });
    const list = channels(1, 50);
    collectTrackerMetrics(registry, { swarm: () => ({ channels: list }) });
    const json = await registry.getMetricsAsJSON();
    const value = (name: string, labels: Record<string, string> = {}): number => {
      const m = json.find((x) => x.name === name)!;
      const v = m.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l))!;
      return v.value;
    };
    const reports = list[0]!.nodes.filter((n) => n.role === 'peer').map((n) => n.report!);
    const fromPeers = reports.reduce((a, r) => a + r.bytesFromPeers, 0);
    const fromEdge = reports.reduce((a, r) => a + r.bytesFromEdge, 0);
    assert.equal(value('porthole_tracker_offload_ratio'), fromPeers / (fromPeers + fromEdge));
    assert.equal(value('porthole_tracker_nodes', { role: 'peer' }), 50);
    assert.equal(value('porthole_tracker_nodes', { role: 'edge' }), 1);
    assert.equal(value('porthole_tracker_peers_by_nat', { nat_class: 'symmetric' }), 8);
    assert.equal(value('porthole_tracker_joins_total'), 52);
    assert.equal(value('porthole_tracker_edge_egress_bps'), 8e6);
    const min = Math.min(...reports.map((r) => r.continuity));
    assert.equal(value('porthole_tracker_continuity_min_ratio'), min);
  });

  it('a node exports a fixed set of series whatever its neighbours', async () => {
    const registry = createMetricsRegistry('peer', { defaultMetrics: false });
    const core = new LivePeerCore({ channel: createChannel(), role: 'peer' });
    for (let i = 0; i < 50; i++) core.connect(`n${i}`, 0, KINDS[i % 3] as 'direct');
    collectNodeMetrics(registry, { stats: () => core.stats() });
    const series = await seriesOf(registry);
    assert.equal(series.get('porthole_live_neighbours'), 5, 'one series per path kind');
    assert.equal(series.get('porthole_live_received_bytes_total'), 2);
    assert.equal(series.get('porthole_live_dropped_total'), 5);
    const total = [...series.values()].reduce((a, b) => a + b, 0);
    assert.ok(total <= 30, `${total} series`);
    const json = await registry.getMetricsAsJSON();
    const neighbours = json.find((m) => m.name === 'porthole_live_neighbours')!;
    assert.equal(
      neighbours.values.reduce((a, v) => a + v.value, 0),
      core.stats().neighbours.length,
    );
  });

  it('an edge core counts the chunks it ingests', async () => {
    const channel = createChannel();
    const edge = new LivePeerCore({ channel, role: 'edge' });
    const registry = createMetricsRegistry('edge', { defaultMetrics: false });
    collectNodeMetrics(registry, { stats: () => edge.stats() });
    new ComponentStats(registry).add('edge', () => edge.stats());
    const payload = Buffer.alloc(188, 0xff);
    payload[0] = 0x47;
    for (let seq = 0; seq < 3; seq++) {
      edge.ingest(
        signChunk(channel, { seq, timestampMs: 1_000 + seq, durationMs: 250, flags: 1, payload }),
        2_000,
      );
    }
    const text = await registry.metrics();
    assert.match(text, /^porthole_live_uploaded_chunks_total\{process="edge"\} 0$/m);
    assert.match(text, /^porthole_stat\{component="edge",field="played",process="edge"\} \d+$/m);
  });

  it('punches by NAT pair and outcome stay within the NAT classes × outcomes', async () => {
    const registry = createMetricsRegistry('peer', { defaultMetrics: false });
    const subscription = collectDiagnosticsMetrics(registry, { natClass: () => 'port-restricted' });
    const prng = new Prng(testSeed(17));
    const introduced = diagnostics_channel.channel(PunchDiagnostics.INTRODUCED);
    const path = diagnostics_channel.channel(PunchDiagnostics.PATH_CHANGED);
    const failed = diagnostics_channel.channel(PunchDiagnostics.PUNCH_FAILED);
    const expected = new Map<string, number>();
    for (let i = 0; i < 5_000; i++) {
      const linkId = i.toString(16).padStart(16, '0');
      const remoteNat = NATS[between(prng, 0, NATS.length - 1)]!;
      introduced.publish({
        peerId: 'me',
        remotePeerId: `r${i}`,
        linkId,
        role: 'initiator',
        remoteNat,
        candidates: 2,
      });
      const outcome = prng.next() < 0.2 ? 'failed' : KINDS[between(prng, 0, 2)]!;
      if (outcome === 'failed') failed.publish({ peerId: 'me', linkId, reason: 'deadline', relay: false });
      else path.publish({ peerId: 'me', linkId, kind: outcome, remote: undefined });
      // A second path change of the same link is not a second punch.
      path.publish({ peerId: 'me', linkId, kind: 'relay', remote: undefined });
      const key = `${remoteNat}/${outcome}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    diagnostics_channel.channel(ArqDiagnostics.DATAGRAM_DROPPED).publish({ reason: 'malformed', size: 3 });
    diagnostics_channel.channel(MuxDiagnostics.DATAGRAM_DROPPED).publish({ reason: 'unclaimed', size: 3 });
    subscription.close();
    diagnostics_channel.channel(MuxDiagnostics.DATAGRAM_DROPPED).publish({ reason: 'unclaimed', size: 3 });
    const json = await registry.getMetricsAsJSON();
    const punches = json.find((m) => m.name === 'porthole_punch_outcomes_total')!;
    assert.ok(punches.values.length <= 7 * 4);
    for (const v of punches.values) {
      assert.equal(v.labels.local_nat, 'port-restricted');
      assert.equal(v.value, expected.get(`${v.labels.remote_nat}/${v.labels.outcome}`));
    }
    assert.equal(
      punches.values.reduce((a, v) => a + v.value, 0),
      5_000,
    );
    const mux = json.find((m) => m.name === 'porthole_mux_datagrams_dropped_total')!;
    assert.deepEqual(
      mux.values.map((v) => [v.labels.reason, v.value]),
      [['unclaimed', 1]],
      'counted once: the second drop came after close()',
    );
  });
});
