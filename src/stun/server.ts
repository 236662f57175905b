import type { RemoteInfo, Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';
import { InvalidOptionError, PortholeError, throwIfAborted } from '../errors/index.ts';
import { type Demux, type DemuxRegistration, demuxOf } from '../mux/index.ts';
import { bindUdpSocket, isPortSpecificBindError, validatePort } from '../ports/index.ts';
import { StunErrorCode } from './errors.ts';
import {
  type StunLocalAddress,
  StunServerCore,
  type StunServerCoreOptions,
  type StunServerStats,
} from './server-core.ts';

const debug = debuglog('porthole:stun');

/** Default STUN port. RFC 8489 §18.4. */
export const STUN_DEFAULT_PORT = 3478;
/** Attempts to find a free port pair p, p+1 on both addresses when binding port 0 in RFC 5780 mode. */
export const RFC5780_BIND_ATTEMPTS = 32;

/** An address to listen on; `port` 0 or absent picks a free one (absent means 3478 for the CLI only). */
export interface StunListenAddress {
  readonly address: string;
  readonly port?: number;
}

/** Settings of {@link StunServer.listen}. */
export interface StunServerListenOptions extends Omit<StunServerCoreOptions, 'locals'> {
  /** Primary address A and port p. Default port 0 (any free port). */
  readonly listen: StunListenAddress;
  /**
   * Alternate address B: enables RFC 5780 mode on A:p, A:p+1, B:q, B:q+1 (q = `alternate.port`;
   * 0 or absent means q = p, the primary port, as RFC 5780 servers usually run).
   */
  readonly alternate?: StunListenAddress;
  readonly signal?: AbortSignal;
  /** Monotonic clock in ms (tests). Default `performance.now`. */
  readonly now?: () => number;
}

/** Settings of `new StunServer(...)` over sockets the caller bound. */
export interface StunServerSocketsOptions extends Omit<StunServerCoreOptions, 'locals'> {
  /**
   * The demux of one bound socket (`demuxOf(socket)`), or four in RFC 5780 order (A:p, A:p', B:p,
   * B:p'). The server takes the STUN requests of each (a STUN route, beside any StunClient or
   * TurnClient on the same demux).
   */
  readonly demux: Demux | readonly Demux[];
  /** Close the sockets on {@link StunServer.close}. Default false for given sockets. */
  readonly ownsSockets?: boolean;
  readonly now?: () => number;
}

/** Server counters plus send failures. */
export interface StunServerDriverStats extends StunServerStats {
  /** Responses the socket failed to send. */
  readonly sendErrors: number;
  /** `'error'` events of sockets the server owns (counted, never rethrown). */
  readonly socketErrors: number;
}

/**
 * A STUN Binding server on one socket, or an RFC 5780 NAT-behaviour-discovery server on four
 * (two addresses × two ports). Drives a {@link StunServerCore}.
 */
export class StunServer {
  readonly #core: StunServerCore;
  readonly #sockets: Socket[] = [];
  readonly #registrations: DemuxRegistration[] = [];
  readonly #owns: boolean;
  readonly #now: () => number;
  #sendErrors = 0;
  #closed: Promise<void> | undefined;
  readonly #errorListeners: Socket[] = [];
  #socketErrors = 0;
  readonly #onSocketError = (error: Error): void => {
    this.#socketErrors++;
    debug('socket error: %o', error);
  };
  readonly #onSent = (error: Error | null): void => {
    if (error !== null) {
      this.#sendErrors++;
      debug('send failed: %o', error);
    }
  };

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` for a wrong number of sockets or invalid settings. */
  constructor(options: StunServerSocketsOptions) {
    const demuxes: readonly Demux[] = Array.isArray(options.demux) ? options.demux : [options.demux as Demux];
    const sockets = demuxes.map((d) => d.socket);
    const locals = sockets.map((s) => {
      try {
        const a = s.address();
        return { address: a.address, port: a.port };
      } catch (error) {
        throw new InvalidOptionError('demux', 'StunServer sockets must be bound', { cause: error });
      }
    });
    this.#core = new StunServerCore({ ...options, locals });
    this.#owns = options.ownsSockets ?? false;
    this.#now = options.now ?? (() => performance.now());
    demuxes.forEach((demux, index) => {
      const socket = sockets[index]!;
      this.#sockets.push(socket);
      if (this.#owns) {
        socket.on('error', this.#onSocketError);
        this.#errorListeners.push(socket);
      }
      // One handler per socket (not per datagram): it knows its socket's index.
      const request = (data: Buffer, from: RemoteInfo): void => {
        this.#handle(data, from, index);
      };
      try {
        this.#registrations.push(demux.registerStun({ request }));
      } catch (error) {
        for (const r of this.#registrations) r.remove();
        throw error;
      }
    });
  }

  /**
   * Binds the server's sockets through `bindUdpSocket` and starts answering.
   * @throws (rejects) PortBindError (`ERR_PORT_IN_USE`, `ERR_ADDRESS_NOT_AVAILABLE`, …), ConfigError,
   *   AbortError.
   */
  static async listen(options: StunServerListenOptions): Promise<StunServer> {
    throwIfAborted(options.signal);
    validatePort(options.listen.port ?? 0, 'listen.port');
    if (options.alternate !== undefined) validatePort(options.alternate.port ?? 0, 'alternate.port');
    const sockets =
      options.alternate === undefined
        ? [await bindOne(options.listen, options.signal)]
        : await bindFour(options);
    const { listen: _listen, alternate: _alternate, signal: _signal, ...rest } = options;
    return new StunServer({ ...rest, demux: sockets.map(demuxOf), ownsSockets: true });
  }

  /** Whether the server runs in RFC 5780 mode. */
  get rfc5780(): boolean {
    return this.#core.rfc5780;
  }

  /** Local addresses of the sockets (index order: A:p, A:p', B:p, B:p'). */
  get addresses(): readonly StunLocalAddress[] {
    return this.#core.locals;
  }

  /** Answers one request that arrived on socket `via`; never throws. */
  #handle(data: Buffer, from: RemoteInfo, via: number): void {
    const reply = this.#core.handle(data, from, via, this.#now());
    if (reply === undefined) return;
    try {
      this.#sockets[reply.via]!.send(reply.data, reply.to.port, reply.to.address, this.#onSent);
    } catch (error) {
      this.#sendErrors++;
      debug('send threw: %o', error);
    }
  }

  /** A snapshot of the counters. */
  stats(): StunServerDriverStats {
    return { ...this.#core.stats(), sendErrors: this.#sendErrors, socketErrors: this.#socketErrors };
  }

  /** Stops answering and closes the sockets it bound (idempotent). */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    for (const r of this.#registrations) r.remove();
    if (!this.#owns) return;
    for (const socket of this.#sockets) demuxOf(socket).detach();
    await Promise.all(this.#sockets.map((s) => closeSocket(s)));
    for (const socket of this.#errorListeners) socket.off('error', this.#onSocketError);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

function familyOf(address: string): 'udp4' | 'udp6' {
  return isIPv6(address) ? 'udp6' : 'udp4';
}

function bindOne(
  at: StunListenAddress,
  signal: AbortSignal | undefined,
  port = at.port ?? 0,
): Promise<Socket> {
  return bindUdpSocket({
    family: familyOf(at.address),
    address: at.address,
    port,
    ...(signal !== undefined ? { signal } : {}),
  });
}

/** Binds A:p, A:p+1, B:q, B:q+1; with port 0, retries other pairs while a port is in use. */
async function bindFour(options: StunServerListenOptions): Promise<Socket[]> {
  const a = options.listen;
  const b = options.alternate!;
  if (familyOf(a.address) !== familyOf(b.address)) {
    throw new InvalidOptionError('alternate', 'the primary and alternate addresses must be of one family');
  }
  const fixed = (a.port ?? 0) !== 0;
  for (let attempt = 0; attempt < (fixed ? 1 : RFC5780_BIND_ATTEMPTS); attempt++) {
    const bound: Socket[] = [];
    try {
      const first = await bindOne(a, options.signal);
      bound.push(first);
      const p = first.address().port;
      if (p >= 65535)
        throw new InvalidOptionError('listen.port', 'the primary port must leave room for port+1');
      // Port 0 or absent for the alternate: the primary's port (not "any free port").
      const q = b.port === undefined || b.port === 0 ? p : b.port;
      if (q >= 65535)
        throw new InvalidOptionError('alternate.port', 'the alternate port must leave room for port+1');
      bound.push(await bindOne(a, options.signal, p + 1));
      bound.push(await bindOne(b, options.signal, q));
      bound.push(await bindOne(b, options.signal, q + 1));
      return bound;
    } catch (error) {
      await Promise.all(bound.map((s) => closeSocket(s)));
      if (fixed || !isPortSpecificBindError(error)) throw error;
    }
  }
  throw new PortholeError(
    StunErrorCode.NO_PORT_PAIR,
    `no free port pair found in ${RFC5780_BIND_ATTEMPTS} attempts`,
  );
}
