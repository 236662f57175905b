import type { RemoteInfo, Socket } from 'node:dgram';
import { debuglog } from 'node:util';
import type { DtlsClientRoleOptions, DtlsConnection, DtlsServerRoleOptions } from '../dtls/index.ts';
import { type AbortOptions, ClosedError, InvalidOptionError, InvalidStateError } from '../errors/index.ts';
import { Demux, type DemuxRegistration, RTP_RANGE } from '../mux/index.ts';
import type { SocketFamily } from '../ports/index.ts';
import {
  type AcquiredSockets,
  bindFixed,
  closeSockets,
  ephemeralAcquirer,
  type SocketAcquirer,
  type SocketShape,
} from './acquire-sockets.ts';
import { SingleSocketDtls, type TransportDtlsStats } from './dtls-single.ts';
import type { MulticastMembership, MulticastSettings } from './multicast.ts';
import { MulticastState } from './multicast-state.ts';
import {
  DEFAULT_PAIR_PROBE_ATTEMPTS,
  type Endpoint,
  type EphemeralOptions,
  type TransportOptions,
} from './options.ts';
import { PeerLatch } from './peer-latch.ts';
import { applySocketBuffers } from './socket-buffers.ts';
import { type StreamStats, TransportStream } from './transport-stream.ts';
import {
  checkEndpoint,
  checkPairPort,
  checkPort,
  familyOf,
  type ResolvedOptions,
  resolveOptions,
  resolveTarget,
} from './validate.ts';

const debug = debuglog('porthole:transport');

/** Drops of a whole transport, by reason. */
export interface TransportDrops {
  /** Rejected by the latch policy. */
  readonly unexpectedSource: number;
  /** Dropped from a full iterator queue. */
  readonly queueFull: number;
  /** Too short to classify on a single socket. */
  readonly malformed: number;
  /** First byte claimed by no handler (not RTP/RTCP, and no other protocol registered). */
  readonly unclaimed: number;
  /** Zero-length datagrams. */
  readonly empty: number;
  /** A callback (or another layer's handler) threw. */
  readonly handlerErrors: number;
}

/** A snapshot of a transport. */
export interface TransportStats {
  readonly shape: SocketShape;
  readonly media: StreamStats;
  readonly rtcp: StreamStats;
  readonly drops: TransportDrops;
  /** Successful `rebind()` calls. */
  readonly rebinds: number;
  /** DTLS counters, once `enableDtlsClient` / `enableDtlsServer` was called. */
  readonly dtls: TransportDtlsStats | undefined;
}

/** Options of {@link MediaTransport.rebind}. */
export interface RebindOptions {
  readonly signal?: AbortSignal;
}

/**
 * RTP/RTCP over UDP: an even/odd pair of unconnected sockets (RFC 3550 §11, VSF TR-06-1 Simple
 * profile) or one socket for both (RFC 5761 rtcp-mux, TR-06-2 Main profile). Every send names its
 * destination, so one transport serves receivers (well-known ports, peers learned from inbound
 * datagrams) and senders (ephemeral ports, peers configured). Each socket is read through a
 * {@link Demux}: `media.demux` / `rtcp.demux` take other protocols' handlers (STUN, DTLS, …).
 */
export class MediaTransport implements AsyncDisposable {
  /** RTP (media) stream: the even port of a pair. */
  readonly media: TransportStream;
  /** RTCP stream: the odd port of a pair, or the media socket itself on a single socket. */
  readonly rtcp: TransportStream;
  readonly family: SocketFamily;
  readonly shape: SocketShape;
  readonly #options: ResolvedOptions;
  readonly #acquirer: SocketAcquirer | undefined;
  readonly #registrations: DemuxRegistration[] = [];
  readonly #multicast: MulticastState;
  #acquired: AcquiredSockets;
  #closing: Promise<void> | undefined;
  #rebinds = 0;
  #dtls: SingleSocketDtls | undefined;

  /** @internal Use the static factories. */
  private constructor(
    acquired: AcquiredSockets,
    acquirer: SocketAcquirer | undefined,
    shape: SocketShape,
    options: TransportOptions,
    resolved: ResolvedOptions,
  ) {
    this.#acquired = acquired;
    this.#acquirer = acquirer;
    this.shape = shape;
    this.#options = resolved;
    this.family = acquired.media.address().family === 'IPv6' ? 'udp6' : 'udp4';
    this.#multicast = new MulticastState(this.family);
    const { latch, followAfterSilenceMs, now, queueCapacity } = resolved;
    const mediaDemux = new Demux(acquired.media);
    const rtcpDemux = acquired.rtcp === undefined ? mediaDemux : new Demux(acquired.rtcp);
    this.media = new TransportStream(
      'media',
      mediaDemux,
      new PeerLatch(latch, followAfterSilenceMs, now),
      queueCapacity,
    );
    this.rtcp = new TransportStream(
      'rtcp',
      rtcpDemux,
      new PeerLatch(latch, followAfterSilenceMs, now),
      queueCapacity,
    );
    if (resolved.inferPeers) {
      const offset = shape === 'single' ? 0 : 1;
      this.media.link(this.rtcp, offset);
      this.rtcp.link(this.media, -offset);
    }
    if (shape === 'single') {
      this.#registrations.push(mediaDemux.register(RTP_RANGE, this.#split));
    } else {
      this.#registrations.push(mediaDemux.register(RTP_RANGE, this.media.receive));
      this.#registrations.push(rtcpDemux.register(RTP_RANGE, this.rtcp.receive));
    }
    this.#adopt(acquired);
    void this.media.port; // remember the ports while the sockets are open
    void this.rtcp.port;
    if (options.remote?.media !== undefined) this.media.setPeer(options.remote.media);
    if (options.remote?.rtcp !== undefined) this.rtcp.setPeer(options.remote.rtcp);
    if (options.onMedia !== undefined) this.media.setHandler(options.onMedia);
    if (options.onRtcp !== undefined) this.rtcp.setHandler(options.onRtcp);
  }

  /**
   * Receiver side: binds media on even `port` and RTCP on `port + 1` of `host`.
   * @throws InvalidOptionError `ERR_INVALID_OPTION`; PortBindError (`ERR_PORT_IN_USE`, …).
   */
  static async listenPair(
    host: string,
    port: number,
    options: TransportOptions = {},
  ): Promise<MediaTransport> {
    checkPairPort(port);
    const resolved = resolveOptions(options);
    const target = resolveTarget(host, undefined);
    const acquired = await bindFixed(target, port, 'pair', options.signal);
    return new MediaTransport(acquired, undefined, 'pair', options, resolved);
  }

  /**
   * One socket for media and RTCP (rtcp-mux, RIST Main profile) on `port`; 0 lets the OS choose
   * (and makes the transport rebindable). RTCP is told from RTP by RFC 5761 §4.
   */
  static async listenSingle(
    host: string,
    port: number,
    options: TransportOptions = {},
  ): Promise<MediaTransport> {
    checkPort(port, 'port', true);
    if (port === 0) return MediaTransport.listenEphemeralSingle(host, options);
    const resolved = resolveOptions(options);
    const acquired = await bindFixed(resolveTarget(host, undefined), port, 'single', options.signal);
    return new MediaTransport(acquired, undefined, 'single', options, resolved);
  }

  /**
   * Sender side: two sockets on ports the pool (or the OS) chooses; not necessarily adjacent.
   * `host` may be omitted (the pool's, or the wildcard of `options.family`).
   */
  static listenEphemeral(host?: string, options: EphemeralOptions = {}): Promise<MediaTransport> {
    return MediaTransport.#ephemeral(host, options, 'two');
  }

  /**
   * An ephemeral even/odd pair: an even-parity lease of the pool, or without a pool bounded OS
   * probing (`ERR_TRANSPORT_PAIR_UNAVAILABLE`). A listener-sender infers a receiver's media port
   * as its RTCP source port − 1, so a calling receiver needs a real pair.
   */
  static listenEphemeralPair(host?: string, options: EphemeralOptions = {}): Promise<MediaTransport> {
    return MediaTransport.#ephemeral(host, options, 'pair');
  }

  /** One ephemeral socket for media and RTCP. */
  static listenEphemeralSingle(host?: string, options: EphemeralOptions = {}): Promise<MediaTransport> {
    return MediaTransport.#ephemeral(host, options, 'single');
  }

  /**
   * Wraps sockets bound elsewhere; the transport owns them from now on (close() closes them).
   * Without `rtcp` the transport is a single socket. Not rebindable.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` for an unbound socket, the same socket
   *   twice or sockets of different families.
   */
  static fromSockets(media: Socket, rtcp?: Socket, options: TransportOptions = {}): MediaTransport {
    const resolved = resolveOptions(options);
    const families = [media, rtcp].map((s) => (s === undefined ? undefined : boundFamily(s)));
    if (media === rtcp || (rtcp !== undefined && families[0] !== families[1])) {
      throw new InvalidOptionError('rtcp', 'media and rtcp must be two sockets of one family');
    }
    let released: Promise<void> | undefined;
    const release = (): Promise<void> => (released ??= closeSockets([media, rtcp]));
    const shape = rtcp === undefined ? 'single' : 'pair';
    return new MediaTransport({ media, rtcp, release }, undefined, shape, options, resolved);
  }

  static async #ephemeral(host: string | undefined, options: EphemeralOptions, shape: SocketShape) {
    const resolved = resolveOptions(options);
    const attempts = options.pairProbeAttempts ?? DEFAULT_PAIR_PROBE_ATTEMPTS;
    if (!Number.isInteger(attempts) || attempts < 1 || attempts > 1000) {
      throw new InvalidOptionError('pairProbeAttempts', `pairProbeAttempts must be 1–1000, got ${attempts}`);
    }
    const target = resolveTarget(host, options.family, options.pool);
    const acquirer = ephemeralAcquirer(target, shape, options.pool, attempts);
    const acquired = await acquirer(options.signal);
    return new MediaTransport(acquired, acquirer, shape, options, resolved);
  }

  /** Local ports: `{ media, rtcp }` (equal on a single socket). */
  get ports(): { readonly media: number; readonly rtcp: number } {
    return { media: this.media.port, rtcp: this.rtcp.port };
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Sends one RTP datagram to `to` or the media peer. See {@link TransportStream.send}. With DTLS
   * on, one application record to the DTLS peer (`to` must be left out).
   */
  sendMedia(data: Uint8Array, to?: Endpoint): void {
    if (this.#dtls !== undefined) this.#sendDtls(data, to);
    else this.media.send(data, to);
  }

  /** Sends one RTCP datagram to `to` or the RTCP peer. With DTLS on, a record as {@link sendMedia}. */
  sendRtcp(data: Uint8Array, to?: Endpoint): void {
    if (this.#dtls !== undefined) this.#sendDtls(data, to);
    else this.rtcp.send(data, to);
  }

  /**
   * Single socket: speak DTLS 1.2 to the server at `remote` (the RIST Main profile's
   * EnableDTLSClient). The handshake runs in {@link handshake}; from then on `sendMedia` /
   * `sendRtcp` send records and received records arrive on `media` / `rtcp` as datagrams did;
   * plain RTP/RTCP is no longer read (`unclaimed`).
   * @throws InvalidStateError `ERR_INVALID_STATE` on a pair or when DTLS is already on;
   *   ClosedError `ERR_CLOSED`.
   */
  enableDtlsClient(remote: Endpoint, options: DtlsClientRoleOptions): void {
    checkEndpoint(remote, 'remote');
    this.#enableDtls({ role: 'client', remote: { address: remote.address, port: remote.port }, options });
  }

  /**
   * Single socket: serve DTLS 1.2 (EnableDTLSServer): the peer is the source of the first
   * ClientHello with a valid cookie (the stateless exchange answers the ones before it).
   * @throws InvalidOptionError for DTLS options that can never work; otherwise as {@link enableDtlsClient}.
   */
  enableDtlsServer(options: DtlsServerRoleOptions): void {
    this.#enableDtls({ role: 'server', options });
  }

  /**
   * Runs the DTLS handshake (client) or waits for it (server); resolves with the connection
   * (cipher suite, peer certificates, exporter, stats).
   * @throws InvalidStateError without DTLS enabled; (rejects) DtlsError
   *   `ERR_DTLS_HANDSHAKE_FAILED`, `ERR_DTLS_CERTIFICATE_REJECTED`, `ERR_DTLS_HANDSHAKE_TIMEOUT`;
   *   AbortError `ERR_ABORTED`.
   */
  handshake(options: AbortOptions = {}): Promise<DtlsConnection> {
    if (this.#dtls === undefined)
      throw new InvalidStateError('enable DTLS first (enableDtlsClient / enableDtlsServer)');
    return this.#dtls.handshake(options);
  }

  /** The DTLS connection once the handshake completed. */
  get dtls(): DtlsConnection | undefined {
    return this.#dtls?.connection;
  }

  #enableDtls(setup: ConstructorParameters<typeof SingleSocketDtls>[1]): void {
    this.#checkOpen();
    if (this.shape !== 'single')
      throw new InvalidStateError(
        'DTLS runs on a single-socket transport (listenSingle, listenEphemeralSingle)',
      );
    if (this.#dtls !== undefined) throw new InvalidStateError('DTLS is already enabled on this transport');
    this.#dtls = new SingleSocketDtls(this.media.demux, setup, this.#split);
    // Plain RTP/RTCP is not read any more: media arrives as records.
    this.#registrations.shift()?.remove();
  }

  #sendDtls(data: Uint8Array, to: Endpoint | undefined): void {
    this.#checkOpen();
    if (to !== undefined)
      throw new InvalidOptionError('to', 'with DTLS, records go to the DTLS peer: leave `to` out');
    const connection = this.#dtls!.connection;
    if (connection === undefined) throw new InvalidStateError('the DTLS handshake has not completed');
    connection.send(data);
  }

  /**
   * Joins a multicast group on every socket (both of a pair): any-source, or source-specific
   * (RFC 4607) with `source`. Returns false for a unicast group (nothing to join), true otherwise;
   * joining the same membership twice is a no-op. Memberships survive `rebind()`.
   * @throws InvalidOptionError `ERR_INVALID_OPTION`; PortholeError
   *   `ERR_TRANSPORT_MULTICAST_FAILED`; ClosedError `ERR_CLOSED`.
   */
  joinMulticast(membership: MulticastMembership): boolean {
    this.#checkOpen();
    return this.#multicast.join(this.#sockets(this.#acquired), membership);
  }

  /** Leaves a group joined with {@link joinMulticast}; false when it was not joined. */
  leaveMulticast(membership: MulticastMembership): boolean {
    this.#checkOpen();
    return this.#multicast.leave(this.#sockets(this.#acquired), membership);
  }

  /**
   * Sender settings for multicast on every socket: TTL (hops), outgoing interface, loopback of
   * our own datagrams to this host. Unset fields keep their value. Survive `rebind()`.
   * @throws InvalidOptionError `ERR_INVALID_OPTION`;
   *   PortholeError `ERR_TRANSPORT_MULTICAST_FAILED`; ClosedError `ERR_CLOSED`.
   */
  setMulticast(settings: MulticastSettings): void {
    this.#checkOpen();
    this.#multicast.set(this.#sockets(this.#acquired), settings);
  }

  /**
   * Swaps in fresh ephemeral sockets of the same shape from the pool (or the OS) — NAT recovery.
   * Iterators, callbacks, peers, other layers' demux handlers, memberships and multicast settings
   * stay; the old ports are returned to the pool (cooldown applies).
   * @throws InvalidStateError `ERR_INVALID_STATE` for fixed ports or adopted sockets;
   *   ClosedError `ERR_CLOSED`; the pool's errors (`ERR_PORT_RANGE_EXHAUSTED`, …).
   */
  async rebind(options: RebindOptions = {}): Promise<void> {
    this.#checkOpen();
    if (this.#acquirer === undefined) {
      throw new InvalidStateError(
        'only transports on ephemeral ports (listenEphemeral*) can rebind; fixed ports stay',
      );
    }
    const next = await this.#acquirer(options.signal);
    try {
      this.#checkOpen();
      this.#multicast.reapply(this.#sockets(next));
    } catch (error) {
      await next.release();
      throw error;
    }
    const old = this.#acquired;
    this.#acquired = next;
    this.#adopt(next);
    this.media.demux.moveTo(next.media);
    if (next.rtcp !== undefined) this.rtcp.demux.moveTo(next.rtcp);
    this.#rebinds++;
    const ports = this.ports; // read while open: the streams remember them
    debug('rebound to %o', ports);
    await old.release();
  }

  stats(): TransportStats {
    const media = this.media.stats();
    const rtcp = this.rtcp.stats();
    const demuxes = this.shape === 'single' ? [this.media.demux] : [this.media.demux, this.rtcp.demux];
    let unclaimed = 0;
    let empty = 0;
    let handlerErrors = 0;
    for (const d of demuxes) {
      const s = d.stats();
      unclaimed += s.droppedUnclaimed;
      empty += s.droppedEmpty;
      handlerErrors += s.handlerErrors;
    }
    return {
      shape: this.shape,
      media,
      rtcp,
      drops: {
        unexpectedSource: media.drops.unexpectedSource + rtcp.drops.unexpectedSource,
        queueFull: media.drops.queueFull + rtcp.drops.queueFull,
        malformed: media.drops.malformed + rtcp.drops.malformed,
        unclaimed,
        empty,
        handlerErrors,
      },
      rebinds: this.#rebinds,
      dtls: this.#dtls?.stats(),
    };
  }

  /**
   * Ends every iterator (after what is queued), refuses sends, and closes the sockets or returns
   * them to the pool (cooldown applies). Idempotent; resolves when the sockets are closed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    await this.#dtls?.close();
    this.media.end();
    this.rtcp.end();
    for (const r of this.#registrations) r.remove();
    this.media.demux.detach();
    this.rtcp.demux.detach();
    await this.#acquired.release();
  }

  /** RFC 5761 §4: on one socket, a second byte of 192–223 is an RTCP packet type. */
  readonly #split = (data: Buffer, from: RemoteInfo): void => {
    const type = data[1];
    if (type === undefined) this.media.countMalformed(data, from);
    else if (type >= 192 && type <= 223) this.rtcp.receive(data, from);
    else this.media.receive(data, from);
  };

  #adopt(acquired: AcquiredSockets): void {
    applySocketBuffers(acquired.media, this.#options.recvBufferSize, this.#options.sendBufferSize);
    acquired.media.on('error', this.media.onSocketError);
    if (acquired.rtcp !== undefined) {
      applySocketBuffers(acquired.rtcp, this.#options.recvBufferSize, this.#options.sendBufferSize);
      acquired.rtcp.on('error', this.rtcp.onSocketError);
    }
  }

  #sockets(acquired: AcquiredSockets): Socket[] {
    return acquired.rtcp === undefined ? [acquired.media] : [acquired.media, acquired.rtcp];
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new ClosedError('media transport');
  }
}

function boundFamily(socket: Socket): SocketFamily {
  let address: string;
  try {
    address = socket.address().address;
  } catch {
    throw new InvalidOptionError('media', 'fromSockets() needs bound sockets');
  }
  return familyOf(address) ?? 'udp4';
}
