/**
 * A peer's rates and its per-second report to the tracker (the `NodeReport` of the tracker's
 * tracker-report.ts): bytes per neighbour from the core's `chunk` events, rates over the last
 * second, at most {@link REPORT_MAX_NEIGHBOURS} neighbours.
 * @module
 */
import type { LivePeerStats } from './peer-stats.ts';

/** Neighbours listed in a report at most (the contract's bound). */
export const REPORT_MAX_NEIGHBOURS = 24;
/** Neighbours whose received bytes are tracked at most. */
const MAX_TRACKED = 256;

/** One neighbour in a report. */
export interface ReportNeighbour {
  readonly id: string;
  readonly pathKind: 'direct' | 'predicted' | 'relay' | 'edge';
  readonly rxBps: number;
  readonly txBps: number;
}

/** The report's shape (the tracker's `NodeReport`). */
export interface PeerNodeReport {
  readonly role: 'peer' | 'edge' | 'source';
  readonly natClass: string;
  readonly uploadBps: number;
  readonly downloadBps: number;
  readonly bytesFromEdge: number;
  readonly bytesFromPeers: number;
  readonly bytesUp: number;
  readonly continuity: number;
  readonly latencyP50Ms: number;
  readonly latencyP95Ms: number;
  readonly stalls: number;
  readonly bans: number;
  readonly chunksPlayed: number;
  readonly chunksMissed: number;
  readonly neighbours: readonly ReportNeighbour[];
}

/** Rates over the last sampling interval. */
export class PeerRates {
  readonly #rx = new Map<string, number>();
  readonly #rxRate = new Map<string, number>();
  #lastAtMs = performance.now();
  #lastDown = 0;
  #lastUp = 0;
  uploadBps = 0;
  downloadBps = 0;

  /** Bytes of a chunk received from `id`. */
  received(id: string, bytes: number): void {
    if (!this.#rx.has(id) && this.#rx.size >= MAX_TRACKED) return;
    this.#rx.set(id, (this.#rx.get(id) ?? 0) + bytes);
  }

  /** Samples the rates (call about once a second). */
  sample(s: LivePeerStats): void {
    const now = performance.now();
    const seconds = Math.max(0.001, (now - this.#lastAtMs) / 1000);
    this.#lastAtMs = now;
    const down = s.bytesFromEdge + s.bytesFromPeers;
    this.downloadBps = ((down - this.#lastDown) * 8) / seconds;
    this.uploadBps = ((s.bytesUploaded - this.#lastUp) * 8) / seconds;
    this.#lastDown = down;
    this.#lastUp = s.bytesUploaded;
    this.#rxRate.clear();
    for (const [id, bytes] of this.#rx) this.#rxRate.set(id, (bytes * 8) / seconds);
    this.#rx.clear();
  }

  /** The report of `s` with the last sampled rates. */
  report(s: LivePeerStats, natClass: string, edgeId: string | undefined): PeerNodeReport {
    const neighbours: ReportNeighbour[] = [];
    for (const n of s.neighbours) {
      if (neighbours.length >= REPORT_MAX_NEIGHBOURS) break;
      const kind = n.isEdge || n.id === edgeId ? 'edge' : n.pathKind === 'unknown' ? 'direct' : n.pathKind;
      neighbours.push({ id: n.id, pathKind: kind, rxBps: Math.round(this.#rxRate.get(n.id) ?? 0), txBps: 0 });
    }
    return {
      role: 'peer',
      natClass,
      uploadBps: Math.round(this.uploadBps),
      downloadBps: Math.round(this.downloadBps),
      bytesFromEdge: s.bytesFromEdge,
      bytesFromPeers: s.bytesFromPeers,
      bytesUp: s.bytesUploaded,
      continuity: s.continuity,
      latencyP50Ms: Number.isNaN(s.latencyP50Ms) ? 0 : s.latencyP50Ms,
      latencyP95Ms: Number.isNaN(s.latencyP95Ms) ? 0 : s.latencyP95Ms,
      stalls: s.stalls,
      bans: s.bans,
      chunksPlayed: s.played,
      chunksMissed: s.skipped,
      neighbours,
    };
  }
}
