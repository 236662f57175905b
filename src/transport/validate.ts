import { isIP } from 'node:net';
import { ConfigError } from '../errors/index.ts';
import { WILDCARD_ADDRESS } from '../internal/endpoint.ts';
import type { PortPool, SocketFamily } from '../ports/index.ts';
import {
  DEFAULT_FOLLOW_AFTER_SILENCE_MS,
  DEFAULT_QUEUE_CAPACITY,
  DEFAULT_SOCKET_BUFFER_BYTES,
  type Endpoint,
  LatchPolicy,
  type LatchPolicyType,
  type TransportOptions,
} from './options.ts';

const POLICIES: readonly string[] = Object.values(LatchPolicy);
/** Largest buffer size setsockopt takes (INT_MAX). */
const MAX_BUFFER_BYTES = 2 ** 31 - 1;

/** Where and how a transport binds. */
export interface BindTarget {
  readonly host: string;
  readonly family: SocketFamily;
}

/** The family of an IP address literal, or undefined for anything else. */
export function familyOf(address: string): SocketFamily | undefined {
  const kind = isIP(address.includes('%') ? address.slice(0, address.indexOf('%')) : address);
  return kind === 4 ? 'udp4' : kind === 6 ? 'udp6' : undefined;
}

/**
 * Resolves the local address and family of a factory call.
 * @throws ConfigError `ERR_TRANSPORT_FAMILY_INVALID`, `ERR_TRANSPORT_HOST_INVALID`,
 *   `ERR_TRANSPORT_POOL_MISMATCH`.
 */
export function resolveTarget(host: string | undefined, family: unknown, pool?: PortPool): BindTarget {
  if (family !== undefined && family !== 'udp4' && family !== 'udp6') {
    throw new ConfigError(
      'ERR_TRANSPORT_FAMILY_INVALID',
      `family "${String(family)}" must be "udp4" or "udp6"`,
    );
  }
  if (pool !== undefined) {
    if ((host !== undefined && host !== pool.host) || (family !== undefined && family !== pool.family)) {
      throw new ConfigError(
        'ERR_TRANSPORT_POOL_MISMATCH',
        `the pool binds ${pool.family} ${pool.host}; omit host/family or pass the pool's`,
      );
    }
    return { host: pool.host, family: pool.family };
  }
  if (host === undefined) {
    const f = family ?? 'udp4';
    return { host: WILDCARD_ADDRESS[f], family: f };
  }
  const hostFamily = familyOf(host);
  if (hostFamily === undefined) {
    throw new ConfigError(
      'ERR_TRANSPORT_HOST_INVALID',
      `host "${host}" is not an IP address; resolve names first`,
    );
  }
  if (family !== undefined && family !== hostFamily) {
    throw new ConfigError('ERR_TRANSPORT_FAMILY_INVALID', `host ${host} is not a ${family} address`);
  }
  return { host, family: hostFamily };
}

/**
 * Checks the media port of a fixed pair: even and 2–65534 (RFC 3550 §11).
 * @throws ConfigError `ERR_TRANSPORT_PORT_ZERO`, `ERR_TRANSPORT_PORT_ODD`, `ERR_TRANSPORT_PORT_INVALID`.
 */
export function checkPairPort(port: number): void {
  if (port === 0) {
    throw new ConfigError(
      'ERR_TRANSPORT_PORT_ZERO',
      'a pair cannot be derived from an ephemeral bind; pass an even port or use listenEphemeralPair()',
    );
  }
  checkPort(port, 'pair port');
  if (port % 2 === 1) {
    throw new ConfigError(
      'ERR_TRANSPORT_PORT_ODD',
      `pair port ${port} is odd; media takes the even port P and RTCP P+1 (RFC 3550 §11)`,
    );
  }
}

/** @throws ConfigError `ERR_TRANSPORT_PORT_INVALID` unless `port` is a whole number 1–65535 (0 when `allowZero`). */
export function checkPort(port: number, what: string, allowZero = false): void {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new ConfigError(
      'ERR_TRANSPORT_PORT_INVALID',
      `${what} must be a whole number 1–65535, got ${port}`,
    );
  }
}

/** @throws ConfigError `ERR_TRANSPORT_ENDPOINT_INVALID` for an address that is not an IP or a bad port. */
export function checkEndpoint(endpoint: Endpoint, what: string): void {
  if (typeof endpoint?.address !== 'string' || familyOf(endpoint.address) === undefined) {
    throw new ConfigError('ERR_TRANSPORT_ENDPOINT_INVALID', `${what} address must be an IP address`);
  }
  if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) {
    throw new ConfigError(
      'ERR_TRANSPORT_ENDPOINT_INVALID',
      `${what} port must be 1–65535, got ${endpoint.port}`,
    );
  }
}

/** Options with every default applied. */
export interface ResolvedOptions {
  readonly latch: LatchPolicyType;
  readonly followAfterSilenceMs: number;
  readonly inferPeers: boolean;
  readonly recvBufferSize: number;
  readonly sendBufferSize: number;
  readonly queueCapacity: number;
  readonly now: () => number;
}

/** Validates and completes transport options. @throws ConfigError `ERR_TRANSPORT_OPTION_INVALID`. */
export function resolveOptions(options: TransportOptions): ResolvedOptions {
  const latch = options.latch ?? LatchPolicy.FIRST;
  if (!POLICIES.includes(latch)) {
    throw new ConfigError('ERR_TRANSPORT_OPTION_INVALID', `latch must be one of ${POLICIES.join(', ')}`);
  }
  const numbers = [
    ['followAfterSilenceMs', options.followAfterSilenceMs, 0, Number.MAX_SAFE_INTEGER],
    ['recvBufferSize', options.recvBufferSize, 0, MAX_BUFFER_BYTES],
    ['sendBufferSize', options.sendBufferSize, 0, MAX_BUFFER_BYTES],
    ['queueCapacity', options.queueCapacity, 1, 1 << 24],
  ] as const;
  for (const [name, value, min, max] of numbers) {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      throw new ConfigError('ERR_TRANSPORT_OPTION_INVALID', `${name} must be a whole number ${min}–${max}`);
    }
  }
  if (options.remote?.media !== undefined) checkEndpoint(options.remote.media, 'remote.media');
  if (options.remote?.rtcp !== undefined) checkEndpoint(options.remote.rtcp, 'remote.rtcp');
  return {
    latch,
    followAfterSilenceMs: options.followAfterSilenceMs ?? DEFAULT_FOLLOW_AFTER_SILENCE_MS,
    inferPeers: options.inferPeers ?? true,
    recvBufferSize: options.recvBufferSize ?? DEFAULT_SOCKET_BUFFER_BYTES,
    sendBufferSize: options.sendBufferSize ?? DEFAULT_SOCKET_BUFFER_BYTES,
    queueCapacity: options.queueCapacity ?? DEFAULT_QUEUE_CAPACITY,
    now: options.now ?? (() => performance.now()),
  };
}
