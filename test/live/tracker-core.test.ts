// The tracker's sans-I/O core with its client core, under a fake clock, datagrams handed across in
// memory: expiry, sampling by NAT class and spare upload, bounds with their counters, refusals,
// forged-chunk reports, retransmission under loss, re-joining a restarted tracker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeTrackerFrame, TrackerCore, TrackerMessage } from '../../src/live/index.ts';
import { tokenBytes } from '../../src/live/token.ts';
import { TrackerClientCore, type TrackerClientEvent } from '../../src/live/tracker-client-core.ts';
import type { TrackerNatClass, TrackerRoleValue } from '../../src/live/tracker-wire.ts';
import { Prng, testSeed } from '../support/prng.ts';
import { CHANNEL, SECRET, tokenFor } from './tracker-helpers.ts';

const FAR = 4_102_444_800_000;
const TRACKER = { address: '10.0.0.1', port: 7000 };

/** A tracker core and clients wired in memory, on one fake clock (epoch ms). */
class Net {
  nowMs = 1_800_000_000_000;
  readonly clients = new Map<
    string,
    { core: TrackerClientCore; from: { address: string; port: number }; events: TrackerClientEvent[] }
  >();
  lossy: ((data: Buffer) => boolean) | null = null;
  tracker: TrackerCore;
  constructor(options: Partial<ConstructorParameters<typeof TrackerCore>[0]> = {}) {
    this.tracker = new TrackerCore({ secret: SECRET, random: new Prng(testSeed(0x7ac4)).next, ...options });
  }
  add(
    id: string,
    o: {
      nat?: TrackerNatClass;
      role?: TrackerRoleValue;
      relay?: boolean;
      upload?: number;
      address?: string;
      token?: string;
    } = {},
  ): TrackerClientCore {
    const role = o.role ?? 'peer';
    const core = new TrackerClientCore({
      tracker: TRACKER,
      channelId: CHANNEL.id,
      peerId: id,
      role,
      nat: o.nat ?? 'open',
      relay: o.relay ?? false,
      uploadCapBps: o.upload,
      token: tokenBytes(o.token ?? tokenFor(id, role, FAR)),
      edgeEndpoint: role === 'edge' ? { address: '10.9.9.9', port: 9000 + this.clients.size } : undefined,
    });
    this.clients.set(id, {
      core,
      from: { address: o.address ?? `192.0.2.${this.clients.size + 1}`, port: 40000 },
      events: [],
    });
    core.start(this.nowMs);
    this.pump();
    return core;
  }
  pump(): void {
    for (let round = 0; round < 20; round++) {
      let moved = false;
      for (const c of this.clients.values()) {
        for (const t of c.core.drain()) {
          moved = true;
          if (this.lossy?.(t.data)) continue;
          this.tracker.receive(t.data, c.from, this.nowMs);
        }
        c.events.push(...c.core.drainEvents());
      }
      for (const t of this.tracker.drain()) {
        moved = true;
        if (this.lossy?.(t.data)) continue;
        for (const c of this.clients.values())
          if (c.from.address === t.to.address && c.from.port === t.to.port)
            c.core.receive(t.data, TRACKER, this.nowMs);
      }
      if (!moved) return;
    }
  }
  advance(ms: number, stepMs = 100): void {
    const end = this.nowMs + ms;
    while (this.nowMs < end) {
      this.nowMs = Math.min(end, this.nowMs + stepMs);
      this.tracker.poll(this.nowMs);
      for (const c of this.clients.values()) c.core.poll(this.nowMs);
      this.pump();
    }
  }
  sample(id: string, want: number): string[] {
    const c = this.clients.get(id)!;
    const seq = c.core.requestSample(want, this.nowMs);
    this.pump();
    const e = c.events.find((x) => x.type === 'sample' && x.seq === seq);
    assert.ok(e?.type === 'sample', `no sample answer for ${id}`);
    return e.candidates.map((x) => x.id).sort();
  }
}

describe('tracker core', () => {
  it('joins with a challenge round and expires silent nodes (keepalives hold the others)', () => {
    const net = new Net({ nodeTimeoutMs: 10_000 });
    const a = net.add('a');
    net.add('b');
    assert.ok(a.joined);
    assert.equal(net.tracker.stats().challenges, 2);
    assert.equal(net.tracker.stats().nodes, 2);
    net.clients.get('b')!.core.close(); // silent from now on (its LEAVE is lost)
    net.clients.get('b')!.core.drain();
    net.advance(12_000);
    assert.equal(net.tracker.stats().nodes, 1);
    assert.equal(net.tracker.stats().expired, 1);
    assert.ok(net.tracker.node('a'));
  });

  it('samples only reachable peers: no symmetric <-> symmetric unless one side has a relay', () => {
    const net = new Net();
    net.add('sym1', { nat: 'symmetric' });
    net.add('sym2', { nat: 'symmetric' });
    net.add('pr', { nat: 'port-restricted' });
    net.add('cone', { nat: 'full-cone' });
    net.add('symRelay', { nat: 'symmetric', relay: true });
    assert.deepEqual(net.sample('sym1', 10), ['cone', 'pr', 'symRelay']);
    assert.deepEqual(net.sample('cone', 10), ['pr', 'sym1', 'sym2', 'symRelay']);
    assert.deepEqual(net.sample('symRelay', 10), ['cone', 'pr', 'sym1', 'sym2']);
  });

  it('prefers spare upload and never offers edges, sources or the asker', () => {
    const net = new Net();
    for (let i = 0; i < 20; i++) net.add(`p${i}`, { upload: i < 5 ? 10_000_000 : 0 });
    net.add('e', { role: 'edge' });
    const picked = net.sample('p15', 5);
    assert.deepEqual(picked, ['p0', 'p1', 'p2', 'p3', 'p4']);
    const c = net.clients.get('p15')!;
    const sampleEvent = c.events.findLast((x) => x.type === 'sample');
    assert.ok(sampleEvent?.type === 'sample');
    assert.ok(sampleEvent.candidates.every((x) => x.uploads && x.spareUploadBps === 10_000_000));
  });

  it('samples a large channel with a bounded number of random picks: distinct, reachable, not the asker', () => {
    const net = new Net();
    for (let i = 0; i < 300; i++)
      net.add(`n${i}`, {
        nat: i % 2 === 0 ? 'symmetric' : 'full-cone',
        address: `198.18.${i >> 8}.${i & 255}`,
      });
    const picked = net.sample('n0', 8); // n0 is symmetric: only the full-cone half qualifies
    assert.equal(picked.length, 8);
    assert.equal(new Set(picked).size, 8);
    for (const id of picked) assert.equal(Number(id.slice(1)) % 2, 1, id);
  });

  it('flags a peer reported by three distinct peers and stops offering it', () => {
    const net = new Net();
    for (const id of ['bad', 'r1', 'r2', 'r3', 'asker']) net.add(id);
    for (const r of ['r1', 'r1', 'r2']) net.clients.get(r)!.core.reportForged('bad', net.nowMs);
    net.pump();
    assert.ok(net.sample('asker', 10).includes('bad'));
    net.clients.get('r3')!.core.reportForged('bad', net.nowMs);
    net.pump();
    assert.equal(net.tracker.stats().flagged, 1);
    assert.equal(net.tracker.stats().forgedReports, 4);
    assert.ok(!net.sample('asker', 10).includes('bad'));
    assert.deepEqual(
      net.tracker
        .drainEvents()
        .filter((e) => e.type === 'flagged')
        .map((e) => e.type === 'flagged' && e.peerId),
      ['bad'],
    );
  });

  it('keeps every bound and counts each refusal', () => {
    const net = new Net({ maxNodes: 3, maxNodesPerAddress: 2 });
    net.add('a', { address: '198.51.100.1' });
    net.add('b', { address: '198.51.100.1' });
    const c = net.add('c', { address: '198.51.100.1' });
    assert.equal(c.joined, false);
    assert.equal(net.tracker.stats().refusedPerAddress, 1);
    net.add('d');
    const e = net.add('e');
    assert.equal(e.joined, false);
    assert.equal(net.tracker.stats().refusedFull, 1);
    assert.ok(net.clients.get('e')!.events.some((x) => x.type === 'refused'));
    const channels = new Net({ maxChannels: 1 });
    channels.add('x');
    const other = new TrackerClientCore({
      tracker: TRACKER,
      channelId: Buffer.alloc(32, 9),
      peerId: 'y',
      role: 'peer',
      nat: 'open',
      relay: false,
      token: tokenBytes(tokenFor('y', 'peer', FAR)),
    });
    other.start(channels.nowMs);
    for (const t of other.drain())
      channels.tracker.receive(t.data, { address: '203.0.113.5', port: 1 }, channels.nowMs);
    for (const t of channels.tracker.drain()) other.receive(t.data, TRACKER, channels.nowMs);
    for (const t of other.drain())
      channels.tracker.receive(t.data, { address: '203.0.113.5', port: 1 }, channels.nowMs);
    // the token names CHANNEL, the JOIN another channel: refused before any room is looked for
    assert.equal(channels.tracker.stats().refusedAuth, 1);
  });

  it('refuses forged, foreign and replayed joins; a session frame from another address is NOT_JOINED', () => {
    const net = new Net();
    const a = net.add('a');
    const forged = net.add('m', { token: `${tokenFor('m', 'peer', FAR).slice(0, -4)}AAAA` });
    assert.equal(forged.joined, false);
    const stolen = net.add('thief', { token: tokenFor('a', 'peer', FAR) });
    assert.equal(stolen.joined, false);
    assert.equal(net.tracker.stats().refusedAuth, 2);
    // A JOIN captured with its nonce, replayed from another address, is challenged again.
    const before = net.tracker.stats().challenges;
    let captured: Buffer | undefined;
    const c = net.clients.get('a')!;
    c.core.close();
    const again = new TrackerClientCore({
      tracker: TRACKER,
      channelId: CHANNEL.id,
      peerId: 'a',
      role: 'peer',
      nat: 'open',
      relay: false,
      token: tokenBytes(tokenFor('a', 'peer', FAR)),
    });
    again.start(net.nowMs);
    for (const t of again.drain()) net.tracker.receive(t.data, c.from, net.nowMs);
    for (const t of net.tracker.drain()) again.receive(t.data, TRACKER, net.nowMs);
    for (const t of again.drain()) captured = t.data;
    net.tracker.receive(captured!, { address: '203.0.113.66', port: 666 }, net.nowMs);
    assert.equal(net.tracker.stats().challenges, before + 2);
    assert.ok(!net.tracker.drain().some((t) => t.data[2] === TrackerMessage.JOINED));
    void a;
    const keepalive = encodeTrackerFrame({
      type: TrackerMessage.KEEPALIVE,
      seq: 9,
      session: Buffer.alloc(8),
      spareUploadBps: 0,
    });
    net.tracker.receive(keepalive, { address: '203.0.113.7', port: 7 }, net.nowMs);
    assert.equal(net.tracker.stats().notJoined, 1);
  });

  it('retransmits through 50 % loss, and re-joins a tracker that lost its state', () => {
    const net = new Net();
    const prng = new Prng(testSeed(0x1055));
    net.lossy = () => prng.next() < 0.5;
    const a = net.add('a');
    net.advance(20_000);
    assert.ok(a.joined, 'joined through loss');
    assert.ok(a.stats().retransmissions > 0);
    net.lossy = null;
    net.tracker = new TrackerCore({ secret: SECRET }); // a restart: nothing known
    net.advance(6_000);
    assert.ok(net.tracker.node('a'), 're-joined the restarted tracker');
    assert.ok(a.stats().rejoins >= 1);
  });
});
