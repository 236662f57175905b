import type { RemoteInfo } from 'node:dgram';
import { isIP } from 'node:net';
import type { DtlsServerRoleOptions } from '../dtls/index.ts';
import { type ByteRange, PortholeFrame } from '../mux/index.ts';
import type { PortPool } from '../ports/index.ts';
import {
  DEFAULT_BACKLOG,
  DEFAULT_GRACE_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_SESSION_QUEUE,
  MAX_SWEEP_INTERVAL_MS,
} from './constants.ts';
import type { CookieJarOptions } from './cookie.ts';
import { checkInteger, invalidOption } from './errors.ts';
import { isReusePortAvailable } from './reuse-port.ts';

/** How a server meets its clients. */
export const ServerMode = {
  /** One socket for every client; sessions told apart by source address. */
  SHARED: 'shared',
  /** A connected socket per session in an SO_REUSEPORT group (Linux, FreeBSD). */
  CONNECTED: 'connected',
} as const;
/** One of the {@link ServerMode} values. */
export type ServerModeValue = (typeof ServerMode)[keyof typeof ServerMode];

/** Settings of {@link UdpServer.listen}. All optional. */
export interface UdpServerOptions {
  /** Local address to listen on (an IP address). Default `0.0.0.0`. */
  readonly host?: string;
  /** Local port; 0 lets the kernel choose. Default 0. Ignored when `pool` is given. */
  readonly port?: number;
  /** Take the port from this pool instead (shared mode only: pool sockets are exclusive). */
  readonly pool?: PortPool;
  /** `'shared'` (default) or `'connected'`. */
  readonly mode?: ServerModeValue;
  /** When `connected` is not available here: `'shared'` runs shared instead; default: throw. */
  readonly fallback?: 'shared';
  /** Shared mode: bind with SO_REUSEPORT so several processes serve one port (one per core). Default false. */
  readonly reusePort?: boolean;
  /** Sessions waiting to be accepted, at most. Default 128. */
  readonly backlog?: number;
  /** Sessions alive at once, at most. Default 10 000. */
  readonly maxSessions?: number;
  /** Datagrams queued per session, at most. Default 256. */
  readonly sessionQueue?: number;
  /** Close a session after this long without a datagram in or out, in ms; 0 never. Default 60 000. */
  readonly idleTimeoutMs?: number;
  /** Default grace of `close()`, in ms. Default 5 000. */
  readonly graceMs?: number;
  /** Decides whether a new source may become a session. Default: every source may. */
  readonly acceptFilter?: (remote: RemoteInfo) => boolean;
  /**
   * Require a stateless cookie echo before a source becomes a session. `true`/`false`, or cookie
   * settings (implies true). Default: on unless `host` is a loopback address.
   */
  readonly cookie?: boolean | CookieJarOptions;
  /**
   * Serve DTLS 1.2: the stateless DTLS cookie exchange replaces `cookie` (a session exists only
   * once a ClientHello carried a valid cookie), each session runs a handshake and is handed out
   * once it completed; its datagrams in and out are then application records. The options of
   * `DtlsLinkAcceptor` (porthole/dtls): `certificate`, `clientAuth`, `psk`, `fingerprints`, ….
   * Default none (plain UDP).
   */
  readonly dtls?: DtlsServerRoleOptions;
  /** First bytes routed to sessions. Default every byte except 0x08 (server frames). */
  readonly ranges?: readonly ByteRange[];
  /** SO_RCVBUF of the server's sockets, in bytes. */
  readonly recvBufferSize?: number;
  /** SO_SNDBUF of the server's sockets, in bytes. */
  readonly sendBufferSize?: number;
  /** Clock in milliseconds (tests). Default `performance.now`. */
  readonly now?: () => number;
  /** Interval of the idle sweep, in ms. Default min(1 000, idleTimeoutMs / 4). */
  readonly sweepIntervalMs?: number;
  /** Platform check for `connected` (tests). Default {@link isReusePortAvailable}. */
  readonly reusePortAvailable?: () => boolean;
  readonly signal?: AbortSignal;
}

/** Options after defaults and validation (what `resolveServerOptions` returns; not for users). */
export interface ResolvedServerOptions {
  readonly host: string;
  readonly family: 'udp4' | 'udp6';
  readonly port: number;
  readonly mode: ServerModeValue;
  readonly reusePort: boolean;
  readonly backlog: number;
  readonly maxSessions: number;
  readonly sessionQueue: number;
  readonly idleTimeoutMs: number;
  readonly graceMs: number;
  readonly sweepIntervalMs: number;
  readonly cookie: CookieJarOptions | undefined;
  readonly now: () => number;
}

/** Whether `host` is a loopback address (127/8, ::1, ::ffff:127/104). */
export function isLoopbackHost(host: string): boolean {
  return host.startsWith('127.') || host === '::1' || host.startsWith('::ffff:127.');
}

/**
 * Applies defaults and checks every option.
 * @throws InvalidOptionError `ERR_INVALID_OPTION`; `ERR_SERVER_REUSEPORT_UNAVAILABLE` (connected
 *   mode where SO_REUSEPORT is missing and no fallback was asked for).
 */
export function resolveServerOptions(
  options: UdpServerOptions,
  reusePortError: () => never,
): ResolvedServerOptions {
  const host = options.host ?? '0.0.0.0';
  const ipVersion = isIP(host);
  if (ipVersion === 0) invalidOption('host', `must be an IP address, got "${host}"`);
  const port = checkInteger('port', options.port ?? 0, 0, 65_535);
  let mode = options.mode ?? ServerMode.SHARED;
  if (mode !== ServerMode.SHARED && mode !== ServerMode.CONNECTED)
    invalidOption('mode', `must be "shared" or "connected"`);
  if (options.fallback !== undefined && options.fallback !== 'shared')
    invalidOption('fallback', 'must be "shared"');
  if (mode === ServerMode.CONNECTED && !(options.reusePortAvailable ?? isReusePortAvailable)()) {
    if (options.fallback !== 'shared') reusePortError();
    mode = ServerMode.SHARED;
  }
  if (mode === ServerMode.CONNECTED && options.pool !== undefined) {
    invalidOption(
      'pool',
      'works in shared mode only: a pool binds exclusive sockets, connected mode needs a reuse-port group',
    );
  }
  const idleTimeoutMs = checkInteger(
    'idleTimeoutMs',
    options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    0,
    2 ** 31 - 1,
  );
  const sweepDefault =
    idleTimeoutMs === 0
      ? MAX_SWEEP_INTERVAL_MS
      : Math.max(1, Math.min(MAX_SWEEP_INTERVAL_MS, Math.floor(idleTimeoutMs / 4)));
  if (options.dtls !== undefined && options.cookie !== undefined && options.cookie !== false)
    invalidOption('cookie', 'dtls runs its own cookie exchange (HelloVerifyRequest): leave cookie out');
  const cookieOption = options.cookie ?? (options.dtls === undefined && !isLoopbackHost(host));
  return {
    host,
    family: ipVersion === 6 ? 'udp6' : 'udp4',
    port,
    mode,
    reusePort: options.reusePort ?? false,
    backlog: checkInteger('backlog', options.backlog ?? DEFAULT_BACKLOG, 1, 1 << 24),
    maxSessions: checkInteger('maxSessions', options.maxSessions ?? DEFAULT_MAX_SESSIONS, 1, 1 << 26),
    sessionQueue: checkInteger('sessionQueue', options.sessionQueue ?? DEFAULT_SESSION_QUEUE, 1, 1 << 24),
    idleTimeoutMs,
    graceMs: checkInteger('graceMs', options.graceMs ?? DEFAULT_GRACE_MS, 0, 2 ** 31 - 1),
    sweepIntervalMs: checkInteger('sweepIntervalMs', options.sweepIntervalMs ?? sweepDefault, 1, 2 ** 31 - 1),
    cookie: cookieOption === false ? undefined : cookieOption === true ? {} : cookieOption,
    now: options.now ?? (() => performance.now()),
  };
}

/** Every first byte except the server frame (0x08): what sessions receive by default. */
export const DEFAULT_RANGES: readonly ByteRange[] = [
  { first: 0, last: PortholeFrame.SERVER_COOKIE - 1 },
  { first: PortholeFrame.SERVER_COOKIE + 1, last: 255 },
];

/** The socket buffer sizes of `options`, as bind options (absent ones left out). */
export function bufferOptions(options: {
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
}): { recvBufferSize?: number; sendBufferSize?: number } {
  return {
    ...(options.recvBufferSize === undefined ? {} : { recvBufferSize: options.recvBufferSize }),
    ...(options.sendBufferSize === undefined ? {} : { sendBufferSize: options.sendBufferSize }),
  };
}
