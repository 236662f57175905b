/**
 * The broker's driver: a {@link BrokerCore} on a `Demux` registration of `PortholeFrame.BROKER`
 * (so a tracker can serve STUN and punching on one socket), with one timer at the core's
 * next wake-up.
 * @module
 */
import type { Socket } from 'node:dgram';
import { debuglog } from 'node:util';
import { CoreTimer } from '../internal/core-timer.ts';
import { wildcardAddress } from '../internal/endpoint.ts';
import { Demux, type DemuxRegistration, frameRange, PortholeFrame } from '../mux/index.ts';
import { bindUdpSocket } from '../ports/index.ts';
import { BrokerCore, type BrokerCoreOptions, type BrokerStats } from './broker-core.ts';

const debug = debuglog('porthole:nat');

/** Options of {@link Broker.listen}: where to bind plus the core's options. */
export interface BrokerListenOptions extends BrokerCoreOptions {
  /** Local address. Default `0.0.0.0` (`::` for udp6). */
  readonly address?: string;
  /** UDP port. Default 3478 is STUN's; pick what the application announces. Required. */
  readonly port: number;
  readonly family?: 'udp4' | 'udp6';
  readonly signal?: AbortSignal;
}

/** A running broker. */
export class Broker {
  readonly #core: BrokerCore;
  readonly #demux: Demux;
  readonly #registration: DemuxRegistration;
  readonly #now: () => number;
  #owned: Socket | null = null;
  readonly #timer: CoreTimer;
  #closed = false;
  #sendErrors = 0;
  readonly #onSent = (error: Error | null): void => {
    if (error) {
      this.#sendErrors++;
      debug('broker send failed: %s', error.message);
    }
  };

  /**
   * Serves broker frames arriving on `demux` (the socket stays the caller's).
   * @throws ConfigError `ERR_NAT_BROKER_OPTIONS`, `ERR_MUX_RANGE_TAKEN`.
   */
  constructor(demux: Demux, options: BrokerCoreOptions & { readonly now?: () => number }) {
    this.#core = new BrokerCore(options);
    this.#demux = demux;
    this.#now = options.now ?? (() => performance.now());
    this.#timer = new CoreTimer(
      this.#now,
      () => this.#core.nextWakeMs(),
      (nowMs) => {
        this.#core.poll(nowMs);
        this.#flush();
      },
    );
    this.#registration = demux.register(frameRange(PortholeFrame.BROKER), (data, from) => {
      this.#core.receive(data, from, this.#now());
      this.#flush();
    });
  }

  /** Binds a socket through `ports/` and serves on it; `close()` closes the socket. */
  static async listen(options: BrokerListenOptions): Promise<Broker> {
    const family = options.family ?? 'udp4';
    const socket = await bindUdpSocket({
      family,
      address: options.address ?? wildcardAddress(family),
      port: options.port,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    try {
      const broker = new Broker(new Demux(socket), options);
      broker.#adopt(socket);
      return broker;
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  #adopt(socket: Socket): void {
    this.#owned = socket;
  }

  /** The address the broker's socket is bound to. */
  address(): { address: string; port: number } {
    const a = this.#demux.socket.address();
    return { address: a.address, port: a.port };
  }

  /** A snapshot of the counters (see {@link BrokerStats}). */
  stats(): BrokerStats & { readonly sendErrors: number } {
    return { ...this.#core.stats(), sendErrors: this.#sendErrors };
  }

  /** Stops serving (idempotent); closes the socket only when {@link listen} bound it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#registration.remove();
    this.#timer.stop();
    const socket = this.#owned;
    if (socket !== null) {
      this.#demux.detach();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #flush(): void {
    if (this.#closed) return;
    const socket = this.#demux.socket;
    for (const t of this.#core.drain()) socket.send(t.data, t.to.port, t.to.address, this.#onSent);
    this.#timer.arm();
  }
}
