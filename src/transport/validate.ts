import { isIP } from 'node:net';
import { InvalidOptionError } from '../errors/index.ts';
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
 * @throws InvalidOptionError `ERR_INVALID_OPTION`.
 */
export function resolveTarget(host: string | undefined, family: unknown, pool?: PortPool): BindTarget {
  if (family !== undefined && family !== 'udp4' && family !== 'udp6') {
    throw new InvalidOptionError('family', `family "${String(family)}" must be "udp4" or "udp6"`);
  }
  if (pool !== undefined) {
    if ((host !== undefined && host !== pool.host) || (family !== undefined && family !== pool.family)) {
      throw new InvalidOptionError(
        'pool',
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
    throw new InvalidOptionError('host', `host "${host}" is not an IP address; resolve names first`);
  }
  if (family !== undefined && family !== hostFamily) {
    throw new InvalidOptionError('family', `host ${host} is not a ${family} address`);
  }
  return { host, family: hostFamily };
}

/**
 * Checks the media port of a fixed pair: even and 2–65534 (RFC 3550 §11).
 * @throws InvalidOptionError `ERR_INVALID_OPTION`.
 */
export function checkPairPort(port: number): void {
  if (port === 0) {
    throw new InvalidOptionError(
      'port',
      'a pair cannot be derived from an ephemeral bind; pass an even port or use listenEphemeralPair()',
    );
  }
  checkPort(port, 'port');
  if (port % 2 === 1) {
    throw new InvalidOptionError(
      'port',
      `pair port ${port} is odd; media takes the even port P and RTCP P+1 (RFC 3550 §11)`,
    );
  }
}

/** @throws InvalidOptionError `ERR_INVALID_OPTION` unless `port` is a whole number 1–65535 (0 when `allowZero`). */
export function checkPort(port: number, what: string, allowZero = false): void {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new InvalidOptionError(what, `${what} must be a whole number 1–65535, got ${port}`);
  }
}

/** @throws InvalidOptionError `ERR_INVALID_OPTION` for an address that is not an IP or a bad port. */
export function checkEndpoint(endpoint: Endpoint, what: string): void {
  if (typeof endpoint?.address !== 'string' || familyOf(endpoint.address) === undefined) {
    throw new InvalidOptionError(what, `${what} address must be an IP address`);
  }
  if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) {
    throw new InvalidOptionError(what, `${what} port must be 1–65535, got ${endpoint.port}`);
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

/** Validates and completes transport options. @throws InvalidOptionError `ERR_INVALID_OPTION`. */
export function resolveOptions(options: TransportOptions): ResolvedOptions {
  const latch = options.latch ?? LatchPolicy.FIRST;
  if (!POLICIES.includes(latch)) {
    throw new InvalidOptionError('latch', `latch must be one of ${POLICIES.join(', ')}`);
  }
  const numbers = [
    ['followAfterSilenceMs', options.followAfterSilenceMs, 0, Number.MAX_SAFE_INTEGER],
    ['recvBufferSize', options.recvBufferSize, 0, MAX_BUFFER_BYTES],
    ['sendBufferSize', options.sendBufferSize, 0, MAX_BUFFER_BYTES],
    ['queueCapacity', options.queueCapacity, 1, 1 << 24],
  ] as const;
  for (const [name, value, min, max] of numbers) {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      throw new InvalidOptionError(name, `${name} must be a whole number ${min}–${max}`);
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
