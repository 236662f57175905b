import type { Socket } from 'node:dgram';
import { debuglog } from 'node:util';
import { PortholeError } from '../errors/index.ts';
import { bindUdpSocket, isPortSpecificBindError, type PortLease, type PortPool } from '../ports/index.ts';
import { TransportErrorCode } from './errors.ts';
import type { BindTarget } from './validate.ts';

const debug = debuglog('porthole:transport');

/** Sockets bound for a transport and how to give them back. */
export interface AcquiredSockets {
  readonly media: Socket;
  /** The RTCP socket; undefined for a single socket (RTCP aliases media). */
  readonly rtcp: Socket | undefined;
  /** Closes the sockets, or returns them to their pool (cooldown applies). Idempotent. */
  readonly release: () => Promise<void>;
}

/** Binds sockets of one shape again and again (for `rebind()`). */
export type SocketAcquirer = (signal?: AbortSignal) => Promise<AcquiredSockets>;

/** The shapes a transport can have. */
export type SocketShape = 'pair' | 'two' | 'single';

/** Closes sockets; one that is already closed is fine. */
export async function closeSockets(sockets: readonly (Socket | undefined)[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket === undefined) return resolve();
          try {
            socket.close(() => resolve());
          } catch {
            resolve();
          }
        }),
    ),
  );
}

function owned(media: Socket, rtcp: Socket | undefined): AcquiredSockets {
  let done: Promise<void> | undefined;
  return { media, rtcp, release: () => (done ??= closeSockets([media, rtcp])) };
}

function leased(leases: readonly PortLease[], media: Socket, rtcp: Socket | undefined): AcquiredSockets {
  let done: Promise<void> | undefined;
  return {
    media,
    rtcp,
    release: () => (done ??= Promise.all(leases.map((l) => l.release({ drain: false }))).then(() => {})),
  };
}

function bindOne(target: BindTarget, port: number, signal?: AbortSignal): Promise<Socket> {
  return bindUdpSocket({
    family: target.family,
    address: target.host,
    port,
    ...(signal === undefined ? {} : { signal }),
  });
}

/** Binds `ports` (all or nothing). */
async function bindAll(
  target: BindTarget,
  ports: readonly number[],
  signal?: AbortSignal,
): Promise<Socket[]> {
  const results = await Promise.allSettled(ports.map((port) => bindOne(target, port, signal)));
  const sockets = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    await closeSockets(sockets);
    throw failed.reason;
  }
  return sockets;
}

/** Binds fixed ports: `[port, port + 1]` for a pair, `[port]` for a single socket. */
export async function bindFixed(
  target: BindTarget,
  port: number,
  shape: 'pair' | 'single',
  signal?: AbortSignal,
): Promise<AcquiredSockets> {
  const [media, rtcp] = await bindAll(target, shape === 'pair' ? [port, port + 1] : [port], signal);
  return owned(media!, rtcp);
}

/**
 * Returns an acquirer of ephemeral sockets of `shape`: from `pool` when given (a pair is an
 * even-parity lease of two), else from the OS (a pair by bounded probing, see {@link probePair}).
 */
export function ephemeralAcquirer(
  target: BindTarget,
  shape: SocketShape,
  pool: PortPool | undefined,
  pairProbeAttempts: number,
): SocketAcquirer {
  if (pool !== undefined) {
    return async (signal) => {
      const opts = signal === undefined ? {} : { signal };
      if (shape === 'pair') {
        const lease = await pool.bind({ count: 2, parity: 'even', ...opts });
        return leased([lease], lease.sockets[0]!, lease.sockets[1]!);
      }
      const first = await pool.bind(opts);
      if (shape === 'single') return leased([first], first.socket, undefined);
      try {
        const second = await pool.bind(opts);
        return leased([first, second], first.socket, second.socket);
      } catch (error) {
        await first.release({ drain: false });
        throw error;
      }
    };
  }
  return async (signal) => {
    if (shape === 'pair') return probePair(target, pairProbeAttempts, signal);
    const [media, rtcp] = await bindAll(target, shape === 'single' ? [0] : [0, 0], signal);
    return owned(media!, rtcp);
  };
}

/**
 * Finds an even/odd pair without a pool: binds an OS-chosen port and then its partner (P+1 for
 * an even port, P−1 for an odd one), keeping the first socket bound while trying. When the
 * partner is taken both are given up and the OS is asked again, at most `attempts` times.
 * @throws PortholeError `ERR_TRANSPORT_PAIR_UNAVAILABLE` after `attempts` failures.
 */
export async function probePair(
  target: BindTarget,
  attempts: number,
  signal?: AbortSignal,
): Promise<AcquiredSockets> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const first = await bindOne(target, 0, signal);
    const port = first.address().port;
    const partner = port % 2 === 0 ? port + 1 : port - 1;
    let second: Socket;
    try {
      second = await bindOne(target, partner, signal);
    } catch (error) {
      await closeSockets([first]);
      if (isPortSpecificBindError(error)) {
        debug('pair probe: %d taken next to %d, retrying', partner, port);
        continue;
      }
      throw error;
    }
    return port % 2 === 0 ? owned(first, second) : owned(second, first);
  }
  throw new PortholeError(
    TransportErrorCode.PAIR_UNAVAILABLE,
    `no free even/odd pair found in ${attempts} OS probes; use a PortPool with a range for pairs`,
  );
}
