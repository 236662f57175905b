/**
 * The one driver of a sans-I/O core. A core (STUN transactions, the punch broker, an agent, …)
 * owns no socket and reads no clock; it keeps this contract:
 *
 * ```
 * receive(data, from, nowMs)   a datagram arrived
 * poll(nowMs)                  the time it asked for came (timers, retransmissions)
 * nextWakeMs()                 when to call poll next, on the driver's clock; Infinity when idle
 * drain()                      the datagrams it wants sent since the last call ({ data, to })
 * drainEvents?()               what happened, as unions discriminated on `type`
 * close?()                     the driver is closing
 * ```
 *
 * The driver connects it to the world: the demux registration that feeds `receive`, the one
 * {@link CoreTimer} at `nextWakeMs()`, a send loop with one shared send callback (no closure per
 * datagram), `{ signal }` (abort closes), and an idempotent async `close()` with
 * `Symbol.asyncDispose`. The same core runs in production, under a fake clock and in simulators.
 * @module
 */
import type { RemoteInfo } from 'node:dgram';
import { CoreTimer } from './core-timer.ts';
import type { Endpoint } from './endpoint.ts';

/** One datagram a core wants sent. */
export interface CoreTransmit {
  readonly data: Uint8Array;
  readonly to: Endpoint;
}

/** The contract of a sans-I/O core (see the module doc). */
export interface SansIoCore<E extends { readonly type: string } = never> {
  receive(data: Buffer, from: Endpoint, nowMs: number): void;
  poll(nowMs: number): void;
  nextWakeMs(): number;
  drain(): Iterable<CoreTransmit>;
  drainEvents?(): Iterable<E>;
  close?(): void;
}

/** Where a driver sends: a dgram socket's `send` shape. */
export interface CoreDatagramSender {
  send(data: Uint8Array, port: number, address: string, callback: (error: Error | null) => void): void;
}

/** Settings of a {@link CoreDriver}. */
export interface CoreDriverOptions<E> {
  /**
   * Starts feeding received datagrams to the handler (e.g. `(h) => demux.register(range, h)`);
   * the registration is removed on close.
   */
  readonly attach: (handler: (data: Buffer, from: RemoteInfo) => void) => { remove(): void };
  /** Where transmits go (the demux's socket). */
  readonly sender: CoreDatagramSender;
  /** Receives each event the core emits, in order. */
  readonly onEvent?: (event: E) => void;
  /** Called once with a send failure the socket reported (counted in `sendErrors` either way). */
  readonly onSendError?: (error: Error) => void;
  /** Runs last in {@link CoreDriver.close} (e.g. closing a socket the owner bound). */
  readonly onClose?: () => Promise<void> | void;
  /** Aborting it closes the driver. */
  readonly signal?: AbortSignal;
  /** Monotonic clock, ms. Default `performance.now`. */
  readonly now?: () => number;
  /** Whether the timer keeps the event loop alive. Default true. */
  readonly ref?: boolean;
}

/** Counters of a {@link CoreDriver}. */
export interface CoreDriverStats {
  /** Datagrams handed to the core. */
  readonly received: number;
  /** Datagrams sent (handed to the socket). */
  readonly sent: number;
  /** Sends the socket reported as failed, or that threw. */
  readonly sendErrors: number;
  /** Times the timer woke the core. */
  readonly wakeups: number;
}

/** See the module doc. */
export class CoreDriver<E extends { readonly type: string } = never> {
  readonly #core: SansIoCore<E>;
  readonly #options: CoreDriverOptions<E>;
  readonly #now: () => number;
  readonly #timer: CoreTimer;
  readonly #registration: { remove(): void };
  #closing: Promise<void> | undefined;
  #received = 0;
  #sent = 0;
  #sendErrors = 0;
  #wakeups = 0;
  readonly #onSent = (error: Error | null): void => {
    if (error === null) return;
    this.#sendErrors++;
    this.#options.onSendError?.(error);
  };
  readonly #onDatagram = (data: Buffer, from: RemoteInfo): void => {
    if (this.#closing !== undefined) return;
    this.#received++;
    this.#core.receive(data, from, this.#now());
    this.flush();
  };
  readonly #onAbort = (): void => {
    void this.close();
  };

  /** Attaches `core` at once. @throws what `options.attach` throws (e.g. `ERR_MUX_RANGE_TAKEN`). */
  constructor(core: SansIoCore<E>, options: CoreDriverOptions<E>) {
    this.#core = core;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#timer = new CoreTimer(
      this.#now,
      () => core.nextWakeMs(),
      (nowMs) => {
        if (this.#closing !== undefined) return;
        this.#wakeups++;
        core.poll(nowMs);
        this.flush();
      },
      { ref: options.ref ?? true },
    );
    this.#registration = options.attach(this.#onDatagram);
    const signal = options.signal;
    if (signal?.aborted) queueMicrotask(this.#onAbort);
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** The core this driver runs. */
  get core(): SansIoCore<E> {
    return this.#core;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** The driver's clock, ms (what the core is given as `nowMs`). */
  now(): number {
    return this.#now();
  }

  /**
   * Sends what the core queued, hands its events to `onEvent`, and re-arms the timer. Call it after
   * driving the core from outside (an API call that made it queue a datagram).
   */
  flush(): void {
    if (this.#closing !== undefined) return;
    const sender = this.#options.sender;
    for (const t of this.#core.drain()) {
      try {
        sender.send(t.data, t.to.port, t.to.address, this.#onSent);
        this.#sent++;
      } catch (error) {
        this.#sendErrors++;
        this.#options.onSendError?.(error as Error);
      }
    }
    const onEvent = this.#options.onEvent;
    const events = this.#core.drainEvents?.();
    if (events !== undefined) for (const event of events) onEvent?.(event);
    this.#timer.arm();
  }

  /** A snapshot of the counters. */
  stats(): CoreDriverStats {
    return {
      received: this.#received,
      sent: this.#sent,
      sendErrors: this.#sendErrors,
      wakeups: this.#wakeups,
    };
  }

  /** Removes the registration, stops the timer, closes the core, then runs `onClose`. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#registration.remove();
    this.#timer.stop();
    this.#core.close?.();
    await this.#options.onClose?.();
  }
}
