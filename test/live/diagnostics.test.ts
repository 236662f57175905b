// Live diagnostics channels: the tracker core's join decisions, drops and node events, and the
// no-subscriber path (nothing published, nothing built).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeTrackerFrame,
  LiveDiagnostics,
  TrackerCore,
  type TrackerDropMessage,
  type TrackerJoinMessage,
  TrackerMessage,
  type TrackerNodeMessage,
} from '../../src/live/index.ts';
import { tokenBytes } from '../../src/live/token.ts';
import { TrackerClientCore } from '../../src/live/tracker-client-core.ts';
import { recordChannel, spyPublishes } from '../support/diagnostics.ts';
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
