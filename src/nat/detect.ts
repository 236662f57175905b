import { throwIfAborted } from '../errors/index.ts';
import { parseHostPort, resolveHostPort } from '../internal/host-port.ts';
import type { NatBehavior, NatEndpoint } from './behavior.ts';
import { type DiscoverNatOptions, discoverNat } from './discover.ts';
import { NatErrorCode } from './errors.ts';
import { StunDiscoveryTransport, type StunDiscoveryTransportOptions } from './stun-transport.ts';

/** Default STUN port. RFC 8489 §18.4. */
export const DEFAULT_STUN_PORT = 3478;

/** Settings of {@link detectNat}. */
export interface DetectNatOptions
  extends StunDiscoveryTransportOptions,
    Omit<DiscoverNatOptions, 'server' | 'sleep'> {
  /** The RFC 5780 server: `host`, `host:port`, `[v6]:port`, or an endpoint. Port default 3478. */
  readonly server: string | NatEndpoint;
}

/**
 * Discovers the NAT in front of this host with an RFC 5780 STUN server over real UDP sockets
 * (bound through ports/) and closes them. See {@link discoverNat} for the steps. Rejects with
 * `ERR_INVALID_OPTION`, `ERR_NAT_SERVER_UNRESOLVED`, `ERR_NAT_SERVER_ERROR`,
 * `ERR_NAT_BAD_RESPONSE`, `ERR_ABORTED`, or a PortBindError.
 */
export async function detectNat(options: DetectNatOptions): Promise<NatBehavior> {
  throwIfAborted(options.signal);
  const family = options.family ?? 'udp4';
  const server = await resolveHostPort(options.server, {
    option: 'server',
    defaultPort: DEFAULT_STUN_PORT,
    family,
    unresolvedCode: NatErrorCode.SERVER_UNRESOLVED,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  await using transport = new StunDiscoveryTransport({ ...options, family });
  return await discoverNat(transport, {
    server,
    ...(options.hairpinning === undefined ? {} : { hairpinning: options.hairpinning }),
    ...(options.lifetime === undefined ? {} : { lifetime: options.lifetime }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

/**
 * Parses `host`, `host:port`, `[v6]` or `[v6]:port` (port default {@link DEFAULT_STUN_PORT}).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` (`option: 'server'`) when malformed.
 */
export function parseServerAddress(text: string): { readonly host: string; readonly port: number } {
  const { host, port } = parseHostPort(text, { option: 'server' });
  return { host, port: port ?? DEFAULT_STUN_PORT };
}
