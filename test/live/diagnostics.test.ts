// Live diagnostics channels: the tracker core's join decisions, drops and node events, and the
// no-subscriber path (nothing published, nothing built).
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { describe, it } from 'node:test';
import {
  ChunkPublisher,
  encodeTrackerFrame,
  type IngestDropMessage,
  IngestServer,
  LiveDiagnostics,
  type PublisherDropMessage,
  signChunk,
  TrackerCore,
  type TrackerDropMessage,
  type TrackerJoinMessage,
  TrackerMessage,
  type TrackerNodeMessage,
} from '../../src/live/index.ts';
import { tokenBytes } from '../../src/live/token.ts';
import { TrackerClientCore } from '../../src/live/tracker-client-core.ts';
import { demuxOf } from '../../src/mux/index.ts';
import { recordChannel, spyPublishes } from '../support/diagnostics.ts';
import { waitFor } from '../support/wait.ts';
import { tsPayload } from './helpers.ts';
import { CHANNEL, SECRET, tokenFor } from './tracker-helpers.ts';

const TRACKER = { address: '10.0.0.1', port: 7000 };
const FROM = { address: '192.0.2.1', port: 4000 };

/** Joins `id` to `core` at `nowMs` through a client core; returns the client. */
function join(core: TrackerCore, id: string, nowMs: number, token = tokenFor(id, 'peer', nowMs + 60_000)) {
  const client = new TrackerClientCore({
    tracker: TRACKER,
    channelId: CHANNEL.id,
    peerId: id,
    role: 'peer',
    nat: 'open',
    relay: false,
    token: tokenBytes(token),
  });
  client.start(nowMs);
  for (let i = 0; i < 3; i++) {
    for (const t of client.drain()) core.receive(t.data, FROM, nowMs);
    for (const t of core.drain()) client.receive(t.data, TRACKER, nowMs);
  }
  return client;
}

function exercise(): TrackerCore {
  const now = Date.now();
  const core = new TrackerCore({ secret: SECRET, nodeTimeoutMs: 1000 });
  join(core, 'alice', now);
  join(core, 'mallory', now, tokenFor('eve', 'peer', now + 60_000));
  core.receive(Buffer.from([0x0b, 1, 99]), FROM, now);
  core.receive(
    encodeTrackerFrame({ type: TrackerMessage.LEAVE, seq: 1, session: Buffer.alloc(8) }),
    FROM,
    now,
  );
  core.poll(now + 5000);
  return core;
}

describe('live diagnostics', () => {
  it('tracker-join: every decision, with its outcome', () => {
    const r = recordChannel<TrackerJoinMessage>(LiveDiagnostics.TRACKER_JOIN);
    exercise();
    r.stop();
    assert.deepEqual(
      r.messages.map((m) => [m.peerId, m.outcome]),
      [
        ['alice', 'ok'],
        ['mallory', 'refused'],
      ],
    );
    assert.deepEqual(r.messages[0]?.from, FROM);
  });

  it('tracker-drop: malformed and unknown-session datagrams', () => {
    const r = recordChannel<TrackerDropMessage>(LiveDiagnostics.TRACKER_DROP);
    exercise();
    r.stop();
    assert.deepEqual(
      r.messages.map((m) => m.reason),
      ['malformed', 'not-joined'],
    );
  });

  it('tracker-node: a silent node expires', () => {
    const r = recordChannel<TrackerNodeMessage>(LiveDiagnostics.TRACKER_NODE);
    exercise();
    r.stop();
    assert.deepEqual(r.messages, [
      { peerId: 'alice', channelId: CHANNEL.id.toString('hex'), event: 'expired' },
    ]);
  });

  it('publishes nothing without a subscriber', () => {
    const spy = spyPublishes(Object.values(LiveDiagnostics));
    try {
      const core = exercise();
      assert.equal(core.stats().expired, 1);
      for (const [name, n] of spy.counts) assert.equal(n, 0, name);
    } finally {
      spy.restore();
    }
  });
});

async function loopback(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return socket;
}

const close = (socket: Socket): Promise<void> => new Promise((resolve) => socket.close(() => resolve()));

describe('live diagnostics: ingest', () => {
  it('ingest-drop (forged, stranger) and publisher-drop (the oldest chunk for an edge that never answers)', async () => {
    const [edge, source, silent, garbage] = await Promise.all([
      loopback(),
      loopback(),
      loopback(),
      loopback(),
    ]);
    const drops = recordChannel<IngestDropMessage>(LiveDiagnostics.INGEST_DROP);
    const slow = recordChannel<PublisherDropMessage>(LiveDiagnostics.PUBLISHER_DROP);
    const server = new IngestServer({ demux: demuxOf(edge), channel: CHANNEL });
    const publisher = new ChunkPublisher({
      demux: demuxOf(source),
      edges: [`127.0.0.1:${edge.address().port}`],
    });
    const lost = new ChunkPublisher({
      demux: demuxOf(garbage),
      edges: [`127.0.0.1:${silent.address().port}`],
      maxQueuedChunks: 1,
    });
    try {
      const forged = signChunk(CHANNEL, {
        seq: 7,
        timestampMs: 1,
        durationMs: 250,
        flags: 0,
        payload: tsPayload(2, 1),
      });
      forged[forged.length - 1]! ^= 1;
      publisher.publish(forged);
      await waitFor(() => drops.messages.some((m) => m.reason === 'forged'), { what: 'ingest-drop forged' });
      garbage.send(Buffer.from([0x09, 0x01, 0x06, 0, 0, 0]), edge.address().port, '127.0.0.1');
      await waitFor(() => drops.messages.some((m) => m.reason === 'stranger'), {
        what: 'ingest-drop stranger',
      });
      assert.deepEqual(drops.messages.find((m) => m.reason === 'forged')?.from, {
        address: '127.0.0.1',
        port: source.address().port,
      });
      for (let seq = 0; seq < 3; seq++) {
        lost.publish(
          signChunk(CHANNEL, { seq, timestampMs: 1, durationMs: 250, flags: 0, payload: tsPayload(1, 2) }),
        );
      }
      assert.deepEqual(
        slow.messages.map((m) => [m.reason, m.seq, m.edge.port]),
        [
          ['slow', 0, silent.address().port],
          ['slow', 1, silent.address().port],
        ],
      );
      assert.equal(lost.stats().edges[0]?.dropped, 2);
    } finally {
      drops.stop();
      slow.stop();
      await publisher.close();
      await lost.close();
      await server.close();
      await Promise.all([edge, source, silent, garbage].map(close));
    }
  });

  it('publishes no ingest event without a subscriber', async () => {
    const [edge, source] = await Promise.all([loopback(), loopback()]);
    const spy = spyPublishes([LiveDiagnostics.INGEST_DROP, LiveDiagnostics.PUBLISHER_DROP]);
    const server = new IngestServer({ demux: demuxOf(edge), channel: CHANNEL });
    const publisher = new ChunkPublisher({
      demux: demuxOf(source),
      edges: [`127.0.0.1:${edge.address().port}`],
      maxQueuedChunks: 1,
    });
    try {
      const forged = signChunk(CHANNEL, {
        seq: 1,
        timestampMs: 1,
        durationMs: 250,
        flags: 0,
        payload: tsPayload(1, 1),
      });
      forged[forged.length - 1]! ^= 1;
      for (let i = 0; i < 3; i++) publisher.publish(forged);
      await waitFor(() => server.stats().forged >= 1, { what: 'the forged chunk counted' });
      for (const [name, n] of spy.counts) assert.equal(n, 0, name);
    } finally {
      spy.restore();
      await publisher.close();
      await server.close();
      await Promise.all([edge, source].map(close));
    }
  });
});
