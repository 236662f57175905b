/**
 * Port prediction against one symmetric NAT (the birthday-paradox search Tailscale describes):
 * the hard (symmetric) side opens `n` extra sockets and sends one punch from each toward the easy
 * side's server-reflexive address, creating `n` mappings on random public ports; the easy side
 * probes random ports of the hard side's public IP. Each probe hits an open mapping with
 * probability about n / M (M ports in the NAT's range), so after k distinct probes the search has
 * succeeded with probability
 *
 *     P(n, k, M) = 1 − Π_{i=0}^{k−1} (M − n − i) / (M − i)   ≈ 1 − e^(−n·k/M)
 *
 * n = 256, M = 64 512: k = 256 → 64 %, k = 1024 → 98.3 %, k = 2048 → 99.97 %.
 * @module
 */
import type { NatClassType } from '../nat/index.ts';

/** Default extra sockets on the hard side: 256. */
export const DEFAULT_PREDICTION_SOCKETS = 256;
/** Default random-port probes of the easy side: 2048 (P ≈ 99.97 % against 256 mappings). */
export const DEFAULT_PREDICTION_PROBES = 2048;
/** Default gap between prediction probes: 2 ms (500 probes/s; 2048 probes in about 4.1 s). */
export const DEFAULT_PREDICTION_PACE_MS = 2;
/** Default wait before predicting against a full-cone or address-restricted side: 2 s (the peer-reflexive path usually wins first). */
export const DEFAULT_PREDICTION_FALLBACK_MS = 2000;
/** Ports a NAT maps to by default: 1024–65535. */
export const DEFAULT_PREDICTION_PORT_RANGE: PredictionPortRange = { min: 1024, max: 65_535 };

/** The public port range the symmetric NAT picks from. */
export interface PredictionPortRange {
  readonly min: number;
  readonly max: number;
}

/** Settings of port prediction; all optional. */
export interface PredictionOptions {
  /** Extra sockets of the hard side (1–256). Default {@link DEFAULT_PREDICTION_SOCKETS}. */
  readonly sockets?: number;
  /** Random-port probes of the easy side. Default {@link DEFAULT_PREDICTION_PROBES}. */
  readonly probes?: number;
  /** Gap between prediction probes, ms. Default {@link DEFAULT_PREDICTION_PACE_MS}. */
  readonly paceMs?: number;
  /** Delay before predicting when the easy side is full-cone/address-restricted. Default {@link DEFAULT_PREDICTION_FALLBACK_MS}. */
  readonly fallbackMs?: number;
  /** Public port range of the hard NAT. Default {@link DEFAULT_PREDICTION_PORT_RANGE}. */
  readonly portRange?: PredictionPortRange;
}

/** This side's part in prediction, and when it starts (ms after punching starts). */
export interface PredictionPlan {
  readonly role: 'hard' | 'easy';
  readonly delayMs: number;
}

/**
 * Decides prediction from both NAT classes: only when exactly one side is symmetric. Against a
 * port-restricted (or unknown, firewalled) easy side it starts at once — the classic method
 * cannot work there; against a full-cone or address-restricted side only after `fallbackMs`,
 * since the peer-reflexive path normally connects first. Null: no prediction.
 */
export function planPrediction(
  local: NatClassType,
  remote: NatClassType,
  fallbackMs = DEFAULT_PREDICTION_FALLBACK_MS,
): PredictionPlan | null {
  const localHard = local === 'symmetric';
  const remoteHard = remote === 'symmetric';
  if (localHard === remoteHard) return null;
  const easy = localHard ? remote : local;
  if (easy === 'blocked') return null;
  const delayMs = easy === 'full-cone' || easy === 'address-restricted' || easy === 'open' ? fallbackMs : 0;
  return { role: localHard ? 'hard' : 'easy', delayMs };
}

/** The exact success probability after `probes` distinct random probes (see the module TSDoc). */
export function predictionSuccessProbability(openPorts: number, probes: number, portSpace: number): number {
  if (openPorts <= 0 || probes <= 0) return 0;
  if (openPorts + probes > portSpace) return 1;
  let miss = 1;
  for (let i = 0; i < probes; i++) miss *= (portSpace - openPorts - i) / (portSpace - i);
  return 1 - miss;
}

/**
 * Draws ports of a range in random order without repeats (a lazy Fisher–Yates shuffle: memory
 * grows with the draws, not the range).
 */
export class RandomPortSampler {
  readonly #min: number;
  readonly #swaps = new Map<number, number>();
  readonly #random: () => number;
  #left: number;

  /** @param random uniform in [0, 1), e.g. a seeded PRNG in tests. */
  constructor(range: PredictionPortRange, random: () => number) {
    this.#min = range.min;
    this.#left = range.max - range.min + 1;
    this.#random = random;
  }

  /** Ports not drawn yet. */
  get remaining(): number {
    return this.#left;
  }

  /** The next port, or -1 once every port was drawn. */
  next(): number {
    if (this.#left <= 0) return -1;
    const last = this.#left - 1;
    const pick = Math.min(last, Math.floor(this.#random() * this.#left));
    const value = this.#swaps.get(pick) ?? pick;
    this.#swaps.set(pick, this.#swaps.get(last) ?? last);
    this.#swaps.delete(last);
    this.#left = last;
    return this.#min + value;
  }
}
