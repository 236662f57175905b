import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ConfigError, PortholeError, throwIfAborted } from '../errors/index.ts';
import type { NatBehavior, NatEndpoint } from './behavior.ts';
import { type DiscoverNatOptions, discoverNat } from './discover.ts';
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
 * `ERR_NAT_INVALID_OPTIONS`, `ERR_NAT_SERVER_UNRESOLVED`, `ERR_NAT_SERVER_ERROR`,
 * `ERR_NAT_BAD_RESPONSE`, `ERR_ABORTED`, or a PortBindError.
 */
export async function detectNat(options: DetectNatOptions): Promise<NatBehavior> {
  throwIfAborted(options.signal);
  const family = options.family ?? 'udp4';
  const server = await resolveServer(options.server, family, options.signal);
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
 * @throws ConfigError `ERR_NAT_INVALID_OPTIONS` when malformed.
 */
export function parseServerAddress(text: string): { readonly host: string; readonly port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let host: string;
  let portText: string | undefined;
  if (bracketed !== null) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (isIP(text) === 6) {
    host = text;
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  const port = portText === undefined ? DEFAULT_STUN_PORT : Number(portText);
  if (host === '' || /\s/.test(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError('ERR_NAT_INVALID_OPTIONS', `"${text}" is not host[:port] with a port of 1–65535`);
  }
  return { host, port };
}

async function resolveServer(
  server: string | NatEndpoint,
  family: 'udp4' | 'udp6',
  signal: AbortSignal | undefined,
): Promise<NatEndpoint> {
  const { host, port } =
    typeof server === 'string' ? parseServerAddress(server) : { host: server.address, port: server.port };
  if (isIP(host) !== 0) return { address: host, port };
  try {
    const found = await lookup(host, { family: family === 'udp4' ? 4 : 6 });
    throwIfAborted(signal);
    return { address: found.address, port };
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_ABORTED') throw error;
    throw new PortholeError('ERR_NAT_SERVER_UNRESOLVED', `cannot resolve the STUN server "${host}"`, {
      cause: error,
    });
  }
}
