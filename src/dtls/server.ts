/**
 * `DtlsServer`: accepts DTLS clients on one socket (shared with client connections and other
 * layers through its Demux), per-client sessions keyed by address, stateless cookies.
 * @module
 */
import { createSocket, type Socket } from 'node:dgram';
import { type AbortOptions, ClosedError, InvalidOptionError, throwIfAborted } from '../errors/index.ts';
import { raceAbort } from '../internal/abort.ts';
import { DatagramQueue } from '../internal/datagram-queue.ts';
import { type Demux, demuxOf } from '../mux/index.ts';
import { DtlsConnection } from './connection.ts';
import { DEFAULT_MAX_SESSIONS } from './constants.ts';
import { DtlsEndpoint } from './endpoint.ts';
import type { EndpointCounters } from './endpoint-core.ts';
import { type DtlsServerRoleOptions, resolveReceiveQueue, resolveServerConfig } from './options.ts';
import type { DtlsSession } from './session.ts';

/** Options of {@link DtlsServer.listen}. */
export interface DtlsServerOptions extends DtlsServerRoleOptions {
  /** The demux of the socket to serve on. One of `demux`, `socket` or `port`. */
  readonly demux?: Demux;
  /** A bound socket to serve on. */
  readonly socket?: Socket;
  /** Binds a socket on this port (0: ephemeral), closed with the server. */
  readonly port?: number;
  /** Address to bind with `port`. Default `0.0.0.0`. */
  readonly host?: string;
  /** Most sessions at once (then valid ClientHellos are dropped and counted). Default 10 000. */
  readonly maxSessions?: number;
  /** Handshaken connections waiting for `accept()`. Default 128. */
  readonly acceptQueue?: number;
}

/** Counters of a server. */
export interface DtlsServerStats extends Readonly<EndpointCounters> {
  /** Handshakes completed. */
  readonly handshakes: number;
  /** Handshakes that failed. */
  readonly handshakeFailures: number;
  /** Sessions held now. */
  readonly sessions: number;
  /** Connections dropped because the accept queue was full. */
  readonly acceptDropped: number;
}

/** See the module doc. */
export class DtlsServer implements AsyncIterable<DtlsConnection> {
  readonly #endpoint: DtlsEndpoint;
  readonly #accepted: DatagramQueue<DtlsConnection>;
  readonly #live = new Set<DtlsConnection>();
  readonly #ownSocket: Socket | undefined;
  #closing: Promise<void> | undefined;
  #handshakes = 0;
  #failures = 0;

  private constructor(endpoint: DtlsEndpoint, acceptQueue: number, own: Socket | undefined) {
    this.#endpoint = endpoint;
    this.#accepted = new DatagramQueue({ capacity: acceptQueue });
    this.#ownSocket = own;
  }

  /**
   * Starts serving. @throws (rejects) InvalidOptionError for bad options; ConfigError
   * `ERR_MUX_RANGE_TAKEN` when another server already listens on the socket.
   */
  static async listen(options: DtlsServerOptions): Promise<DtlsServer> {
    const config = resolveServerConfig(options);
    const receiveQueue = resolveReceiveQueue(options);
    const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (!Number.isInteger(maxSessions) || maxSessions < 1)
      throw new InvalidOptionError('maxSessions', 'maxSessions must be ≥ 1');
    const acceptQueue = options.acceptQueue ?? 128;
    if (!Number.isInteger(acceptQueue) || acceptQueue < 1)
      throw new InvalidOptionError('acceptQueue', 'acceptQueue must be ≥ 1');
    let own: Socket | undefined;
    let demux = options.demux ?? (options.socket !== undefined ? demuxOf(options.socket) : undefined);
    if (demux === undefined) {
      const port = options.port ?? 0;
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new InvalidOptionError('port', 'port must be 0-65535');
      const host = options.host ?? '0.0.0.0';
      own = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        own!.once('error', reject);
        own!.bind(port, host, () => {
          own!.off('error', reject);
          resolve();
        });
      });
      demux = demuxOf(own);
    }
    const endpoint = DtlsEndpoint.of(demux);
    if (endpoint.core.listening)
      throw new InvalidOptionError('demux', 'a DTLS server already listens on this socket');
    const server = new DtlsServer(endpoint, acceptQueue, own);
    endpoint.listen(
      { config, maxSessions },
      {
        onAccepted: (session: DtlsSession) => server.#onAccepted(session, receiveQueue),
      },
    );
    return server;
  }

  #onAccepted(session: DtlsSession, receiveQueue: number): DtlsConnection {
    const connection = new DtlsConnection(this.#endpoint, session, receiveQueue);
    this.#live.add(connection);
    connection.ready().then(
      () => {
        this.#handshakes++;
        if (!this.#accepted.push(connection)) void connection.close();
      },
      () => {
        this.#failures++;
        this.#live.delete(connection);
      },
    );
    return connection;
  }

  /** The socket's local address. */
  address(): { address: string; port: number } {
    const a = this.#endpoint.demux!.socket.address();
    return { address: a.address, port: a.port };
  }

  /**
   * The next handshaken connection.
   * @throws (rejects) ClosedError `ERR_CLOSED` once the server closed; AbortError `ERR_ABORTED`.
   */
  async accept(options: AbortOptions = {}): Promise<DtlsConnection> {
    throwIfAborted(options.signal);
    const next = await raceAbort(this.#accepted.next(), options.signal);
    if (next.done === true) throw new ClosedError('the DTLS server');
    return next.value;
  }

  [Symbol.asyncIterator](): AsyncIterator<DtlsConnection> {
    return this.#accepted.reader();
  }

  /** A snapshot of the counters. */
  stats(): DtlsServerStats {
    return {
      ...this.#endpoint.core.counters,
      handshakes: this.#handshakes,
      handshakeFailures: this.#failures,
      sessions: this.#endpoint.core.size,
      acceptDropped: this.#accepted.dropped,
    };
  }

  /** Stops accepting and closes every connection it accepted (close_notify). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#accepted.end();
    await Promise.all([...this.#live].map((c) => c.close()));
    this.#endpoint.unlisten();
    await this.#endpoint.closeOwnSocket(this.#ownSocket);
  }
}
