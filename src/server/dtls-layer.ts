/**
 * `UdpServer({ dtls })`: the DTLS layer of one session. The server's listener runs the stateless
 * cookie exchange ({@link DtlsLinkAcceptor.verifier}); a session exists only once a ClientHello
 * carried a valid cookie, and then this layer serves the handshake over the session's datagrams
 * (shared socket or its own connected one) and, once it completed, turns records into the
 * session's datagrams and the session's sends into records.
 * @module
 */
import type { DtlsConnection, DtlsError, DtlsLinkAcceptor } from '../dtls/index.ts';
import { InvalidStateError } from '../errors/index.ts';
import type { DatagramLink } from '../internal/datagram-link.ts';
import { kDeliverRecord, kSendRaw, type SessionLayer, type UdpSession } from './session.ts';

/** What the server learns from a session's DTLS layer. */
export interface DtlsLayerHost {
  /** The handshake completed: hand the session out. */
  established(session: UdpSession, connection: DtlsConnection): void;
  /** The handshake failed (or timed out). */
  failed(session: UdpSession, error: Error): void;
  /** The established session ended (close_notify, a fatal alert). */
  ended(session: UdpSession, error: DtlsError | undefined): void;
  /** A record was dropped because the session's queue was full. */
  recordDropped(session: UdpSession): void;
}

/** See the module doc. */
export class SessionDtls implements SessionLayer {
  readonly #abort = new AbortController();
  #input: ((data: Buffer) => void) | undefined;
  #connection: DtlsConnection | undefined;

  constructor(session: UdpSession, acceptor: DtlsLinkAcceptor, host: DtlsLayerHost) {
    const link: DatagramLink = {
      send: (data) => session[kSendRaw](data),
      onDatagram: (handler) => {
        this.#input = handler;
        return {
          remove: () => {
            if (this.#input === handler) this.#input = undefined;
          },
        };
      },
    };
    session.setLayer(this);
    const remote = { address: session.address, port: session.port };
    acceptor.accept(link, { remote, signal: this.#abort.signal }).then(
      (connection) => {
        if (session.closed) return void connection.close();
        this.#connection = connection;
        connection.setReceiver((record) => {
          if (!session[kDeliverRecord](record)) host.recordDropped(session);
        });
        void connection.whenClosed().then((error) => host.ended(session, error));
        host.established(session, connection);
      },
      (error: Error) => {
        if (!session.closed) host.failed(session, error);
      },
    );
  }

  /** The session's DTLS connection once the handshake completed. */
  get connection(): DtlsConnection | undefined {
    return this.#connection;
  }

  input(data: Buffer): void {
    this.#input?.(data);
  }

  send(data: Uint8Array): void {
    if (this.#connection === undefined) throw new InvalidStateError('the DTLS handshake has not completed');
    this.#connection.send(data);
  }

  close(): void {
    this.#abort.abort();
    void this.#connection?.close();
  }
}
