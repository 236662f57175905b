/**
 * One channel's state at the tracker: its key, its edges and its nodes (local ones, joined here,
 * and remote ones, joined at another tracker instance sharing a store), and the candidate sample
 * a joining peer gets: reachable for its NAT class (`pathKindBetween`: no symmetric ↔ symmetric
 * unless one side has a relay), not flagged as a polluter, preferring spare upload.
 * @module
 */
import type { Endpoint } from '../internal/endpoint.ts';
import { type NatClassValue, pathKindBetween } from './neighbours.ts';
import type { TrackerCandidateWire, TrackerEdge, TrackerNatClass, TrackerRoleValue } from './tracker-wire.ts';

/** A node the tracker knows, here or at another instance. */
export interface TrackerNode {
  readonly id: string;
  readonly role: TrackerRoleValue;
  readonly nat: TrackerNatClass;
  readonly relay: boolean;
  spareUploadBps: number;
  readonly uploadCapBps: number;
  /** Where peers and sources reach an edge (its declared endpoint, else its address). */
  readonly edgeEndpoint: Endpoint | null;
  readonly joinedAtMs: number;
  lastSeenMs: number;
  /** Reported by this many distinct peers as a sender of forged chunks; flagged at the threshold. */
  flagged: boolean;
  /** Index in its channel's peer list (−1 when not a sampled peer). */
  index: number;
  /** Whether it joined at another instance (its record comes from the store). */
  readonly remote: boolean;
}

/** The live layer's NAT class for reachability (the nat layer's names mapped onto it). */
export function reachabilityClass(nat: TrackerNatClass): NatClassValue {
  switch (nat) {
    case 'open':
      return 'open';
    case 'full-cone':
      return 'full-cone';
    case 'address-restricted':
    case 'restricted':
      return 'restricted';
    case 'symmetric':
    case 'blocked':
      return 'symmetric';
    default:
      return 'port-restricted'; // unknown, firewalled: assume filtering, not a symmetric mapping
  }
}

/** A channel and its nodes. */
export class TrackerChannel {
  readonly id: Buffer;
  readonly key: string;
  publicKey: Buffer | null;
  readonly createdAtMs: number;
  /** Sampled peers (role peer), local and remote, in one array for O(1) random picks. */
  readonly peers: TrackerNode[] = [];
  readonly edges = new Map<string, TrackerNode>();
  readonly sources = new Set<string>();
  /** Nodes of other instances, by id. */
  readonly remoteNodes = new Map<string, TrackerNode>();
  edgesVersion = 1;
  /** Nodes of any role in the channel, local and remote. */
  size = 0;
  readonly counters = { joins: 0, leaves: 0, expired: 0, flagged: 0, drops: 0 };

  constructor(id: Buffer, publicKey: Buffer | null, createdAtMs: number) {
    this.id = id;
    this.key = id.toString('hex');
    this.publicKey = publicKey;
    this.createdAtMs = createdAtMs;
  }

  /** Adds `node` under its role. */
  add(node: TrackerNode): void {
    this.size++;
    if (node.role === 'peer') {
      node.index = this.peers.length;
      this.peers.push(node);
    } else if (node.role === 'edge') {
      this.edges.set(node.id, node);
      this.edgesVersion = (this.edgesVersion + 1) >>> 0 || 1;
    } else {
      this.sources.add(node.id);
    }
  }

  /** Removes `node` (swap-remove from the peer list). */
  remove(node: TrackerNode): void {
    this.size--;
    if (node.role === 'peer') {
      const i = node.index;
      const last = this.peers.pop();
      if (last !== undefined && last !== node && i >= 0 && i < this.peers.length + 1) {
        this.peers[i] = last;
        last.index = i;
      }
      node.index = -1;
    } else if (node.role === 'edge') {
      if (this.edges.get(node.id) === node) {
        this.edges.delete(node.id);
        this.edgesVersion = (this.edgesVersion + 1) >>> 0 || 1;
      }
    } else {
      this.sources.delete(node.id);
    }
  }

  /** Forgets the remote record of `id` (it joined here now). */
  removeRemoteTwin(id: string): void {
    const twin = this.remoteNodes.get(id);
    if (twin === undefined) return;
    this.remoteNodes.delete(id);
    this.remove(twin);
  }

  /** The edges as the wire carries them (at most `max`). */
  edgeList(max: number): TrackerEdge[] {
    const out: TrackerEdge[] = [];
    for (const e of this.edges.values()) {
      if (out.length >= max) break;
      if (e.edgeEndpoint !== null) out.push({ id: e.id, endpoint: e.edgeEndpoint });
    }
    return out;
  }

  /**
   * Up to `want` candidates for `asker`: reachable, unflagged, other nodes that `usable` admits,
   * drawn at random (every peer of a small channel, 4·want of a large one), the ones with the
   * most spare upload first.
   */
  sample(
    asker: { readonly id: string; readonly nat: TrackerNatClass; readonly relay: boolean },
    want: number,
    random: () => number,
    usable: (node: TrackerNode) => boolean,
  ): TrackerCandidateWire[] {
    const peers = this.peers;
    const n = peers.length;
    if (want <= 0 || n === 0) return [];
    const mine = reachabilityClass(asker.nat);
    const chosen = new Set<TrackerNode>();
    // Small lists (≤ 4·want + 8): walk them all from a random start; large ones: random picks
    // until 4·want candidates (or 4·want + 8 tries). Then the most spare upload first.
    const small = n <= 4 * want + 8;
    const target = small ? n : 4 * want;
    const tries = small ? n : 4 * want + 8;
    const start = Math.floor(random() * n);
    for (let t = 0; t < tries && chosen.size < target; t++) {
      const node = small ? peers[(start + t) % n]! : peers[Math.floor(random() * n)]!;
      if (node.id === asker.id || node.flagged || chosen.has(node) || !usable(node)) continue;
      const relay = asker.relay || node.relay;
      if (pathKindBetween(mine, reachabilityClass(node.nat), relay) === undefined) continue;
      chosen.add(node);
    }
    const list = [...chosen].sort((a, b) => b.spareUploadBps - a.spareUploadBps).slice(0, want);
    return list.map((node) => ({
      id: node.id,
      nat: node.nat,
      uploads: node.spareUploadBps > 0,
      spareUploadBps: node.spareUploadBps,
    }));
  }
}
