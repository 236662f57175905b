/**
 * Per-node statistics of the live core: a fixed-memory latency histogram and the stats shape.
 * @module
 */
import type { PathKind } from './neighbours.ts';

const BIN_MS = 10;
const BINS = 1001;

/** Source-to-node latency of each chunk, in 10 ms bins up to 10 s (the last bin holds the rest). */
export class LatencyHistogram {
  readonly #bins = new Uint32Array(BINS);
  #count = 0;

  /** Chunks recorded. */
  get count(): number {
    return this.#count;
  }

  /** Records one latency, ms (negative values count as 0). */
  record(ms: number): void {
    this.#bins[Math.min(BINS - 1, Math.max(0, Math.floor(ms / BIN_MS)))]!++;
    this.#count++;
  }

  /** The p-th percentile (0–100), ms, to the upper edge of its bin; NaN when empty. */
  percentile(p: number): number {
    if (this.#count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BINS; i++) {
      seen += this.#bins[i]!;
      if (seen >= rank) return (i + 1) * BIN_MS;
    }
    return BINS * BIN_MS;
  }

  /** Adds another histogram into this one. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BINS; i++) this.#bins[i]! += other.#bins[i]!;
    this.#count += other.#count;
  }
}

/** One neighbour as {@link LivePeerStats} reports it. */
export interface NeighbourStats {
  readonly id: string;
  readonly isEdge: boolean;
  readonly pathKind: PathKind | 'unknown';
  /** Chunks it delivered to this node. */
  readonly delivered: number;
  readonly timeouts: number;
  readonly lies: number;
}

/** Everything a live node counts. */
export interface LivePeerStats {
  /** Share of chunks played on time (played / (played + skipped)). */
  readonly continuity: number;
  readonly played: number;
  readonly skipped: number;
  readonly stalls: number;
  /** Chunks played marked as a discontinuity (after a skip or a source restart). */
  readonly discontinuities: number;
  readonly stalledMs: number;
  /** Local time of the first played chunk, NaN before. */
  readonly startedAtMs: number;
  /** Times it played faster (1.25×) to get back from more than the playout's `maxDelayMs` behind. */
  readonly catchUps: number;
  /** Jumps forward to the live edge (chunks skipped): hopelessly behind, or stuck in a hold. */
  readonly jumps: number;
  /** Source-to-node latency percentiles of the chunks received, ms. */
  readonly latencyP50Ms: number;
  readonly latencyP95Ms: number;
  readonly latencyP99Ms: number;
  readonly bytesFromEdge: number;
  readonly bytesFromPeers: number;
  readonly bytesUploaded: number;
  readonly chunksUploaded: number;
  readonly neighbours: readonly NeighbourStats[];
  /** Neighbours banned for forged chunks, floods or unsolicited data. */
  readonly bans: number;
  /** Chunks, heads or pieces that failed decoding or verification (never stored, played or forwarded). */
  readonly forgedDropped: number;
  /** Heads refused because the most chunks were in assembly already (`maxPartialChunks`). */
  readonly partialRefused: number;
  /** HEAD or PIECE frames of a chunk held or played already (a transfer that crossed a CANCEL). */
  readonly lateDropped: number;
  /** DATA, HEAD or PIECE frames nobody asked for. */
  readonly unsolicitedDropped: number;
  /** Frames over the size limits. */
  readonly oversizeDropped: number;
  /** Requests refused: queue full, repeated, or for chunks not held. */
  readonly requestsRefused: number;
  /** Requests refused BUSY when their turn came because the requester's link was backlogged. */
  readonly backlogRefused: number;
  /** Frames refused as protocol errors (undecodable, before HELLO, out of window). */
  readonly protocolErrors: number;
  /** Neighbours dropped as liars, slow or dead. */
  readonly replaced: number;
  /**
   * Polls more than 100 ms after the wake asked for (the process was not scheduled): each time
   * the playout and the scheduler waited 30 ms for the reads queued meanwhile.
   */
  readonly latePolls: number;
  /** Requests sent, timed out, duplicated to the edge. */
  readonly requests: number;
  readonly timeouts: number;
  readonly duplicates: number;
}
