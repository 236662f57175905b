/**
 * What a live peer needs of its tracker session (the tracker engineer's `TrackerSession`
 * satisfies it): the punch endpoint registered at the tracker on the peer's own socket, the
 * channel's edges, candidate neighbours, and the reports.
 * @module
 */
import type { Endpoint } from '../internal/endpoint.ts';
import type { PunchPeer } from '../punch/index.ts';
import type { Candidate } from './neighbours.ts';

/** An edge of the channel as the tracker lists it. */
export interface SessionEdge {
  readonly id: string;
  readonly endpoint: Endpoint;
}

/** A peer's tracker session (structural: `TrackerSession` of tracker-session.ts is one). */
export interface PeerSession {
  readonly punch: PunchPeer;
  readonly edges: readonly SessionEdge[];
  /** The channel's public key once a source proved it to the tracker. */
  readonly publicKey?: Buffer | null;
  on(event: 'edges', listener: (edges: readonly SessionEdge[]) => void): unknown;
  off(event: 'edges', listener: (edges: readonly SessionEdge[]) => void): unknown;
  candidates(n: number): Promise<Candidate[]>;
  // biome-ignore lint/suspicious/noExplicitAny: the tracker's NodeReport; kept structural here
  report(report: any): void;
  reportForged(peerId: string): void;
  close(): Promise<void>;
}
