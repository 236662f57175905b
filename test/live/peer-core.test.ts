// The live node core, wired by hand on a fake clock: an edge and a peer play a stream; a forged
// chunk bans its sender; unsolicited data, floods and lies are bounded and counted; a missed
// deadline is a counted skip and the output stays whole MPEG-TS packets with the discontinuity
// indicator set.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ByeReason,
  createChannel,
  LivePeerCore,
  type LivePeerEvent,
  markDiscontinuity,
  openChannel,
  PeerFrameType,
  PeerRole,
  RejectReason,
  signChunk,
  UploadQueue,
} from '../../src/live/index.ts';
import { tsPayload } from './helpers.ts';

const channel = createChannel(Buffer.alloc(32, 3));
const key = openChannel(channel.publicKey, channel.id);
const chunk = (seq: number, tsMs: number, flags = seq % 2 === 0 ? 1 : 0): Buffer =>
  signChunk(channel, { seq, timestampMs: tsMs, durationMs: 250, flags, payload: tsPayload(4, seq & 0xff) });

/** Delivers every transmit between named cores after `delayMs`, on a shared fake clock. */
class Wire {
  nowMs = 0;
  readonly cores = new Map<string, LivePeerCore>();
  readonly events = new Map<string, LivePeerEvent[]>();
  readonly queue: { at: number; to: string; from: string; frame: Parameters<LivePeerCore['receive']>[1] }[] =
    [];
  readonly delayMs = 20;
  add(id: string, core: LivePeerCore): LivePeerCore {
    this.cores.set(id, core);
    this.events.set(id, []);
    return core;
  }
  link(a: string, b: string): void {
    this.cores.get(a)!.connect(b, this.nowMs, 'direct');
    this.cores.get(b)!.connect(a, this.nowMs, 'direct');
    this.flush();
  }
  flush(): void {
    for (const [id, core] of this.cores) {
      for (const t of core.takeTransmits())
        this.queue.push({ at: this.nowMs + this.delayMs, to: t.to, from: id, frame: t.frame });
      this.events.get(id)!.push(...core.takeEvents());
    }
  }
  run(untilMs: number, each?: (now: number) => void): void {
    while (this.nowMs < untilMs) {
      this.nowMs += 5;
      each?.(this.nowMs);
      for (const m of this.queue.filter((q) => q.at <= this.nowMs)) {
        this.queue.splice(this.queue.indexOf(m), 1);
        this.cores.get(m.to)?.receive(m.from, m.frame, this.nowMs);
      }
      for (const core of this.cores.values()) core.poll(this.nowMs);
      this.flush();
    }
  }
}

const hello = {
  type: PeerFrameType.HELLO,
  version: 1,
  role: PeerRole.PEER,
  seedPermille: 0,
  channelId: channel.id,
  publicKey: channel.publicKey,
  peerId: Buffer.alloc(16),
} as const;

describe('upload queue', () => {
  it('sends the freshest chunk first (urgent ones before it); round-robin keeps each queue in order', () => {
    const drain = (order: 'freshest' | 'round-robin'): string[] => {
      const q = new UploadQueue({ capBps: 8e6, order });
      q.enqueue('a', 1, false, 1000);
      q.enqueue('a', 2, false, 1000);
      q.enqueue('b', 5, false, 1000);
      q.enqueue('b', 3, true, 1000);
      const out: string[] = [];
      for (
        let next = q.next(
          0,
          () => 1000,
          () => {},
        );
        next !== undefined;
        next = q.next(
          0,
          () => 1000,
          () => {},
        )
      )
        out.push(`${next.to}${next.seq}`);
      return out;
    };
    assert.deepEqual(drain('freshest'), ['b3', 'b5', 'a2', 'a1']);
    assert.deepEqual(drain('round-robin'), ['a1', 'b3', 'a2', 'b5']);
  });

  it('sends pushes before queued requests and skips a chunk its requester no longer wants', () => {
    const q = new UploadQueue({ capBps: 8e6 });
    q.enqueue('a', 9, true, 1000);
    q.enqueue('b', 4, false, 1000, true);
    q.enqueue('c', 7, false, 1000);
    const gone: string[] = [];
    const sizes = (seq: number, id: string): number => (id === 'c' ? -2 : seq === 9 ? -1 : 1000);
    assert.deepEqual(
      q.next(0, sizes, (id, seq) => gone.push(`${id}${seq}`)),
      { to: 'b', seq: 4 },
    );
    assert.equal(
      q.next(0, sizes, (id, seq) => gone.push(`${id}${seq}`)),
      undefined,
    );
    assert.deepEqual(gone, ['a9'], 'a chunk no longer held is reported, an unwanted one dropped silently');
    assert.equal(q.queued, 0);
  });
});

describe('live peer core', () => {
  it('joins at a random-access chunk and plays the stream from the edge with verified chunks', () => {
    const w = new Wire();
    const edge = w.add('edge', new LivePeerCore({ channel: key, role: 'edge' }));
    const peer = w.add('p', new LivePeerCore({ channel: key, uploadCapBps: 0 }));
    w.link('edge', 'p');
    let seq = 0;
    w.run(8000, (now) => {
      if (now % 250 === 0) edge.ingest(chunk(seq++, now), now);
    });
    const played = w.events.get('p')!.filter((e) => e.type === 'play');
    assert.ok(played.length >= 20, `${played.length} played`);
    const first = played[0]!;
    assert.equal(first.type === 'play' && first.seq % 2, 0, 'the first chunk is a random-access one');
    const s = peer.stats();
    assert.equal(s.skipped, 0);
    assert.equal(s.continuity, 1);
    assert.ok(s.bytesFromEdge > 0 && s.bytesFromPeers === 0);
    assert.ok(s.latencyP50Ms < 1500, `latency ${s.latencyP50Ms}`);
    assert.ok(Number.isFinite(s.startedAtMs));
  });

  it('bans a neighbour that sends a forged chunk and never plays it', () => {
    const w = new Wire();
    const peer = w.add('p', new LivePeerCore({ channel: key }));
    peer.connect('evil', 0);
    const hello = {
      type: PeerFrameType.HELLO,
      version: 1,
      role: PeerRole.PEER,
      seedPermille: 0,
      channelId: channel.id,
      publicKey: channel.publicKey,
      peerId: Buffer.alloc(16),
    } as const;
    peer.receive('evil', hello, 0);
    peer.receive('evil', { type: PeerFrameType.HAVE, seq: 4, randomAccess: true }, 0);
    peer.poll(1);
    const request = peer.takeTransmits().find((t) => t.frame.type === PeerFrameType.REQUEST);
    assert.ok(request, 'the peer asks the only holder for its join chunk');
    const other = createChannel(Buffer.alloc(32, 9));
    const forged = signChunk(
      { ...other, id: channel.id },
      { seq: 4, timestampMs: 0, durationMs: 250, flags: 1, payload: tsPayload(4, 0) },
    );
    peer.receive('evil', { type: PeerFrameType.DATA, chunk: forged }, 20);
    peer.poll(20);
    const events = peer.takeEvents();
    assert.deepEqual(
      events.filter((e) => e.type === 'ban'),
      [{ type: 'ban', neighbour: 'evil', reason: 'forged' }],
    );
    assert.equal(events.filter((e) => e.type === 'play').length, 0);
    assert.ok(
      peer
        .takeTransmits()
        .some(
          (t) => t.to === 'evil' && t.frame.type === PeerFrameType.BYE && t.frame.reason === ByeReason.BANNED,
        ),
    );
    assert.equal(peer.stats().forgedDropped, 1);
    assert.equal(peer.isBanned('evil'), true);
    assert.equal(peer.connect('evil', 30), false, 'a banned peer cannot come back');
  });

  it('drops unsolicited data unverified, refuses floods, and bans a persistent flooder', () => {
    const peer = new LivePeerCore({ channel: key, maxViolationsPer10s: 20 });
    peer.ingest(chunk(0, 0), 0); // a peer may hold chunks (fed here directly)
    peer.connect('f', 0);
    peer.receive(
      'f',
      {
        type: PeerFrameType.HELLO,
        version: 1,
        role: PeerRole.PEER,
        seedPermille: 0,
        channelId: channel.id,
        publicKey: channel.publicKey,
        peerId: Buffer.alloc(16),
      },
      0,
    );
    peer.receive('f', { type: PeerFrameType.DATA, chunk: chunk(1, 0) }, 1);
    assert.equal(peer.stats().unsolicitedDropped, 1);
    for (let i = 0; i < 30 && peer.hasNeighbour('f'); i++)
      peer.receive('f', { type: PeerFrameType.REQUEST, seq: 1000 + i, urgent: true }, 2);
    const tx = peer.takeTransmits();
    assert.ok(
      tx.some((t) => t.frame.type === PeerFrameType.REJECT && t.frame.reason === RejectReason.NOT_HELD),
    );
    assert.equal(peer.hasNeighbour('f'), false, 'banned past maxViolationsPer10s');
    assert.ok(peer.takeEvents().some((e) => e.type === 'ban' && e.reason === 'flood'));
  });

  it('keeps a standing (ahead) request, pushes the chunk on arrival, and refuses past pushPerChunk', () => {
    const peer = new LivePeerCore({ channel: key, pushPerChunk: 1 });
    peer.ingest(chunk(0, 0), 0);
    for (const id of ['a', 'b']) {
      peer.connect(id, 0);
      peer.receive(id, hello, 0);
    }
    peer.takeTransmits();
    peer.receive('a', { type: PeerFrameType.REQUEST, seq: 1, urgent: false, ahead: true }, 1);
    peer.receive('b', { type: PeerFrameType.REQUEST, seq: 1, urgent: false, ahead: true }, 1);
    peer.receive('b', { type: PeerFrameType.REQUEST, seq: 500, urgent: false, ahead: true }, 1);
    peer.poll(1);
    const refusals = peer
      .takeTransmits()
      .map((t) => t.frame.type === PeerFrameType.REJECT && `${t.to} ${t.frame.seq} ${t.frame.reason}`);
    assert.deepEqual(refusals, [`b 1 ${RejectReason.BUSY}`, `b 500 ${RejectReason.NOT_HELD}`]);
    peer.ingest(chunk(1, 250), 250);
    peer.poll(250);
    const data = peer.takeTransmits().filter((t) => t.frame.type === PeerFrameType.DATA);
    assert.deepEqual(
      data.map((t) => t.to),
      ['a'],
      'pushed to the one standing request it kept',
    );
    // A cancelled standing request is forgotten.
    peer.receive('a', { type: PeerFrameType.REQUEST, seq: 2, urgent: false, ahead: true }, 300);
    peer.receive('a', { type: PeerFrameType.CANCEL, seq: 2 }, 301);
    peer.ingest(chunk(2, 500), 500);
    peer.poll(500);
    assert.equal(peer.takeTransmits().filter((t) => t.frame.type === PeerFrameType.DATA).length, 0);
    assert.equal(peer.stats().neighbours.length, 2, 'standing requests are no violation');
  });

  it('replaces a neighbour that requests a chunk it announced (its map or its request is a lie)', () => {
    const peer = new LivePeerCore({ channel: key });
    peer.ingest(chunk(0, 0), 0);
    peer.connect('l', 0);
    peer.receive(
      'l',
      {
        type: PeerFrameType.HELLO,
        version: 1,
        role: PeerRole.PEER,
        seedPermille: 0,
        channelId: channel.id,
        publicKey: channel.publicKey,
        peerId: Buffer.alloc(16),
      },
      0,
    );
    peer.receive('l', { type: PeerFrameType.HAVE, seq: 0, randomAccess: true }, 1);
    peer.takeTransmits();
    peer.receive('l', { type: PeerFrameType.REQUEST, seq: 0, urgent: false }, 2);
    assert.equal(peer.hasNeighbour('l'), false);
    assert.ok(peer.takeEvents().some((e) => e.type === 'drop' && e.neighbour === 'l' && e.reason === 'liar'));
    assert.ok(
      peer.takeTransmits().every((t) => t.frame.type !== PeerFrameType.DATA),
      'nothing served to it',
    );
  });

  it('skips a chunk that missed its deadline and marks the discontinuity in the TS output', () => {
    const w = new Wire();
    const edge = w.add('edge', new LivePeerCore({ channel: key, role: 'edge' }));
    w.add('p', new LivePeerCore({ channel: key, uploadCapBps: 0 }));
    w.link('edge', 'p');
    let seq = 0;
    w.run(10_000, (now) => {
      if (now % 250 !== 0) return;
      const s = seq++;
      // Chunk 20 never reaches the edge: nobody can have it.
      if (s !== 20) edge.ingest(chunk(s, now), now);
    });
    const events = w.events.get('p')!;
    const skips = events.filter((e) => e.type === 'skip');
    assert.deepEqual(
      skips.map((e) => e.type === 'skip' && e.seq),
      [20],
    );
    assert.equal(events.filter((e) => e.type === 'stall').length, 1);
    const after = events.find((e) => e.type === 'play' && e.seq === 21);
    assert.ok(after?.type === 'play' && after.discontinuity);
    assert.equal(after.payload.length % 188, 0);
    for (let i = 0; i < after.payload.length; i += 188) assert.equal(after.payload[i], 0x47);
    const stats = w.cores.get('p')!.stats();
    assert.equal(stats.skipped, 1);
    assert.ok(stats.continuity < 1 && stats.continuity > 0.95);
  });

  it('sets the discontinuity indicator only where an adaptation field exists', () => {
    const payload = tsPayload(2, 0);
    payload[3] = 0x30; // adaptation field + payload
    payload[4] = 7;
    payload[5] = 0;
    payload[188 + 1] = 0x02; // another PID, no adaptation field
    const marked = markDiscontinuity(payload);
    assert.equal(marked[5], 0x80);
    assert.equal(payload[5], 0, 'the stored chunk is not modified');
    assert.deepEqual(marked.subarray(188), payload.subarray(188));
  });
});
