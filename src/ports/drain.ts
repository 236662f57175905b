import type { Socket } from 'node:dgram';
import { closeSockets } from './close-sockets.ts';
import { drainEndedChannel, type PortsDrainEndReason } from './diagnostics.ts';

/** Draining settings. */
export interface DrainOptions {
  /** Drain released sockets by default (a release can override). Default false. */
  readonly enabled?: boolean;
  /** A draining socket closes after this many milliseconds without a datagram. Default 2000. */
  readonly idleMs?: number;
  /** A draining socket closes after this long whatever arrives. Default 30 000. */
  readonly maxMs?: number;
  /** At most this many sockets drain at once; over it the oldest closes early. Default 256. */
  readonly maxSockets?: number;
}

export const DEFAULT_DRAIN_IDLE_MS = 2000;
export const DEFAULT_DRAIN_MAX_MS = 30_000;
export const DEFAULT_DRAIN_MAX_SOCKETS = 256;

interface Draining {
  readonly socket: Socket;
  readonly port: number;
  readonly since: number;
  lastDatagramAt: number;
  readonly onDatagram: () => void;
}

/**
 * Keeps released sockets bound, discarding (and counting) what still arrives, until each has been
 * idle for `idleMs` or draining for `maxMs`; then `onDone(port)` gives the port back to cooling.
 * One sweep timer serves all draining sockets; it is unref'd and stops when none drains.
 */
export class Drainer {
  readonly #idleMs: number;
  readonly #maxMs: number;
  readonly #maxSockets: number;
  readonly #now: () => number;
  readonly #onDone: (port: number) => void;
  /** In insertion order, so the first entry is the oldest. */
  readonly #draining = new Map<Socket, Draining>();
  #timer: NodeJS.Timeout | undefined;
  #discarded = 0;
  #evicted = 0;

  constructor(options: DrainOptions, now: () => number, onDone: (port: number) => void) {
    this.#idleMs = options.idleMs ?? DEFAULT_DRAIN_IDLE_MS;
    this.#maxMs = options.maxMs ?? DEFAULT_DRAIN_MAX_MS;
    this.#maxSockets = options.maxSockets ?? DEFAULT_DRAIN_MAX_SOCKETS;
    this.#now = now;
    this.#onDone = onDone;
  }

  get size(): number {
    return this.#draining.size;
  }

  /** Datagrams discarded by draining sockets. */
  get discarded(): number {
    return this.#discarded;
  }

  /** Sockets closed early because `maxSockets` were already draining. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Starts draining `socket` bound to `port`; its other 'message' listeners are removed. */
  add(socket: Socket, port: number): void {
    if (this.#maxSockets === 0) {
      this.#evicted++;
      void this.#finish({ socket, port, since: this.#now(), lastDatagramAt: 0, onDatagram: noop }, 'evicted');
      return;
    }
    while (this.#draining.size >= this.#maxSockets) {
      const oldest = this.#draining.values().next().value as Draining;
      this.#evicted++;
      void this.#finish(oldest, 'evicted');
    }
    const now = this.#now();
    // One listener per drained socket (made once per release, not per datagram).
    const entry: Draining = {
      socket,
      port,
      since: now,
      lastDatagramAt: now,
      onDatagram: () => {
        this.#discarded++;
        entry.lastDatagramAt = this.#now();
      },
    };
    socket.removeAllListeners('message');
    socket.on('message', entry.onDatagram);
    this.#draining.set(socket, entry);
    this.#schedule();
  }

  /** Closes every draining socket now. */
  async closeAll(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.all([...this.#draining.values()].map((entry) => this.#finish(entry, 'closed')));
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#draining.size === 0) return;
    this.#timer = setTimeout(this.#sweep, Math.max(10, Math.min(this.#idleMs, this.#maxMs) / 2));
    this.#timer.unref();
  }

  readonly #sweep = (): void => {
    this.#timer = undefined;
    const now = this.#now();
    for (const entry of this.#draining.values()) {
      if (now - entry.since >= this.#maxMs) void this.#finish(entry, 'max-age');
      else if (now - entry.lastDatagramAt >= this.#idleMs) void this.#finish(entry, 'idle');
    }
    this.#schedule();
  };

  async #finish(entry: Draining, reason: PortsDrainEndReason): Promise<void> {
    if (this.#draining.get(entry.socket) === entry) this.#draining.delete(entry.socket);
    if (drainEndedChannel.hasSubscribers)
      drainEndedChannel.publish({ port: entry.port, reason, drainedMs: this.#now() - entry.since });
    entry.socket.off('message', entry.onDatagram);
    await closeSockets([entry.socket]);
    this.#onDone(entry.port);
  }
}

function noop(): void {}
