// An in-process lossy link between two KCP control blocks, driven by a virtual clock.
// Loss, duplication, delay and jitter (hence reordering) come from a seeded PRNG so every run
// with the same seed is identical.
import { Kcp, type KcpOutputSink } from '../../../src/arq/index.ts';
import { Prng } from '../../support/prng.ts';

export interface LinkOptions {
  readonly seed: number;
  /** Probability that a datagram is lost, 0–1. */
  readonly loss?: number;
  /** Probability that a delivered datagram is delivered twice, 0–1. */
  readonly duplicate?: number;
  /** One-way delay, ms. */
  readonly delayMs?: number;
  /** Extra random delay in [0, jitterMs), ms: reorders datagrams. */
  readonly jitterMs?: number;
}

interface InFlight {
  at: number;
  data: Buffer;
}

/** One side of the link: a Kcp plus the messages it received. */
export class LinkEnd implements KcpOutputSink {
  readonly kcp: Kcp;
  readonly received: Buffer[] = [];
  readonly #link: LossyLink;
  readonly #toPeer: InFlight[] = [];
  datagramsSent = 0;

  constructor(link: LossyLink, conv: number) {
    this.#link = link;
    this.kcp = new Kcp(conv, this);
  }

  onKcpOutput(datagram: Buffer): void {
    this.datagramsSent++;
    this.#link.carry(datagram, this.#toPeer);
  }

  /** Datagrams on their way to the peer. */
  get inFlight(): InFlight[] {
    return this.#toPeer;
  }

  /** Reads every complete message into `received`. */
  drain(): void {
    for (let m = this.kcp.recv(); m !== undefined; m = this.kcp.recv()) this.received.push(Buffer.from(m));
  }
}

export class LossyLink {
  readonly a: LinkEnd;
  readonly b: LinkEnd;
  readonly #prng: Prng;
  readonly #loss: number;
  readonly #duplicate: number;
  readonly #delayMs: number;
  readonly #jitterMs: number;
  now = 0;
  lost = 0;
  duplicated = 0;

  constructor(options: LinkOptions, conv = 1) {
    this.#prng = new Prng(options.seed);
    this.#loss = options.loss ?? 0;
    this.#duplicate = options.duplicate ?? 0;
    this.#delayMs = options.delayMs ?? 10;
    this.#jitterMs = options.jitterMs ?? 0;
    this.a = new LinkEnd(this, conv);
    this.b = new LinkEnd(this, conv);
  }

  carry(datagram: Buffer, queue: InFlight[]): void {
    if (this.#prng.next() < this.#loss) {
      this.lost++;
      return;
    }
    const copies = this.#prng.next() < this.#duplicate ? 2 : 1;
    if (copies === 2) this.duplicated++;
    for (let i = 0; i < copies; i++) {
      queue.push({ at: this.now + this.#delayMs + this.#prng.int(this.#jitterMs + 1), data: datagram });
    }
  }

  /** Advances the virtual clock by 1 ms at a time until `untilMs` or `done()` holds. */
  run(untilMs: number, done: () => boolean = () => false): void {
    const ends = [this.a, this.b] as const;
    while (this.now < untilMs && !done()) {
      this.now++;
      for (const [from, to] of [
        [this.a, this.b],
        [this.b, this.a],
      ] as const) {
        const queue = from.inFlight;
        for (let i = 0; i < queue.length; ) {
          const item = queue[i]!;
          if (item.at <= this.now) {
            queue.splice(i, 1);
            to.kcp.advanceClock(this.now);
            to.kcp.input(item.data);
            to.drain();
          } else i++;
        }
      }
      for (const end of ends) {
        if (end.kcp.check(this.now) === this.now >>> 0) end.kcp.update(this.now);
        end.drain();
      }
    }
  }
}
