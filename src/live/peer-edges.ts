/**
 * A peer's edge: it keeps one edge of the channel attached (the scheduler's fallback and seed
 * source), chosen by a hash of the peer's id so the peers of a channel spread over its edges. When
 * that edge dies (no ADMIT answer for 1.5 s), restarts, refuses, or leaves the tracker's list, the
 * next one is dialled at once; a failed edge is avoided for {@link EDGE_RETRY_AFTER_MS}.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Endpoint } from '../internal/endpoint.ts';
import type { LiveArqNode } from './arq-node.ts';
import type { EdgeCredential, EdgeLink, EdgeLinkTable } from './edge-links.ts';
import type { SessionEdge } from './peer-session.ts';

/** An edge that failed is not dialled again for this long, ms (unless it is the only one). */
export const EDGE_RETRY_AFTER_MS = 10_000;
/** The attached edge is checked this often, ms. */
export const EDGE_CHECK_EVERY_MS = 250;
/** Neighbour ids of edges in the node start with this (peer ids never do: they come from tokens). */
export const EDGE_NEIGHBOUR_PREFIX = 'edge:';

/** Counters of {@link PeerEdges}. */
export interface PeerEdgesStats {
  /** The attached edge's id, or null. */
  readonly edge: string | null;
  readonly endpoint: Endpoint | null;
  /** Edges dialled, lost (dead, restarted, refused or de-listed), switched to. */
  readonly dials: number;
  readonly failures: number;
  readonly switches: number;
}

/** See the module doc. */
export class PeerEdges {
  readonly #node: LiveArqNode;
  readonly #links: EdgeLinkTable;
  readonly #credential: EdgeCredential;
  readonly #rank: (edge: SessionEdge) => number;
  #edges: readonly SessionEdge[] = [];
  #current: { edge: SessionEdge; link: EdgeLink } | undefined;
  #dialling = false;
  readonly #failedAt = new Map<string, number>();
  readonly #c = { dials: 0, failures: 0, switches: 0 };
  #closed = false;
  readonly #timer: NodeJS.Timeout;

  constructor(node: LiveArqNode, links: EdgeLinkTable, credential: EdgeCredential, peerId: string) {
    this.#node = node;
    // An edge's BYE (it is closing) removes it from the node at once: notice within 250 ms.
    this.#timer = setInterval(() => this.check(), EDGE_CHECK_EVERY_MS);
    this.#timer.unref();
    this.#links = links;
    this.#credential = credential;
    // Rendezvous hashing: each peer ranks the edges by hash(peer, edge); the peers spread evenly
    // and only the peers of a lost edge move.
    this.#rank = (edge) => createHash('sha256').update(`${peerId}|${edge.id}`).digest().readUInt32BE(0);
  }

  /** The neighbour id of the attached edge, or undefined. */
  get neighbourId(): string | undefined {
    return this.#current === undefined ? undefined : EDGE_NEIGHBOUR_PREFIX + this.#current.edge.id;
  }

  /** The tracker's list of edges changed. */
  update(edges: readonly SessionEdge[]): void {
    this.#edges = edges;
    const c = this.#current;
    if (c !== undefined && !edges.some((e) => e.id === c.edge.id)) this.#lose('delisted');
    void this.#ensure();
  }

  /** The edge link was lost (the link table noticed). */
  lost(link: EdgeLink): void {
    if (this.#current?.link === link) this.#lose('dead');
  }

  /** Whether the attached edge is still the node's neighbour; re-dials when not. */
  check(): void {
    const c = this.#current;
    if (c !== undefined && !this.#node.core.hasNeighbour(EDGE_NEIGHBOUR_PREFIX + c.edge.id))
      this.#lose('dead');
    void this.#ensure();
  }

  stats(): PeerEdgesStats {
    return {
      edge: this.#current?.edge.id ?? null,
      endpoint: this.#current?.edge.endpoint ?? null,
      ...this.#c,
    };
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#current?.link.close();
    this.#current = undefined;
  }

  #lose(_why: string): void {
    const c = this.#current;
    if (c === undefined) return;
    this.#current = undefined;
    this.#c.failures++;
    this.#failedAt.set(c.edge.id, performance.now());
    this.#node.detach(EDGE_NEIGHBOUR_PREFIX + c.edge.id);
    c.link.close();
  }

  async #ensure(): Promise<void> {
    if (this.#closed || this.#current !== undefined || this.#dialling || this.#edges.length === 0) return;
    this.#dialling = true;
    try {
      const now = performance.now();
      const fresh = (e: SessionEdge): boolean =>
        now - (this.#failedAt.get(e.id) ?? Number.NEGATIVE_INFINITY) > EDGE_RETRY_AFTER_MS;
      const order = [...this.#edges].sort((a, b) => this.#rank(b) - this.#rank(a));
      const tries = [...order.filter(fresh), ...order.filter((e) => !fresh(e))];
      for (const edge of tries) {
        if (this.#closed) return;
        this.#c.dials++;
        try {
          const link = await this.#links.dial(edge.endpoint, this.#credential, { timeoutMs: 1_500 });
          if (this.#closed) {
            link.close();
            return;
          }
          if (this.#c.dials > 1) this.#c.switches++;
          this.#current = { edge, link };
          this.#failedAt.delete(edge.id);
          this.#node.attach(EDGE_NEIGHBOUR_PREFIX + edge.id, link, 'direct');
          return;
        } catch {
          this.#c.failures++;
          this.#failedAt.set(edge.id, performance.now());
        }
      }
    } finally {
      this.#dialling = false;
    }
  }
}
