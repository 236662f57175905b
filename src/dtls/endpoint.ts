/**
 * The driver of one socket's DTLS: one {@link DtlsEndpointCore} on the socket's Demux (bytes
 * 20–63, RFC 7983) run by the one CoreDriver, shared by every client connection and the server
 * on that socket. It lives while someone uses it. {@link DtlsEndpoint.overLink} runs the same
 * core over a {@link DatagramLink} to one peer instead (a UdpServer session, a punch link).
 * @module
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { InvalidStateError } from '../errors/index.ts';
import { CoreDriver, type CoreDriverOptions } from '../internal/core-driver.ts';
import type { DatagramLink } from '../internal/datagram-link.ts';
import { type Endpoint, formatEndpoint } from '../internal/endpoint.ts';
import { type Demux, DTLS_RANGE } from '../mux/index.ts';
import type { SessionConfig } from './config.ts';
import { handshakeChannel, sessionClosedChannel } from './diagnostics.ts';
import { DtlsEndpointCore, type EndpointEvent, type ServerSide } from './endpoint-core.ts';
import type { DtlsError } from './errors.ts';
import type { DtlsHelloVerifier } from './hello-verifier.ts';
import type { DtlsSession } from './session.ts';

/** Who receives a session's events. */
export interface SessionSink {
  onConnected(): void;
  onData(data: Buffer): void;
  onClosed(error: DtlsError | undefined): void;
}

/** Who receives new server sessions. */
export interface AcceptSink {
  onAccepted(session: DtlsSession): SessionSink;
}

const endpoints = new WeakMap<Demux, DtlsEndpoint>();
/** The peer's address in the core of an endpoint over a link, when none is given. */
const LINK_PEER: Endpoint = { address: 'link', port: 0 };

/** See the module doc. */
export class DtlsEndpoint {
  /** The socket's demux; undefined over a link. */
  readonly demux: Demux | undefined;
  readonly #link: DatagramLink | undefined;
  /** Over a link: the peer's address as the core knows it. */
  readonly linkPeer: Endpoint | undefined;
  readonly core = new DtlsEndpointCore();
  readonly #driver: CoreDriver<EndpointEvent>;
  readonly #sinks = new Map<DtlsSession, SessionSink>();
  #acceptor: AcceptSink | undefined;
  #users = 0;
  #inflight = 0;
  #driverSent: ((error: Error | null) => void) | undefined;
  #idle: (() => void)[] = [];
  readonly #onSent = (error: Error | null): void => {
    this.#inflight--;
    this.#driverSent?.(error);
    if (this.#inflight === 0) for (const resolve of this.#idle.splice(0)) resolve();
  };

  /** The endpoint of `demux` (made on first use). @throws ConfigError `ERR_MUX_RANGE_TAKEN`. */
  static of(demux: Demux): DtlsEndpoint {
    let endpoint = endpoints.get(demux);
    if (endpoint === undefined) {
      endpoint = new DtlsEndpoint(demux, undefined);
      endpoints.set(demux, endpoint);
    }
    return endpoint;
  }

  /**
   * An endpoint of its own over `link` (every datagram of the link is DTLS; the peer's address is
   * `remote`, or a placeholder, in the core and the diagnostics). Its sessions hold it: it closes
   * with the last of them (and, with a server side, after `unlisten()`).
   */
  static overLink(link: DatagramLink, remote: Endpoint = LINK_PEER): DtlsEndpoint {
    return new DtlsEndpoint(undefined, link, remote);
  }

  private constructor(demux: Demux | undefined, link: DatagramLink | undefined, remote?: Endpoint) {
    this.demux = demux;
    this.#link = link;
    this.linkPeer = link === undefined ? undefined : remote;
    let io: Pick<CoreDriverOptions<EndpointEvent>, 'attach' | 'sender'>;
    if (link !== undefined) {
      const from: RemoteInfo = { address: remote!.address, port: remote!.port, family: 'IPv4', size: 0 };
      io = {
        attach: (handler) => link.onDatagram((data) => handler(data, from)),
        sender: {
          send: (data) => {
            link.send(data);
          },
        },
      };
    } else {
      const socket = demux!.socket;
      io = {
        attach: (handler) => demux!.register(DTLS_RANGE, handler),
        sender: {
          send: (data, port, address, callback) => {
            this.#driverSent = callback;
            this.#inflight++;
            socket.send(data, port, address, this.#onSent);
          },
        },
      };
    }
    this.#driver = new CoreDriver(this.core, {
      ...io,
      onEvent: (event) => this.#onEvent(event),
      onSendError: () => {},
    });
  }

  /** The driver's clock, ms. */
  now(): number {
    return this.#driver.now();
  }

  /**
   * Sends one protected record of `session` straight to its peer (no core round trip). No send
   * callback: dgram then finishes a synchronous send without a `nextTick` per record, and a
   * failed application record is as lost as a dropped one. {@link sent} still covers it: the
   * close_notify behind it goes with a callback, and the socket sends in order.
   */
  sendRecord(session: DtlsSession, record: Buffer): void {
    if (this.#link !== undefined) {
      this.#link.send(record);
      return;
    }
    this.demux!.socket.send(record, session.remote.port, session.remote.address);
  }

  /**
   * Closes a socket the connection or server bound itself (after what was handed to it is sent;
   * the demux stops reading it first).
   */
  async closeOwnSocket(own: Socket | undefined): Promise<void> {
    if (own === undefined) return;
    await this.sent();
    this.demux?.detach();
    await new Promise<void>((resolve) => own.close(resolve));
  }

  /** Resolves once every datagram handed to the socket was sent (before closing the socket). */
  sent(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Sends what the core queued (after an API call drove it). */
  flush(): void {
    this.#driver.flush();
  }

  /** Opens a client session. */
  connect(remote: Endpoint, config: SessionConfig, sink: SessionSink): DtlsSession {
    if (this.core.session(remote) !== undefined) {
      throw new InvalidStateError(
        `a DTLS session with ${formatEndpoint(remote)} already exists on this socket`,
      );
    }
    this.#users++;
    const session = this.core.connect(remote, config, this.now());
    this.#sinks.set(session, sink);
    session.onData = (data) => sink.onData(data);
    this.flush();
    return session;
  }

  /** Starts the server side (`verifier`: share another path's cookie secrets). */
  listen(server: ServerSide, acceptor: AcceptSink, verifier?: DtlsHelloVerifier): void {
    this.#users++;
    this.#acceptor = acceptor;
    this.core.listen(server, this.now(), verifier);
  }

  /** Stops the server side (its sessions stay until closed). */
  unlisten(): void {
    this.core.listen(undefined, this.now());
    this.#acceptor = undefined;
    this.#release();
  }

  /** A session's user is gone: close it (close_notify) and forget it. */
  closeSession(session: DtlsSession): void {
    session.close();
    this.core.touch(session);
    this.flush();
    // Over a link every session holds the endpoint; on a demux only clients do (the server holds it).
    if (this.#sinks.delete(session) && (session.role === 'client' || this.#link !== undefined))
      this.#release();
  }

  #release(): void {
    if (--this.#users > 0) return;
    this.core.close();
    this.flush();
    if (this.demux !== undefined) endpoints.delete(this.demux);
    void this.#driver.close();
  }

  #onEvent(event: EndpointEvent): void {
    const session = event.session;
    if (event.type === 'accepted') {
      if (this.#link !== undefined) this.#users++;
      const sink = this.#acceptor?.onAccepted(session);
      if (sink !== undefined) {
        this.#sinks.set(session, sink);
        session.onData = (data) => sink.onData(data);
      }
      return;
    }
    const sink = this.#sinks.get(session);
    if (event.type === 'data') {
      sink?.onData(event.data);
      return;
    }
    if (event.type === 'connected') {
      if (handshakeChannel.hasSubscribers)
        handshakeChannel.publish({
          role: session.role,
          remote: session.remote,
          cipherSuite: session.negotiated?.suite.name ?? '',
          handshakeMs: session.counters.handshakeMs,
          retransmissions: session.counters.retransmissions,
        });
      sink?.onConnected();
      return;
    }
    if (sessionClosedChannel.hasSubscribers)
      sessionClosedChannel.publish({
        role: session.role,
        remote: session.remote,
        errorCode: event.error?.code,
        alert: event.error?.alert,
      });
    sink?.onClosed(event.error);
  }
}
