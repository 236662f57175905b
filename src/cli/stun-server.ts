import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parseHostPort as parseText } from '../internal/host-port.ts';
import type { StunListenAddress, StunServer } from '../stun/index.ts';
import { CliFailure, ExitCode, familyOf, ipAddress, numberIn, onStopSignal } from './fail.ts';
import { STUN_PORT } from './flag-constants.ts';

/** SOFTWARE is at most 763 bytes of UTF-8 (RFC 8489 §14.14). */
const MAX_SOFTWARE_BYTES = 763;

interface StunServerOptions {
  listen: StunListenAddress;
  alt?: StunListenAddress;
  software: string;
  rate: number;
  burst: number;
  rateLimit: boolean;
  statsInterval: number;
  json?: boolean;
}

/**
 * `porthole stun-server --listen A[:P1] [--alt B[:P2]]`: a STUN Binding server, or with --alt an
 * RFC 5780 server on the four combinations (A,P1) (A,P2) (B,P1) (B,P2), P2 = P1 + 1. Runs until
 * SIGINT/SIGTERM (exit 0).
 */
export function register(program: Command): void {
  program
    .command('stun-server')
    .description('run a STUN server (RFC 8489); with --alt, an RFC 5780 NAT behaviour discovery server')
    .requiredOption(
      '--listen <address[:port]>',
      `primary numeric address A and port P1 (default ${STUN_PORT}; 0: any free pair)`,
      listenFlag,
    )
    .option(
      '--alt <address[:port]>',
      'alternate address B (same family): RFC 5780 mode on (A,P1) (A,P2) (B,P1) (B,P2); the port, if given, is P2 and must be P1+1',
      listenFlag,
    )
    .option('--software <name>', 'SOFTWARE attribute for responses (at most 763 bytes)', software, 'porthole')
    .option(
      '--rate <per-second>',
      'requests per second allowed per source IP, 0.01-1000000',
      numberIn({ min: 0.01, max: 1_000_000 }),
      20,
    )
    .option(
      '--burst <count>',
      'burst allowed per source IP, 1-1000000',
      numberIn({ min: 1, max: 1_000_000, integer: true }),
      40,
    )
    .option('--no-rate-limit', 'disable the per-source rate limit')
    .option(
      '--stats-interval <seconds>',
      'print counters every N seconds, 1-86400 (0: never)',
      numberIn({ min: 1, max: 86_400, zero: true, unit: 'seconds' }),
      60,
    )
    .option('--json', 'print one JSON object per line on stdout (listening, stats, stopped)')
    .action(async (options: StunServerOptions) => {
      const { StunServer } = await import('../stun/index.ts');
      const listen =
        options.listen.port === undefined ? { ...options.listen, port: STUN_PORT } : options.listen;
      const alternate = options.alt === undefined ? undefined : checkAlternate(listen, options.alt);
      const print = (json: object, text: string): void => {
        process.stdout.write(`${options.json === true ? JSON.stringify(json) : text}\n`);
      };
      const stop = onStopSignal();
      const server = await StunServer.listen({
        listen,
        ...(alternate === undefined ? {} : { alternate }),
        software: options.software,
        rateLimit: options.rateLimit ? { ratePerSecond: options.rate, burst: options.burst } : false,
      });
      const addresses = server.addresses.map(
        (a) => `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`,
      );
      print(
        { listening: addresses, addresses, rfc5780: server.rfc5780 },
        `STUN server on ${addresses.join(', ')}${server.rfc5780 ? ' (RFC 5780)' : ''}; Ctrl-C stops`,
      );
      const timer =
        options.statsInterval > 0
          ? setInterval(
              () => print({ stats: server.stats() }, statsLine(server)),
              options.statsInterval * 1000,
            )
          : undefined;
      await stop.signal;
      clearInterval(timer);
      await server.close();
      print({ stopped: true, stats: server.stats() }, `stopped: ${statsLine(server)}`);
    });
}

/** `1.2.3.4`, `1.2.3.4:3478`, `::1`, `[::1]:3478` → address and port (absent when not given). */
export function parseHostPort(text: string): StunListenAddress {
  // 0-65534: port+1 must exist (RFC 5780 mode binds p and p+1); 0 picks one.
  const { host, port } = parseText(text, { option: 'address', minPort: 0, maxPort: 65_534 });
  return port === undefined ? { address: host } : { address: host, port };
}

/** Commander parser of --listen and --alt: a numeric address (never looked up) and a port. */
function listenFlag(text: string): StunListenAddress {
  let at: StunListenAddress;
  try {
    at = parseHostPort(text);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
  ipAddress(at.address);
  return at;
}

function software(text: string): string {
  if (Buffer.byteLength(text) > MAX_SOFTWARE_BYTES) {
    throw new InvalidArgumentError(`Give at most ${MAX_SOFTWARE_BYTES} bytes (RFC 8489 §14.14).`);
  }
  return text;
}

/**
 * RFC 5780 §4: the alternate address B serves the primary port P1 and the alternate port P2 = P1+1,
 * so the server binds (A,P1) (A,P2) (B,P1) (B,P2). A port given with --alt is P2.
 */
function checkAlternate(listen: StunListenAddress, alt: StunListenAddress): StunListenAddress {
  if (familyOf(listen.address) !== familyOf(alt.address)) {
    throw new CliFailure(
      `--listen ${listen.address} and --alt ${alt.address} are of different families`,
      ExitCode.USAGE,
      'give two IPv4 or two IPv6 addresses',
    );
  }
  if (listen.address === alt.address) {
    throw new CliFailure(
      '--alt is the same address as --listen',
      ExitCode.USAGE,
      'give a second address of this host',
    );
  }
  const p1 = listen.port ?? STUN_PORT;
  if (alt.port !== undefined && (p1 === 0 || alt.port !== p1 + 1)) {
    throw new CliFailure(
      `--alt port ${alt.port} is not --listen's port + 1`,
      ExitCode.USAGE,
      `the alternate port P2 is always P1+1: leave it out (--alt ${alt.address}${p1 === 0 ? '' : ` serves ${p1} and ${p1 + 1}`})`,
    );
  }
  // The library's alternate port 0 means "the primary's port": B serves P1 and P1+1.
  return { address: alt.address };
}

function statsLine(server: StunServer): string {
  const s = server.stats() as unknown as Record<string, unknown>;
  return Object.entries(s)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
