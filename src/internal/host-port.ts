/**
 * `host[:port]` text: parsing (`host`, `host:port`, `v6`, `[v6]`, `[v6]:port`) and resolution of
 * a host name to one address of a family. One parser for every option and CLI flag that names a
 * server or a listen address.
 * @module
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AbortError, InvalidOptionError, PortholeError } from '../errors/index.ts';
import { raceAbort } from './abort.ts';
import type { Endpoint, UdpFamily } from './endpoint.ts';

/** `host[:port]` split apart; `port` is absent when the text gave none. */
export interface HostPort {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** Port, when the text gave one. */
  readonly port?: number;
}

/** How {@link parseHostPort} checks what it reads. */
export interface ParseHostPortOptions {
  /** The option or flag the text came from, for `InvalidOptionError.option` (`'server'`, `'--listen'`). */
  readonly option: string;
  /** Smallest port accepted. Default 1. */
  readonly minPort?: number;
  /** Largest port accepted. Default 65535. */
  readonly maxPort?: number;
}

/**
 * Splits `host`, `host:port`, a bare IPv6 address, `[v6]` or `[v6]:port`.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming `options.option` for an empty host, white space, a port that is not
 *   decimal digits or lies outside `minPort`–`maxPort`.
 */
export function parseHostPort(text: string, options: ParseHostPortOptions): HostPort {
  const bracketed = /^\[([^\]]+)\](?::([^:]*))?$/.exec(text);
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
  const min = options.minPort ?? 1;
  const max = options.maxPort ?? 65_535;
  if (host === '' || /[\s[\]]/.test(host) || host.includes(':') !== (isIP(host) === 6)) {
    throw new InvalidOptionError(options.option, `"${text}" is not host[:port] (IPv6 as [address]:port)`);
  }
  if (portText === undefined) return { host };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= min && port <= max)) {
    throw new InvalidOptionError(options.option, `"${text}" needs a port of ${min}–${max}`);
  }
  return { host, port };
}

/** How {@link resolveHostPort} reads and resolves a target. */
export interface ResolveHostPortOptions extends ParseHostPortOptions {
  /** Port when the text gives none. */
  readonly defaultPort: number;
  /** Address family to resolve a host name to. Default `'udp4'`. */
  readonly family?: UdpFamily;
  /** PortholeError code when a host name does not resolve. */
  readonly unresolvedCode: string;
  readonly signal?: AbortSignal;
}

/**
 * Resolves `host[:port]` text (or an endpoint whose address may be a host name) to a numeric
 * endpoint; an IP address is returned without a lookup.
 * @throws (rejects) InvalidOptionError `ERR_INVALID_OPTION` for malformed text; PortholeError
 *   `options.unresolvedCode` when the name does not resolve; AbortError `ERR_ABORTED`.
 */
export async function resolveHostPort(
  target: string | Endpoint,
  options: ResolveHostPortOptions,
): Promise<Endpoint> {
  const parsed =
    typeof target === 'string' ? parseHostPort(target, options) : { host: target.address, port: target.port };
  const port = parsed.port ?? options.defaultPort;
  if (isIP(parsed.host) !== 0) return { address: parsed.host, port };
  const family = options.family === 'udp6' ? 6 : 4;
  let address: string;
  try {
    address = (await raceAbort(lookup(parsed.host, { family }), options.signal)).address;
  } catch (error) {
    if (error instanceof AbortError) throw error;
    throw new PortholeError(options.unresolvedCode, `cannot resolve "${parsed.host}"`, { cause: error });
  }
  return { address, port };
}
