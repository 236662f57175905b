import type { Socket } from 'node:dgram';
import { closeSockets } from './close-sockets.ts';

/** Where a reservation is in its life. */
export type ReservationState = 'held' | 'handed-off' | 'released';

/** Ports plus the sockets holding them. */
export interface HeldPorts {
  readonly ports: number[];
  readonly sockets: Socket[];
}

/** How a reservation reaches back into its pool (the pool implements it; not for users). */
export interface ReservationOwner {
  /** Marks `conflicting` foreign, returns the rest of `ports`, and binds a fresh set like it. */
  replaceReserved(
    ports: readonly number[],
    conflicting: readonly number[],
    signal?: AbortSignal,
  ): Promise<HeldPorts>;
  /** Returns `ports` (cooling) and frees the owner id. */
  releaseReserved(owner: string, ports: readonly number[]): void;
}

/**
 * Ports reserved under an owner id for another process (the WHIP-ingest pattern: FFmpeg binds the
 * RTP legs itself). The pool binds and holds the ports until {@link handoff}, so nothing else can
 * take them; then it closes its sockets right before the child binds.
 *
 * The handoff window: between `handoff()` and the child's bind the ports are unbound. The pool never
 * hands them to anyone in this process, but another process could bind them in that window. If the
 * child then fails to bind, call {@link reportConflict}: the pool marks the port foreign and holds a
 * fresh set in its place.
 */
export class PortReservation implements AsyncDisposable {
  /** The owner id this reservation is registered under. */
  readonly owner: string;
  readonly #pool: ReservationOwner;
  readonly #teardown: (() => void | Promise<void>) | undefined;
  #held: HeldPorts;
  #state: ReservationState = 'held';
  #released: Promise<void> | undefined;

  /** @internal Made by {@link PortPool.reserve}. */
  constructor(
    pool: ReservationOwner,
    owner: string,
    held: HeldPorts,
    teardown: (() => void | Promise<void>) | undefined,
  ) {
    this.#pool = pool;
    this.owner = owner;
    this.#held = held;
    this.#teardown = teardown;
  }

  /** The reserved ports, lowest first (they change after {@link reportConflict}). */
  get ports(): readonly number[] {
    return this.#held.ports;
  }

  /** The first reserved port. */
  get port(): number {
    return this.#held.ports[0]!;
  }

  /** The held sockets (empty once handed off). */
  get sockets(): readonly Socket[] {
    return this.#state === 'held' ? this.#held.sockets : [];
  }

  get state(): ReservationState {
    return this.#state;
  }

  /** Closes the held sockets so the child can bind the ports; the ports stay reserved. Idempotent. */
  async handoff(): Promise<void> {
    if (this.#state !== 'held') return;
    this.#state = 'handed-off';
    await closeSockets(this.#held.sockets);
  }

  /**
   * The child could not bind `ports` (EADDRINUSE): they are marked foreign, the rest of the
   * reservation is returned, and a fresh set is bound and held in its place (call `handoff()` again).
   * @throws PortRangeExhaustedError when no replacement can be had; the reservation is then released.
   */
  async reportConflict(
    ports: number | readonly number[],
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    if (this.#state === 'released') return;
    await this.handoff();
    const conflicting = typeof ports === 'number' ? [ports] : ports;
    try {
      this.#held = await this.#pool.replaceReserved(this.#held.ports, conflicting, options.signal);
    } catch (error) {
      this.#held = { ports: [], sockets: [] };
      await this.release();
      throw error;
    }
    this.#state = 'held';
  }

  /** Returns the ports to the pool (they cool down), then runs the teardown callback. Idempotent. */
  release(): Promise<void> {
    this.#released ??= this.#release();
    return this.#released;
  }

  async #release(): Promise<void> {
    const wasHeld = this.#state === 'held';
    this.#state = 'released';
    if (wasHeld) await closeSockets(this.#held.sockets);
    this.#pool.releaseReserved(this.owner, this.#held.ports);
    await this.#teardown?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}
