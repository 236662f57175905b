// Real sockets on loopback: peers join a tracker with tokens, get each other as candidates, punch
// through the tracker's broker on the same socket and exchange datagrams; edges appear as an event;
// reports reach swarm(); a restarted tracker is re-joined; bad tokens are refused with a code.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  LiveTrackerCode,
  type NodeReport,
  type SwarmView,
  Tracker,
  TrackerSession,
} from '../../src/live/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { CHANNEL, loopbackDemux, SECRET, tokenFor } from './tracker-helpers.ts';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});
checkLeaks();

async function node(
  tracker: Tracker,
  peerId: string,
  extra: Partial<Parameters<typeof TrackerSession.join>[0]> = {},
): Promise<TrackerSession> {
  const { demux, close } = await loopbackDemux();
  try {
    const session = await TrackerSession.join({
      tracker: { address: '127.0.0.1', port: tracker.address().port },
      demux,
      token: tokenFor(peerId, extra.role ?? 'peer'),
      channelId: CHANNEL.id,
      peerId,
      role: 'peer',
      natClass: 'open',
      uploadCapBps: 4_000_000,
      retransmit: FAST,
      ...extra,
    });
    closers.push(async () => {
      await session.close();
      await close();
    });
    return session;
  } catch (error) {
    await close();
    throw error;
  }
}

const FAST = { initialMs: 50, maxMs: 400, transmissions: 8 } as const;

const report: NodeReport = {
  role: 'peer',
  natClass: 'open',
  uploadBps: 1e6,
  downloadBps: 2e6,
  bytesFromEdge: 10,
  bytesFromPeers: 90,
  bytesUp: 50,
  continuity: 1,
  latencyP50Ms: 300,
  latencyP95Ms: 700,
  stalls: 0,
  bans: 0,
  chunksPlayed: 40,
  chunksMissed: 0,
  neighbours: [{ id: 'p2', pathKind: 'direct', rxBps: 1000, txBps: 2000 }],
};

describe('tracker on loopback', () => {
  it('introduces two peers who punch over the tracker socket and exchange datagrams', async () => {
    const tracker = await Tracker.listen({ address: '127.0.0.1', port: 0, secret: SECRET });
    closers.push(() => tracker.close());
    const a = await node(tracker, 'p1');
    const b = await node(tracker, 'p2');
    const seen = await waitFor(
      async () => {
        const c = await a.candidates(8);
        return c.some((x) => x.id === 'p2') ? c : undefined;
      },
      { what: 'p2 among p1 candidates' },
    );
    assert.deepEqual(
      seen.map((c) => c.id),
      ['p2'],
    );
    assert.equal(seen[0]?.uploads, true);
    const accepted = b.punch.accept();
    const link = await a.punch.dial('p2');
    const other = await accepted;
    const got = new Promise<Buffer>((resolve) => other.onDatagram((d) => resolve(Buffer.from(d))));
    link.send(Buffer.from('hello over the tracker mapping'));
    assert.equal((await got).toString(), 'hello over the tracker mapping');
    await link.close();
    await other.close();
  });

  it('tells peers the edges (and when they change), and keeps reports for swarm()', async () => {
    const tracker = await Tracker.listen({ address: '127.0.0.1', port: 0, secret: SECRET });
    closers.push(() => tracker.close());
    const peer = await node(tracker, 'viewer', { keepaliveMs: 50 });
    assert.deepEqual(peer.edges, []);
    const edgesEvent = new Promise<unknown>((resolve) => peer.once('edges', resolve));
    await node(tracker, 'edge-1', { role: 'edge', edgeEndpoint: { address: '127.0.0.1', port: 9999 } });
    const edges = await edgesEvent;
    assert.deepEqual(edges, [{ id: 'edge-1', endpoint: { address: '127.0.0.1', port: 9999 } }]);
    assert.ok(peer.report(report));
    const snap = await waitFor(
      () => {
        const s = tracker.swarm(CHANNEL.id);
        return s.channels[0]?.nodes.find((n) => n.id === 'viewer')?.report ? s : undefined;
      },
      { what: 'the report in swarm()' },
    );
    const view: SwarmView = snap; // what the dashboard and metrics read
    assert.equal(view.channels[0]?.joins, 2);
    const channel = snap.channels[0]!;
    assert.equal(channel.id, CHANNEL.id.toString('hex'));
    assert.deepEqual(
      channel.edges.map((e) => e.id),
      ['edge-1'],
    );
    const viewer = channel.nodes.find((n) => n.id === 'viewer')!;
    assert.equal(viewer.report?.neighbours[0]?.id, 'p2');
    assert.equal(viewer.report?.chunksPlayed, 40);
    assert.equal(channel.counters.joins, 2);
  });

  it('a source proves the channel key without a token; peers then learn the key', async () => {
    const tracker = await Tracker.listen({ address: '127.0.0.1', port: 0, secret: SECRET });
    closers.push(() => tracker.close());
    const { demux, close } = await loopbackDemux();
    closers.push(close);
    const source = await TrackerSession.join({
      tracker: { address: '127.0.0.1', port: tracker.address().port },
      demux,
      channelId: CHANNEL.id,
      peerId: 'source',
      role: 'source',
      signer: CHANNEL,
    });
    closers.push(() => source.close());
    const peer = await node(tracker, 'learner');
    assert.deepEqual(peer.publicKey, CHANNEL.publicKey);
    assert.equal(tracker.swarm().channels[0]?.publicKey, CHANNEL.publicKey.toString('hex'));
  });

  it('refuses a token of another secret, another id, or one expired, with codes', async () => {
    const tracker = await Tracker.listen({ address: '127.0.0.1', port: 0, secret: SECRET });
    closers.push(() => tracker.close());
    await assert.rejects(node(tracker, 'mallory', { token: tokenFor('alice') }), {
      code: LiveTrackerCode.REFUSED,
    });
    await assert.rejects(node(tracker, 'late', { token: tokenFor('late', 'peer', Date.now() - 1) }), {
      code: LiveTrackerCode.REFUSED,
      message: /expired/,
    });
    await assert.rejects(node(tracker, 'edgy', { role: 'edge', token: tokenFor('edgy', 'peer') }), {
      code: LiveTrackerCode.REFUSED,
    });
    assert.equal(tracker.stats().refusedAuth, 2);
    assert.equal(tracker.stats().refusedExpired, 1);
    assert.equal(tracker.stats().nodes, 0);
  });

  it('re-joins a restarted tracker on the same port', async () => {
    const first = await Tracker.listen({ address: '127.0.0.1', port: 0, secret: SECRET });
    const port = first.address().port;
    const peer = await node(first, 'survivor', { keepaliveMs: 50 });
    const lost = new Promise<void>((resolve) => peer.once('lost', () => resolve()));
    await first.close();
    await lost;
    const second = await Tracker.listen({ address: '127.0.0.1', port, secret: SECRET });
    closers.push(() => second.close());
    await waitFor(() => second.core.node('survivor') && peer.stats().joined, {
      what: 'the re-join at the new tracker',
    });
    assert.ok(peer.stats().rejoins >= 1);
  });

  it('rejects when nobody answers', async () => {
    const { demux, close } = await loopbackDemux();
    closers.push(close);
    const silent = await loopbackDemux();
    closers.push(silent.close);
    await assert.rejects(
      TrackerSession.join({
        tracker: { address: '127.0.0.1', port: silent.demux.socket.address().port },
        demux,
        token: tokenFor('lonely'),
        channelId: CHANNEL.id,
        peerId: 'lonely',
        role: 'peer',
        retransmit: FAST,
      }),
      { code: LiveTrackerCode.UNREACHABLE },
    );
  });
});
