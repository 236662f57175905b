import type { Socket } from 'node:dgram';
import type { SocketFamily } from '../ports/index.ts';
import {
  applySettings,
  joinMembership,
  leaveMembership,
  type MulticastMembership,
  type MulticastSettings,
  type ResolvedMembership,
  resolveMembership,
  resolveSettings,
} from './multicast.ts';

/**
 * The multicast memberships and sender settings of one transport, kept so that they can be applied
 * again to fresh sockets after a rebind.
 */
export class MulticastState {
  readonly #family: SocketFamily;
  readonly #memberships = new Map<string, ResolvedMembership>();
  #settings: MulticastSettings = {};

  constructor(family: SocketFamily) {
    this.#family = family;
  }

  /** Joins on every socket (or none); false for a unicast group; a repeated membership is a no-op. */
  join(sockets: readonly Socket[], membership: MulticastMembership): boolean {
    const m = resolveMembership(membership, this.#family);
    if (m === undefined) return false;
    if (this.#memberships.has(m.key)) return true;
    joinAll(sockets, m);
    this.#memberships.set(m.key, m);
    return true;
  }

  /** Leaves on every socket; false when not joined (or a unicast group). */
  leave(sockets: readonly Socket[], membership: MulticastMembership): boolean {
    const m = resolveMembership(membership, this.#family);
    if (m === undefined || !this.#memberships.delete(m.key)) return false;
    for (const socket of sockets) leaveMembership(socket, m);
    return true;
  }

  /** Applies sender settings to every socket and remembers them (unset fields keep their value). */
  set(sockets: readonly Socket[], settings: MulticastSettings): void {
    const resolved = resolveSettings(settings, this.#family);
    for (const socket of sockets) applySettings(socket, resolved);
    this.#settings = { ...this.#settings, ...resolved };
  }

  /** Applies every membership and setting to fresh sockets (after a rebind). */
  reapply(sockets: readonly Socket[]): void {
    for (const m of this.#memberships.values()) joinAll(sockets, m);
    for (const socket of sockets) applySettings(socket, this.#settings);
  }
}

/** Joins `m` on every socket, or on none. */
function joinAll(sockets: readonly Socket[], m: ResolvedMembership): void {
  sockets.forEach((socket, i) => {
    try {
      joinMembership(socket, m);
    } catch (error) {
      for (const joined of sockets.slice(0, i)) leaveMembership(joined, m);
      throw error;
    }
  });
}
