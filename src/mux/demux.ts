import type { RemoteInfo, Socket } from 'node:dgram';
import { debuglog } from 'node:util';
import { ConfigError, InvalidOptionError } from '../errors/index.ts';
import { diagnosticEndpoint } from '../internal/diagnostics-channel.ts';
import { datagramDroppedChannel } from './diagnostics.ts';
import { MuxErrorCode } from './errors.ts';
import { type ByteRange, STUN_RANGE } from './ranges.ts';
import { type StunRoute, StunRouter, type StunRouterStats } from './stun-router.ts';

const debug = debuglog('porthole:mux');

/**
 * Receives one datagram. `data` is the Buffer the socket received (never copied);
 * `from` is the sender. A handler must not throw: what it throws is caught, counted
 * as `handlerErrors` and the datagram is dropped.
 */
export type DatagramHandler = (data: Buffer, from: RemoteInfo) => void;

/** Counters of one {@link Demux}. */
export interface DemuxStats {
  /** Datagrams handed to a handler. */
  readonly routed: number;
  /** Datagrams of zero length (no first byte to route by). */
  readonly droppedEmpty: number;
  /** Datagrams whose first byte no handler registered for. */
  readonly droppedUnclaimed: number;
  /** Datagrams whose handler threw. */
  readonly handlerErrors: number;
  /** Datagrams routed, by first byte value (index 0–255). */
  readonly byFirstByte: readonly number[];
  /** The STUN sub-router's counters (all zero while no STUN route was registered). */
  readonly stun: StunRouterStats;
}

/** The Demux reading each socket, so every layer given that socket shares the one reader. */
const demuxes = new WeakMap<Socket, Demux>();

/**
 * The {@link Demux} that reads `socket`: the one already made for it (by `new Demux` or an earlier
 * call), else a new one. The one place a layer turns a socket into a demux.
 */
export function demuxOf(socket: Socket): Demux {
  return demuxes.get(socket) ?? new Demux(socket);
}

/** A registration returned by {@link Demux.register}; `remove()` frees its range. */
export interface DemuxRegistration {
  readonly range: ByteRange;
  remove(): void;
}

/**
 * Routes every datagram of one UDP socket to the handler registered for its first byte
 * (RFC 7983 §7 ranges plus porthole's frames, see `ranges.ts`).
 *
 * Dispatch is one array lookup per datagram; nothing is allocated per datagram. The demux
 * listens on the socket's `'message'` event and is the only reader of that socket.
 */
export class Demux {
  #socket: Socket;
  readonly #table: (DatagramHandler | undefined)[] = new Array(256).fill(undefined);
  readonly #counts: number[] = new Array(256).fill(0);
  #routed = 0;
  #droppedEmpty = 0;
  #droppedUnclaimed = 0;
  #handlerErrors = 0;
  #detached = false;
  readonly #stun = new StunRouter();
  #stunRegistration: DemuxRegistration | undefined;
  readonly #onMessage = (data: Buffer, from: RemoteInfo): void => {
    const first = data[0];
    if (first === undefined) {
      this.#droppedEmpty++;
      if (datagramDroppedChannel.hasSubscribers)
        datagramDroppedChannel.publish({
          reason: 'empty',
          firstByte: undefined,
          size: 0,
          from: diagnosticEndpoint(from),
        });
      return;
    }
    const handler = this.#table[first];
    if (handler === undefined) {
      this.#droppedUnclaimed++;
      if (datagramDroppedChannel.hasSubscribers)
        datagramDroppedChannel.publish({
          reason: 'unclaimed',
          firstByte: first,
          size: data.length,
          from: diagnosticEndpoint(from),
        });
      return;
    }
    this.#routed++;
    this.#counts[first]!++;
    try {
      handler(data, from);
    } catch (error) {
      this.#handlerErrors++;
      debug('handler for byte %d threw: %o', first, error);
      if (datagramDroppedChannel.hasSubscribers)
        datagramDroppedChannel.publish({
          reason: 'handler-error',
          firstByte: first,
          size: data.length,
          from: diagnosticEndpoint(from),
          error,
        });
    }
  };

  /**
   * Starts routing `socket`'s datagrams. The socket stays owned by the caller. Prefer
   * {@link demuxOf}, which returns the socket's existing demux instead of adding a second reader.
   */
  constructor(socket: Socket) {
    this.#socket = socket;
    if (!demuxes.has(socket)) demuxes.set(socket, this);
    socket.on('message', this.#onMessage);
  }

  /** The socket this demux reads. Send on it directly. */
  get socket(): Socket {
    return this.#socket;
  }

  /**
   * Routes datagrams whose first byte lies in `range` to `handler`.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` for a range outside 0–255 or reversed,
   *   `ERR_MUX_RANGE_TAKEN` when any byte of it already has a handler.
   */
  register(range: ByteRange, handler: DatagramHandler): DemuxRegistration {
    const { first, last } = range;
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last > 255 || first > last) {
      throw new InvalidOptionError('range', `mux range ${first}-${last} must lie within 0-255`);
    }
    for (let b = first; b <= last; b++) {
      if (this.#table[b] !== undefined) {
        throw new ConfigError(
          MuxErrorCode.RANGE_TAKEN,
          `mux byte ${b} already has a handler; remove it first or pick another range`,
        );
      }
    }
    for (let b = first; b <= last; b++) this.#table[b] = handler;
    const table = this.#table;
    let removed = false;
    return {
      range: { first, last },
      remove(): void {
        if (removed) return;
        removed = true;
        for (let b = first; b <= last; b++) if (table[b] === handler) table[b] = undefined;
      },
    };
  }

  /**
   * Adds a STUN user to the STUN sub-router on bytes 0–3 (see stun-router.ts): requests go to the
   * one route that takes them, indications and responses to the routes that claim them, so a STUN
   * client, a STUN server and a TURN client share one socket. `remove()` takes the route out.
   * @throws ConfigError `ERR_MUX_RANGE_TAKEN` when bytes 0–3 have a plain handler or another route
   *   already takes requests; `ERR_INVALID_OPTION` for a route without handlers.
   */
  registerStun(route: StunRoute): DemuxRegistration {
    if (this.#stunRegistration === undefined) {
      this.#stun.add(route);
      try {
        this.#stunRegistration = this.register(STUN_RANGE, this.#stun.dispatch);
      } catch (error) {
        this.#stun.delete(route);
        throw error;
      }
    } else {
      this.#stun.add(route);
    }
    let removed = false;
    return {
      range: STUN_RANGE,
      remove: (): void => {
        if (removed) return;
        removed = true;
        this.#stun.delete(route);
        if (this.#stun.size === 0) {
          this.#stunRegistration?.remove();
          this.#stunRegistration = undefined;
        }
      },
    };
  }

  /**
   * Reads `socket` instead of the current one, keeping every registration (NAT recovery: a
   * transport swaps in a fresh socket and its readers stay attached). Stops reading the old
   * socket, which stays owned by the caller; re-attaches a detached demux. No-op for the same socket.
   */
  moveTo(socket: Socket): void {
    if (socket === this.#socket && !this.#detached) return;
    if (!this.#detached) this.#socket.off('message', this.#onMessage);
    if (demuxes.get(this.#socket) === this) demuxes.delete(this.#socket);
    this.#socket = socket;
    this.#detached = false;
    if (!demuxes.has(socket)) demuxes.set(socket, this);
    socket.on('message', this.#onMessage);
  }

  /** Whether {@link detach} stopped this demux (and no {@link moveTo} re-attached it). */
  get detached(): boolean {
    return this.#detached;
  }

  /** Feeds one datagram as if the socket had received it (tests, in-memory links, re-injection). */
  inject(data: Buffer, from: RemoteInfo): void {
    this.#onMessage(data, from);
  }

  /** Stops reading the socket (idempotent). The socket itself is not closed. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#socket.off('message', this.#onMessage);
    if (demuxes.get(this.#socket) === this) demuxes.delete(this.#socket);
  }

  /** A snapshot of the counters. */
  stats(): DemuxStats {
    return {
      routed: this.#routed,
      droppedEmpty: this.#droppedEmpty,
      droppedUnclaimed: this.#droppedUnclaimed,
      handlerErrors: this.#handlerErrors,
      byFirstByte: this.#counts.slice(),
      stun: this.#stun.stats(),
    };
  }
}
