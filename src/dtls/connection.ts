/**
 * `DtlsConnection`: one DTLS session as the user holds it — `send`, an async iterator of received
 * records, `close()` (close_notify), the negotiated parameters, the RFC 5705 exporter, stats().
 * @module
 */

import { X509Certificate } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import {
  type AbortOptions,
  ClosedError,
  InvalidOptionError,
  InvalidStateError,
  throwIfAborted,
} from '../errors/index.ts';
import { raceAbort } from '../internal/abort.ts';
import { DatagramQueue, type DatagramReader } from '../internal/datagram-queue.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { type Demux, demuxOf } from '../mux/index.ts';
import { MAX_PLAINTEXT_BYTES } from './constants.ts';
import { DtlsEndpoint, type SessionSink } from './endpoint.ts';
import type { DtlsError } from './errors.ts';
import { type DtlsClientRoleOptions, resolveClientConfig, resolveReceiveQueue } from './options.ts';
import { exportKeyingMaterial } from './prf.ts';
import type { DtlsSession, SessionState } from './session.ts';
import type { SessionCounters } from './session-counters.ts';

/** Options of {@link DtlsConnection.connect}. */
export interface DtlsConnectOptions extends DtlsClientRoleOptions, AbortOptions {
  /** The demux of the socket to use (shared with other layers). One of `demux`, `socket`, or neither (a socket is bound on an ephemeral port and closed with the connection). */
  readonly demux?: Demux;
  /** A bound socket to use (its demux is taken with `demuxOf`). */
  readonly socket?: Socket;
  /** The server. */
  readonly remote: Endpoint;
}

/** Counters of one connection. */
export type DtlsConnectionStats = Readonly<Omit<SessionCounters, never>> & {
  /** Received records dropped because the reader fell behind. */
  readonly receiveDropped: number;
};

/** See the module doc. */
export class DtlsConnection implements AsyncIterable<Buffer>, SessionSink {
  readonly #endpoint: DtlsEndpoint;
  readonly #session: DtlsSession;
  readonly #queue: DatagramQueue<Buffer>;
  readonly #ownSocket: Socket | undefined;
  #connected!: { resolve: () => void; reject: (e: Error) => void };
  readonly #ready: Promise<void>;
  #closing: Promise<void> | undefined;
  #error: DtlsError | undefined;
  #receiver: ((record: Buffer) => void) | undefined;
  readonly #ended = Promise.withResolvers<DtlsError | undefined>();

  /** @internal Use {@link DtlsConnection.connect} or `DtlsServer.accept`. */
  constructor(
    endpoint: DtlsEndpoint,
    session: DtlsSession | ((sink: SessionSink) => DtlsSession),
    receiveQueue: number,
    ownSocket?: Socket,
  ) {
    this.#endpoint = endpoint;
    this.#queue = new DatagramQueue({ capacity: receiveQueue });
    this.#ownSocket = ownSocket;
    this.#ready = new Promise((resolve, reject) => {
      this.#connected = { resolve, reject };
    });
    this.#ready.catch(() => {});
    this.#session = typeof session === 'function' ? session(this) : session;
  }

  /**
   * Opens a client session to `remote` and resolves once the handshake completed.
   * @throws (rejects) DtlsError `ERR_DTLS_HANDSHAKE_FAILED`, `ERR_DTLS_CERTIFICATE_REJECTED`,
   *   `ERR_DTLS_HANDSHAKE_TIMEOUT`; InvalidOptionError; AbortError `ERR_ABORTED`.
   */
  static async connect(options: DtlsConnectOptions): Promise<DtlsConnection> {
    throwIfAborted(options.signal);
    if (options.remote === undefined || typeof options.remote.port !== 'number') {
      throw new InvalidOptionError('remote', 'remote must be { address, port }');
    }
    const config = resolveClientConfig(options);
    const queue = resolveReceiveQueue(options);
    let own: Socket | undefined;
    let demux = options.demux ?? (options.socket !== undefined ? demuxOf(options.socket) : undefined);
    if (demux === undefined) {
      own = createSocket(options.remote.address.includes(':') ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        own!.once('error', reject);
        own!.bind(0, () => {
          own!.off('error', reject);
          resolve();
        });
      });
      demux = demuxOf(own);
    }
    const endpoint = DtlsEndpoint.of(demux);
    const connection = new DtlsConnection(
      endpoint,
      (sink) => endpoint.connect(options.remote, config, sink),
      queue,
      own,
    );
    try {
      await raceAbort(connection.#ready, options.signal);
    } catch (error) {
      await connection.close();
      throw error;
    }
    return connection;
  }

  /** @internal */
  onConnected(): void {
    this.#connected.resolve();
  }

  /** @internal */
  onData(data: Buffer): void {
    if (this.#receiver !== undefined) this.#receiver(data);
    else this.#queue.push(data);
  }

  /**
   * Hands received records to `receiver` synchronously instead of queueing them for the iterator
   * (queued ones first; the fast path, no promise per record). `undefined` goes back to queueing.
   */
  setReceiver(receiver: ((record: Buffer) => void) | undefined): void {
    this.#receiver = receiver;
    if (receiver === undefined) return;
    for (let r = this.#queue.shift(); r !== undefined; r = this.#queue.shift()) receiver(r);
  }

  /** @internal */
  onClosed(error: DtlsError | undefined): void {
    this.#error = error;
    this.#connected.reject(error ?? new ClosedError('the DTLS connection'));
    this.#queue.end();
    this.#ended.resolve(error);
  }

  /** Resolves once the session ended (close_notify either way, or a failure: its error). */
  whenClosed(): Promise<DtlsError | undefined> {
    return this.#ended.promise;
  }

  /** @internal Resolves when the handshake completed. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** `handshaking`, `established`, `closed` (close_notify either way) or `failed`. */
  get state(): SessionState {
    return this.#session.state;
  }

  /** The peer. */
  get remote(): Endpoint {
    return this.#session.remote;
  }

  /** `client` or `server`. */
  get role(): 'client' | 'server' {
    return this.#session.role;
  }

  /** The IANA name of the negotiated suite (undefined before the handshake). */
  get cipherSuite(): string | undefined {
    return this.#session.negotiated?.suite.name;
  }

  /** The negotiated SRTP profile (RFC 5764), if any. */
  get srtpProfile(): number | undefined {
    return this.#session.negotiated?.srtpProfile;
  }

  /**
   * The connection IDs once negotiated (RFC 9146): `own` is what the peer puts in records to us
   * (empty: none), `peer` what we put in ours; undefined when not negotiated.
   */
  get connectionId(): { readonly own: Buffer; readonly peer: Buffer } | undefined {
    return this.#session.connectionIds;
  }

  /** The ALPN protocol agreed on (RFC 7301), if any. */
  get alpnProtocol(): string | undefined {
    return this.#session.negotiated?.alpnProtocol;
  }

  /** Whether extended_master_secret was negotiated. */
  get extendedMasterSecret(): boolean {
    return this.#session.negotiated?.extendedMasterSecret ?? false;
  }

  /** The PSK identity used, if a PSK suite was negotiated. */
  get pskIdentity(): Buffer | undefined {
    return this.#session.negotiated?.pskIdentity;
  }

  /** The peer's certificate chain, leaf first (empty when it sent none). */
  get peerCertificates(): X509Certificate[] {
    return (this.#session.negotiated?.peerCertificates ?? []).map((der) => new X509Certificate(der));
  }

  /** Why the session failed, if it did. */
  get error(): DtlsError | undefined {
    return this.#error;
  }

  /**
   * RFC 5705 keying material (e.g. `EXTRACTOR-dtls_srtp`, RFC 5764 §4.2).
   * @throws InvalidStateError before the handshake completed; InvalidOptionError `length`.
   */
  exportKeyingMaterial(label: string, length: number, context?: Uint8Array): Buffer {
    const n = this.#session.negotiated;
    if (n === undefined) throw new InvalidStateError('the handshake has not completed');
    if (!Number.isInteger(length) || length < 1 || length > 65_535)
      throw new InvalidOptionError('length', 'length must be 1-65535');
    return exportKeyingMaterial(n.suite, n.master, n.clientRandom, n.serverRandom, label, length, context);
  }

  /**
   * Sends one record. @throws InvalidStateError when the session is not established;
   * InvalidOptionError `data` above 16 384 bytes.
   */
  send(data: Uint8Array): void {
    if (data.length > MAX_PLAINTEXT_BYTES)
      throw new InvalidOptionError('data', `a record carries at most ${MAX_PLAINTEXT_BYTES} bytes`);
    const record = this.#session.seal(data);
    if (record === undefined) throw new InvalidStateError(`the DTLS session is ${this.#session.state}`);
    this.#endpoint.sendRecord(this.#session, record);
  }

  /** A reader of received records; `break` ends that reader only. */
  records(options: AbortOptions = {}): DatagramReader<Buffer> {
    return this.#queue.reader(options.signal !== undefined ? { signal: options.signal } : {});
  }

  [Symbol.asyncIterator](): DatagramReader<Buffer> {
    return this.#queue.reader();
  }

  /** A snapshot of the counters. */
  stats(): DtlsConnectionStats {
    return { ...this.#session.counters, receiveDropped: this.#queue.dropped };
  }

  /** Sends close_notify and ends the session (idempotent). */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#endpoint.closeSession(this.#session);
    this.#queue.end();
    await this.#endpoint.closeOwnSocket(this.#ownSocket);
  }
}
