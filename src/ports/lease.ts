import type { Socket } from 'node:dgram';

/** How a lease is given back. */
export interface ReleaseOptions {
  /**
   * Keep the sockets bound and discard what still arrives until they have been idle for the
   * pool's `drain.idleMs` (overrides the pool's `drain.enabled` for this release).
   */
  readonly drain?: boolean;
}

/** How a lease reaches back into its pool (the pool implements it; not for users). */
export interface LeaseOwner {
  releaseLease(lease: PortLease, drain: boolean | undefined): Promise<void>;
}

/**
 * Ports held for one user: each is bound by one socket that the lease owns. Releasing closes the
 * sockets (or drains them) and the ports cool down before anyone gets them again.
 */
export class PortLease implements AsyncDisposable {
  /** The ports, lowest first; for a pair, `[P, P+1]` with P even. */
  readonly ports: readonly number[];
  /** One bound socket per port, in the order of `ports`. */
  readonly sockets: readonly Socket[];
  readonly #owner: LeaseOwner;
  #released: Promise<void> | undefined;

  /** @internal Leases are made by {@link PortPool.bind}. */
  constructor(owner: LeaseOwner, ports: readonly number[], sockets: readonly Socket[]) {
    this.#owner = owner;
    this.ports = ports;
    this.sockets = sockets;
  }

  /** The first (lowest) port. */
  get port(): number {
    return this.ports[0]!;
  }

  /** The socket bound to the first port. */
  get socket(): Socket {
    return this.sockets[0]!;
  }

  /** Whether `release()` has been called. */
  get released(): boolean {
    return this.#released !== undefined;
  }

  /** Closes (or drains) the sockets and returns the ports to the pool. Idempotent. */
  release(options: ReleaseOptions = {}): Promise<void> {
    this.#released ??= this.#owner.releaseLease(this, options.drain);
    return this.#released;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}
