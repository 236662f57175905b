/**
 * DTLS over a {@link DatagramLink} (one peer, every datagram DTLS): a session of a UdpServer, a
 * punch link (direct or relayed through TURN), a MediaTransport's single socket. The client is
 * {@link connectDtlsLink}; the server is a {@link DtlsLinkAcceptor}, which validates its options
 * once and runs the stateless cookie exchange first on each link (its {@link DtlsHelloVerifier}
 * can be shared with a path that ran the exchange before the link existed).
 * @module
 */
import { type AbortOptions, throwIfAborted } from '../errors/index.ts';
import { raceAbort } from '../internal/abort.ts';
import type { DatagramLink } from '../internal/datagram-link.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import type { SessionConfig } from './config.ts';
import { DtlsConnection } from './connection.ts';
import { DtlsEndpoint } from './endpoint.ts';
import { DtlsError, DtlsErrorCode } from './errors.ts';
import { DtlsHelloVerifier } from './hello-verifier.ts';
import {
  type DtlsClientRoleOptions,
  type DtlsServerRoleOptions,
  resolveClientConfig,
  resolveReceiveQueue,
  resolveServerConfig,
} from './options.ts';

/** Options of {@link connectDtlsLink}. */
export interface DtlsLinkConnectOptions extends DtlsClientRoleOptions, AbortOptions {
  /** The path to the server; every datagram it carries is DTLS. */
  readonly link: DatagramLink;
  /** The peer's address, for diagnostics (a link has one peer). */
  readonly remote?: Endpoint;
}

/** Options of {@link DtlsLinkAcceptor.accept}. */
export interface DtlsLinkAcceptOptions extends AbortOptions {
  /** The peer's address, for the cookie and diagnostics. */
  readonly remote?: Endpoint;
}

/**
 * Runs a DTLS client over `link` and resolves once the handshake completed.
 * @throws (rejects) DtlsError `ERR_DTLS_HANDSHAKE_FAILED`, `ERR_DTLS_CERTIFICATE_REJECTED`,
 *   `ERR_DTLS_HANDSHAKE_TIMEOUT`; InvalidOptionError; AbortError `ERR_ABORTED`.
 */
export async function connectDtlsLink(options: DtlsLinkConnectOptions): Promise<DtlsConnection> {
  throwIfAborted(options.signal);
  const config = resolveClientConfig(options);
  const queue = resolveReceiveQueue(options);
  const endpoint = DtlsEndpoint.overLink(options.link, options.remote);
  const connection = new DtlsConnection(
    endpoint,
    (sink) => endpoint.connect(endpoint.linkPeer!, config, sink),
    queue,
  );
  try {
    await raceAbort(connection.ready(), options.signal);
  } catch (error) {
    await connection.close();
    throw error;
  }
  return connection;
}

/** The server side of DTLS over links: options validated once, one connection per link. */
export class DtlsLinkAcceptor {
  readonly #config: SessionConfig;
  readonly #receiveQueue: number;
  /** The cookie secrets every link of this acceptor checks ClientHellos against. */
  readonly verifier: DtlsHelloVerifier;

  /** @throws InvalidOptionError for options that can never work. */
  constructor(options: DtlsServerRoleOptions) {
    this.#config = resolveServerConfig(options);
    this.#receiveQueue = resolveReceiveQueue(options);
    this.verifier = new DtlsHelloVerifier({ random: this.#config.random });
  }

  /** The handshake deadline, ms (`handshakeTimeoutMs`). */
  get handshakeTimeoutMs(): number {
    return this.#config.handshakeTimeoutMs;
  }

  /**
   * Serves one client on `link`: the cookie exchange, then the handshake; resolves with the
   * connection once it completed. Listening starts synchronously (a datagram handed to the link
   * right after this call is seen). No ClientHello within `handshakeTimeoutMs` rejects too.
   * @throws (rejects) DtlsError as {@link connectDtlsLink}; AbortError `ERR_ABORTED`.
   */
  accept(link: DatagramLink, options: DtlsLinkAcceptOptions = {}): Promise<DtlsConnection> {
    if (options.signal?.aborted === true) return raceAbort(new Promise<never>(() => {}), options.signal);
    const endpoint = DtlsEndpoint.overLink(link, options.remote);
    const { promise, resolve, reject } = Promise.withResolvers<DtlsConnection>();
    let accepted: DtlsConnection | undefined;
    const timer = setTimeout(() => {
      if (accepted !== undefined) return;
      endpoint.unlisten();
      reject(new DtlsError(DtlsErrorCode.HANDSHAKE_TIMEOUT, 'no DTLS ClientHello within handshakeTimeoutMs'));
    }, this.#config.handshakeTimeoutMs);
    endpoint.listen(
      { config: this.#config, maxSessions: 1 },
      {
        onAccepted: (session) => {
          const connection = new DtlsConnection(endpoint, session, this.#receiveQueue);
          accepted = connection;
          clearTimeout(timer);
          endpoint.unlisten();
          connection.ready().then(
            () => resolve(connection),
            (error: unknown) => {
              void connection.close();
              reject(error);
            },
          );
          return connection;
        },
      },
      this.verifier,
    );
    const result = raceAbort(promise, options.signal);
    result.catch(() => {
      clearTimeout(timer);
      if (accepted === undefined) endpoint.unlisten();
      else void accepted.close();
    });
    return result;
  }
}
