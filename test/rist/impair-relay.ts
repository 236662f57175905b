// A user-space impairing relay for RIST pairs on loopback: it listens on an even/odd pair
// (L, L+1) and forwards media and RTCP to a target pair (T, T+1) through one socket per client
// source, dropping a seeded share of the datagrams in each direction and delaying each by a fixed
// time. Replies from the target go back to the client from L / L+1. Used by the rist tests and
// bench/rist.ts (the same path for porthole and librist).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { Prng } from '../support/prng.ts';

export interface ImpairOptions {
  /** Share of datagrams dropped towards the target (media and RTCP), 0–1. */
  readonly forwardLoss: number;
  /** Share dropped on the way back (RTCP from the receiver), 0–1. */
  readonly backwardLoss: number;
  /** One-way delay added to every datagram, ms (0: none). */
  readonly delayMs?: number;
  readonly seed: number;
}

export interface ImpairStats {
  forwarded: number;
  dropped: number;
  returned: number;
  returnDropped: number;
}

function bindSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** Binds an even/odd pair on loopback (OS probing). */
async function bindPair(): Promise<[Socket, Socket]> {
  for (let attempt = 0; attempt < 64; attempt++) {
    const probe = await bindSocket(0);
    const port = probe.address().port;
    const even = port % 2 === 0 ? port : port + 1;
    if (even === port) {
      try {
        return [probe, await bindSocket(port + 1)];
      } catch {
        probe.close();
        continue;
      }
    }
    probe.close();
    try {
      const media = await bindSocket(even);
      try {
        return [media, await bindSocket(even + 1)];
      } catch {
        media.close();
      }
    } catch {
      // taken: try another
    }
  }
  throw new Error('no even/odd pair on loopback');
}

export class ImpairRelay {
  readonly stats: ImpairStats = { forwarded: 0, dropped: 0, returned: 0, returnDropped: 0 };
  readonly #listen: [Socket, Socket];
  readonly #target: number;
  readonly #options: ImpairOptions;
  readonly #prng: Prng;
  readonly #upstream = new Map<string, Socket>();
  readonly #pending = new Set<NodeJS.Timeout>();
  #closed = false;

  private constructor(listen: [Socket, Socket], target: number, options: ImpairOptions) {
    this.#listen = listen;
    this.#target = target;
    this.#options = options;
    this.#prng = new Prng(options.seed);
    listen.forEach((socket, stream) => {
      socket.on('message', (data, from) => void this.#forward(stream, data, from));
    });
  }

  /** A relay towards the pair `targetPort` / `targetPort + 1` on 127.0.0.1. */
  static async open(targetPort: number, options: ImpairOptions): Promise<ImpairRelay> {
    return new ImpairRelay(await bindPair(), targetPort, options);
  }

  /** The relay's media port (RTCP is + 1): point the sender here. */
  get port(): number {
    return this.#listen[0].address().port;
  }

  #later(fn: () => void): void {
    const delay = this.#options.delayMs ?? 0;
    if (delay <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      this.#pending.delete(timer);
      if (!this.#closed) fn();
    }, delay);
    this.#pending.add(timer);
  }

  async #forward(stream: number, data: Buffer, from: RemoteInfo): Promise<void> {
    if (this.#closed) return;
    const key = `${stream}/${from.port}`;
    let up = this.#upstream.get(key);
    if (up === undefined) {
      up = createSocket('udp4');
      this.#upstream.set(key, up);
      const back = this.#listen[stream] as Socket;
      up.on('message', (reply) => {
        if (this.#closed) return;
        if (this.#prng.next() < this.#options.backwardLoss) {
          this.stats.returnDropped++;
          return;
        }
        this.stats.returned++;
        this.#later(() => back.send(reply, from.port, from.address));
      });
      up.bind(0, '127.0.0.1');
    }
    if (this.#prng.next() < this.#options.forwardLoss) {
      this.stats.dropped++;
      return;
    }
    this.stats.forwarded++;
    const socket = up;
    this.#later(() => socket.send(data, this.#target + stream, '127.0.0.1'));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#pending) clearTimeout(timer);
    const sockets = [...this.#listen, ...this.#upstream.values()];
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
