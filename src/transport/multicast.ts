import type { Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { InvalidOptionError, PortholeError } from '../errors/index.ts';
import type { SocketFamily } from '../ports/index.ts';
import { TransportErrorCode } from './errors.ts';
import { familyOf } from './validate.ts';

/** A group to receive. */
export interface MulticastMembership {
  /** Group address; a unicast address makes the join a no-op. */
  readonly group: string;
  /** Source-specific multicast (RFC 4607): accept the group only from this source. */
  readonly source?: string;
  /**
   * Interface to join on: an interface name (`eth0`), an IPv4 address of it, or for IPv6 `::%eth0`.
   * Default: the kernel's choice (the route to the group).
   */
  readonly iface?: string;
}

/** Sender settings for multicast. */
export interface MulticastSettings {
  /** IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS, 0–255. */
  readonly ttl?: number;
  /** Outgoing interface: a name, an IPv4 address of it, or `::%name` for IPv6. */
  readonly iface?: string;
  /** IP_MULTICAST_LOOP: deliver our own multicast to sockets on this host. */
  readonly loopback?: boolean;
}

/** A membership checked against the socket family, with its interface resolved. */
export interface ResolvedMembership {
  readonly group: string;
  readonly source: string | undefined;
  readonly iface: string | undefined;
  /** Identity of the membership (joining twice is a no-op). */
  readonly key: string;
}

/** Whether `address` is an IPv4 (224.0.0.0/4, RFC 5771) or IPv6 (ff00::/8, RFC 4291 §2.7) group. */
export function isMulticastAddress(address: string): boolean {
  const family = familyOf(address);
  if (family === 'udp4') {
    const first = Number(address.slice(0, address.indexOf('.')));
    return first >= 224 && first <= 239;
  }
  return family === 'udp6' && address.toLowerCase().startsWith('ff');
}

/**
 * Checks a membership against a socket family; undefined for a unicast group (nothing to join).
 * @throws InvalidOptionError `ERR_INVALID_OPTION`.
 */
export function resolveMembership(
  membership: MulticastMembership,
  family: SocketFamily,
): ResolvedMembership | undefined {
  const { group, source } = membership;
  const groupFamily = typeof group === 'string' ? familyOf(group) : undefined;
  if (groupFamily === undefined) {
    throw new InvalidOptionError('group', `group "${String(group)}" is not an IP address`);
  }
  if (groupFamily !== family) {
    throw new InvalidOptionError(
      'group',
      `group ${group} is not a ${family} address; bind the transport in the group's family`,
    );
  }
  if (!isMulticastAddress(group)) return undefined;
  if (source !== undefined && (familyOf(source) !== family || isMulticastAddress(source))) {
    throw new InvalidOptionError(
      'source',
      `source "${source}" must be a unicast ${family} address (RFC 4607)`,
    );
  }
  const iface = membership.iface === undefined ? undefined : resolveInterface(membership.iface, family);
  return { group, source, iface, key: `${source ?? '*'}>${group}@${iface ?? ''}` };
}

/**
 * Turns an interface name or address into what the kernel calls take: an IPv4 address of the
 * interface, or `::%name` for IPv6.
 * @throws InvalidOptionError `ERR_INVALID_OPTION`.
 */
export function resolveInterface(iface: string, family: SocketFamily): string {
  const literal = familyOf(iface);
  if (literal === family) return iface;
  if (literal === undefined) {
    const entries = networkInterfaces()[iface];
    if (entries !== undefined) {
      if (family === 'udp6') return `::%${iface}`;
      const v4 = entries.find((e) => e.family === 'IPv4');
      if (v4 !== undefined) return v4.address;
    }
  }
  throw new InvalidOptionError(
    'interface',
    `interface "${iface}" has no ${family === 'udp4' ? 'IPv4' : 'IPv6'} address here`,
  );
}

/** Joins `m` on `socket`. @throws PortholeError `ERR_TRANSPORT_MULTICAST_FAILED`. */
export function joinMembership(socket: Socket, m: ResolvedMembership): void {
  try {
    if (m.source === undefined) socket.addMembership(m.group, m.iface);
    else socket.addSourceSpecificMembership(m.source, m.group, m.iface);
  } catch (error) {
    throw multicastFailed(`joining ${m.key}`, error);
  }
}

/** Leaves `m` on `socket`; a socket that already left (or closed) is not an error. */
export function leaveMembership(socket: Socket, m: ResolvedMembership): void {
  try {
    if (m.source === undefined) socket.dropMembership(m.group, m.iface);
    else socket.dropSourceSpecificMembership(m.source, m.group, m.iface);
  } catch {
    // Leaving is best effort: closing the socket drops every membership anyway.
  }
}

/**
 * Checks sender settings; resolves the interface.
 * @throws InvalidOptionError `ERR_INVALID_OPTION`.
 */
export function resolveSettings(settings: MulticastSettings, family: SocketFamily): MulticastSettings {
  const { ttl, loopback } = settings;
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 0 && ttl <= 255)) {
    throw new InvalidOptionError('ttl', `multicast ttl must be 0–255, got ${ttl}`);
  }
  if (loopback !== undefined && typeof loopback !== 'boolean') {
    throw new InvalidOptionError('loopback', 'multicast loopback must be a boolean');
  }
  return {
    ...(ttl === undefined ? {} : { ttl }),
    ...(loopback === undefined ? {} : { loopback }),
    ...(settings.iface === undefined ? {} : { iface: resolveInterface(settings.iface, family) }),
  };
}

/** Applies sender settings to `socket`. @throws PortholeError `ERR_TRANSPORT_MULTICAST_FAILED`. */
export function applySettings(socket: Socket, settings: MulticastSettings): void {
  try {
    if (settings.ttl !== undefined) socket.setMulticastTTL(settings.ttl);
    if (settings.loopback !== undefined) socket.setMulticastLoopback(settings.loopback);
    if (settings.iface !== undefined) socket.setMulticastInterface(settings.iface);
  } catch (error) {
    throw multicastFailed('setting multicast options', error);
  }
}

function multicastFailed(what: string, error: unknown): PortholeError {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
  return new PortholeError(
    TransportErrorCode.MULTICAST_FAILED,
    `${what} failed (${errno}): check the interface, a multicast route (ip route add 224.0.0.0/4 dev <if>) and IGMP/MLD limits`,
    { cause: error },
  );
}
