import { isWildcardAddress as isWildcard } from '../internal/endpoint.ts';
import type { SocketFamily } from './bind-socket.ts';

/** What the process registry needs to know of a pool. */
export interface SiblingPool {
  readonly family: SocketFamily;
  readonly host: string;
  readonly ipv6Only: boolean;
  /** Whether the pool holds `port` in any way (leased, reserved, cooling, draining). */
  holds(port: number): boolean;
}

/**
 * Every open pool of this process. Two pools whose (family, address) can collide must never hand
 * out the same port — not even one that neither holds a socket on right now (a reservation after
 * handoff, a cooling port). The key is the exact tuple, with the kernel's own overlap rules:
 * a wildcard bind collides with every address of its family, and a dual-stack `::` with IPv4 too.
 */
const pools = new Set<SiblingPool>();

export function registerSiblingPool(pool: SiblingPool): void {
  pools.add(pool);
}

export function unregisterSiblingPool(pool: SiblingPool): void {
  pools.delete(pool);
}

/** Whether another pool of this process that collides with `pool` holds `port`. */
export function isHeldBySibling(pool: SiblingPool, port: number): boolean {
  if (pools.size < 2) return false;
  for (const other of pools) {
    if (other !== pool && collide(pool, other) && other.holds(port)) return true;
  }
  return false;
}

function collide(a: SiblingPool, b: SiblingPool): boolean {
  if (a.family === b.family) return a.host === b.host || isWildcard(a.host) || isWildcard(b.host);
  const v6 = a.family === 'udp6' ? a : b;
  return isWildcard(v6.host) && !v6.ipv6Only;
}
