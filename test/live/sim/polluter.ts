// A malicious peer for the swarm simulator: it claims every chunk (a lying buffer map and HAVE
// for everything it hears of), answers half the requests with forged chunks (the channel's id,
// a valid structure, another key's signature) and ignores the other half, and floods its
// neighbours with requests, repeated ones included.
import {
  type ChannelSigner,
  createChannel,
  PEER_PROTOCOL_VERSION,
  type PeerFrame,
  PeerFrameType,
  PeerRole,
  signChunk,
} from '../../../src/live/index.ts';

/** Forged chunks by sequence number, shared by all polluters of a run (bounded). */
export class Forger {
  readonly #key: ChannelSigner;
  readonly #cache = new Map<number, Buffer>();
  readonly #payload: Buffer;
  readonly #chunkMs: number;

  constructor(channelId: Buffer, payload: Buffer, chunkMs: number) {
    const own = createChannel(Buffer.alloc(32, 0x66));
    this.#key = { ...own, id: channelId };
    this.#payload = payload;
    this.#chunkMs = chunkMs;
  }

  forged(seq: number): Buffer {
    let c = this.#cache.get(seq);
    if (c === undefined) {
      c = signChunk(this.#key, {
        seq,
        timestampMs: seq * this.#chunkMs,
        durationMs: this.#chunkMs,
        flags: 1,
        payload: this.#payload,
      });
      if (this.#cache.size > 512) this.#cache.delete(this.#cache.keys().next().value as number);
      this.#cache.set(seq, c);
    }
    return c;
  }
}

/** What a polluter wants sent. */
export interface PolluterSend {
  readonly to: string;
  readonly frame: PeerFrame;
  readonly delayMs: number;
}

/** The polluter's behaviour; the simulator delivers its frames like anyone's. */
export class Polluter {
  readonly id: string;
  readonly neighbours = new Set<string>();
  firstForgeryMs = Number.NaN;
  forgeriesSent = 0;
  readonly #channelId: Buffer;
  readonly #publicKey: Buffer;
  readonly #forger: Forger;
  readonly #random: () => number;
  #newest = -1;

  constructor(id: string, channelId: Buffer, publicKey: Buffer, forger: Forger, random: () => number) {
    this.id = id;
    this.#channelId = channelId;
    this.#publicKey = publicKey;
    this.#forger = forger;
    this.#random = random;
  }

  connect(to: string, out: PolluterSend[]): void {
    this.neighbours.add(to);
    out.push({
      to,
      delayMs: 0,
      frame: {
        type: PeerFrameType.HELLO,
        version: PEER_PROTOCOL_VERSION,
        role: PeerRole.PEER,
        seedPermille: 0,
        channelId: this.#channelId,
        publicKey: this.#publicKey,
        peerId: Buffer.alloc(16),
      },
    });
    if (this.#newest >= 0) {
      // A lying buffer map: the last 32 chunks, every one held and every one a random-access point.
      const all = Buffer.alloc(4, 0xff);
      out.push({
        to,
        delayMs: 0,
        frame: {
          type: PeerFrameType.BUFFER_MAP,
          base: Math.max(0, this.#newest - 31),
          count: 32,
          bitmap: all,
          rapBitmap: all,
        },
      });
    }
  }

  receive(from: string, frame: PeerFrame, nowMs: number, out: PolluterSend[]): void {
    switch (frame.type) {
      case PeerFrameType.HAVE:
        if (frame.seq > this.#newest) {
          this.#newest = frame.seq;
          for (const n of this.neighbours) {
            out.push({
              to: n,
              delayMs: 0,
              frame: { type: PeerFrameType.HAVE, seq: frame.seq, randomAccess: true },
            });
          }
        }
        return;
      case PeerFrameType.REQUEST:
        if (this.#random() < 0.5) {
          if (Number.isNaN(this.firstForgeryMs)) this.firstForgeryMs = nowMs;
          this.forgeriesSent++;
          out.push({
            to: from,
            delayMs: 0,
            frame: { type: PeerFrameType.DATA, chunk: this.#forger.forged(frame.seq) },
          });
        }
        return;
      case PeerFrameType.BYE:
        this.neighbours.delete(from);
        return;
      default:
        return;
    }
  }

  /** A burst of requests to every neighbour: recent chunks, some repeated, some far ahead. */
  flood(out: PolluterSend[]): void {
    if (this.#newest < 0) return;
    for (const n of this.neighbours) {
      for (let i = 0; i < 20; i++) {
        const seq =
          this.#random() < 0.2 ? this.#newest + 10_000 : this.#newest - Math.floor(this.#random() * 8);
        out.push({
          to: n,
          delayMs: 0,
          frame: { type: PeerFrameType.REQUEST, seq: Math.max(0, seq), urgent: true },
        });
      }
    }
  }
}
