import type { RemoteInfo, Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import { type DtlsConnection, type DtlsError, DtlsErrorCode, DtlsLinkAcceptor } from '../dtls/index.ts';
import { ConfigError, throwIfAborted } from '../errors/index.ts';
import { Demux, type DemuxRegistration, frameRange, PortholeFrame } from '../mux/index.ts';
import { bindUdpSocket, type PortLease } from '../ports/index.ts';
import { type ConnectedCounter, ConnectedSockets, type SessionConnection, unmap } from './connected.ts';
import { CookieJar } from './cookie.ts';
import {
  datagramDroppedChannel,
  dtlsHandshakeChannel,
  publishDrop,
  sessionClosedChannel,
  sessionOpenedChannel,
} from './diagnostics.ts';
import { type DtlsLayerHost, SessionDtls } from './dtls-layer.ts';
import { ServerErrorCode } from './errors.ts';
import {
  decodeServerFrame,
  encodeAccept,
  encodeCookieFrame,
  type ServerFrame,
  ServerFrameKind,
} from './frame.ts';
import {
  bufferOptions,
  DEFAULT_RANGES,
  type ResolvedServerOptions,
  resolveServerOptions,
  ServerMode,
  type ServerModeValue,
  type UdpServerOptions,
} from './options.ts';
import { kDeliver, type UdpSession } from './session.ts';
import { SessionTable } from './session-table.ts';
import { createDropCounts, type DropCounts, type DropReasonValue, type UdpServerStats } from './stats.ts';

const debug = debuglog('porthole:server');

/** Settings of {@link UdpServer.close}. */
export interface CloseOptions {
  /** How long busy sessions may go on, in ms. Default the server's `graceMs`. */
  readonly graceMs?: number;
}

/** Events of a {@link UdpServer}. */
export interface UdpServerEvents {
  /** A new session. While a listener is attached, sessions are accepted here instead of the iterator. */
  session: [session: UdpSession];
  /** The server has closed and released its sockets. */
  close: [];
}

type Counter =
  | 'sessionsExpired'
  | 'delivered'
  | 'control'
  | 'cookiesSent'
  | 'cookiesVerified'
  | 'handedBack'
  | 'unverifiedBytesIn'
  | 'unverifiedBytesOut'
  | 'dtlsHandshakes'
  | 'dtlsHandshakeFailures'
  | 'dtlsRecordsDropped'
  | 'dtlsBacklogDropped'
  | ConnectedCounter;

/**
 * `accept()` for UDP: turns the sources that send to one port into sessions, in one of two modes —
 * `shared` (one socket, sessions keyed by source address) or `connected` (a connected socket per
 * session in an SO_REUSEPORT group). Bounded everywhere; every datagram is delivered, used or
 * dropped under a named reason in {@link UdpServer.stats}. See docs/server.md.
 */
export class UdpServer
  extends EventEmitter<UdpServerEvents>
  implements AsyncIterable<UdpSession>, AsyncDisposable
{
  readonly #options: ResolvedServerOptions;
  readonly #socket: Socket;
  readonly #lease: PortLease | undefined;
  readonly #demux: Demux;
  readonly #registrations: DemuxRegistration[] = [];
  readonly #table: SessionTable;
  readonly #cookies: CookieJar;
  readonly #requireCookie: boolean;
  readonly #dtls: DtlsLinkAcceptor | undefined;
  readonly #connected: ConnectedSockets | undefined;
  readonly #drops: DropCounts = createDropCounts();
  readonly #counts: Record<Counter, number> = {
    sessionsExpired: 0,
    delivered: 0,
    control: 0,
    cookiesSent: 0,
    cookiesVerified: 0,
    handedBack: 0,
    unverifiedBytesIn: 0,
    unverifiedBytesOut: 0,
    dtlsHandshakes: 0,
    dtlsHandshakeFailures: 0,
    dtlsRecordsDropped: 0,
    dtlsBacklogDropped: 0,
    held: 0,
    handoverTimeouts: 0,
    connectFallbacks: 0,
    unreachable: 0,
    sendErrors: 0,
    closedUnread: 0,
    sessionQueueFull: 0,
  };
  #datagramsIn = 0;
  #bytesIn = 0;
  #datagramsOut = 0;
  #bytesOut = 0;
  #nowMs: number;
  #sweepTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #stopping = false;
  #onDrained: (() => void) | undefined;
  /** Sends handed to the listener and not yet reported (close waits for them: a close_notify leaves). */
  #inflight = 0;
  #sendsDone: (() => void) | undefined;
  readonly #onSent = (error: Error | null): void => {
    if (error !== null) this.#counts.sendErrors++;
    if (--this.#inflight === 0) this.#sendsDone?.();
  };

  /**
   * Binds the listening socket and starts serving.
   * @throws InvalidOptionError `ERR_INVALID_OPTION`, `ERR_SERVER_REUSEPORT_UNAVAILABLE`;
   *   PortBindError (`ERR_PORT_IN_USE`, …) from the bind; AbortError `ERR_ABORTED`.
   */
  static async listen(options: UdpServerOptions = {}): Promise<UdpServer> {
    throwIfAborted(options.signal);
    const resolved = resolveServerOptions(options, () => {
      throw new ConfigError(
        ServerErrorCode.REUSEPORT_UNAVAILABLE,
        `mode "connected" needs SO_REUSEPORT (Linux or FreeBSD, Node >= 22.12; this is ${process.platform}, ` +
          `Node ${process.versions.node}); pass fallback: 'shared' to run shared instead`,
      );
    });
    const dtls = options.dtls === undefined ? undefined : new DtlsLinkAcceptor(options.dtls);
    const buffers = bufferOptions(options);
    const signal = options.signal === undefined ? {} : { signal: options.signal };
    let lease: PortLease | undefined;
    let socket: Socket;
    if (options.pool !== undefined) {
      lease = await options.pool.bind({ ...signal, ...buffers });
      socket = lease.socket;
    } else {
      socket = await bindUdpSocket({
        family: resolved.family,
        address: resolved.host,
        port: resolved.port,
        reusePort: resolved.mode === ServerMode.CONNECTED || resolved.reusePort,
        ...buffers,
        ...signal,
      });
    }
    const server = new UdpServer(resolved, options, socket, lease, dtls);
    try {
      await server.#connected?.start(options.signal);
    } catch (error) {
      await server.close({ graceMs: 0 });
      throw error;
    }
    return server;
  }

  /** @internal Use {@link UdpServer.listen}. */
  private constructor(
    resolved: ResolvedServerOptions,
    options: UdpServerOptions,
    socket: Socket,
    lease: PortLease | undefined,
    dtls: DtlsLinkAcceptor | undefined,
  ) {
    super();
    this.#options = resolved;
    this.#dtls = dtls;
    this.#socket = socket;
    this.#lease = lease;
    this.#table = new SessionTable(
      {
        backlog: resolved.backlog,
        maxSessions: resolved.maxSessions,
        sessionQueue: resolved.sessionQueue,
        acceptFilter: options.acceptFilter,
        drop: (reason, from, size) => {
          this.#drops[reason]++;
          if (datagramDroppedChannel.hasSubscribers) publishDrop(reason, from, size, this.port);
          return undefined;
        },
        hasListener: () => this.listenerCount('session') > 0,
        emit: (session) => this.emit('session', session),
        created: (session) => {
          if (sessionOpenedChannel.hasSubscribers)
            sessionOpenedChannel.publish({
              remote: { address: session.address, port: session.port },
              localPort: this.port,
              sessions: this.#table.size,
            });
          this.#connected?.open(session);
        },
      },
      this,
    );
    this.#cookies = new CookieJar(resolved.cookie ?? {});
    this.#requireCookie = resolved.cookie !== undefined;
    this.#nowMs = resolved.now();
    this.#connected =
      resolved.mode === ServerMode.CONNECTED ? this.#makeConnected(options, socket) : undefined;
    socket.on('error', (error) => {
      this.#counts.sendErrors++;
      debug('listener error: %o', error);
    });
    this.#demux = new Demux(socket);
    const onData = (data: Buffer, from: RemoteInfo): void => this.#onData(data, from);
    for (const range of options.ranges ?? DEFAULT_RANGES)
      this.#registrations.push(this.#demux.register(range, onData));
    this.#registrations.push(
      this.#demux.register(frameRange(PortholeFrame.SERVER_COOKIE), (data, from) =>
        this.#onFrame(data, from),
      ),
    );
    this.#sweepTimer = setInterval(() => this.sweep(), resolved.sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  /** The mode the server runs in (`shared` after a fallback). */
  get mode(): ServerModeValue {
    return this.#options.mode;
  }

  /** The listening address. */
  address(): { address: string; port: number; family: string } {
    return this.#socket.address();
  }

  /** The listening port. */
  get port(): number {
    return this.#socket.address().port;
  }

  /** The listener's demux: register other protocols on bytes outside the server's `ranges`. */
  get demux(): Demux {
    return this.#demux;
  }

  /** Sessions alive now. */
  get size(): number {
    return this.#table.size;
  }

  /** Accepted sessions, in creation order, until the server closes. Breaking out does not close the server. */
  [Symbol.asyncIterator](): AsyncIterator<UdpSession> {
    return {
      next: () => this.#table.accept(),
      return: (): Promise<IteratorResult<UdpSession>> => Promise.resolve({ value: undefined, done: true }),
    };
  }

  /**
   * Runs the idle sweep now: reads the clock, closes sessions idle for `idleTimeoutMs` (during
   * `close()`, those idle for one sweep interval). Runs by itself every `sweepIntervalMs`.
   */
  sweep(): void {
    this.#nowMs = this.#options.now();
    const { idleTimeoutMs, sweepIntervalMs } = this.#options;
    if (this.#stopping) {
      for (const s of this.#table.takeIdleBefore(this.#nowMs - sweepIntervalMs)) {
        s.closeReason = 'server-closing';
        void s.close();
      }
      return;
    }
    if (idleTimeoutMs === 0) return;
    for (const s of this.#table.takeIdleBefore(this.#nowMs - idleTimeoutMs)) {
      this.#counts.sessionsExpired++;
      s.closeReason = 'idle';
      void s.close();
    }
  }

  /**
   * Stops accepting, closes un-accepted and idle sessions, lets busy ones run for `graceMs`, then
   * closes everything; every iterator ends. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#stopping = true;
    this.#closing ??= this.#shutdown(options.graceMs ?? this.#options.graceMs);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A snapshot of the counters. */
  stats(): UdpServerStats {
    const { sessionQueueFull, closedUnread, ...c } = this.#counts;
    const empty = this.#demux.stats().droppedEmpty + (this.#connected?.droppedEmpty() ?? 0);
    return {
      mode: this.#options.mode,
      sessions: this.#table.size,
      backlog: this.#table.backlog,
      sessionsCreated: this.#table.created,
      ...c,
      datagramsIn: this.#datagramsIn + empty,
      bytesIn: this.#bytesIn,
      datagramsOut: this.#datagramsOut,
      bytesOut: this.#bytesOut,
      drops: {
        ...this.#drops,
        sessionQueueFull: this.#drops.sessionQueueFull + sessionQueueFull,
        closedUnread: this.#drops.closedUnread + closedUnread,
        empty,
      },
    };
  }

  /** @internal */
  sendFor(session: UdpSession, data: Uint8Array): void {
    this.#datagramsOut++;
    this.#bytesOut += data.length;
    this.#table.touch(session, this.#nowMs);
    const conn = session.connection as SessionConnection | undefined;
    if (conn?.sending === true && conn.socket !== undefined) conn.socket.send(data, conn.onSent);
    else {
      this.#inflight++;
      this.#socket.send(data, session.port, session.address, this.#onSent);
    }
  }

  /** @internal */
  sessionClosed(session: UdpSession, unread: number): Promise<void> {
    this.#drops.closedUnread += unread;
    if (sessionClosedChannel.hasSubscribers) {
      const { datagramsIn, datagramsOut } = session.stats();
      sessionClosedChannel.publish({
        remote: { address: session.address, port: session.port },
        localPort: this.port,
        reason: session.closeReason,
        unread,
        datagramsIn,
        datagramsOut,
      });
    }
    this.#table.remove(session);
    const conn = session.connection as SessionConnection | undefined;
    const done =
      conn === undefined ? Promise.resolve() : (this.#connected?.closeSession(conn) ?? Promise.resolve());
    if (this.#table.size === 0) this.#onDrained?.();
    return done;
  }

  #makeConnected(options: UdpServerOptions, socket: Socket): ConnectedSockets {
    const host = {
      deliver: (session: UdpSession, data: Buffer): void => this.#deliver(session, data),
      handBack: (data: Buffer, from: RemoteInfo, frame: boolean): void => {
        const address = unmap(from.address);
        if (this.#options.family === 'udp4' && address.includes(':')) {
          this.#datagramsIn++;
          this.#drops.stray++;
          if (datagramDroppedChannel.hasSubscribers) publishDrop('stray', from, data.length, this.port);
          return;
        }
        this.#counts.handedBack++;
        const family = this.#options.family === 'udp4' ? ('IPv4' as const) : ('IPv6' as const);
        const back: RemoteInfo = address === from.address ? from : { ...from, address, family };
        if (frame) this.#onFrame(data, back);
        else this.#onData(data, back);
      },
      frame: (data: Buffer, from: RemoteInfo): void => {
        const address = unmap(from.address);
        this.#onFrame(data, address === from.address ? from : { ...from, address, family: 'IPv4' });
      },
      arrived: (data: Buffer): void => {
        this.#datagramsIn++;
        this.#bytesIn += data.length;
      },
      count: (what: ConnectedCounter, n = 1): void => {
        this.#counts[what] += n;
      },
      progress: (): number => this.#datagramsIn,
    };
    return new ConnectedSockets(
      {
        host: this.#options.host,
        family: this.#options.family,
        port: socket.address().port,
        ranges: options.ranges ?? DEFAULT_RANGES,
        heldCap: this.#options.sessionQueue,
        ...bufferOptions(options),
      },
      host,
    );
  }

  #onData(data: Buffer, from: RemoteInfo): void {
    this.#datagramsIn++;
    this.#bytesIn += data.length;
    let session = this.#table.lookup(from);
    if (session === undefined) {
      if (this.#stopping) return void this.#drop('closing', from, data);
      if (this.#dtls !== undefined) return void this.#dtlsHello(data, from);
      if (this.#requireCookie) return void this.#unverified(from, data);
      session = this.#table.admit(from, this.#nowMs, data.length);
      if (session === undefined) return;
    }
    this.#deliver(session, data);
  }

  /** A source without a session, `dtls` on: the stateless DTLS cookie exchange (nothing kept). */
  #dtlsHello(data: Buffer, from: RemoteInfo): void {
    const verdict = this.#dtls!.verifier.check(data, from, this.#options.now());
    if (verdict.kind === 'unclaimed') return void this.#unverified(from, data);
    if (verdict.kind === 'hello-verify') {
      this.#counts.unverifiedBytesIn += data.length;
      this.#counts.control++;
      this.#counts.cookiesSent++;
      this.#counts.unverifiedBytesOut += verdict.reply.length;
      return void this.#sendRaw(verdict.reply, from);
    }
    const session = this.#table.admit(from, this.#nowMs, data.length, true);
    if (session === undefined) return;
    this.#counts.cookiesVerified++;
    new SessionDtls(session, this.#dtls!, this.#dtlsHost);
    this.#deliver(session, data);
  }

  readonly #dtlsHost: DtlsLayerHost = {
    established: (session: UdpSession, connection: DtlsConnection): void => {
      this.#counts.dtlsHandshakes++;
      if (dtlsHandshakeChannel.hasSubscribers)
        this.#publishHandshake(session, connection.cipherSuite, undefined);
      if (this.#stopping) {
        session.closeReason = 'server-closing';
        void session.close();
      } else if (!this.#table.offer(session)) {
        this.#counts.dtlsBacklogDropped++;
        session.closeReason = 'backlog-full';
        void session.close();
      }
    },
    failed: (session: UdpSession, error: Error): void => {
      this.#counts.dtlsHandshakeFailures++;
      if (dtlsHandshakeChannel.hasSubscribers)
        this.#publishHandshake(
          session,
          undefined,
          (error as { code?: string }).code ?? DtlsErrorCode.HANDSHAKE_FAILED,
        );
      session.closeReason = 'dtls-failed';
      void session.close();
    },
    ended: (session: UdpSession, _error: DtlsError | undefined): void => {
      if (session.closed) return;
      session.closeReason = 'dtls-ended';
      void session.close();
    },
    recordDropped: (): void => {
      this.#counts.dtlsRecordsDropped++;
    },
  };

  #publishHandshake(
    session: UdpSession,
    cipherSuite: string | undefined,
    errorCode: string | undefined,
  ): void {
    if (!dtlsHandshakeChannel.hasSubscribers) return;
    dtlsHandshakeChannel.publish({
      remote: { address: session.address, port: session.port },
      localPort: this.port,
      ok: errorCode === undefined,
      cipherSuite,
      errorCode,
    });
  }

  /** A datagram of a source that has not proven its address: dropped, no reply. */
  #unverified(from: RemoteInfo, data: Buffer): void {
    this.#counts.unverifiedBytesIn += data.length;
    this.#drop('unverified', from, data);
  }

  #deliver(session: UdpSession, data: Buffer): void {
    if (session.closed) return void this.#drop('closedUnread', session, data);
    this.#table.touch(session, this.#nowMs);
    if (session[kDeliver](data)) this.#counts.delivered++;
    else this.#drop('sessionQueueFull', session, data);
  }

  /** Counts a dropped datagram (and publishes it when someone subscribed). */
  #drop(reason: DropReasonValue, from: Pick<RemoteInfo, 'address' | 'port'>, data: Buffer): void {
    this.#drops[reason]++;
    if (datagramDroppedChannel.hasSubscribers) publishDrop(reason, from, data.length, this.port);
  }

  /** Handles a server frame (0x08): the cookie handshake and drain markers. */
  #onFrame(data: Buffer, from: RemoteInfo): void {
    this.#datagramsIn++;
    this.#bytesIn += data.length;
    let frame: ServerFrame;
    try {
      frame = decodeServerFrame(data);
    } catch {
      return void this.#drop('malformed', from, data);
    }
    if (frame.kind === ServerFrameKind.MARKER) {
      if (this.#connected?.onMarker(frame.token, frame.sequence) === true) this.#counts.control++;
      else this.#drop('foreignMarker', from, data);
    } else if (this.#dtls !== undefined) {
      // A DTLS server makes sessions through the DTLS cookie exchange only.
      this.#unverified(from, data);
    } else if (frame.kind === ServerFrameKind.HELLO) {
      if (this.#stopping) return void this.#drop('closing', from, data);
      const { period, mac } = this.#cookies.mint(from.address, from.port, this.#options.now());
      const reply = encodeCookieFrame(ServerFrameKind.COOKIE, period, mac);
      this.#counts.control++;
      this.#counts.cookiesSent++;
      this.#counts.unverifiedBytesIn += data.length;
      this.#counts.unverifiedBytesOut += reply.length;
      // A HELLO is as long as the COOKIE: one reply per datagram stays within the 3x bound.
      this.#sendRaw(reply, from);
    } else if (frame.kind === ServerFrameKind.ECHO) {
      if (!this.#cookies.verify(from.address, from.port, frame.period, frame.mac, this.#options.now())) {
        return void this.#drop('cookieInvalid', from, data);
      }
      let session = this.#table.lookup(from);
      if (session === undefined) {
        if (this.#stopping) return void this.#drop('closing', from, data);
        session = this.#table.admit(from, this.#nowMs, data.length);
        if (session === undefined) return;
        this.#counts.cookiesVerified++;
      }
      this.#counts.control++;
      this.#table.touch(session, this.#nowMs);
      this.#sendRaw(encodeAccept(), from);
    } else {
      this.#drop('malformed', from, data);
    }
  }

  #sendRaw(data: Buffer, to: RemoteInfo): void {
    this.#datagramsOut++;
    this.#bytesOut += data.length;
    this.#inflight++;
    this.#socket.send(data, to.port, to.address, this.#onSent);
  }

  async #shutdown(graceMs: number): Promise<void> {
    for (const session of this.#table.endBacklog()) {
      session.closeReason = 'server-closing';
      void session.close();
    }
    this.sweep();
    if (this.#table.size > 0 && graceMs > 0) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#onDrained = resolve;
      const timer = setTimeout(resolve, graceMs);
      await promise;
      clearTimeout(timer);
      this.#onDrained = undefined;
    }
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    await Promise.all(
      this.#table.all().map((s) => {
        s.closeReason = 'server-closing';
        return s.close();
      }),
    );
    if (this.#inflight > 0) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#sendsDone = resolve;
      const timer = setTimeout(resolve, 1000);
      await promise;
      clearTimeout(timer);
    }
    for (const r of this.#registrations) r.remove();
    this.#demux.detach();
    await this.#connected?.close();
    if (this.#lease !== undefined) await this.#lease.release();
    else await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    this.emit('close');
  }
}
