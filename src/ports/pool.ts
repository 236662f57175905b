import type { Socket } from 'node:dgram';
import { debuglog } from 'node:util';
import { AbortError, ClosedError, InvalidOptionError, throwIfAborted } from '../errors/index.ts';
import { WILDCARD_ADDRESS } from '../internal/endpoint.ts';
import {
  DEFAULT_FOREIGN_BACKOFF_MS,
  PortAllocator,
  type PortAllocatorCounts,
  type PortParity,
  PortState,
} from './allocator.ts';
import { type BindUdpSocketOptions, bindUdpSocket, type SocketFamily } from './bind-socket.ts';
import { closeSockets } from './close-sockets.ts';
import { exhaustedChannel, leaseAcquiredChannel, leaseReleasedChannel } from './diagnostics.ts';
import { Drainer, type DrainOptions } from './drain.ts';
import { OwnerConflictError, PortBindError, PortErrorCode, PortRangeExhaustedError } from './errors.ts';
import { checkLocalHost } from './host.ts';
import { warnOnceIfEphemeral } from './kernel-range.ts';
import { type LeaseOwner, PortLease } from './lease.ts';
import type { RandomIntegers } from './random-source.ts';
import { formatPortRange, type PortRange, parsePortRange, partitionPortRange } from './range.ts';
import { type HeldPorts, PortReservation, type ReservationOwner } from './reservation.ts';
import {
  isHeldBySibling,
  registerSiblingPool,
  type SiblingPool,
  unregisterSiblingPool,
} from './sibling-pools.ts';

const debug = debuglog('porthole:ports');

/** Settings of a {@link PortPool}. Only `range` is required. */
export interface PortPoolOptions {
  /** The ports this pool may use: `'40000-40999'` or `{ first, last }`. */
  readonly range: string | PortRange;
  /** Local address every socket binds. Default the wildcard of `family` (`0.0.0.0` / `::`). */
  readonly host?: string;
  /** `udp4` (default) or `udp6`. */
  readonly family?: SocketFamily;
  /** For `udp6`: bind IPv6 only (no IPv4-mapped traffic). Default false. */
  readonly ipv6Only?: boolean;
  /** Milliseconds a released port waits before reuse; 0 allowed. Default 30 000. */
  readonly cooldownMs?: number;
  /** First back-off of a port another process holds; doubles per repeat, up to 10 min. Default 30 000. */
  readonly foreignBackoffMs?: number;
  /** Keep released sockets bound and discard stale datagrams for a while. Default off. */
  readonly drain?: DrainOptions;
  /** SO_RCVBUF for every socket, in bytes (the kernel may clamp it). Default: the system's. */
  readonly recvBufferSize?: number;
  /** SO_SNDBUF for every socket, in bytes. Default: the system's. */
  readonly sendBufferSize?: number;
  /** Warn once when the range overlaps the kernel's ephemeral range (Linux). Default true. */
  readonly warnEphemeralOverlap?: boolean;
  /** Clock in milliseconds (tests). Default `performance.now`. */
  readonly now?: () => number;
  /** Random source (tests). Default a batched CSPRNG. */
  readonly random?: RandomIntegers;
  /** Binds one socket (tests, instrumentation). Default {@link bindUdpSocket}. */
  readonly bindSocket?: (options: BindUdpSocketOptions) => Promise<Socket>;
}

/** What one allocation asks for. */
export interface BindOptions {
  /** How many adjacent ports. Default 1. */
  readonly count?: number;
  /** `'even'`: the first port is even (RTP/RTCP pairs, RFC 3550 §11); needs an even count. Default 'any'. */
  readonly parity?: PortParity;
  readonly signal?: AbortSignal;
  /** SO_RCVBUF for these sockets, overriding the pool's. */
  readonly recvBufferSize?: number;
  /** SO_SNDBUF for these sockets, overriding the pool's. */
  readonly sendBufferSize?: number;
}

/** What a reservation for another process asks for. */
export interface ReserveOptions extends BindOptions {
  /** The owner id (e.g. a process or session id); one reservation per id at a time. */
  readonly owner: string;
  /** Runs after the reservation is released (stop hooks of the owner's process). */
  readonly teardown?: () => void | Promise<void>;
}

/** Bind failures by cause. */
export interface BindFailureCounts {
  /** EADDRINUSE: the port was held elsewhere and is now remembered as foreign. */
  readonly inUse: number;
  /** EADDRNOTAVAIL and kin: the host address is not usable. */
  readonly addressNotAvailable: number;
  /** EACCES/EPERM. */
  readonly accessDenied: number;
  /** EMFILE/ENFILE. */
  readonly fileDescriptorsExhausted: number;
  /** Anything else. */
  readonly other: number;
}

/** A snapshot of a pool. */
export interface PortPoolStats extends PortAllocatorCounts {
  /** Successful allocations (leases and reservations, replacements included). */
  readonly allocations: number;
  /** bind() system calls made. */
  readonly bindCalls: number;
  /** Allocations refused with ERR_PORT_RANGE_EXHAUSTED. */
  readonly exhaustions: number;
  /** Ports skipped because another pool of this process holds them. */
  readonly siblingConflicts: number;
  readonly failures: BindFailureCounts;
  /** Datagrams discarded by draining sockets. */
  readonly drainDiscarded: number;
  /** Draining sockets closed early because too many were draining. */
  readonly drainEvicted: number;
}

type MutableFailures = { -readonly [K in keyof BindFailureCounts]: number };

/**
 * Hands out UDP ports of one range as bound sockets: singles, even/odd pairs and blocks.
 *
 * - Bind-and-hold: a port is handed out only as a socket bound to it (never as a number that a
 *   probe found free), except through {@link reserve}'s documented handoff.
 * - O(1) choice at any occupancy, unpredictable, least recently released first, with a cooldown
 *   after release and optional draining.
 * - A port that fails with EADDRINUSE is foreign for a back-off period: it costs at most one failed
 *   bind per period. The search is bounded by the number of ports; when nothing can be had the call
 *   fails at once with {@link PortRangeExhaustedError}.
 * - Pools of one process whose addresses collide never hand out the same port.
 */
export class PortPool implements AsyncDisposable, SiblingPool {
  readonly range: PortRange;
  readonly host: string;
  readonly family: SocketFamily;
  readonly ipv6Only: boolean;
  readonly #allocator: PortAllocator;
  readonly #now: () => number;
  readonly #bindSocket: (options: BindUdpSocketOptions) => Promise<Socket>;
  readonly #drainByDefault: boolean;
  readonly #drainer: Drainer;
  readonly #recvBufferSize: number | undefined;
  readonly #sendBufferSize: number | undefined;
  readonly #warnEphemeral: boolean;
  readonly #leases = new Set<PortLease>();
  /** Reservations by owner id; 'pending' while the first one for an id is being bound. */
  readonly #owners = new Map<string, PortReservation | 'pending'>();
  readonly #failures: MutableFailures = {
    inUse: 0,
    addressNotAvailable: 0,
    accessDenied: 0,
    fileDescriptorsExhausted: 0,
    other: 0,
  };
  #allocations = 0;
  #bindCalls = 0;
  #exhaustions = 0;
  #siblingConflicts = 0;
  #checkedKernel = false;
  #closed = false;

  /** @throws ConfigError for a bad range, family, host or timing option (codes in docs/errors.md). */
  constructor(options: PortPoolOptions) {
    this.range = parsePortRange(options.range);
    this.family = options.family ?? 'udp4';
    this.host = options.host ?? WILDCARD_ADDRESS[this.family] ?? '0.0.0.0';
    checkLocalHost(this.host, this.family);
    this.ipv6Only = options.ipv6Only ?? false;
    for (const [name, value] of [
      ['cooldownMs', options.cooldownMs],
      ['foreignBackoffMs', options.foreignBackoffMs],
      ['drain.idleMs', options.drain?.idleMs],
      ['drain.maxMs', options.drain?.maxMs],
      ['drain.maxSockets', options.drain?.maxSockets],
    ] as const) {
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
        throw new InvalidOptionError(name, `${name} must be a number ≥ 0, got ${value}`);
      }
    }
    this.#now = options.now ?? (() => performance.now());
    this.#allocator = new PortAllocator({
      range: this.range,
      ...(options.cooldownMs === undefined ? {} : { cooldownMs: options.cooldownMs }),
      foreignBackoffMs: options.foreignBackoffMs ?? DEFAULT_FOREIGN_BACKOFF_MS,
      ...(options.random === undefined ? {} : { random: options.random }),
    });
    this.#bindSocket = options.bindSocket ?? bindUdpSocket;
    this.#drainByDefault = options.drain?.enabled ?? false;
    this.#drainer = new Drainer(options.drain ?? {}, this.#now, (port) => {
      if (!this.#closed) this.#allocator.endDrain(port, this.#now());
    });
    this.#recvBufferSize = options.recvBufferSize;
    this.#sendBufferSize = options.sendBufferSize;
    this.#warnEphemeral = options.warnEphemeralOverlap ?? true;
    registerSiblingPool(this);
  }

  /** Ports in the range. */
  get size(): number {
    return this.#allocator.size;
  }

  /**
   * Binds `count` adjacent ports of the range and holds them in a {@link PortLease}.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` for a count or parity the range can never satisfy.
   * @throws PortRangeExhaustedError when nothing fits right now (at once, never after a wait).
   * @throws PortBindError for failures no other port can fix (address, permission, file descriptors).
   * @throws AbortError when `signal` fires; ClosedError after {@link close}.
   */
  async bind(options: BindOptions = {}): Promise<PortLease> {
    const held = await this.#acquire(options);
    const lease = new PortLease(this, held.ports, held.sockets);
    this.#leases.add(lease);
    if (leaseAcquiredChannel.hasSubscribers)
      leaseAcquiredChannel.publish({ kind: 'lease', ports: lease.ports, host: this.host });
    return lease;
  }

  /**
   * Binds and holds ports for another process under `owner`; see {@link PortReservation} for the
   * handoff. One reservation per owner id at a time.
   * @throws OwnerConflictError `ERR_PORT_OWNER_EXISTS` when `owner` already holds a reservation.
   */
  async reserve(options: ReserveOptions): Promise<PortReservation> {
    if (this.#owners.has(options.owner)) throw new OwnerConflictError(options.owner);
    // Claim the id before the first await so that a concurrent second registration is refused too.
    this.#owners.set(options.owner, 'pending');
    try {
      const held = await this.#acquire(options);
      const reservation = new PortReservation(this, options.owner, held, options.teardown);
      this.#owners.set(options.owner, reservation);
      if (leaseAcquiredChannel.hasSubscribers)
        leaseAcquiredChannel.publish({
          kind: 'reservation',
          ports: held.ports,
          owner: options.owner,
          host: this.host,
        });
      return reservation;
    } catch (error) {
      this.#owners.delete(options.owner);
      throw error;
    }
  }

  /** The reservation registered under `owner`, if any. */
  reservation(owner: string): PortReservation | undefined {
    const found = this.#owners.get(owner);
    return found instanceof PortReservation ? found : undefined;
  }

  /** Releases the reservation of `owner` (running its teardown); resolves when done. No-op if none. */
  async releaseOwner(owner: string): Promise<void> {
    await this.reservation(owner)?.release();
  }

  /** Splits this pool's range into `count` disjoint sub-ranges, one per worker process. */
  partition(count: number): PortRange[] {
    return partitionPortRange(this.range, count);
  }

  /** Whether this pool holds `port` in any way (leased, reserved, cooling, draining). */
  holds(port: number): boolean {
    const state = this.#allocator.stateOf(port);
    return state !== undefined && state !== PortState.FREE && state !== PortState.FOREIGN;
  }

  stats(): PortPoolStats {
    return {
      ...this.#allocator.counts(this.#now()),
      allocations: this.#allocations,
      bindCalls: this.#bindCalls,
      exhaustions: this.#exhaustions,
      siblingConflicts: this.#siblingConflicts,
      failures: { ...this.#failures },
      drainDiscarded: this.#drainer.discarded,
      drainEvicted: this.#drainer.evicted,
    };
  }

  /** Closes every socket of every lease, reservation and drain; the pool refuses new work. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    unregisterSiblingPool(this);
    const leases = [...this.#leases];
    const reservations = [...this.#owners.values()].filter((r) => r instanceof PortReservation);
    await Promise.all([
      ...leases.map((lease) => lease.release({ drain: false })),
      ...reservations.map((r) => r.release()),
      this.#drainer.closeAll(),
    ]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal {@link LeaseOwner} */
  async releaseLease(lease: PortLease, drain: boolean | undefined): Promise<void> {
    this.#leases.delete(lease);
    const draining = (drain ?? this.#drainByDefault) && !this.#closed;
    const now = this.#now();
    for (const port of lease.ports) this.#allocator.release(port, now, draining);
    if (leaseReleasedChannel.hasSubscribers)
      leaseReleasedChannel.publish({ kind: 'lease', ports: lease.ports, drain: draining });
    if (draining) {
      lease.sockets.forEach((socket, i) => {
        this.#drainer.add(socket, lease.ports[i]!);
      });
      return;
    }
    await closeSockets(lease.sockets);
  }

  /** @internal {@link ReservationOwner} */
  async replaceReserved(
    ports: readonly number[],
    conflicting: readonly number[],
    signal?: AbortSignal,
  ): Promise<HeldPorts> {
    const now = this.#now();
    for (const port of ports) {
      if (conflicting.includes(port)) {
        this.#failures.inUse++;
        this.#allocator.markForeign(port, now);
      } else {
        this.#allocator.release(port, now);
      }
    }
    const parity = ports.length % 2 === 0 && (ports[0] ?? 1) % 2 === 0 ? 'even' : 'any';
    return this.#acquire({ count: ports.length, parity, ...(signal === undefined ? {} : { signal }) });
  }

  /** @internal {@link ReservationOwner} */
  releaseReserved(owner: string, ports: readonly number[]): void {
    this.#owners.delete(owner);
    const now = this.#now();
    for (const port of ports) this.#allocator.release(port, now);
    if (leaseReleasedChannel.hasSubscribers)
      leaseReleasedChannel.publish({ kind: 'reservation', ports, owner, drain: false });
  }

  /** Chooses, marks and binds ports; bounded by the number of ports in the range. */
  async #acquire(options: BindOptions): Promise<HeldPorts> {
    if (this.#closed) throw new ClosedError('port pool');
    const count = options.count ?? 1;
    const parity = options.parity ?? 'any';
    this.#validateRequest(count, parity);
    throwIfAborted(options.signal);
    if (!this.#checkedKernel) {
      this.#checkedKernel = true;
      if (this.#warnEphemeral) warnOnceIfEphemeral(this.range);
    }
    // Each pass marks at least one port foreign or returns, so passes ≤ ports in the range.
    for (let pass = 0; pass <= this.size; pass++) {
      const first = this.#allocator.take(count, parity, this.#now());
      if (first < 0) throw this.#exhausted(count, parity);
      const ports = Array.from({ length: count }, (_, i) => first + i);
      const siblingHeld = ports.filter((port) => isHeldBySibling(this, port));
      if (siblingHeld.length > 0) {
        this.#siblingConflicts += siblingHeld.length;
        for (const port of ports) {
          if (siblingHeld.includes(port)) this.#allocator.markForeign(port, this.#now());
          else this.#allocator.untake(port);
        }
        continue;
      }
      const sockets = await this.#bindAll(ports, options);
      if (sockets !== undefined) {
        this.#allocations++;
        return { ports, sockets };
      }
    }
    throw this.#exhausted(count, parity);
  }

  /**
   * Binds the ports one after the other (a pair whose first port is foreign costs one bind, not two).
   * On EADDRINUSE gives the ports back, the guilty one foreign, and returns undefined.
   */
  async #bindAll(ports: readonly number[], options: BindOptions): Promise<Socket[] | undefined> {
    const recvBufferSize = options.recvBufferSize ?? this.#recvBufferSize;
    const sendBufferSize = options.sendBufferSize ?? this.#sendBufferSize;
    const sockets: Socket[] = [];
    let inUse: number | undefined;
    let fatal: unknown;
    for (const port of ports) {
      if (options.signal?.aborted === true || this.#closed) break;
      this.#bindCalls++;
      try {
        sockets.push(
          await this.#bindSocket({
            family: this.family,
            address: this.host,
            port,
            exclusive: true,
            ipv6Only: this.ipv6Only,
            ...(recvBufferSize === undefined ? {} : { recvBufferSize }),
            ...(sendBufferSize === undefined ? {} : { sendBufferSize }),
          }),
        );
      } catch (error) {
        if (error instanceof PortBindError && error.errno === 'EADDRINUSE') {
          this.#failures.inUse++;
          inUse = port;
        } else {
          this.#countFailure(error);
          fatal = error;
        }
        break;
      }
    }
    const aborted = options.signal?.aborted === true;
    if (sockets.length === ports.length && !aborted && !this.#closed) return sockets;
    await closeSockets(sockets);
    this.#giveBack(ports, inUse);
    if (fatal !== undefined) throw fatal;
    if (this.#closed) throw new ClosedError('port pool');
    if (aborted) throw new AbortError(options.signal?.reason);
    debug('port %d held by another process; trying others', inUse);
    return undefined;
  }

  /** Returns taken ports that were never used; the `foreign` one is marked foreign instead. */
  #giveBack(ports: readonly number[], foreign: number | undefined): void {
    const now = this.#now();
    for (const port of ports) {
      if (port === foreign) this.#allocator.markForeign(port, now);
      else this.#allocator.untake(port);
    }
  }

  #countFailure(error: unknown): void {
    const errno = error instanceof PortBindError ? error.code : '';
    if (errno === PortErrorCode.ADDRESS_NOT_AVAILABLE) this.#failures.addressNotAvailable++;
    else if (errno === PortErrorCode.ACCESS_DENIED) this.#failures.accessDenied++;
    else if (errno === PortErrorCode.FILE_DESCRIPTORS_EXHAUSTED) this.#failures.fileDescriptorsExhausted++;
    else this.#failures.other++;
  }

  #validateRequest(count: number, parity: PortParity): void {
    if (!Number.isInteger(count) || count < 1) {
      throw new InvalidOptionError('count', `count must be a whole number ≥ 1, got ${count}`);
    }
    if (parity !== 'any' && parity !== 'even') {
      throw new InvalidOptionError('parity', `parity must be "any" or "even", got "${parity}"`);
    }
    if (parity === 'even' && count % 2 === 1) {
      throw new InvalidOptionError(
        'count',
        `an even-parity allocation needs an even count (pairs), got ${count}`,
      );
    }
    const evenStarts = this.range.first % 2 === 0 ? this.size : this.size - 1;
    if (count > (parity === 'even' ? evenStarts : this.size)) {
      throw new InvalidOptionError(
        'count',
        `${count} ${parity === 'even' ? 'even-aligned ' : ''}ports never fit in ${formatPortRange(this.range)}`,
      );
    }
  }

  #exhausted(count: number, parity: PortParity): PortRangeExhaustedError {
    this.#exhaustions++;
    const c = this.#allocator.counts(this.#now());
    if (exhaustedChannel.hasSubscribers)
      exhaustedChannel.publish({
        count,
        parity,
        range: formatPortRange(this.range),
        used: c.used,
        cooling: c.cooling + c.draining,
        foreign: c.foreign,
      });
    const what =
      count === 1 ? 'port' : count === 2 && parity === 'even' ? 'even/odd pair' : `block of ${count} ports`;
    return new PortRangeExhaustedError(what, formatPortRange(this.range), {
      size: c.size,
      used: c.used,
      cooling: c.cooling + c.draining,
      foreign: c.foreign,
    });
  }
}
