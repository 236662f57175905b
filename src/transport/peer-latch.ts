import { LatchPolicy, type LatchPolicyType } from './options.ts';

/** How a stream came to know its peer. */
export const PeerOrigin = {
  /** Given by the caller (`remote` option or `setPeer`). */
  CONFIGURED: 'configured',
  /** Seen as the source of an accepted datagram. */
  LEARNED: 'learned',
  /** Derived from the other stream of a pair (Simple profile: RTCP port − 1 / media port + 1). */
  INFERRED: 'inferred',
} as const;
/** One of the {@link PeerOrigin} values. */
export type PeerOriginType = (typeof PeerOrigin)[keyof typeof PeerOrigin];

/** The remote endpoint of one stream. */
export interface Peer {
  readonly address: string;
  readonly port: number;
  readonly origin: PeerOriginType;
}

/** What {@link PeerLatch.accept} decided for one datagram. */
export const LatchVerdict = {
  /** From the peer: deliver. */
  ACCEPT: 0,
  /** From a new peer (first datagram, or `follow` after silence): deliver; the peer changed. */
  LEARN: 1,
  /** Not from the peer under `first`: deliver, keep the peer. */
  ACCEPT_OTHER: 2,
  /** Not from the peer under `strict`/`follow`: drop and count. */
  DROP: 3,
} as const;
/** One of the {@link LatchVerdict} values. */
export type LatchVerdictType = (typeof LatchVerdict)[keyof typeof LatchVerdict];

/**
 * Address learning of one stream, sans I/O: it sees a datagram's source and says whether to
 * deliver it and whether the peer changed. The clock is read only under `follow`.
 */
export class PeerLatch {
  readonly policy: LatchPolicyType;
  readonly followAfterSilenceMs: number;
  readonly #now: () => number;
  #address: string | undefined;
  #port = 0;
  #origin: PeerOriginType | undefined;
  #lastSeenMs = 0;
  #changes = 0;

  constructor(policy: LatchPolicyType, followAfterSilenceMs: number, now: () => number) {
    this.policy = policy;
    this.followAfterSilenceMs = followAfterSilenceMs;
    this.#now = now;
  }

  /** The current peer, if any (allocates; not for the hot path). */
  get peer(): Peer | undefined {
    return this.#address === undefined || this.#origin === undefined
      ? undefined
      : { address: this.#address, port: this.#port, origin: this.#origin };
  }

  /** The peer's address (no allocation), or undefined. */
  get address(): string | undefined {
    return this.#address;
  }

  /** The peer's port (0 without a peer). */
  get port(): number {
    return this.#port;
  }

  /** Times the peer changed after it was first known (learn over configured/inferred excluded). */
  get changes(): number {
    return this.#changes;
  }

  /** Sets the peer explicitly; under `follow` its silence counts from now. */
  configure(address: string, port: number): void {
    this.#set(address, port, PeerOrigin.CONFIGURED);
  }

  /** Sets an inferred peer unless the stream already has a configured or learned one. */
  infer(address: string, port: number): void {
    if (this.#origin === undefined || this.#origin === PeerOrigin.INFERRED) {
      this.#address = address;
      this.#port = port;
      this.#origin = PeerOrigin.INFERRED;
    }
  }

  /**
   * Decides about one datagram from `address`:`port`.
   * 1. No peer yet, or only an inferred one: the source becomes the peer (LEARN).
   * 2. From the peer: ACCEPT (and, under `follow`, the peer is not silent).
   * 3. `first`: ACCEPT_OTHER. `strict`: DROP.
   * 4. `follow`: LEARN when the peer has been silent ≥ `followAfterSilenceMs`, else DROP.
   */
  accept(address: string, port: number): LatchVerdictType {
    if (this.#origin === undefined || this.#origin === PeerOrigin.INFERRED) {
      this.#set(address, port, PeerOrigin.LEARNED);
      return LatchVerdict.LEARN;
    }
    if (port === this.#port && address === this.#address) {
      if (this.policy === LatchPolicy.FOLLOW) this.#lastSeenMs = this.#now();
      return LatchVerdict.ACCEPT;
    }
    if (this.policy === LatchPolicy.FIRST) return LatchVerdict.ACCEPT_OTHER;
    if (this.policy === LatchPolicy.FOLLOW && this.#now() - this.#lastSeenMs >= this.followAfterSilenceMs) {
      this.#changes++;
      this.#set(address, port, PeerOrigin.LEARNED);
      return LatchVerdict.LEARN;
    }
    return LatchVerdict.DROP;
  }

  #set(address: string, port: number, origin: PeerOriginType): void {
    this.#address = address;
    this.#port = port;
    this.#origin = origin;
    this.#lastSeenMs = this.policy === LatchPolicy.FOLLOW ? this.#now() : 0;
  }
}
