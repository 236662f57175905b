/**
 * Which candidates a broker passes on (RFC 8445 §19.5.1, the "voice hammer": an introduction must
 * not aim the other peer's probes at third parties). A host candidate is genuine when it is a
 * private, link-local or unique-local address, or the peer's own public IP (a host with a public
 * address); a relay candidate is public (private only when the peer itself registered from a private
 * address: one site, or a test); every candidate needs a port and a unicast address. What passes is
 * then capped.
 * @module
 */
import { isIP } from 'node:net';
import type { Candidate } from './candidates.ts';

/** Most host candidates the broker keeps per peer. */
export const BROKER_MAX_HOST_CANDIDATES = 4;
/** Most relay candidates the broker keeps per peer. */
export const BROKER_MAX_RELAY_CANDIDATES = 2;

function ipv4(address: string): number[] | undefined {
  if (isIP(address) !== 4) return undefined;
  return address.split('.').map(Number);
}

/** Whether `address` is a unicast address one may send to at all (not unspecified, multicast, broadcast). */
export function isUnicastAddress(address: string): boolean {
  const v4 = ipv4(address);
  if (v4 !== undefined) {
    const [a] = v4 as [number];
    if (a === 0 || a >= 224) return false; // 0/8, multicast 224/4, reserved 240/4, broadcast
    return true;
  }
  if (isIP(address) !== 6) return false;
  const lower = address.toLowerCase();
  if (lower === '::' || lower.startsWith('ff')) return false;
  return true;
}

/** Whether `address` is private (RFC 1918, RFC 6598 shared, link-local, loopback, IPv6 ULA / link-local). */
export function isPrivateAddress(address: string): boolean {
  const v4 = ipv4(address);
  if (v4 !== undefined) {
    const [a, b] = v4 as [number, number];
    return (
      a === 10 ||
      a === 127 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  const lower = address.toLowerCase();
  return lower === '::1' || lower.startsWith('fc') || lower.startsWith('fd') || lower.startsWith('fe80');
}

/**
 * The candidates of a registration worth introducing: genuine ones (see the module doc) from the
 * peer registered at `observedAddress`, at most {@link BROKER_MAX_HOST_CANDIDATES} host and
 * {@link BROKER_MAX_RELAY_CANDIDATES} relay ones. Returns the kept list and how many were dropped.
 */
export function genuineCandidates(
  candidates: readonly Candidate[],
  observedAddress: string,
): { kept: Candidate[]; dropped: number } {
  const kept: Candidate[] = [];
  let hosts = 0;
  let relays = 0;
  let dropped = 0;
  for (const c of candidates) {
    const ok =
      c.port >= 1 &&
      c.port <= 65_535 &&
      isUnicastAddress(c.address) &&
      ((c.kind === 'host' &&
        hosts < BROKER_MAX_HOST_CANDIDATES &&
        (isPrivateAddress(c.address) || c.address === observedAddress)) ||
        (c.kind === 'relay' &&
          relays < BROKER_MAX_RELAY_CANDIDATES &&
          (!isPrivateAddress(c.address) || isPrivateAddress(observedAddress))));
    if (!ok) {
      dropped++;
      continue;
    }
    if (c.kind === 'host') hosts++;
    else relays++;
    kept.push({ ...c });
  }
  return { kept, dropped };
}
