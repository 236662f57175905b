/**
 * A peer's neighbours among the other peers: it asks the tracker for candidates, lets the
 * {@link NeighbourSelector} pick reachable ones (NAT-aware, uploaders first) towards the target
 * degree, dials them through the punch endpoint (direct, predicted or relayed links), accepts the
 * links others dial, and replaces neighbours that leave, die, lie or are banned. Every link it
 * made is closed when the node no longer has that neighbour.
 * @module
 */
import type { PathKind, PunchLink, PunchPeer } from '../punch/index.ts';
import type { LiveArqNode } from './arq-node.ts';
import { type NatClassValue, NeighbourSelector } from './neighbours.ts';
import type { PeerSession } from './peer-session.ts';

/** The mesh looks after its degree this often, ms. */
export const MESH_TICK_MS = 1_000;
/** Candidates asked of the tracker at once. */
export const MESH_CANDIDATES = 16;
/** Dials in flight at most. */
export const MESH_MAX_DIALS = 4;

/** Settings of a {@link PeerMesh}. */
export interface PeerMeshOptions {
  /** This peer's id at the tracker (breaks the tie when two peers dial each other). */
  readonly peerId: string;
  readonly node: LiveArqNode;
  readonly session: PeerSession;
  readonly nat: NatClassValue;
  /** Whether a TURN relay is configured (symmetric ↔ symmetric becomes reachable). */
  readonly relay: boolean;
  /** Peer neighbours to keep; default 8. */
  readonly targetDegree?: number;
  /** Peer neighbours at most, inbound included; default 2 × target. */
  readonly maxDegree?: number;
  /** This node uploads (a leech asks only for uploaders). */
  readonly uploads: boolean;
}

/** Counters of a {@link PeerMesh}. */
export interface PeerMeshStats {
  readonly degree: number;
  readonly dials: number;
  readonly dialFailures: number;
  readonly accepted: number;
  readonly refusedFull: number;
  readonly replaced: number;
  /** Candidates the selector refused for want of a path (e.g. symmetric ↔ symmetric, no relay). */
  readonly unreachable: number;
}

/** One punch link of a {@link PeerMesh}, as {@link PeerMesh.links} lists it. */
export interface PeerMeshLink {
  /** The neighbour's peer id. */
  readonly id: string;
  /** How data travels now (`null`: the path is lost and the link re-punches). */
  readonly path: PathKind | null;
  /** The link's first path, when it came up. */
  readonly firstPath: PathKind;
  /**
   * Punch probes sent before the first path came up: 0 for a link that went to the relay at once
   * (symmetric ↔ symmetric), more for one that punched (or punched, failed, and fell back).
   */
  readonly probesBeforePath: number;
  /** Whether this side dialled it. */
  readonly dialled: boolean;
}

/** See the module doc. */
export class PeerMesh {
  readonly #o: PeerMeshOptions;
  readonly #punch: PunchPeer;
  readonly #selector: NeighbourSelector;
  readonly #links = new Map<string, PunchLink>();
  /** Whether this side dialled the link of each neighbour. */
  readonly #dialled = new Map<string, boolean>();
  /** How each link's first path came up: its kind and the probes sent before it. */
  readonly #first = new Map<string, { kind: PathKind; probes: number }>();
  readonly #dialling = new Set<string>();
  readonly #abort = new AbortController();
  readonly #timer: NodeJS.Timeout;
  readonly #max: number;
  #asking = false;
  #askedAtMs = Number.NEGATIVE_INFINITY;
  readonly #c = { dials: 0, dialFailures: 0, accepted: 0, refusedFull: 0, replaced: 0 };

  constructor(options: PeerMeshOptions) {
    this.#o = options;
    this.#punch = options.session.punch;
    this.#selector = new NeighbourSelector({
      nat: options.nat,
      relay: options.relay,
      targetDegree: options.targetDegree ?? 8,
    });
    this.#max = options.maxDegree ?? 2 * this.#selector.targetDegree;
    this.#timer = setInterval(() => this.tick(), MESH_TICK_MS);
    this.#timer.unref();
    void this.#acceptLoop();
  }

  /** Never dials `id` again (banned, or dropped as a liar). */
  avoid(id: string): void {
    this.#selector.avoid(id);
  }

  /** A neighbour was dropped or banned: close its link, dial a replacement now. */
  replace(id: string): void {
    this.#c.replaced++;
    this.#closeLink(id);
    this.tick();
  }

  /** Closes the links of neighbours the node no longer has; dials towards the target degree. */
  tick(): void {
    if (this.#abort.signal.aborted) return;
    for (const id of [...this.#links.keys()]) if (!this.#o.node.core.hasNeighbour(id)) this.#closeLink(id);
    this.#dialSome();
    const now = performance.now();
    if (
      this.#links.size + this.#dialling.size < this.#selector.targetDegree &&
      now - this.#askedAtMs >= MESH_TICK_MS
    ) {
      this.#askedAtMs = now;
      void this.#ask();
    }
  }

  #dialSome(): void {
    const current = this.#links.size + this.#dialling.size;
    if (current >= this.#selector.targetDegree) return;
    const connected = (id: string): boolean => this.#links.has(id) || this.#dialling.has(id);
    const picks = this.#selector.pick(current, connected).slice(0, MESH_MAX_DIALS - this.#dialling.size);
    for (const c of picks) void this.#dial(c.id);
  }

  stats(): PeerMeshStats {
    return {
      degree: this.#links.size,
      ...this.#c,
      unreachable: this.#selector.counters.unreachable,
    };
  }

  /** The punch links now, with how each came up. */
  links(): PeerMeshLink[] {
    return [...this.#links].map(([id, link]) => ({
      id,
      path: link.path,
      firstPath: this.#first.get(id)?.kind ?? 'direct',
      probesBeforePath: this.#first.get(id)?.probes ?? 0,
      dialled: this.#dialled.get(id) ?? false,
    }));
  }

  /** Stops dialling and accepting; closes every link. */
  async close(): Promise<void> {
    if (this.#abort.signal.aborted) return;
    this.#abort.abort();
    clearInterval(this.#timer);
    await Promise.all([...this.#links.values()].map((l) => l.close()));
    this.#links.clear();
  }

  async #ask(): Promise<void> {
    if (this.#asking) return;
    this.#asking = true;
    try {
      const candidates = await this.#o.session.candidates(MESH_CANDIDATES);
      this.#selector.offer(candidates.filter((c) => c.uploads || this.#o.uploads));
    } catch {
      // the tracker is unreachable for now: the next tick asks again
    } finally {
      this.#asking = false;
    }
    if (!this.#abort.signal.aborted) this.#dialSome();
  }

  async #dial(id: string): Promise<void> {
    this.#dialling.add(id);
    this.#c.dials++;
    try {
      const link = await this.#punch.dial(id, { signal: this.#abort.signal });
      this.#dialling.delete(id);
      this.#add(id, link, true);
    } catch {
      this.#dialling.delete(id);
      this.#c.dialFailures++;
    }
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let link: PunchLink;
      try {
        link = await this.#punch.accept({ signal: this.#abort.signal });
      } catch {
        return; // closed or aborted
      }
      if (this.#links.size >= this.#max || this.#o.node.core.isBanned(link.peerId)) {
        this.#c.refusedFull++;
        void link.close();
        continue;
      }
      this.#c.accepted++;
      this.#add(link.peerId, link, false);
    }
  }

  #add(id: string, link: PunchLink, dialled: boolean): void {
    if (this.#abort.signal.aborted) {
      void link.close();
      return;
    }
    if (this.#links.has(id)) {
      // Both dialled at once: both sides keep the link the smaller id dialled.
      const keepDialled = this.#o.peerId < id;
      if (this.#dialled.get(id) === keepDialled || dialled !== keepDialled) {
        void link.close();
        return;
      }
      this.#closeLink(id);
    }
    this.#links.set(id, link);
    this.#dialled.set(id, dialled);
    this.#first.set(id, { kind: link.path ?? 'direct', probes: link.stats().probesSent });
    link.once('close', () => {
      if (this.#links.get(id) !== link) return;
      this.#links.delete(id);
      this.#dialled.delete(id);
      this.#first.delete(id);
      this.#o.node.detach(id);
    });
    this.#o.node.attach(id, link, link.path ?? 'unknown');
  }

  #closeLink(id: string): void {
    const link = this.#links.get(id);
    if (link === undefined) return;
    this.#links.delete(id);
    this.#dialled.delete(id);
    this.#first.delete(id);
    this.#o.node.detach(id);
    void link.close();
  }
}
