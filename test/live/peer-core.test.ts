// The live node core, wired by hand on a fake clock: an edge and a peer play a stream; a forged
// chunk bans its sender; unsolicited data, floods and lies are bounded and counted; a missed
// deadline is a counted skip and the output stays whole MPEG-TS packets with the discontinuity
// indicator set.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ByeReason,
  createChannel,
  decodeChunk,
  LivePeerCore,
  type LivePeerEvent,
  type LivePeerOptions,
  markDiscontinuity,
  openChannel,
  type PeerFrame,
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
  /** When each chunk was played (by any core), ms. */
  readonly played = new Map<number, number>();
  flush(): void {
    for (const [id, core] of this.cores) {
      for (const t of core.takeTransmits())
        this.queue.push({ at: this.nowMs + this.delayMs, to: t.to, from: id, frame: t.frame });
      for (const e of core.takeEvents()) {
        if (e.type === 'play') this.played.set(e.seq, this.nowMs);
        this.events.get(id)!.push(e);
      }
    }
  }
  /** Whether core `id` is frozen at `now` (a process not scheduled): it reads nothing and runs no timer. */
  frozen: (id: string, now: number) => boolean = () => false;
  readonly #frozen = new Set<string>();
  run(untilMs: number, each?: (now: number) => void): void {
    while (this.nowMs < untilMs) {
      this.nowMs += 5;
      each?.(this.nowMs);
      // A core thawing runs its timers before it reads what queued meanwhile (the event loop's order).
      for (const [id, core] of this.cores) {
        const frozen = this.frozen(id, this.nowMs);
        if (!frozen && this.#frozen.delete(id)) {
          core.poll(this.nowMs);
          core.nextWakeMs();
        }
        if (frozen) this.#frozen.add(id);
      }
      for (const m of this.queue.filter((q) => q.at <= this.nowMs && !this.#frozen.has(q.to))) {
        this.queue.splice(this.queue.indexOf(m), 1);
        this.cores.get(m.to)?.receive(m.from, m.frame, this.nowMs);
      }
      for (const [id, core] of this.cores) {
        if (this.#frozen.has(id)) continue;
        core.poll(this.nowMs);
        core.nextWakeMs(); // as a driver does: a poll long after the wake asked for is a late one
      }
      this.flush();
    }
  }
}

const hello = {
  type: PeerFrameType.HELLO,
  version: 2,
  role: PeerRole.PEER,
  seedPermille: 0,
  channelId: channel.id,
  publicKey: channel.publicKey,
  peerId: Buffer.alloc(16),
} as const;

/** A wire with an edge and a leech-only peer `p` linked to it. */
function edgeAndLeech(): { w: Wire; edge: LivePeerCore; peer: LivePeerCore } {
  const w = new Wire();
  const edge = w.add('edge', new LivePeerCore({ channel: key, role: 'edge' }));
  const peer = w.add('p', new LivePeerCore({ channel: key, uploadCapBps: 0 }));
  w.link('edge', 'p');
  return { w, edge, peer };
}

/** An edge, a peer `q` on it, and a leech `p` whose only neighbour is `q` (no edge link). */
function behindANeighbour(maxDelayMs: number): { w: Wire; edge: LivePeerCore; peer: LivePeerCore } {
  const w = new Wire();
  const edge = w.add('edge', new LivePeerCore({ channel: key, role: 'edge' }));
  w.add('q', new LivePeerCore({ channel: key }));
  const peer = w.add('p', new LivePeerCore({ channel: key, uploadCapBps: 0, playout: { maxDelayMs } }));
  w.link('edge', 'q');
  w.link('q', 'p');
  return { w, edge, peer };
}

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
    const { w, edge, peer } = edgeAndLeech();
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
      version: 2,
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
        version: 2,
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
    const data = peer.takeTransmits().filter((t) => t.frame.type === PeerFrameType.HEAD);
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
    assert.equal(peer.takeTransmits().filter((t) => t.frame.type === PeerFrameType.HEAD).length, 0);
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
        version: 2,
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
      peer.takeTransmits().every((t) => t.frame.type !== PeerFrameType.HEAD),
      'nothing served to it',
    );
  });

  it('streams a chunk piece by piece: announced and forwarded once its head verifies, a forged piece bans', () => {
    const hello2 = { ...hello, version: 2 } as const;
    const whole = decodeChunk(
      signChunk(channel, {
        seq: 4,
        timestampMs: 0,
        durationMs: 250,
        flags: 1,
        payload: tsPayload(4, 4),
        piecePackets: 1,
      }),
    );
    const relay = new LivePeerCore({ channel: key });
    for (const id of ['up', 'down']) {
      relay.connect(id, 0);
      relay.receive(id, hello2, 0);
    }
    relay.receive('up', { type: PeerFrameType.HAVE, seq: 4, randomAccess: true }, 1);
    relay.poll(1);
    assert.ok(relay.takeTransmits().some((t) => t.to === 'up' && t.frame.type === PeerFrameType.REQUEST));
    relay.receive('up', { type: PeerFrameType.HEAD, head: whole.head }, 10);
    relay.receive(
      'up',
      { type: PeerFrameType.PIECE, seq: 4, index: 0, piece: whole.payload.subarray(0, 188) },
      11,
    );
    const have = relay.takeTransmits();
    assert.ok(
      have.some((t) => t.to === 'down' && t.frame.type === PeerFrameType.HAVE && t.frame.seq === 4),
      'announced once its head is verified',
    );
    relay.receive('down', { type: PeerFrameType.REQUEST, seq: 4, urgent: false }, 12);
    relay.poll(12);
    const first = relay
      .takeTransmits()
      .filter((t) => t.to === 'down')
      .map((t) => t.frame.type);
    assert.deepEqual(first, [PeerFrameType.HEAD, PeerFrameType.PIECE], 'the head and the piece it holds');
    relay.receive(
      'up',
      { type: PeerFrameType.PIECE, seq: 4, index: 1, piece: whole.payload.subarray(188, 376) },
      13,
    );
    const next = relay.takeTransmits().filter((t) => t.to === 'down');
    assert.ok(next.length === 1 && next[0]!.frame.type === PeerFrameType.PIECE && next[0]!.frame.index === 1);
    // Piece 2 forged: never kept, never forwarded, its sender banned.
    const bad = Buffer.from(whole.payload.subarray(376, 564));
    bad[100]! ^= 1;
    relay.receive('up', { type: PeerFrameType.PIECE, seq: 4, index: 2, piece: bad }, 14);
    assert.ok(relay.takeTransmits().every((t) => t.frame.type !== PeerFrameType.PIECE));
    assert.ok(relay.isBanned('up'));
    assert.equal(relay.stats().forgedDropped, 1);
    // A stalled transfer: the relay resumes the chunk elsewhere (REQUEST's resume bit).
    relay.connect('alt', 20);
    relay.receive('alt', hello2, 20);
    relay.receive('alt', { type: PeerFrameType.HAVE, seq: 4, randomAccess: true }, 21);
    relay.poll(21);
    const resume = relay
      .takeTransmits()
      .find((t) => t.to === 'alt' && t.frame.type === PeerFrameType.REQUEST);
    assert.ok(resume?.frame.type === PeerFrameType.REQUEST && resume.frame.resume === true);
    assert.equal(resume.frame.fromPiece, 2, 'it holds pieces 0 and 1: the rest from piece 2');
    relay.receive('alt', { type: PeerFrameType.HEAD, head: whole.head }, 30);
    for (let i = 0; i < 4; i++)
      relay.receive(
        'alt',
        {
          type: PeerFrameType.PIECE,
          seq: 4,
          index: i,
          piece: whole.payload.subarray(188 * i, 188 * (i + 1)),
        },
        31,
      );
    const rest = relay.takeTransmits().filter((t) => t.to === 'down' && t.frame.type === PeerFrameType.PIECE);
    assert.deepEqual(
      rest.map((t) => t.frame.type === PeerFrameType.PIECE && t.frame.index),
      [2, 3],
      'the stream gets the pieces it missed, once',
    );
    const got = relay.takeEvents().filter((e) => e.type === 'chunk');
    assert.equal(got.length, 1);
    assert.equal(relay.stats().unsolicitedDropped, 0);
  });

  it('answers a resumed request with the head and the pieces from the first one the requester lacks', () => {
    const hello2 = { ...hello, version: 2 } as const;
    const bytes = signChunk(channel, {
      seq: 0,
      timestampMs: 0,
      durationMs: 250,
      flags: 1,
      payload: tsPayload(6, 9),
      piecePackets: 1,
    });
    const head = decodeChunk(bytes).head;
    /** A core holding the chunk, with neighbours `ids` past HELLO. */
    const holder = (options: Partial<LivePeerOptions>, ids: string[]): LivePeerCore => {
      const core = new LivePeerCore({ channel: key, ...options });
      core.ingest(bytes, 0);
      for (const id of ids) {
        core.connect(id, 0);
        core.receive(id, hello2, 0);
      }
      core.poll(0);
      core.takeTransmits();
      return core;
    };
    const piecesTo = (sent: readonly { to: string; frame: PeerFrame }[], to: string): number[] =>
      sent.flatMap((t) => (t.to === to && t.frame.type === PeerFrameType.PIECE ? [t.frame.index] : []));
    const edge = holder({ role: 'edge' }, ['whole', 'part']);
    edge.receive('whole', { type: PeerFrameType.REQUEST, seq: 0, urgent: true }, 1);
    edge.receive(
      'part',
      { type: PeerFrameType.REQUEST, seq: 0, urgent: true, resume: true, fromPiece: 4 },
      1,
    );
    edge.poll(1);
    const sent = edge.takeTransmits();
    assert.deepEqual(piecesTo(sent, 'whole'), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(piecesTo(sent, 'part'), [4, 5], 'only what it lacks');
    assert.ok(sent.some((t) => t.to === 'part' && t.frame.type === PeerFrameType.HEAD));
    // The upload counted is what was sent: the whole chunk once, then the head and two pieces.
    assert.equal(edge.stats().bytesUploaded, bytes.length + head.length + 2 * 188);
    // A resumed request cancelled while it waits leaves nothing behind: the next one is whole.
    const peer = holder({ uploadCapBps: 8000, uploadMaxQueueDelayMs: 60_000 }, ['a', 'b']);
    peer.receive('a', { type: PeerFrameType.REQUEST, seq: 0, urgent: false }, 1);
    peer.receive('b', { type: PeerFrameType.REQUEST, seq: 0, urgent: false, resume: true, fromPiece: 4 }, 1);
    peer.poll(1);
    const first = peer.takeTransmits();
    assert.ok(first.some((t) => t.to === 'a' && t.frame.type === PeerFrameType.HEAD));
    assert.ok(!first.some((t) => t.to === 'b' && t.frame.type === PeerFrameType.HEAD), 'b waits for tokens');
    peer.receive('b', { type: PeerFrameType.CANCEL, seq: 0 }, 2);
    peer.receive('b', { type: PeerFrameType.REQUEST, seq: 0, urgent: false }, 3);
    peer.poll(10_000);
    assert.deepEqual(piecesTo(peer.takeTransmits(), 'b'), [0, 1, 2, 3, 4, 5]);
  });

  it('serves a resumed request for a chunk the requester announced (counted), and keeps it', () => {
    const peer = new LivePeerCore({ channel: key });
    peer.ingest(chunk(0, 0), 0);
    peer.connect('r', 0);
    peer.receive('r', { ...hello, version: 2 }, 0);
    peer.receive('r', { type: PeerFrameType.HAVE, seq: 0, randomAccess: true }, 1);
    peer.takeTransmits();
    peer.receive('r', { type: PeerFrameType.REQUEST, seq: 0, urgent: false, resume: true }, 2);
    peer.poll(2);
    assert.ok(peer.hasNeighbour('r'));
    assert.ok(peer.takeTransmits().some((t) => t.to === 'r' && t.frame.type === PeerFrameType.HEAD));
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

  it('resumes after the source was down for 5 s and restarted numbering behind the playout clock', () => {
    // The source is down from chunk 40 for 5 s and comes back numbering from 50 (by its clock; the
    // first run had fallen behind it). A playout that skipped on through the outage would be past
    // 56 by then and refuse the restarted stream as too old, for good. This one waits at the live
    // edge, skips the numbers that never existed, and plays the restarted stream.
    const { w, edge, peer } = edgeAndLeech();
    let seq = 0;
    const downAt = 42 * 250; // chunk s is cut at (s + 1) × 250 ms: 40 is the last before the outage
    const upAt = downAt + 5000;
    w.run(30_000, (now) => {
      if (now % 250 !== 0 || (now >= downAt && now < upAt)) return;
      if (now === upAt) seq = 50;
      edge.ingest(chunk(seq++, now), now);
    });
    const events = w.events.get('p')!;
    const played = events.filter((e) => e.type === 'play').map((e) => (e.type === 'play' ? e.seq : -1));
    const skipped = events.filter((e) => e.type === 'skip').map((e) => (e.type === 'skip' ? e.seq : -1));
    assert.deepEqual(
      skipped,
      Array.from({ length: 9 }, (_, i) => 41 + i),
      'the outage: exactly the numbers that never existed',
    );
    const after = played.filter((s) => s >= 50);
    assert.ok(after.length > 40, `${after.length} chunks of the restarted stream played`);
    assert.deepEqual(
      after,
      Array.from({ length: after.length }, (_, i) => 50 + i),
      'and none of it skipped',
    );
    const s = peer.stats();
    assert.equal(s.discontinuities, 1, 'one discontinuity: the restart');
    assert.equal(s.stalls, 1);
    // The numbers that never existed take no time: the restarted stream plays about the target
    // delay (1.5 s) behind the source, as before the outage, not 9 chunk times further behind.
    const cut = upAt + 250 * 10; // chunk 60, cut 10 chunk times after the restart
    const at60 = w.played.get(60)!;
    assert.ok(at60 - cut <= 1500 + 250, `chunk 60 played ${at60 - cut} ms after it was cut`);
  });

  it('holds at the live edge when a polluter claims chunks ahead of a stalled source', () => {
    // A neighbour announces chunks 16 ahead of the stream (what a polluter's map does) while the
    // source stalls for 3 s: the peer holds at the edge's newest chunk, not at the claim, and
    // skips nothing once the source goes on.
    const { w, edge, peer } = edgeAndLeech();
    peer.connect('liar', 0);
    peer.receive('liar', hello, 0);
    let seq = 0;
    w.run(20_000, (now) => {
      if (now % 250 !== 0) return;
      if (now <= 5000 || now >= 8000) edge.ingest(chunk(seq++, now), now);
      peer.receive('liar', { type: PeerFrameType.HAVE, seq: seq + 16, randomAccess: false }, now);
    });
    const s = peer.stats();
    assert.equal(s.skipped, 0, 'nothing skipped');
    assert.ok(s.played > 40, `${s.played} played`);
  });

  it('a joiner takes the live edge from its edge, not from a liar: it plays a target delay behind', () => {
    // From the first moment, a neighbour claims chunks 0–31 held (every one a random-access point)
    // and each new chunk 16 ahead, as the simulator's polluter does at a stream's start. A joiner
    // that believed it would start with the first chunk and play every chunk ~50 ms after the
    // source cut it (at every deadline from then on, only the edge in time). It must start once
    // the edge's word puts the live edge the target delay past its join chunk.
    const { w, edge, peer } = edgeAndLeech();
    peer.connect('liar', 0);
    peer.receive('liar', hello, 0);
    const all = Buffer.alloc(4, 0xff);
    peer.receive(
      'liar',
      { type: PeerFrameType.BUFFER_MAP, base: 0, count: 32, bitmap: all, rapBitmap: all },
      0,
    );
    let seq = 0;
    w.run(10_000, (now) => {
      if (now % 250 !== 0) return;
      edge.ingest(chunk(seq++, now), now);
      peer.receive('liar', { type: PeerFrameType.HAVE, seq: seq + 16, randomAccess: true }, now);
    });
    const delays = [...w.played].map(([s, at]) => at - (s + 1) * 250);
    assert.ok(delays.length > 25, `${delays.length} played`);
    const lowest = Math.min(...delays);
    // The default target delay is 1.5 s, the join chunk fetched within 250 ms of it.
    assert.ok(lowest >= 1000, `a chunk played ${lowest} ms after the source cut it`);
    const s = peer.stats();
    assert.equal(s.skipped, 0);
    assert.equal(s.continuity, 1);
  });

  it('resumes after an outage longer than the buffer window (the restarted numbers far ahead)', () => {
    // Down for 100 s: the restarted source numbers 400 chunks on, past the 256-chunk window in
    // which a neighbour's announcements are believed. The edge's are: the peer follows it there.
    const { w, edge, peer } = edgeAndLeech();
    let seq = 0;
    const downAt = 42 * 250;
    const upAt = downAt + 100_000;
    w.run(downAt + 10_000, (now) => {
      if (now % 250 === 0 && now < downAt) edge.ingest(chunk(seq++, now), now);
    });
    w.nowMs = upAt - 5;
    seq = 41 + 400;
    w.run(upAt + 15_000, (now) => {
      if (now % 250 === 0) edge.ingest(chunk(seq++, now), now);
    });
    const played = w.events.get('p')!.filter((e) => e.type === 'play' && e.seq > 400);
    assert.ok(played.length > 30, `${played.length} chunks of the restarted stream played`);
    const s = peer.stats();
    assert.equal(s.skipped, 400, 'the outage counted: 41-440 skipped');
    assert.equal(s.discontinuities, 1);
    assert.equal(s.protocolErrors, 0, "the edge's announcements are no protocol error");
  });

  it('waits at the live edge when the source falls behind its clock, skipping nothing', () => {
    // The source stalls for 3 s (a busy machine) and then goes on with the next number: no chunk is
    // lost, so none may be skipped (the playout used to skip chunks that did not exist yet and then
    // refuse them as too old).
    const { w, edge, peer } = edgeAndLeech();
    let seq = 0;
    w.run(20_000, (now) => {
      if (now % 250 !== 0 || (now > 5000 && now < 8000)) return;
      edge.ingest(chunk(seq++, now), now);
    });
    const s = peer.stats();
    assert.equal(s.skipped, 0);
    assert.equal(s.stalls, 1);
    assert.equal(s.discontinuities, 0);
    assert.ok(s.played > 40, `${s.played} played`);
  });

  it('a peer far behind the live edge (frozen, no edge link) plays faster until it is back instead of staying behind', () => {
    // The peer gets the stream from a neighbour only (its edge link is not up), so what it knows
    // to exist is what it holds. Frozen for 8 s (a process not scheduled on a starved machine), on
    // waking it runs its timers before it reads: it holds at a chunk it has not heard of and
    // resumes a target delay after it comes — ~7 s behind the source, and there it would stay.
    // With the bound (4 s) it plays at 1.25x until it is back at its target delay.
    const run = (maxDelayMs: number): { lags: number[]; stats: ReturnType<LivePeerCore['stats']> } => {
      const { w, edge, peer } = behindANeighbour(maxDelayMs);
      w.frozen = (id, now) => id === 'p' && now >= 10_000 && now < 18_000;
      const cutAt = new Map<number, number>();
      const lags: number[] = [];
      let seq = 0;
      let seen = 0;
      w.run(70_000, (now) => {
        if (now % 250 === 0) {
          cutAt.set(seq, now);
          edge.ingest(chunk(seq++, now), now);
        }
        const events = w.events.get('p')!;
        for (; seen < events.length; seen++) {
          const e = events[seen]!;
          if (e.type === 'play' && now >= 55_000) lags.push(now - cutAt.get(e.seq)!);
        }
      });
      return { lags, stats: peer.stats() };
    };
    const unbounded = run(1e9);
    assert.equal(unbounded.stats.catchUps, 0);
    assert.ok(
      Math.min(...unbounded.lags) > 5000,
      `without a bound it plays ${Math.min(...unbounded.lags)} ms and more behind the source`,
    );
    const bounded = run(4000);
    assert.ok(bounded.stats.catchUps >= 1, 'it caught up');
    assert.equal(bounded.stats.jumps, 0, 'by playing faster, not by jumping');
    assert.ok(bounded.lags.length > 50, `${bounded.lags.length} chunks played in the last 15 s`);
    assert.ok(
      Math.max(...bounded.lags) <= 1500 + 500,
      `with one it plays at most ${Math.max(...bounded.lags)} ms behind the source, about its target delay`,
    );
    assert.equal(bounded.stats.skipped, unbounded.stats.skipped, 'and skipped nothing more');
    assert.equal(bounded.stats.discontinuities, unbounded.stats.discontinuities);
    for (const { stats } of [unbounded, bounded]) {
      // Woken late, it read what had queued before it expired requests: nothing timed out.
      assert.equal(stats.latePolls, 1);
      assert.equal(stats.timeouts, 0, 'its pause is no timeout of its neighbour');
      // Asked for chunks its neighbour had evicted (16 behind its playout): no lie, nobody dropped.
      assert.equal(stats.replaced, 0, 'its honest neighbour is kept');
    }
  });

  it('a hold its own stale view keeps (neighbours far on, no edge) ends: it catches up to them', () => {
    // Frozen for 20 s with no edge link: on waking it holds at the next chunk, which its only
    // neighbour evicted long ago (it keeps 16 behind its playout point), and nothing it could fetch
    // lies within its lookahead — it would hold for good. The neighbours' median newest chunk says
    // the stream went on: after 2 s of holding it jumps there.
    const run = (maxDelayMs: number): ReturnType<LivePeerCore['stats']> => {
      const { w, edge, peer } = behindANeighbour(maxDelayMs);
      w.frozen = (id, now) => id === 'p' && now >= 10_000 && now < 30_000;
      let seq = 0;
      w.run(31_000, (now) => {
        if (now % 250 === 0) edge.ingest(chunk(seq++, now), now);
      });
      const before = peer.stats().played; // the chunks it held play at once on waking
      w.run(45_000, (now) => {
        if (now % 250 === 0) edge.ingest(chunk(seq++, now), now);
      });
      const s = peer.stats();
      return { ...s, played: s.played - before };
    };
    const stuck = run(1e9);
    assert.equal(stuck.played, 0, 'without the bound it holds for good');
    const s = run(4000);
    assert.equal(s.jumps, 1);
    assert.ok(s.played > 40, `it plays again: ${s.played} chunks in the last 14 s`);
    assert.equal(s.replaced, 0, 'the neighbour that evicted what it asked for is no liar');
  });

  it('woken late, it reads what queued before it expires requests: its pause is no timeout of a neighbour', () => {
    const run = (answerAtMs: number): ReturnType<LivePeerCore['stats']> => {
      const peer = new LivePeerCore({ channel: key, uploadCapBps: 0 });
      peer.connect('n', 0);
      peer.receive('n', hello, 0);
      peer.receive('n', { type: PeerFrameType.HAVE, seq: 4, randomAccess: true }, 0);
      peer.poll(1);
      assert.ok(peer.takeTransmits().some((t) => t.frame.type === PeerFrameType.REQUEST));
      peer.nextWakeMs();
      // The answer came at 20 ms, but the process was not scheduled until 3 s: it wakes and runs
      // its timers first (a driver's timer fires before the socket is read), then reads.
      peer.poll(answerAtMs);
      peer.nextWakeMs();
      peer.receive('n', { type: PeerFrameType.DATA, chunk: chunk(4, 0) }, answerAtMs);
      for (let t = answerAtMs; t <= answerAtMs + 200; t += 10) {
        peer.poll(t);
        peer.nextWakeMs();
      }
      return peer.stats();
    };
    const late = run(3000);
    assert.equal(late.latePolls, 1);
    assert.equal(late.timeouts, 0, 'the request did not time out: its answer was waiting');
    assert.equal(late.unsolicitedDropped, 0, 'and the answer was taken, not dropped as unsolicited');
    const onTime = run(30);
    assert.equal(onTime.latePolls, 0);
    assert.equal(onTime.timeouts, 0);
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
