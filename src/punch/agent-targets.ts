/**
 * The check list of one link (RFC 8445 §6.1.2 in miniature): remote candidates per local socket,
 * ordered by type preference, each re-probed every `recheckMs` until validated. Bounded.
 * @module
 */
import type { NatEndpoint } from '../nat/index.ts';
import { type Candidate, type CandidateKindType, candidatePreference, endpointKey } from './candidates.ts';

/** One (local socket, remote address) pair being punched. */
export interface PunchTarget extends NatEndpoint {
  readonly kind: CandidateKindType;
  readonly socket: number;
  readonly key: string;
  readonly priority: number;
  /** A probe on this pair got an answer that passed the symmetric check. */
  validated: boolean;
  /** Probes sent on this pair (all rounds). */
  sends: number;
  /** Probes sent on this pair in the current punching round. */
  roundSends: number;
  /** Anything authenticated arrived from this address (a probe or a reply). */
  heard: boolean;
  nextAtMs: number;
  /** Found by port prediction. */
  readonly predicted: boolean;
}

/** Pairs by key; at most `capacity`. */
export class AgentTargets {
  readonly recheckMs: number;
  /**
   * Probes per round to a host candidate that was never heard from (the broker cannot verify host
   * candidates: an introduction must not aim probes at third parties). Srflx candidates (the address
   * the broker saw, verified by its round trip) and prflx ones (we heard them) are not limited.
   */
  readonly maxSilentProbes: number;
  readonly #capacity: number;
  readonly #list: PunchTarget[] = [];
  readonly #byKey = new Map<string, PunchTarget>();

  constructor(recheckMs: number, capacity: number, maxSilentProbes = Number.POSITIVE_INFINITY) {
    this.recheckMs = recheckMs;
    this.maxSilentProbes = maxSilentProbes;
    this.#capacity = capacity;
  }

  /** Adds a pair (or returns the existing one); null when full. */
  add(candidate: Candidate, socket: number, predicted = false): PunchTarget | null {
    const key = `${socket}|${endpointKey(candidate)}`;
    const existing = this.#byKey.get(key);
    if (existing !== undefined) return existing;
    if (this.#list.length >= this.#capacity) return null;
    const target: PunchTarget = {
      kind: candidate.kind,
      address: candidate.address,
      port: candidate.port,
      socket,
      key,
      priority: candidatePreference(candidate.kind),
      validated: false,
      sends: 0,
      roundSends: 0,
      heard: predicted || candidate.kind === 'prflx',
      nextAtMs: 0,
      predicted,
    };
    this.#list.push(target);
    this.#byKey.set(key, target);
    return target;
  }

  find(socket: number, endpoint: NatEndpoint): PunchTarget | undefined {
    return this.#byKey.get(`${socket}|${endpointKey(endpoint)}`);
  }

  /** The unvalidated pair most overdue at `nowMs` (higher preference first on a tie). */
  due(nowMs: number): PunchTarget | undefined {
    let best: PunchTarget | undefined;
    for (const t of this.#list) {
      if (t.validated || t.nextAtMs > nowMs || this.#silent(t)) continue;
      if (
        best === undefined ||
        t.nextAtMs < best.nextAtMs ||
        (t.nextAtMs === best.nextAtMs && t.priority > best.priority)
      ) {
        best = t;
      }
    }
    return best;
  }

  /** When the next unvalidated pair is due (Infinity when none). */
  nextWakeMs(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const t of this.#list) if (!t.validated && !this.#silent(t) && t.nextAtMs < next) next = t.nextAtMs;
    return next;
  }

  /** Whether `t` is a host candidate that used its probes without a word back (probing it stops). */
  #silent(t: PunchTarget): boolean {
    return t.kind === 'host' && !t.heard && t.roundSends >= this.maxSilentProbes;
  }

  /** Host candidates given up on this round (never heard from after `maxSilentProbes`). */
  silentCount(): number {
    let n = 0;
    for (const t of this.#list) if (this.#silent(t)) n++;
    return n;
  }

  anyValidated(): boolean {
    for (const t of this.#list) if (t.validated) return true;
    return false;
  }

  /** Everything due now and unvalidated (a new punching round). */
  reset(nowMs: number): void {
    for (const t of this.#list) {
      t.validated = false;
      t.roundSends = 0;
      t.nextAtMs = nowMs;
    }
  }

  get size(): number {
    return this.#list.length;
  }
}
