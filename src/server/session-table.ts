import type { RemoteInfo } from 'node:dgram';
import { DatagramQueue } from '../internal/datagram-queue.ts';
import { IdleList } from './idle-list.ts';
import { type SessionHost, UdpSession } from './session.ts';
import type { DropReasonValue } from './stats.ts';

/** @internal Limits and hooks of a {@link SessionTable}. */
export interface SessionTableOptions {
  readonly backlog: number;
  readonly maxSessions: number;
  readonly sessionQueue: number;
  readonly acceptFilter: ((remote: RemoteInfo) => boolean) | undefined;
  /** Counts a refused admission. */
  readonly drop: (reason: DropReasonValue, from: RemoteInfo, size: number) => undefined;
  /** Whether a `'session'` listener takes sessions directly (then the backlog is bypassed). */
  readonly hasListener: () => boolean;
  /** Hands a new session to the `'session'` listener. */
  readonly emit: (session: UdpSession) => void;
  /** Called for each new session before it is accepted (connected mode opens its socket). */
  readonly created: (session: UdpSession) => void;
}

/**
 * @internal The sessions of one server: keyed by `address:port`, ordered by activity for the idle
 * sweep, with the bounded backlog of sessions not yet accepted. Lookups of a burst from one source
 * hit a one-entry cache and build no key.
 */
export class SessionTable {
  readonly #options: SessionTableOptions;
  readonly #host: SessionHost;
  readonly #sessions = new Map<string, UdpSession>();
  readonly #idle = new IdleList<UdpSession>();
  readonly #backlog: DatagramQueue<UdpSession>;
  #last: UdpSession | undefined;
  #created = 0;

  constructor(options: SessionTableOptions, host: SessionHost) {
    this.#options = options;
    this.#host = host;
    this.#backlog = new DatagramQueue({ capacity: options.backlog, overflow: 'drop-newest' });
  }

  /** Sessions alive. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Sessions waiting to be accepted. */
  get backlog(): number {
    return this.#backlog.size;
  }

  /** Sessions created since start. */
  get created(): number {
    return this.#created;
  }

  /** The session of `from`, if any. */
  lookup(from: RemoteInfo): UdpSession | undefined {
    const last = this.#last;
    if (last !== undefined && last.port === from.port && last.address === from.address) return last;
    const session = this.#sessions.get(`${from.address}:${from.port}`);
    if (session !== undefined) this.#last = session;
    return session;
  }

  /**
   * Makes a session for the new source `from`, or counts why not and returns undefined. A
   * `deferred` session (DTLS: handshaking) is not handed out until {@link offer}.
   */
  admit(from: RemoteInfo, nowMs: number, size: number, deferred = false): UdpSession | undefined {
    const options = this.#options;
    if (options.acceptFilter !== undefined && !options.acceptFilter(from))
      return options.drop('filtered', from, size);
    if (this.#sessions.size >= options.maxSessions) return options.drop('maxSessions', from, size);
    const direct = options.hasListener();
    if (!direct && !this.#backlog.hasWaiter && this.#backlog.size >= options.backlog) {
      return options.drop('backlogFull', from, size);
    }
    const key = `${from.address}:${from.port}`;
    const session = new UdpSession(this.#host, key, from, options.sessionQueue);
    this.#sessions.set(key, session);
    this.#idle.touch(session, nowMs);
    this.#created++;
    this.#last = session;
    options.created(session);
    if (!deferred) this.offer(session);
    return session;
  }

  /** Hands a session out: to the `'session'` listener or the backlog; false when the backlog is full. */
  offer(session: UdpSession): boolean {
    if (this.#options.hasListener()) {
      this.#options.emit(session);
      return true;
    }
    return this.#backlog.push(session);
  }

  /** Marks `session` active at `nowMs`. */
  touch(session: UdpSession, nowMs: number): void {
    this.#idle.touch(session, nowMs);
  }

  /** Forgets a closing session: its key is free for a new session of the same source. */
  remove(session: UdpSession): void {
    if (this.#sessions.get(session.key) === session) this.#sessions.delete(session.key);
    if (this.#last === session) this.#last = undefined;
    this.#idle.remove(session);
  }

  /** Removes and returns the sessions last active before `cutoffMs`. */
  takeIdleBefore(cutoffMs: number): UdpSession[] {
    return this.#idle.takeIdleBefore(cutoffMs);
  }

  /** The next accepted session (skipping ones closed while waiting); done once the backlog ended. */
  async accept(): Promise<IteratorResult<UdpSession, undefined>> {
    for (;;) {
      const result = await this.#backlog.next();
      if (result.done || !result.value.closed) return result;
    }
  }

  /** Stops accepting; returns the sessions never accepted. */
  endBacklog(): UdpSession[] {
    const never = this.#backlog.clear();
    this.#backlog.end();
    return never;
  }

  /** Every live session. */
  all(): UdpSession[] {
    return [...this.#sessions.values()];
  }
}
