/**
 * Neighbour selection: which of the tracker's candidates to dial, NAT-aware, towards a target
 * degree. The path kinds are the ones the punch layer achieves (docs/punch.md): direct between
 * any two NATs except port-restricted ↔ symmetric (port prediction) and symmetric ↔ symmetric
 * (a TURN relay, or no path at all).
 * @module
 */

/** NAT classes as RFC 5780 discovery reports them (NAT1..NAT4, plus no NAT). */
export const NatClass = {
  OPEN: 'open',
  FULL_CONE: 'full-cone',
  RESTRICTED: 'restricted',
  PORT_RESTRICTED: 'port-restricted',
  SYMMETRIC: 'symmetric',
} as const;
/** One of the {@link NatClass} values. */
export type NatClassValue = (typeof NatClass)[keyof typeof NatClass];

/** How two nodes reach each other. */
export type PathKind = 'direct' | 'predicted' | 'relay';

/** The path the punch layer gives two NAT classes, or undefined when there is none. */
export function pathKindBetween(a: NatClassValue, b: NatClassValue, relay: boolean): PathKind | undefined {
  const symA = a === NatClass.SYMMETRIC;
  const symB = b === NatClass.SYMMETRIC;
  if (symA && symB) return relay ? 'relay' : undefined;
  if ((symA && b === NatClass.PORT_RESTRICTED) || (symB && a === NatClass.PORT_RESTRICTED))
    return 'predicted';
  return 'direct';
}

/** A node the tracker offered. */
export interface Candidate {
  readonly id: string;
  readonly nat: NatClassValue;
  /** Whether it uploads (a leech-only peer is a poor neighbour for a leech). */
  readonly uploads: boolean;
}

/** Selection settings. */
export interface NeighbourSelectorOptions {
  /** Neighbours to keep; default 8. */
  readonly targetDegree?: number;
  /** This node's NAT class. */
  readonly nat: NatClassValue;
  /** Whether a TURN relay is configured (symmetric ↔ symmetric becomes possible). */
  readonly relay?: boolean;
  /** Candidates remembered; default 64 (the oldest are forgotten, counted). */
  readonly maxCandidates?: number;
  readonly random?: () => number;
}

/** Chooses whom to dial from the tracker's candidates. Pure bookkeeping, no I/O. */
export class NeighbourSelector {
  readonly targetDegree: number;
  readonly nat: NatClassValue;
  readonly relay: boolean;
  readonly #max: number;
  readonly #random: () => number;
  readonly #candidates = new Map<string, Candidate>();
  readonly #avoid = new Set<string>();
  /** Candidates refused for want of a path, and forgotten for want of room. */
  readonly counters = { unreachable: 0, forgotten: 0 };

  constructor(options: NeighbourSelectorOptions) {
    this.targetDegree = options.targetDegree ?? 8;
    this.nat = options.nat;
    this.relay = options.relay ?? false;
    this.#max = options.maxCandidates ?? 64;
    this.#random = options.random ?? Math.random;
  }

  /** Candidates known and not yet dialled. */
  get size(): number {
    return this.#candidates.size;
  }

  /** Adds the tracker's candidates, keeping only the reachable ones. */
  offer(candidates: readonly Candidate[]): void {
    for (const c of candidates) {
      if (this.#avoid.has(c.id) || this.#candidates.has(c.id)) continue;
      if (pathKindBetween(this.nat, c.nat, this.relay) === undefined) {
        this.counters.unreachable++;
        continue;
      }
      if (this.#candidates.size >= this.#max) {
        const oldest = this.#candidates.keys().next().value as string;
        this.#candidates.delete(oldest);
        this.counters.forgotten++;
      }
      this.#candidates.set(c.id, c);
    }
  }

  /** Never offers `id` again (banned, or dropped as a liar). Bounded like the candidates. */
  avoid(id: string): void {
    this.#candidates.delete(id);
    if (this.#avoid.size >= 4 * this.#max) this.#avoid.delete(this.#avoid.values().next().value as string);
    this.#avoid.add(id);
  }

  /**
   * Whom to dial now that `current` neighbours are connected or being dialled; `connected(id)`
   * excludes those. Uploading candidates first, in random order.
   */
  pick(current: number, connected: (id: string) => boolean): Candidate[] {
    const want = this.targetDegree - current;
    if (want <= 0) return [];
    const pool = [...this.#candidates.values()].filter((c) => !connected(c.id));
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    pool.sort((a, b) => Number(b.uploads) - Number(a.uploads));
    const chosen = pool.slice(0, want);
    for (const c of chosen) this.#candidates.delete(c.id);
    return chosen;
  }
}
