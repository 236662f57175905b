/**
 * The extra sockets of port prediction (the hard side's up-to-256 mappings), bound through
 * `ports/` (a `PortPool` when given, else `bindUdpSocket` on an ephemeral port), each read
 * through its own `Demux` registration of `PortholeFrame.PUNCH`. Numbered 1…n like the agent's
 * socket indexes; every one is released on `close()`.
 * @module
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { Demux, type DemuxRegistration, frameRange, PortholeFrame } from '../mux/index.ts';
import { bindUdpSocket, type PortLease } from '../ports/index.ts';

/** What prediction needs of a `PortPool`. */
export interface PunchPortPool {
  bind(options: { count?: number; signal?: AbortSignal }): Promise<PortLease>;
}

interface Extra {
  readonly socket: Socket;
  readonly demux: Demux;
  readonly registration: DemuxRegistration;
  readonly lease: PortLease | null;
}

/** A set of extra punching sockets. */
export class PunchSockets {
  readonly #family: 'udp4' | 'udp6';
  readonly #address: string;
  readonly #pool: PunchPortPool | undefined;
  readonly #onDatagram: (index: number, data: Buffer, from: RemoteInfo) => void;
  readonly #open = new Map<number, Extra>();
  #peak = 0;
  #bindFailures = 0;

  constructor(options: {
    family: 'udp4' | 'udp6';
    address: string;
    pool?: PunchPortPool | undefined;
    onDatagram: (index: number, data: Buffer, from: RemoteInfo) => void;
  }) {
    this.#family = options.family;
    this.#address = options.address;
    this.#pool = options.pool;
    this.#onDatagram = options.onDatagram;
  }

  /** Sockets open now. */
  get size(): number {
    return this.#open.size;
  }

  /** Most sockets open at once. */
  get peak(): number {
    return this.#peak;
  }

  /** Binds that failed (the set opens what it can). */
  get bindFailures(): number {
    return this.#bindFailures;
  }

  get(index: number): Socket | undefined {
    return this.#open.get(index)?.socket;
  }

  /** Opens sockets 1…count (stops at the first failure); returns how many are open. */
  async open(count: number, signal?: AbortSignal): Promise<number> {
    for (let index = 1; index <= count; index++) {
      if (signal?.aborted) break;
      try {
        let socket: Socket;
        let lease: PortLease | null = null;
        if (this.#pool !== undefined) {
          lease = await this.#pool.bind(signal === undefined ? { count: 1 } : { count: 1, signal });
          socket = lease.socket;
        } else {
          socket = await bindUdpSocket({
            family: this.#family,
            address: this.#address,
            port: 0,
            ...(signal === undefined ? {} : { signal }),
          });
        }
        const demux = new Demux(socket);
        const registration = demux.register(frameRange(PortholeFrame.PUNCH), (data, from) =>
          this.#onDatagram(index, data, from),
        );
        this.#open.set(index, { socket, demux, registration, lease });
        this.#peak = Math.max(this.#peak, this.#open.size);
      } catch {
        this.#bindFailures++;
        return index - 1;
      }
    }
    return this.#open.size;
  }

  /** Closes every socket except `keep`. */
  async close(keep: number | null): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [index, extra] of this.#open) {
      if (index === keep) continue;
      this.#open.delete(index);
      extra.registration.remove();
      extra.demux.detach();
      closing.push(
        extra.lease !== null
          ? extra.lease.release()
          : new Promise<void>((resolve) => {
              try {
                extra.socket.close(() => resolve());
              } catch {
                resolve();
              }
            }),
      );
    }
    await Promise.all(closing);
  }
}
