/**
 * DTLS on a single-socket MediaTransport (what the RIST Main profile offers: EnableDTLSClient /
 * EnableDTLSServer, Handshake, then media as application records). DTLS takes bytes 20–63 of the
 * socket's demux (RFC 7983). The client knows its server; the server learns its peer from the first
 * ClientHello that carries a valid cookie — before it, the stateless cookie exchange answers
 * ClientHellos (never with more bytes than they had) and keeps nothing; after it, DTLS datagrams
 * of any other source are dropped and counted.
 * @module
 */
import type { RemoteInfo } from 'node:dgram';
import {
  connectDtlsLink,
  type DtlsClientRoleOptions,
  type DtlsConnection,
  DtlsLinkAcceptor,
  type DtlsServerRoleOptions,
} from '../dtls/index.ts';
import type { AbortOptions } from '../errors/index.ts';
import { raceAbort } from '../internal/abort.ts';
import type { DatagramLink } from '../internal/datagram-link.ts';
import { type Demux, type DemuxRegistration, DTLS_RANGE } from '../mux/index.ts';
import type { Endpoint } from './options.ts';

/** Counters of a transport's DTLS. */
export interface TransportDtlsStats {
  /** HelloVerifyRequests the server sent (stateless). */
  readonly helloVerifyRequests: number;
  /** Bytes received from sources before the peer was verified. */
  readonly unverifiedBytesIn: number;
  /** Bytes sent to them (HelloVerifyRequests): at most `unverifiedBytesIn`. */
  readonly unverifiedBytesOut: number;
  /** DTLS datagrams dropped: from another source than the peer, or no ClientHello before one. */
  readonly dropped: number;
}

/** See the module doc. */
export class SingleSocketDtls {
  readonly #demux: Demux;
  readonly #registration: DemuxRegistration;
  readonly #onRecord: (record: Buffer, from: RemoteInfo) => void;
  readonly #acceptor: DtlsLinkAcceptor | undefined;
  readonly #clientOptions: DtlsClientRoleOptions | undefined;
  readonly #abort = new AbortController();
  readonly #ready = Promise.withResolvers<DtlsConnection>();
  #started = false;
  #peer: RemoteInfo | undefined;
  #input: ((data: Buffer) => void) | undefined;
  #connection: DtlsConnection | undefined;
  #inflight = 0;
  #idle: (() => void) | undefined;
  #helloVerifyRequests = 0;
  #unverifiedBytesIn = 0;
  #unverifiedBytesOut = 0;
  #dropped = 0;
  readonly #onSent = (): void => {
    if (--this.#inflight === 0) this.#idle?.();
  };
  readonly #link: DatagramLink = {
    send: (data) => this.#send(data, this.#peer!),
    onDatagram: (handler) => {
      this.#input = handler;
      return {
        remove: () => {
          if (this.#input === handler) this.#input = undefined;
        },
      };
    },
  };

  /**
   * `role` client: `remote` is the server; server: `remote` is undefined (learned). Registers on
   * the demux at once. @throws InvalidOptionError for DTLS options that can never work;
   * ConfigError `ERR_MUX_RANGE_TAKEN` when another layer holds bytes 20–63.
   */
  constructor(
    demux: Demux,
    setup:
      | { readonly role: 'client'; readonly remote: Endpoint; readonly options: DtlsClientRoleOptions }
      | { readonly role: 'server'; readonly options: DtlsServerRoleOptions },
    onRecord: (record: Buffer, from: RemoteInfo) => void,
  ) {
    this.#demux = demux;
    this.#onRecord = onRecord;
    this.#ready.promise.catch(() => {});
    if (setup.role === 'client') {
      this.#clientOptions = setup.options;
      this.#peer = remoteInfo(setup.remote);
    } else {
      this.#acceptor = new DtlsLinkAcceptor(setup.options);
    }
    this.#registration = demux.register(DTLS_RANGE, (data, from) => this.#receive(data, from));
  }

  /** The connection once the handshake completed. */
  get connection(): DtlsConnection | undefined {
    return this.#connection;
  }

  /** Counters. */
  stats(): TransportDtlsStats {
    return {
      helloVerifyRequests: this.#helloVerifyRequests,
      unverifiedBytesIn: this.#unverifiedBytesIn,
      unverifiedBytesOut: this.#unverifiedBytesOut,
      dropped: this.#dropped,
    };
  }

  /** Runs (client) or awaits (server) the handshake; resolves with the connection. */
  handshake(options: AbortOptions = {}): Promise<DtlsConnection> {
    if (!this.#started && this.#clientOptions !== undefined) {
      this.#started = true;
      connectDtlsLink({
        ...this.#clientOptions,
        link: this.#link,
        remote: this.#peer!,
        signal: this.#abort.signal,
      }).then(
        (c) => this.#established(c),
        (e: unknown) => this.#ready.reject(e),
      );
    }
    return raceAbort(this.#ready.promise, options.signal);
  }

  #established(connection: DtlsConnection): void {
    this.#connection = connection;
    const peer = this.#peer!;
    connection.setReceiver((record) => this.#onRecord(record, peer));
    this.#ready.resolve(connection);
  }

  #receive(data: Buffer, from: RemoteInfo): void {
    const peer = this.#peer;
    if (peer !== undefined) {
      if (from.port === peer.port && from.address === peer.address && this.#input !== undefined)
        this.#input(data);
      else this.#dropped++;
      return;
    }
    const acceptor = this.#acceptor!;
    const verdict = acceptor.verifier.check(data, from, performance.now());
    if (verdict.kind === 'unclaimed') {
      this.#unverifiedBytesIn += data.length;
      this.#dropped++;
    } else if (verdict.kind === 'hello-verify') {
      this.#unverifiedBytesIn += data.length;
      this.#helloVerifyRequests++;
      this.#unverifiedBytesOut += verdict.reply.length;
      this.#send(verdict.reply, from);
    } else {
      this.#peer = remoteInfo(from);
      acceptor.accept(this.#link, { remote: this.#peer, signal: this.#abort.signal }).then(
        (c) => this.#established(c),
        (e: unknown) => this.#ready.reject(e),
      );
      this.#input?.(data);
    }
  }

  #send(data: Uint8Array, to: Endpoint): void {
    this.#inflight++;
    this.#demux.socket.send(data, to.port, to.address, this.#onSent);
  }

  /** close_notify, then waits until it left; removes the registration. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#connection?.close();
    if (this.#inflight > 0) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#idle = resolve;
      const timer = setTimeout(resolve, 1000);
      await promise;
      clearTimeout(timer);
    }
    this.#registration.remove();
  }
}

function remoteInfo(endpoint: Endpoint): RemoteInfo {
  return {
    address: endpoint.address,
    port: endpoint.port,
    family: endpoint.address.includes(':') ? 'IPv6' : 'IPv4',
    size: 0,
  };
}
