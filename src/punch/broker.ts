/**
 * The broker's driver: a {@link BrokerCore} on a `Demux` registration of `PortholeFrame.BROKER`
 * (so a tracker can serve STUN and punching on one socket), with one timer at the core's
 * next wake-up.
 * @module
 */
import type { Socket } from 'node:dgram';
import { debuglog } from 'node:util';
import { CoreDriver } from '../internal/core-driver.ts';
import { wildcardAddress } from '../internal/endpoint.ts';
import { Demux, frameRange, PortholeFrame } from '../mux/index.ts';
import { bindUdpSocket } from '../ports/index.ts';
import { BrokerCore, type BrokerCoreOptions, type BrokerStats } from './broker-core.ts';

const debug = debuglog('porthole:punch');

/** Options of `new Broker`: the demux to serve on plus the core's options. */
export interface BrokerOptions extends BrokerCoreOptions {
  /** Where broker frames arrive (a registration of `PortholeFrame.BROKER`); the socket stays the caller's. */
  readonly demux: Demux;
  /** Monotonic clock, ms (tests). Default `performance.now`. */
  readonly now?: () => number;
}

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
  readonly #driver: CoreDriver;
  #owned: Socket | null = null;

  /**
   * Serves broker frames arriving on `options.demux` (the socket stays the caller's).
   * @throws InvalidOptionError `ERR_INVALID_OPTION`, `ERR_MUX_RANGE_TAKEN`.
   */
  constructor(options: BrokerOptions) {
    const { demux } = options;
    this.#core = new BrokerCore(options);
    this.#demux = demux;
    this.#driver = new CoreDriver(this.#core, {
      attach: (handler) => demux.register(frameRange(PortholeFrame.BROKER), handler),
      sender: { send: (data, port, address, callback) => demux.socket.send(data, port, address, callback) },
      onSendError: (error) => debug('broker send failed: %s', error.message),
      onClose: () => this.#release(),
      ...(options.now === undefined ? {} : { now: options.now }),
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
      const broker = new Broker({ ...options, demux: new Demux(socket) });
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
    return { ...this.#core.stats(), sendErrors: this.#driver.stats().sendErrors };
  }

  /** Stops serving (idempotent); closes the socket only when {@link listen} bound it. */
  close(): Promise<void> {
    return this.#driver.close();
  }

  async #release(): Promise<void> {
    const socket = this.#owned;
    if (socket === null) return;
    this.#demux.detach();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
