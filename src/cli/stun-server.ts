import type { Command } from 'commander';
import { pino } from 'pino';
import { InvalidOptionError } from '../errors/index.ts';
import { parseHostPort as parseText } from '../internal/host-port.ts';
import { STUN_DEFAULT_PORT, type StunListenAddress, StunServer } from '../stun/index.ts';

/**
 * `porthole stun-server --listen A[:port] [--alt B[:port]]`: a STUN Binding server, or with --alt an
 * RFC 5780 server on A:port, A:port+1, B:port, B:port+1. Runs until SIGINT/SIGTERM.
 */
export function register(program: Command): void {
  program
    .command('stun-server')
    .description('run a STUN server (RFC 8489); with --alt, an RFC 5780 NAT behaviour discovery server')
    .requiredOption(
      '--listen <address[:port]>',
      `primary address and port (default port ${STUN_DEFAULT_PORT})`,
    )
    .option(
      '--alt <address[:port]>',
      'alternate address: enables RFC 5780 mode on both addresses × port and port+1',
    )
    .option('--software <name>', 'SOFTWARE attribute for responses', 'porthole')
    .option('--rate <per-second>', 'requests per second allowed per source IP', '20')
    .option('--burst <count>', 'burst allowed per source IP', '40')
    .option('--no-rate-limit', 'disable the per-source rate limit')
    .option('--stats-interval <seconds>', 'log counters every N seconds (0: never)', '60')
    .action(
      async (options: {
        listen: string;
        alt?: string;
        software: string;
        rate: string;
        burst: string;
        rateLimit: boolean;
        statsInterval: string;
      }) => {
        const log = pino({ name: 'stun-server' });
        const server = await StunServer.listen({
          listen: withDefaultPort(parseHostPort(options.listen)),
          ...(options.alt !== undefined ? { alternate: parseHostPort(options.alt) } : {}),
          software: options.software,
          rateLimit: options.rateLimit
            ? {
                ratePerSecond: parseNumber(options.rate, '--rate'),
                burst: parseNumber(options.burst, '--burst'),
              }
            : false,
        });
        log.info(
          { addresses: server.addresses.map((a) => `${a.address}:${a.port}`), rfc5780: server.rfc5780 },
          'STUN server listening',
        );
        const seconds = parseNumber(options.statsInterval, '--stats-interval', true);
        const timer =
          seconds > 0
            ? setInterval(() => log.info({ stats: server.stats() }, 'stats'), seconds * 1000)
            : undefined;
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        if (timer !== undefined) clearInterval(timer);
        await server.close();
        log.info({ stats: server.stats() }, 'STUN server stopped');
      },
    );
}

/** `1.2.3.4`, `1.2.3.4:3478`, `::1`, `[::1]:3478` → address and port (absent when not given). */
export function parseHostPort(text: string): StunListenAddress {
  // 0-65534: port+1 must exist (RFC 5780 mode binds p and p+1); 0 picks one.
  const { host, port } = parseText(text, { option: 'address', minPort: 0, maxPort: 65_534 });
  return port === undefined ? { address: host } : { address: host, port };
}

function withDefaultPort(at: StunListenAddress): StunListenAddress {
  return at.port === undefined ? { address: at.address, port: STUN_DEFAULT_PORT } : at;
}

function parseNumber(text: string, flag: string, zeroOk = false): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (!zeroOk && value === 0)) {
    throw new InvalidOptionError(flag, `${flag} must be a positive number, not "${text}"`);
  }
  return value;
}
