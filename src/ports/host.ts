import { isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { InvalidOptionError } from '../errors/index.ts';
import { isWildcardAddress, WILDCARD_ADDRESS } from '../internal/endpoint.ts';
import type { SocketFamily } from './bind-socket.ts';

/**
 * Checks that `host` is an IP address of `family` assigned to this machine (or the wildcard,
 * or any 127/8 and ::1 loopback address).
 * @throws InvalidOptionError `ERR_INVALID_OPTION`.
 */
export function checkLocalHost(host: string, family: string): void {
  if (family !== 'udp4' && family !== 'udp6') {
    throw new InvalidOptionError('family', `family "${family}" must be "udp4" or "udp6"`);
  }
  const ok = family === 'udp4' ? isIPv4(host) : isIPv6(host);
  if (!ok) {
    throw new InvalidOptionError(
      'host',
      `host "${host}" is not an ${family === 'udp4' ? 'IPv4' : 'IPv6'} address; pools bind IP addresses, not names`,
    );
  }
  if (isWildcardAddress(host) || isLoopback(host)) return;
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) {
      if (stripZone(entry.address) === stripZone(host)) return;
    }
  }
  throw new InvalidOptionError(
    'host',
    `host ${host} is not an address of this machine; use a local interface address or ${WILDCARD_ADDRESS[family as SocketFamily]}`,
  );
}

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1';
}

function stripZone(address: string): string {
  const i = address.indexOf('%');
  return (i < 0 ? address : address.slice(0, i)).toLowerCase();
}
