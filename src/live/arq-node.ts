/**
 * The driver of a {@link LivePeerCore} over ARQ: one `ArqEndpoint` per neighbour on that
 * neighbour's datagram link (a punch link, direct or TURN-relayed, or any `DatagramLink`), with
 * two message-mode conversations — control (conv 1: HELLO, maps, HAVE, REQUEST, CANCEL, REJECT,
 * CHOKE, BYE) and data (conv 2: DATA, HEAD, PIECE) — one timer for the core, and the size limits checked
 * before a frame is decoded.
 * @module
 */
import { EventEmitter } from 'node:events';
import { ARQ_TURBO, ArqEndpoint, type ArqStream } from '../arq/index.ts';
import { ParseError } from '../errors/index.ts';
import { CoreTimer } from '../internal/core-timer.ts';
import type { DatagramLink } from '../mux/index.ts';
import { CHUNK_PAYLOAD_OFFSET } from './chunk.ts';
import { CHUNK_MAX_PAYLOAD_BYTES, CHUNK_MAX_PIECES, PIECE_HASH_BYTES } from './constants.ts';
import type { PathKind } from './neighbours.ts';
import { LivePeerCore, type LivePeerEvent, type LivePeerOptions } from './peer-core.ts';
import {
  CONTROL_FRAME_MAX_BYTES,
  decodePeerFrame,
  encodePeerFrame,
  isDataFrameType,
  PeerFrameType,
} from './wire.ts';

/** Conversation of the control frames. */
export const LIVE_CONTROL_CONV = 1;
/** Conversation of the DATA frames. */
export const LIVE_DATA_CONV = 2;
/** Largest data-conversation message: a frame byte and the largest chunk (head and payload). */
const DATA_FRAME_MAX_BYTES =
  1 + CHUNK_PAYLOAD_OFFSET + CHUNK_MAX_PIECES * PIECE_HASH_BYTES + CHUNK_MAX_PAYLOAD_BYTES;
/** Frames queued for a neighbour whose conversations are not open yet (a chunk is a HEAD and its pieces). */
const MAX_EARLY_FRAMES = 256;
/**
 * Data a neighbour's link may hold, bytes — written but not yet acknowledged (in KCP's queue and
 * window, and in the stream's buffer); past it the core refuses that neighbour's requests BUSY
 * (`linkBacklogged`). About 1.5 s of a 2 Mbit/s stream: a link that far behind is too slow for
 * live anyway, and one that stops acknowledging cannot make this node hold more.
 */
export const LINK_BACKLOG_MAX_BYTES = 384 * 1024;
/** Payload bytes of one KCP segment at the ARQ's default MTU (1400, less the frame byte and the 24-byte header). */
const SEGMENT_BYTES = 1375;

/** Settings of a {@link LiveArqNode}: the core's, and a clock for tests. */
export interface LiveArqNodeOptions extends LivePeerOptions {
  /** Clock, ms; default `performance.now() + performance.timeOrigin` (Unix ms, as chunk timestamps). */
  readonly now?: () => number;
}

interface Link {
  readonly endpoint: ArqEndpoint;
  control: ArqStream | undefined;
  data: ArqStream | undefined;
  readonly early: Buffer[][];
}

/** Events of a {@link LiveArqNode}: every core event by its type. */
export interface LiveArqNodeEvents {
  event: [event: LivePeerEvent];
}

/** A live node on real links. */
export class LiveArqNode extends EventEmitter<LiveArqNodeEvents> {
  readonly core: LivePeerCore;
  readonly #now: () => number;
  readonly #links = new Map<string, Link>();
  /** The core's one timer: re-armed after every message without a clearTimeout/setTimeout pair. */
  readonly #timer: CoreTimer;
  #closed = false;

  constructor(options: LiveArqNodeOptions) {
    super();
    this.core = new LivePeerCore({
      ...options,
      linkBacklogged: options.linkBacklogged ?? ((id) => this.backlogBytes(id) > LINK_BACKLOG_MAX_BYTES),
    });
    this.#now = options.now ?? (() => performance.timeOrigin + performance.now());
    this.#timer = new CoreTimer(
      this.#now,
      () => this.core.nextWakeMs(),
      () => this.#run(),
      { ref: false },
    );
  }

  /**
   * Adds neighbour `id` reachable over `link`. Both sides open both conversations (over a link a
   * conversation is its conv alone), so neither waits for the other to speak first.
   */
  attach(id: string, link: DatagramLink, pathKind: PathKind | 'unknown' = 'unknown'): void {
    if (this.#closed || this.#links.has(id)) return;
    const endpoint = new ArqEndpoint({ link, ...ARQ_TURBO, accept: 'never' });
    const l: Link = { endpoint, control: undefined, data: undefined, early: [[], []] };
    this.#links.set(id, l);
    const wire = (stream: ArqStream): void => {
      stream.on('error', () => this.#gone(id));
      stream.on('close', () => this.#gone(id));
      stream.on('data', (message: Buffer) => this.#message(id, stream.conv, message));
      const i = stream.conv === LIVE_CONTROL_CONV ? 0 : 1;
      if (i === 0) l.control = stream;
      else l.data = stream;
      for (const m of l.early[i]!.splice(0)) stream.write(m);
    };
    wire(endpoint.open(LIVE_CONTROL_CONV));
    wire(endpoint.open(LIVE_DATA_CONV));
    this.core.connect(id, this.#now(), pathKind);
    this.#run();
  }

  /**
   * Smoothed round-trip time of each neighbour's control conversation once it has sent (both ends
   * send control frames, so each gets acknowledgements to time), ms; KCP counts whole ms, so a
   * loopback link reads 0.
   */
  rttsMs(): number[] {
    const out: number[] = [];
    for (const l of this.#links.values()) {
      const s = l.control?.stats();
      if (s !== undefined && s.messagesOut > 0) out.push(s.srttMs);
    }
    return out;
  }

  /**
   * Data written to neighbour `id` and not yet acknowledged, bytes: the data conversation's
   * segments queued or in flight (counted at a full segment each) and what its stream buffers.
   */
  backlogBytes(id: string): number {
    const data = this.#links.get(id)?.data;
    if (data === undefined) return 0;
    return data.writableLength + data.stats().waitSnd * SEGMENT_BYTES;
  }

  /** Forgets neighbour `id` and closes its endpoint. */
  detach(id: string): void {
    const l = this.#links.get(id);
    if (l === undefined) return;
    this.#links.delete(id);
    this.core.disconnect(id);
    l.endpoint.close();
  }

  /** Edge: a chunk from the source. */
  ingest(bytes: Buffer): boolean {
    const ok = this.core.ingest(bytes, this.#now());
    this.#run();
    return ok;
  }

  /** Says BYE to every neighbour, then closes every endpoint. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.core.close();
    this.#flush();
    this.#closed = true;
    this.#timer.stop();
    // Give the BYEs one ARQ flush before the endpoints go.
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const id of [...this.#links.keys()]) this.detach(id);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #message(id: string, conv: number, message: Buffer): void {
    const limit = conv === LIVE_CONTROL_CONV ? CONTROL_FRAME_MAX_BYTES : DATA_FRAME_MAX_BYTES;
    if (message.length > limit) {
      this.core.badFrame(id, true);
    } else {
      try {
        const frame = decodePeerFrame(message);
        // DATA only on the data conversation, control frames only on the control one.
        if (isDataFrameType(frame.type) !== (conv === LIVE_DATA_CONV)) this.core.badFrame(id, false);
        else this.core.receive(id, frame, this.#now());
      } catch (error) {
        if (!(error instanceof ParseError)) throw error;
        this.core.badFrame(id, false);
      }
    }
    this.#run();
  }

  #gone(id: string): void {
    if (!this.#links.has(id)) return;
    this.detach(id);
    this.#run();
  }

  #run(): void {
    if (this.#closed) return;
    const now = this.#now();
    this.core.poll(now);
    this.#flush();
    this.#timer.arm();
  }

  #flush(): void {
    for (const t of this.core.takeTransmits()) {
      const l = this.#links.get(t.to);
      if (l === undefined) continue;
      const bytes = encodePeerFrame(t.frame);
      const data = isDataFrameType(t.frame.type);
      const stream = data ? l.data : l.control;
      if (stream !== undefined) stream.write(bytes);
      else if (l.early[data ? 1 : 0]!.length < MAX_EARLY_FRAMES) l.early[data ? 1 : 0]!.push(bytes);
      if (t.frame.type === PeerFrameType.BYE) setTimeout(() => this.detach(t.to), 50).unref();
    }
    for (const e of this.core.takeEvents()) {
      this.emit('event', e);
      if (e.type === 'ban' || e.type === 'drop') this.detach(e.neighbour);
    }
  }
}
