import { randomBytes } from 'node:crypto';
import type { RemoteInfo, Socket } from 'node:dgram';
import { debuglog } from 'node:util';
import { type ByteRange, Demux, frameRange, PortholeFrame } from '../mux/index.ts';
import { bindUdpSocket } from '../ports/index.ts';
import { HANDOVER_MAX_MARKERS, HANDOVER_MAX_RETRIES, HANDOVER_RETRY_MS } from './constants.ts';
import { datagramDroppedChannel, publishDrop } from './diagnostics.ts';
import { encodeMarker, MARKER_TOKEN_BYTES } from './frame.ts';
import { kUnreachable, type UdpSession } from './session.ts';

const debug = debuglog('porthole:server');

/** errno codes by which the kernel reports an ICMP error on a connected socket. */
const UNREACHABLE_ERRNOS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);

/** Where one session's datagrams come from during the handover. */
const Phase = {
  /** The connected socket is being bound and connected; the listener serves the session. */
  OPENING: 0,
  /** Connected: its datagrams are held until the drain marker shows the listener has nothing older. */
  HOLDING: 1,
  /** The connected socket's datagrams go straight to the session. */
  DIRECT: 2,
  /** No connected socket (it failed, or the session closed): the listener serves the session. */
  NONE: 3,
} as const;
type PhaseValue = (typeof Phase)[keyof typeof Phase];

/** @internal What the connected-socket manager needs from the server. */
export interface ConnectedHost {
  /** Deliver a datagram of `session` (counts delivered or dropped). */
  deliver(session: UdpSession, data: Buffer): void;
  /** A datagram of another source reached a session socket: treat it as the listener would. */
  handBack(data: Buffer, from: RemoteInfo, frame: boolean): void;
  /** A server frame (handshake repeat) from the session's own source reached its socket. */
  frame(data: Buffer, from: RemoteInfo): void;
  /** A datagram of the session's own source arrived on its socket (before it is held or delivered). */
  arrived(data: Buffer): void;
  /** Counts: held datagrams, handover timeouts, fallbacks, unreachable, send errors, unread at close. */
  count(what: ConnectedCounter, n?: number): void;
  /** Datagrams the server has read so far (grows while the listener works through its queue). */
  progress(): number;
}

/** @internal What {@link ConnectedSockets} counts through its host. */
export type ConnectedCounter =
  | 'held'
  | 'handoverTimeouts'
  | 'connectFallbacks'
  | 'unreachable'
  | 'sendErrors'
  | 'closedUnread'
  | 'sessionQueueFull';

/** @internal Settings of {@link ConnectedSockets}. */
export interface ConnectedSocketsOptions {
  readonly host: string;
  readonly family: 'udp4' | 'udp6';
  readonly port: number;
  readonly ranges: readonly ByteRange[];
  readonly heldCap: number;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
}

/** @internal Connected-mode state of one session (kept on `session.connection`). */
export class SessionConnection {
  readonly session: UdpSession;
  socket: Socket | undefined;
  /** The one reader of `socket`; counts the session's zero-length datagrams (`droppedEmpty`). */
  demux: Demux | undefined;
  phase: PhaseValue = Phase.OPENING;
  /** The remote as this socket reports it (`::ffff:a.b.c.d` on a dual-stack socket). */
  seenAs = '';
  held: Buffer[] = [];
  markerNeeded = 0;
  markersSent = 0;
  /** Marker retries in all, busy or idle. */
  retries = 0;
  readonly onSent: (error: Error | null) => void;

  constructor(session: UdpSession, onSent: (conn: SessionConnection, error: Error | null) => void) {
    this.session = session;
    this.onSent = (error) => onSent(this, error);
  }

  /** Whether sends go through the connected socket. */
  get sending(): boolean {
    return this.phase === Phase.HOLDING || this.phase === Phase.DIRECT;
  }
}

/**
 * Connected mode: gives each session a socket of its own, bound to the listener's port with
 * SO_REUSEPORT and connected to the session's remote, and hands the session over from the listener
 * to that socket without losing, duplicating or reordering a datagram.
 *
 * The handover, per session (docs/server.md, "How the handover works"):
 * 1. The session is created from a listener datagram; the listener keeps delivering its source.
 * 2. The session socket is bound *less specifically* than the listener (wildcard under a specific
 *    host; dual-stack `::` under `0.0.0.0`), so between bind() and connect() the kernel scores
 *    the listener higher and the new socket receives nothing meant for the server. Only a `::`
 *    listener has no weaker bind; there, strays are handed back (step 6).
 * 3. Once connect() returns, the kernel sends the source's new datagrams to the session socket;
 *    older ones may still wait in the listener's queue. The session socket's datagrams are held.
 * 4. A drain marker (a server frame with a per-server random token and a sequence number) is sent
 *    from a marker socket to the listener. The listener's queue is FIFO, so when the listener reads
 *    the marker, every datagram of the source queued before connect() has been read and delivered.
 * 5. Then the held datagrams are delivered, in order, and later ones go straight through. A
 *    marker not seen within 100 ms is sent again. A retry counts against the limit of 5 only when
 *    the server read nothing since the last one (a busy listener is still working through the queue
 *    the marker waits in); after 5 idle retries, or 50 in all, the held datagrams are released
 *    anyway (counted as `handoverTimeouts`).
 * 6. A datagram of another source reaching a session socket is handed back to the accept path.
 */
export class ConnectedSockets {
  readonly #options: ConnectedSocketsOptions;
  readonly #host: ConnectedHost;
  readonly #holding = new Set<SessionConnection>();
  readonly #token = randomBytes(MARKER_TOKEN_BYTES);
  readonly #bindAddress: string;
  readonly #bindFamily: 'udp4' | 'udp6';
  readonly #dualStack: boolean;
  readonly #markerTarget: string;
  #markerSocket: Socket | undefined;
  #nextSequence = 1;
  #markerScheduled = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #progressAtRetry = -1;
  #closed = false;
  /** Sessions whose socket's demux is live; their empty datagrams are summed on {@link droppedEmpty}. */
  readonly #reading = new Set<SessionConnection>();
  /** Empty datagrams counted by session sockets already closed. */
  #emptyRetired = 0;
  readonly #onSent = (conn: SessionConnection, error: Error | null): void => {
    if (error !== null) this.#socketError(conn, error);
  };

  constructor(options: ConnectedSocketsOptions, host: ConnectedHost) {
    this.#options = options;
    this.#host = host;
    const wildcardHost = options.host === '0.0.0.0' || options.host === '::';
    this.#dualStack = options.host === '0.0.0.0';
    this.#bindFamily = this.#dualStack ? 'udp6' : options.family;
    this.#bindAddress = options.family === 'udp4' && !this.#dualStack ? '0.0.0.0' : '::';
    this.#markerTarget = wildcardHost ? (options.family === 'udp4' ? '127.0.0.1' : '::1') : options.host;
  }

  /** Whether the session sockets' bind cannot capture the listener's traffic (step 2). */
  get exactHandover(): boolean {
    return this.#options.host !== '::';
  }

  /** Binds the marker socket. */
  async start(signal: AbortSignal | undefined): Promise<void> {
    this.#markerSocket = await bindUdpSocket({
      family: this.#options.family,
      address: this.#markerTarget,
      port: 0,
      ...(signal === undefined ? {} : { signal }),
    });
    this.#markerSocket.on('error', (error) => debug('marker socket error: %o', error));
  }

  /** Gives `session` a connected socket of its own (asynchronously; the listener serves it meanwhile). */
  open(session: UdpSession): SessionConnection {
    const conn = new SessionConnection(session, this.#onSent);
    session.connection = conn;
    this.#connect(conn).catch((error: unknown) => {
      debug('connected socket for %s failed: %o', session.key, error);
      this.#fallBack(conn);
    });
    return conn;
  }

  /** Handles a MARKER frame read by the listener; false when it is not this server's. */
  onMarker(token: Buffer, sequence: number): boolean {
    if (!token.equals(this.#token)) return false;
    for (const conn of this.#holding) if (conn.markerNeeded <= sequence) this.#release(conn);
    return true;
  }

  /** Closes the session's socket (the session is closing); resolves once it is closed. */
  closeSession(conn: SessionConnection): Promise<void> {
    this.#holding.delete(conn);
    if (conn.held.length > 0) this.#host.count('closedUnread', conn.held.length);
    conn.held = [];
    conn.phase = Phase.NONE;
    this.#retire(conn);
    const socket = conn.socket;
    conn.socket = undefined;
    return socket === undefined ? Promise.resolve() : closeSocket(socket);
  }

  /**
   * Zero-length datagrams the session sockets dropped (their Demux counts them; the listener's own
   * count is the server's). Shared and connected mode count them alike, as `drops.empty`.
   */
  droppedEmpty(): number {
    let n = this.#emptyRetired;
    for (const conn of this.#reading) n += conn.demux?.stats().droppedEmpty ?? 0;
    return n;
  }

  #retire(conn: SessionConnection): void {
    if (!this.#reading.delete(conn)) return;
    this.#emptyRetired += conn.demux?.stats().droppedEmpty ?? 0;
    conn.demux = undefined;
  }

  /** Stops the marker machinery (session sockets are closed by their sessions). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const marker = this.#markerSocket;
    this.#markerSocket = undefined;
    if (marker !== undefined) await closeSocket(marker);
  }

  async #connect(conn: SessionConnection): Promise<void> {
    const { session } = conn;
    const options = this.#options;
    const socket = await bindUdpSocket({
      family: this.#bindFamily,
      address: this.#bindAddress,
      port: options.port,
      reusePort: true,
      ...(this.#bindFamily === 'udp6' ? { ipv6Only: !this.#dualStack } : {}),
      ...(options.recvBufferSize === undefined ? {} : { recvBufferSize: options.recvBufferSize }),
      ...(options.sendBufferSize === undefined ? {} : { sendBufferSize: options.sendBufferSize }),
    });
    if (session.closed || this.#closed) {
      await closeSocket(socket);
      return;
    }
    conn.socket = socket;
    conn.seenAs = this.#dualStack ? `::ffff:${session.address}` : session.address;
    socket.on('error', (error) => this.#socketError(conn, error));
    const demux = new Demux(socket);
    conn.demux = demux;
    this.#reading.add(conn);
    const onData = (data: Buffer, from: RemoteInfo): void => this.#fromSessionSocket(conn, data, from, false);
    for (const range of options.ranges) demux.register(range, onData);
    demux.register(frameRange(PortholeFrame.SERVER_COOKIE), (data, from) =>
      this.#fromSessionSocket(conn, data, from, true),
    );
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      try {
        socket.connect(session.port, conn.seenAs);
      } catch (error) {
        reject(error);
      }
    });
    if (conn.socket !== socket) return;
    const local = unmap(socket.address().address);
    if (this.#options.host !== '0.0.0.0' && this.#options.host !== '::' && local !== this.#options.host) {
      debug(
        'session %s: connected socket took source %s, not %s; staying on the listener',
        session.key,
        local,
        options.host,
      );
      this.#fallBack(conn);
      return;
    }
    conn.phase = Phase.HOLDING;
    conn.markerNeeded = this.#requestMarker();
    this.#holding.add(conn);
    this.#armRetry();
  }

  #fromSessionSocket(conn: SessionConnection, data: Buffer, from: RemoteInfo, frame: boolean): void {
    if (from.port !== conn.session.port || from.address !== conn.seenAs) {
      this.#host.handBack(data, from, frame);
      return;
    }
    if (frame) {
      this.#host.frame(data, from);
      return;
    }
    this.#host.arrived(data);
    if (conn.phase === Phase.DIRECT) {
      this.#host.deliver(conn.session, data);
      return;
    }
    if (conn.held.length >= this.#options.heldCap) {
      this.#host.count('sessionQueueFull');
      if (datagramDroppedChannel.hasSubscribers)
        publishDrop('sessionQueueFull', from, data.length, this.#options.port);
      return;
    }
    conn.held.push(data);
    this.#host.count('held');
  }

  #release(conn: SessionConnection): void {
    this.#holding.delete(conn);
    conn.phase = Phase.DIRECT;
    const held = conn.held;
    conn.held = [];
    for (const data of held) this.#host.deliver(conn.session, data);
  }

  #fallBack(conn: SessionConnection): void {
    this.#host.count('connectFallbacks');
    this.#release(conn);
    conn.phase = Phase.NONE;
    conn.session.connection = undefined;
    this.#retire(conn);
    const socket = conn.socket;
    conn.socket = undefined;
    if (socket !== undefined) void closeSocket(socket);
  }

  #socketError(conn: SessionConnection, error: Error): void {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (UNREACHABLE_ERRNOS.has(code)) {
      this.#host.count('unreachable');
      conn.session[kUnreachable](error);
      return;
    }
    this.#host.count('sendErrors');
    debug('session %s socket error: %o', conn.session.key, error);
  }

  #requestMarker(): number {
    const sequence = this.#nextSequence;
    if (!this.#markerScheduled) {
      this.#markerScheduled = true;
      setImmediate(() => this.#sendMarker());
    }
    return sequence;
  }

  #sendMarker(): void {
    this.#markerScheduled = false;
    const sequence = this.#nextSequence++;
    const socket = this.#markerSocket;
    if (socket === undefined) return;
    socket.send(encodeMarker(this.#token, sequence), this.#options.port, this.#markerTarget);
  }

  #armRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      const progress = this.#host.progress();
      const listenerBusy = progress !== this.#progressAtRetry;
      this.#progressAtRetry = progress;
      for (const conn of this.#holding) {
        conn.retries++;
        if (!listenerBusy) conn.markersSent++;
        if (conn.markersSent >= HANDOVER_MAX_MARKERS || conn.retries >= HANDOVER_MAX_RETRIES) {
          this.#host.count('handoverTimeouts');
          this.#release(conn);
        } else {
          conn.markerNeeded = this.#requestMarker();
        }
      }
      if (this.#holding.size > 0) this.#armRetry();
    }, HANDOVER_RETRY_MS);
    this.#retryTimer.unref();
  }
}

/** `a.b.c.d` for `::ffff:a.b.c.d`, else the address unchanged. */
export function unmap(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
