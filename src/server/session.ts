import type { RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { DtlsConnection } from '../dtls/index.ts';
import { ClosedError } from '../errors/index.ts';
import { DatagramQueue } from '../internal/datagram-queue.ts';
import type { ServerSessionCloseReason } from './diagnostics.ts';
import type { IdleLinks } from './idle-list.ts';

/** Receives a session's datagrams synchronously, in order (the callback alternative to the iterator). */
export type SessionReceiver = (data: Buffer) => void;

/** Counters of one {@link UdpSession}. */
export interface UdpSessionStats {
  /** Datagrams delivered to this session. */
  readonly datagramsIn: number;
  readonly bytesIn: number;
  /** Datagrams sent by this session. */
  readonly datagramsOut: number;
  readonly bytesOut: number;
  /** Datagrams dropped because the queue was full. */
  readonly dropped: number;
  /** Datagrams waiting in the queue. */
  readonly queued: number;
  /** Whether datagrams come through a connected socket of its own (connected mode). */
  readonly connected: boolean;
}

/** What a session needs from the server that made it (the server implements it; not for users). */
export interface SessionHost {
  sendFor(session: UdpSession, data: Uint8Array): void;
  sessionClosed(session: UdpSession, unread: number): Promise<void>;
}

/** @internal Hands one datagram to a session; false when its queue is full (the caller counts it). */
export const kDeliver: unique symbol = Symbol('porthole.session.deliver');
/** @internal Hands one decrypted record to a session with a {@link SessionLayer}; false when its queue is full. */
export const kDeliverRecord: unique symbol = Symbol('porthole.session.deliverRecord');
/** @internal Sends one datagram of the session's layer (a protected record) to the remote. */
export const kSendRaw: unique symbol = Symbol('porthole.session.sendRaw');
/** @internal Reports an ICMP error to a session. */
export const kUnreachable: unique symbol = Symbol('porthole.session.unreachable');

/**
 * @internal A protocol between the wire and the session's user (DTLS): datagrams from the wire go
 * to `input`, what the user sends goes to `send`; the layer hands records back with
 * `session[kDeliverRecord]` and sends with `session[kSendRaw]`. `close` runs before the session's
 * key is freed (a close_notify still leaves).
 */
export interface SessionLayer {
  /** The DTLS connection, once established. */
  readonly connection: DtlsConnection | undefined;
  input(data: Buffer): void;
  send(data: Uint8Array): void;
  close(): void;
}

/** Events of a {@link UdpSession}. */
export interface UdpSessionEvents {
  /** The session closed (by `close()`, idle timeout or server shutdown). */
  close: [];
  /**
   * ICMP said the remote cannot be reached (ECONNREFUSED and kin, connected mode): the peer's port
   * is closed or the path is down. The session stays open; close it if that is final for you.
   */
  unreachable: [error: Error];
}

/**
 * One remote endpoint of a {@link UdpServer}: datagrams in (async iterator or a receiver callback),
 * `send()` out, `close()`. The session does no timing of its own and knows nothing of what the
 * datagrams mean, so a sans-I/O protocol (DTLS, KCP, …) can sit on it: feed it what `receive`
 * yields, `send` what it returns, run its timers yourself.
 */
export class UdpSession
  extends EventEmitter<UdpSessionEvents>
  implements AsyncIterable<Buffer>, AsyncDisposable, IdleLinks<UdpSession>
{
  /** The remote address, as the server's socket reports it. */
  readonly address: string;
  /** The remote port. */
  readonly port: number;
  /** `IPv4` or `IPv6`. */
  readonly family: string;
  /** The key of this session in its server (`address:port`). */
  readonly key: string;
  /** @internal */
  idlePrev: UdpSession | undefined = undefined;
  /** @internal */
  idleNext: UdpSession | undefined = undefined;
  /** @internal */
  lastActiveMs = 0;
  /** @internal */
  idleLinked = false;
  /** @internal Connected-mode state, owned by the server. */
  connection: unknown = undefined;
  /** @internal Why the session closes, set by the server before it closes one (diagnostics). */
  closeReason: ServerSessionCloseReason = 'closed';
  readonly #host: SessionHost;
  readonly #queueCap: number;
  #queue: DatagramQueue<Buffer> | undefined;
  #receiver: SessionReceiver | undefined;
  #layer: SessionLayer | undefined;
  #closed: Promise<void> | undefined;
  #datagramsIn = 0;
  #bytesIn = 0;
  #datagramsOut = 0;
  #bytesOut = 0;
  #dropped = 0;

  /** @internal Sessions are made by {@link UdpServer}. */
  constructor(host: SessionHost, key: string, from: RemoteInfo, queueCap: number) {
    super();
    this.#host = host;
    this.key = key;
    this.address = from.address;
    this.port = from.port;
    this.family = from.family;
    this.#queueCap = queueCap;
  }

  /** The remote endpoint. */
  get remote(): { readonly address: string; readonly port: number; readonly family: string } {
    return { address: this.address, port: this.port, family: this.family };
  }

  /**
   * `UdpServer({ dtls })`: the session's DTLS connection (cipher suite, peer certificates, the
   * exporter, its stats); undefined on a plain server. Datagrams in and out are its records.
   */
  get dtls(): DtlsConnection | undefined {
    return this.#layer?.connection;
  }

  /** Whether `close()` was called (or the server closed the session). */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Sends one datagram to the remote (through its connected socket in connected mode, else the
   * server's socket). Send failures are counted; ICMP errors arrive as `'unreachable'`.
   * @throws ClosedError `ERR_CLOSED` once the session is closed.
   */
  send(data: Uint8Array): void {
    if (this.#closed !== undefined) throw new ClosedError('UDP session');
    this.#datagramsOut++;
    this.#bytesOut += data.length;
    if (this.#layer !== undefined) this.#layer.send(data);
    else this.#host.sendFor(this, data);
  }

  /** @internal */
  [kSendRaw](data: Uint8Array): void {
    if (this.#closed === undefined) this.#host.sendFor(this, data);
  }

  /** @internal Puts `layer` between the wire and the user (before the session is handed out). */
  setLayer(layer: SessionLayer): void {
    this.#layer = layer;
  }

  /**
   * Routes datagrams to `receiver` synchronously instead of queueing them for the iterator
   * (queued ones are handed over first). `undefined` goes back to queueing.
   */
  setReceiver(receiver: SessionReceiver | undefined): void {
    this.#receiver = receiver;
    if (receiver === undefined || this.#queue === undefined) return;
    for (let d = this.#queue.shift(); d !== undefined; d = this.#queue.shift()) receiver(d);
  }

  /** Closes the session (idempotent): its key is freed, its iterator ends, unread datagrams are counted. */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#layer?.close();
    const unread = this.#queue?.clear().length ?? 0;
    this.#queue?.end();
    this.#closed = this.#host.sessionClosed(this, unread);
    this.emit('close');
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Datagrams in arrival order until the session closes. Breaking out ends that reader only: the
   * session stays open and keeps queueing for the next reader.
   */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.#ensureQueue().reader();
  }

  /** A snapshot of this session's counters. */
  stats(): UdpSessionStats {
    return {
      datagramsIn: this.#datagramsIn,
      bytesIn: this.#bytesIn,
      datagramsOut: this.#datagramsOut,
      bytesOut: this.#bytesOut,
      dropped: this.#dropped,
      queued: this.#queue?.size ?? 0,
      connected: this.connection !== undefined,
    };
  }

  /** @internal */
  [kDeliver](data: Buffer): boolean {
    if (this.#closed !== undefined) return false;
    if (this.#layer !== undefined) {
      this.#layer.input(data);
      return true;
    }
    return this[kDeliverRecord](data);
  }

  /** @internal */
  [kDeliverRecord](data: Buffer): boolean {
    if (this.#closed !== undefined) return false;
    const receiver = this.#receiver;
    if (receiver !== undefined) {
      this.#datagramsIn++;
      this.#bytesIn += data.length;
      receiver(data);
      return true;
    }
    if (!this.#ensureQueue().push(data)) {
      this.#dropped++;
      return false;
    }
    this.#datagramsIn++;
    this.#bytesIn += data.length;
    return true;
  }

  /** @internal */
  [kUnreachable](error: Error): void {
    this.emit('unreachable', error);
  }

  #ensureQueue(): DatagramQueue<Buffer> {
    if (this.#queue === undefined) {
      this.#queue = new DatagramQueue({ capacity: this.#queueCap, overflow: 'drop-newest' });
      if (this.#closed !== undefined) this.#queue.end();
    }
    return this.#queue;
  }
}
