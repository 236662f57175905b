import type { RemoteInfo, Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';
import { AbortError, ClosedError, InvalidOptionError, throwIfAborted } from '../errors/index.ts';
import { CoreTimer } from '../internal/core-timer.ts';
import { DatagramQueue, type DatagramReader } from '../internal/datagram-queue.ts';
import { type Demux, type DemuxRegistration, TURN_CHANNEL_RANGE } from '../mux/index.ts';
import type { StunAddress } from '../stun/index.ts';
import { TurnAllocation } from './allocation.ts';
import type { TurnError } from './errors.ts';
import type { TurnAllocationOptions, TurnEvent, TurnPeer } from './options.ts';
import type { TurnAllocationStats } from './stats.ts';

const debug = debuglog('porthole:nat');

/**
 * The TURN client driver (RFC 8656): a {@link TurnAllocation} on a dgram socket or a {@link Demux}
 * (sharing the one data socket with STUN, punching and data), with timers, promises and an async
 * iterator of relayed datagrams.
 * @module
 */

/** Default cap on relayed datagrams waiting for the async iterator. */
export const DEFAULT_TURN_QUEUE = 1024;

/** Settings of {@link TurnClient.allocate}. */
export interface TurnClientOptions extends Omit<TurnAllocationOptions, 'onData'> {
  /**
   * The demux of the socket the allocation lives on (its 5-tuple; `demuxOf(socket)` for a bare
   * socket). The client takes ChannelData (64–79) and, through a STUN route, the TURN server's
   * responses and Data indications — beside a StunClient or StunServer on the same demux.
   */
  readonly demux: Demux;
  /** Receives relayed data; without it, data is queued for the async iterator. */
  readonly onData?: (data: Buffer, peer: TurnPeer) => void;
  /** Called once when the allocation is lost (refresh refused or expired). */
  readonly onLost?: (error: TurnError) => void;
  /** Most datagrams queued for the iterator (then dropped, counted). Default {@link DEFAULT_TURN_QUEUE}. */
  readonly maxQueued?: number;
  readonly signal?: AbortSignal;
  /** Monotonic clock in ms (tests). Default `performance.now`. */
  readonly now?: () => number;
}

/** A relayed datagram from the async iterator. */
export interface TurnDatagram {
  readonly data: Buffer;
  readonly from: TurnPeer;
}

/** Counters of a {@link TurnClient}. */
export interface TurnClientStats extends TurnAllocationStats {
  readonly sendErrors: number;
  /** Datagrams dropped because the iterator's queue was full. */
  readonly queueDropped: number;
  readonly queued: number;
}

interface Op {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** A TURN allocation on one socket. Build it with {@link TurnClient.allocate}. */
export class TurnClient {
  readonly #core: TurnAllocation;
  readonly #socket: Socket;
  readonly #server: { readonly address: string; readonly port: number };
  readonly #now: () => number;
  readonly #ops = new Map<number, Op>();
  readonly #registrations: DemuxRegistration[] = [];
  readonly #demux: Demux;
  #channelData: DemuxRegistration | undefined;
  readonly #onLost: ((error: TurnError) => void) | undefined;
  readonly #queue: DatagramQueue<TurnDatagram>;
  readonly #timer: CoreTimer;
  #closing: Promise<void> | undefined;
  #closedResolve: (() => void) | undefined;
  #ended = false;
  #sendErrors = 0;

  readonly #onChannelData = (data: Buffer, from: RemoteInfo): void => {
    this.#receive(data, from);
  };
  readonly #onStun = (data: Buffer, from: RemoteInfo): boolean => this.#receive(data, from);
  readonly #onSocketClose = (): void => {
    this.#teardown(new ClosedError('TURN client socket'));
  };
  readonly #onSent = (error: Error | null): void => {
    if (error !== null) {
      this.#sendErrors++;
      debug('TURN send failed: %o', error);
    }
  };

  /** Use {@link TurnClient.allocate}. @throws InvalidOptionError `ERR_INVALID_OPTION`. */
  constructor(options: TurnClientOptions) {
    if (isIP(options.server.address) === 0) {
      throw new InvalidOptionError(
        'server.address',
        `server.address must be a numeric IP, not ${options.server.address}`,
      );
    }
    this.#server = options.server;
    this.#now = options.now ?? (() => performance.now());
    this.#timer = new CoreTimer(
      this.#now,
      () => Number.POSITIVE_INFINITY,
      () => this.#pump(),
      { ref: false },
    );
    this.#onLost = options.onLost;
    this.#queue = new DatagramQueue({
      capacity: options.maxQueued ?? DEFAULT_TURN_QUEUE,
      overflow: 'drop-newest',
    });
    const onData = options.onData ?? ((data: Buffer, from: TurnPeer) => this.#enqueue(data, from));
    this.#core = new TurnAllocation({ ...options, onData });
    const demux = options.demux;
    this.#socket = demux.socket;
    this.#demux = demux;
    this.#registrations.push(demux.registerStun({ response: this.#onStun, indication: this.#onStun }));
    this.#socket.on('close', this.#onSocketClose);
  }

  /**
   * Allocates a relayed address (Allocate, 401 with REALM/NONCE, Allocate with long-term credentials).
   * RFC 8656 §7. Keeps it alive until {@link close}.
   * @throws (rejects) TurnError `ERR_TURN_AUTH_FAILED`, `ERR_TURN_REQUEST_FAILED` (e.g. 486, 508),
   *   `ERR_TURN_BAD_RESPONSE`; TimeoutError `ERR_TIMEOUT`; AbortError `ERR_ABORTED`; ConfigError.
   */
  static async allocate(options: TurnClientOptions): Promise<TurnClient> {
    throwIfAborted(options.signal);
    const client = new TurnClient(options);
    try {
      await client.#run(() => client.#core.allocate(client.#now()), options.signal);
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /** The relayed transport address peers send to. RFC 8656 §7.3. */
  get relayedAddress(): StunAddress {
    return this.#core.relayedAddress!;
  }
  /** This client's address as the server sees it (server-reflexive), if the server reported it. */
  get mappedAddress(): StunAddress | undefined {
    return this.#core.mappedAddress;
  }
  /** The lifetime the server granted last, seconds. */
  get lifetimeS(): number {
    return this.#core.lifetimeS;
  }

  /**
   * Lets `peerIp` send to the relayed address (refreshed every 240 s until close). RFC 8656 §9.
   * @throws (rejects) InvalidStateError `ERR_INVALID_STATE`, `ERR_TURN_TOO_MANY_PERMISSIONS`,
   *   `ERR_TURN_REQUEST_FAILED` (e.g. 403); TimeoutError; AbortError; ClosedError.
   */
  createPermission(peerIp: string, options?: { readonly signal?: AbortSignal }): Promise<void> {
    return this.#run(() => this.#core.createPermission(peerIp, this.#now()), options?.signal);
  }

  /**
   * Binds a channel to `peer` (also installs its permission); data to and from it then travels as
   * ChannelData (4 bytes of overhead instead of 36+). RFC 8656 §12. Resolves with the channel number.
   * @throws (rejects) as {@link createPermission}, and `ERR_TURN_TOO_MANY_CHANNELS`.
   */
  async bindChannel(
    peer: { readonly address: string; readonly port: number },
    options?: { readonly signal?: AbortSignal },
  ): Promise<number> {
    let channel = 0;
    this.#claimChannelData();
    await this.#run(() => {
      const bound = this.#core.bindChannel(peer, this.#now());
      channel = bound.channel;
      return bound.op;
    }, options?.signal);
    return channel;
  }

  /**
   * Relays `data` to `peer`: ChannelData on a bound channel, else a Send indication. Needs a
   * permission for the peer's IP (the server drops it otherwise). Fire and forget.
   * @throws InvalidStateError `ERR_INVALID_STATE`; ConfigError for a bad address or more than 65535 bytes.
   */
  send(data: Uint8Array, peer: { readonly address: string; readonly port: number }): void {
    const datagram = this.#core.encodeSend(data, peer);
    this.#socket.send(datagram, this.#server.port, this.#server.address, this.#onSent);
  }

  /**
   * Takes ChannelData (64–79) on the demux at the first channel binding, so an allocation without
   * channels leaves the range free (e.g. for a second allocation on the same 5-tuple).
   * @throws ConfigError `ERR_MUX_RANGE_TAKEN` when another user holds the range.
   */
  #claimChannelData(): void {
    if (this.#channelData !== undefined || this.#ended) return;
    this.#channelData = this.#demux.register(TURN_CHANNEL_RANGE, this.#onChannelData);
    this.#registrations.push(this.#channelData);
  }

  /** One datagram from the demux: true when it was the TURN server's and consumed. Never throws. */
  #receive(data: Buffer, from: { readonly address: string; readonly port: number }): boolean {
    const consumed = this.#core.receive(data, from, this.#now());
    if (this.#core.hasOutput) this.#pump();
    return consumed;
  }

  /**
   * Relayed datagrams (when no `onData` was given), until close or loss of the allocation.
   * Breaking out ends that reader only: the allocation stays and keeps queueing.
   */
  [Symbol.asyncIterator](): DatagramReader<TurnDatagram> {
    return this.#queue.reader();
  }

  /** A snapshot of the counters. */
  stats(): TurnClientStats {
    return {
      ...this.#core.stats(),
      sendErrors: this.#sendErrors,
      queueDropped: this.#queue.dropped,
      queued: this.#queue.size,
    };
  }

  /**
   * Deletes the allocation (Refresh with LIFETIME 0, RFC 8656 §8; waits at most 3.5 s for the
   * answer by default), fails operations in flight with `ERR_CLOSED`, stops reading. Idempotent;
   * the socket is not closed.
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#closedResolve = resolve;
      this.#core.close(this.#now());
      this.#pump();
    });
    return this.#closing;
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #run(start: () => number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#ended) throw new ClosedError('TURN client');
      throwIfAborted(signal);
      const op = start();
      const onAbort = (): void => {
        if (this.#ops.delete(op)) reject(new AbortError(signal?.reason));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#ops.set(op, {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      this.#pump();
    });
  }

  #pump(): void {
    const result = this.#core.poll(this.#now());
    for (const datagram of result.datagrams) {
      try {
        this.#socket.send(datagram, this.#server.port, this.#server.address, this.#onSent);
      } catch (error) {
        this.#sendErrors++;
        debug('TURN send threw: %o', error);
      }
    }
    for (const event of result.events) this.#handle(event);
    this.#timer.armAt(this.#ended ? Number.POSITIVE_INFINITY : result.nextWakeMs);
  }

  #handle(event: TurnEvent): void {
    switch (event.type) {
      case 'done':
      case 'failed': {
        const op = this.#ops.get(event.op);
        if (op === undefined) return;
        this.#ops.delete(event.op);
        if (event.type === 'done') op.resolve();
        else op.reject(event.error);
        return;
      }
      case 'lost':
        debug('TURN allocation lost: %s', event.error.message);
        this.#onLost?.(event.error);
        this.#end();
        return;
      case 'closed':
        this.#teardown(new ClosedError('TURN client'));
        return;
    }
  }

  #enqueue(data: Buffer, from: TurnPeer): void {
    this.#queue.push({ data, from });
  }

  #end(): void {
    this.#ended = true;
    this.#queue.end();
  }

  /** Stops reading and timers, fails what is pending, ends the iterator (idempotent). */
  #teardown(error: Error): void {
    this.#timer.stop();
    for (const registration of this.#registrations) registration.remove();
    this.#registrations.length = 0;
    this.#socket.off('close', this.#onSocketClose);
    for (const op of this.#ops.values()) op.reject(error);
    this.#ops.clear();
    this.#end();
    this.#closedResolve?.();
    this.#closing ??= Promise.resolve();
  }
}
