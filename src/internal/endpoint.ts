/**
 * One UDP transport address shape for every layer, and the few things done with it: compare,
 * key, print, and the wildcard address of a socket family.
 * @module
 */

/** A UDP transport address: an IP address in text form and a port. */
export interface Endpoint {
  /** IP address in text form (IPv4 dotted quad or IPv6; no host names). */
  readonly address: string;
  /** UDP port, 0–65535. */
  readonly port: number;
}

/** A `dgram` socket family. */
export type UdpFamily = 'udp4' | 'udp6';

/** The wildcard ("any") address of each family: `0.0.0.0` and `::`. */
export const WILDCARD_ADDRESS = { udp4: '0.0.0.0', udp6: '::' } as const satisfies Record<UdpFamily, string>;

/** The wildcard address of `family` (`0.0.0.0` for udp4, `::` for udp6). */
export function wildcardAddress(family: UdpFamily): string {
  return family === 'udp6' ? WILDCARD_ADDRESS.udp6 : WILDCARD_ADDRESS.udp4;
}

/** Whether `address` is a wildcard address (`0.0.0.0`, `::` or `::0`). */
export function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '::0';
}

/** Whether two endpoints have the same address text and port. */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && a.address === b.address;
}

/**
 * `ip:port`, with brackets around an IPv6 address (`[::1]:3478`). Also the map key of an
 * endpoint: two endpoints have the same key exactly when {@link sameEndpoint} holds.
 */
export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.address.includes(':')
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`;
}

/** The map key of an endpoint (same text as {@link formatEndpoint}). */
export const endpointKey: (endpoint: Endpoint) => string = formatEndpoint;
