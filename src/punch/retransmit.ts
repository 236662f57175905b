/**
 * Retransmission of broker signalling until acknowledged: exponential back-off from an initial
 * RTO, capped, with a bounded number of transmissions (the shape of RFC 8489 §6.2.1, without its
 * final long wait). Bounded: at most `capacity` frames in flight.
 * @module
 */
import type { NatEndpoint } from '../nat/index.ts';

/** Retransmission settings of broker signalling (`initialRtoMs`, `maxRtoMs`, `maxTransmissions`); every field has a default. */
export interface BrokerRetransmitOptions {
  /** First retransmission after this many ms. Default {@link DEFAULT_RTO_MS}. */
  readonly initialRtoMs?: number;
  /** Longest gap between transmissions, ms. Default {@link DEFAULT_MAX_RTO_MS}. */
  readonly maxRtoMs?: number;
  /** Transmissions in all (the first included). Default {@link DEFAULT_MAX_TRANSMISSIONS}. */
  readonly maxTransmissions?: number;
}

/** Default initial RTO: 250 ms (RFC 8489 §6.2.1 recommends ≥ 500 ms on the open internet; signalling here is small and early). */
export const DEFAULT_RTO_MS = 250;
/** Default RTO cap: 2 s. */
export const DEFAULT_MAX_RTO_MS = 2000;
/** Default transmissions: 7 (about 9.75 s of trying). */
export const DEFAULT_MAX_TRANSMISSIONS = 7;

/** One frame in flight. */
export interface InFlight<T> {
  readonly seq: number;
  readonly data: Buffer;
  to: NatEndpoint;
  readonly meta: T;
  transmissions: number;
  nextAtMs: number;
  rtoMs: number;
}

/** Frames in flight by sequence number. */
export class Retransmitter<T> {
  readonly #pending = new Map<number, InFlight<T>>();
  readonly #capacity: number;
  readonly #rto: number;
  readonly #maxRto: number;
  readonly #max: number;

  constructor(capacity: number, options: BrokerRetransmitOptions = {}) {
    this.#capacity = capacity;
    this.#rto = options.initialRtoMs ?? DEFAULT_RTO_MS;
    this.#maxRto = options.maxRtoMs ?? DEFAULT_MAX_RTO_MS;
    this.#max = options.maxTransmissions ?? DEFAULT_MAX_TRANSMISSIONS;
  }

  /** Frames in flight. */
  get size(): number {
    return this.#pending.size;
  }

  /** Room for `n` more frames. */
  hasRoom(n = 1): boolean {
    return this.#pending.size + n <= this.#capacity;
  }

  /** Tracks a frame just sent for the first time; false (not tracked) when full. */
  add(seq: number, data: Buffer, to: NatEndpoint, meta: T, nowMs: number): boolean {
    if (!this.hasRoom()) return false;
    this.#pending.set(seq, {
      seq,
      data,
      to,
      meta,
      transmissions: 1,
      nextAtMs: nowMs + this.#rto,
      rtoMs: this.#rto,
    });
    return true;
  }

  /** The frame `seq` was acknowledged: stops tracking it and returns it. */
  ack(seq: number): InFlight<T> | undefined {
    const entry = this.#pending.get(seq);
    if (entry !== undefined) this.#pending.delete(seq);
    return entry;
  }

  /** The frame `seq` without removing it. */
  get(seq: number): InFlight<T> | undefined {
    return this.#pending.get(seq);
  }

  /** Drops every frame whose meta matches. */
  drop(match: (meta: T) => boolean): void {
    for (const [seq, entry] of this.#pending) if (match(entry.meta)) this.#pending.delete(seq);
  }

  /**
   * Calls `resend` for each frame due at `nowMs`, and `giveUp` (after removing it) for each frame
   * that used all its transmissions and its last wait.
   */
  poll(nowMs: number, resend: (entry: InFlight<T>) => void, giveUp: (entry: InFlight<T>) => void): void {
    for (const entry of this.#pending.values()) {
      if (entry.nextAtMs > nowMs) continue;
      if (entry.transmissions >= this.#max) {
        this.#pending.delete(entry.seq);
        giveUp(entry);
        continue;
      }
      entry.transmissions++;
      entry.rtoMs = Math.min(entry.rtoMs * 2, this.#maxRto);
      entry.nextAtMs = nowMs + entry.rtoMs;
      resend(entry);
    }
  }

  /** When the next frame is due (Infinity when none is in flight). */
  nextWakeMs(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.#pending.values()) if (entry.nextAtMs < next) next = entry.nextAtMs;
    return next;
  }

  /** Forgets everything. */
  clear(): void {
    this.#pending.clear();
  }
}
