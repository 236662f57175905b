/**
 * One round of port prediction as a paced schedule (used by the agent core): the hard side asks
 * for its extra sockets, then sends one punch from each toward the easy side's server-reflexive
 * address; the easy side probes random ports of the hard side's public IP. Bounded by the probe
 * budget; the agent stops asking once any pair is validated.
 * @module
 */
import type { NatEndpoint } from '../nat/index.ts';
import { type PredictionOptions, type PredictionPlan, RandomPortSampler } from './prediction.ts';

/** What the schedule wants done now. */
export type PredictionStep =
  | { readonly type: 'open'; readonly count: number }
  | { readonly type: 'probe'; readonly socket: number; readonly to: NatEndpoint };

/** The paced prediction schedule of one punching round. */
export class PredictionRun {
  readonly plan: PredictionPlan;
  readonly #o: Required<PredictionOptions>;
  readonly #remote: NatEndpoint;
  readonly #random: () => number;
  #startMs = 0;
  #started = false;
  #nextMs = 0;
  #sent = 0;
  #sweep = 0;
  #sockets = 0;
  #sampler: RandomPortSampler | null = null;

  /** @param remote the other side's server-reflexive address (its IP is the one to probe). */
  constructor(
    plan: PredictionPlan,
    options: Required<PredictionOptions>,
    remote: NatEndpoint,
    random: () => number,
  ) {
    this.plan = plan;
    this.#o = options;
    this.#remote = remote;
    this.#random = random;
  }

  /** Whether the round has begun (sockets asked for, or random probing started). */
  get started(): boolean {
    return this.#started;
  }

  /** Extra sockets the driver opened for this round. */
  get sockets(): number {
    return this.#sockets;
  }

  /** A new round starting at `startMs` (its extra sockets are gone). */
  reset(startMs: number): void {
    this.#startMs = startMs;
    this.#started = false;
    this.#sent = 0;
    this.#sweep = 0;
    this.#sockets = 0;
    this.#sampler = null;
  }

  /** The driver opened `count` sockets: sweep them from now. */
  socketsOpened(count: number, nowMs: number): void {
    this.#sockets = count;
    this.#sweep = 0;
    this.#nextMs = nowMs;
  }

  /** The extra sockets were closed. */
  socketsClosed(): void {
    this.#sockets = 0;
  }

  /** The next step due at `nowMs`, or null (call again until null). */
  step(nowMs: number): PredictionStep | null {
    if (!this.#started) {
      if (nowMs < this.#startMs + this.plan.delayMs) return null;
      this.#started = true;
      this.#nextMs = nowMs;
      if (this.plan.role === 'hard') return { type: 'open', count: this.#o.sockets };
      this.#sampler = new RandomPortSampler(this.#o.portRange, this.#random);
    }
    if (nowMs < this.#nextMs || !this.#hasWork()) return null;
    this.#nextMs += this.#o.paceMs;
    if (this.plan.role === 'hard') {
      this.#sweep++;
      return { type: 'probe', socket: this.#sweep, to: this.#remote };
    }
    const port = this.#sampler?.next() ?? -1;
    if (port < 0) {
      this.#sent = this.#o.probes;
      return null;
    }
    this.#sent++;
    return { type: 'probe', socket: 0, to: { address: this.#remote.address, port } };
  }

  /** When the next step is due (Infinity: nothing left). */
  nextWakeMs(): number {
    if (!this.#started) return this.#startMs + this.plan.delayMs;
    return this.#hasWork() ? this.#nextMs : Number.POSITIVE_INFINITY;
  }

  #hasWork(): boolean {
    return this.plan.role === 'hard' ? this.#sweep < this.#sockets : this.#sent < this.#o.probes;
  }
}
