import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { InvalidOptionError } from '../errors/index.ts';
import { formatEndpoint } from '../internal/endpoint.ts';
import { parseHostPort, resolveHostPort } from '../internal/host-port.ts';
import type { NatEndpoint } from '../nat/index.ts';
import type { BrokerAuthenticator } from '../punch/index.ts';
import { CliFailure, ExitCode, hostPort, ipAddress, numberIn, onStopSignal } from './fail.ts';

interface BrokerCommandOptions {
  listen: string;
  tokenFile?: string;
  allowAny?: boolean;
  maxPeers?: number;
  stats: number;
  json?: boolean;
}

/**
 * Resolves `host:port` (`[v6]:port`) to a numeric endpoint (port default 3478).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming `option`; `ERR_NAT_SERVER_UNRESOLVED` when the
 *   name does not resolve.
 */
export async function resolveEndpoint(text: string, option = '--broker'): Promise<NatEndpoint> {
  const { DEFAULT_STUN_PORT, NatErrorCode } = await import('../nat/index.ts');
  return await resolveHostPort(text, {
    option,
    defaultPort: DEFAULT_STUN_PORT,
    unresolvedCode: NatErrorCode.SERVER_UNRESOLVED,
  });
}

/**
 * Reads a token file: one `<peer-id> <token>` per line (blank lines and `#` comments skipped).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` when unreadable, malformed or empty.
 */
export async function readTokenFile(path: string): Promise<Map<string, Buffer>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidOptionError('--token-file', `cannot read the token file ${path}`, { cause: error });
  }
  const tokens = new Map<string, Buffer>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\S+)\s+(\S+)$/.exec(line);
    if (match === null) {
      throw new InvalidOptionError('--token-file', `${path}:${index + 1}: expected "<peer-id> <token>"`);
    }
    tokens.set(match[1]!, Buffer.from(match[2]!));
  }
  if (tokens.size === 0) throw new InvalidOptionError('--token-file', `${path} holds no tokens`);
  return tokens;
}

/** `--listen`: a numeric address (a listen address is never looked up) and an optional port. */
function listenAddress(text: string): string {
  hostPort({ minPort: 0 })(text);
  ipAddress(parseHostPort(text, { option: '--listen', minPort: 0 }).host);
  return text;
}

/** An authenticator over a token map, comparing in constant time. */
export function tokenAuthenticator(tokens: ReadonlyMap<string, Buffer>): BrokerAuthenticator {
  return (peerId, token) => {
    const expected = tokens.get(peerId);
    return expected !== undefined && expected.length === token.length && timingSafeEqual(expected, token);
  };
}

/** `porthole broker`: the tracker's punching role — registers peers and introduces them. */
export function register(program: Command): void {
  program
    .command('broker')
    .description('run a hole-punching broker: peers register over UDP and are introduced to each other')
    .requiredOption(
      '--listen <address:port>',
      'numeric UDP address to listen on (port default 3478; 0: any)',
      listenAddress,
    )
    .option('--token-file <file>', 'accepted peers: one "<peer-id> <token>" per line')
    .option('--allow-any', 'accept every peer whatever its token (tests and closed networks only)')
    .option(
      '--max-peers <n>',
      'registered peers at most, 1-1000000 (default 10000)',
      numberIn({ min: 1, max: 1_000_000, integer: true }),
    )
    .option(
      '--stats <seconds>',
      'log the counters this often, 1-86400 (0: never)',
      numberIn({ min: 1, max: 86_400, zero: true, unit: 'seconds' }),
      60,
    )
    .option('--json', 'print {"listening":"ip:port"} on stdout once bound')
    .action(async (options: BrokerCommandOptions) => {
      const { createLogger } = await import('../live/index.ts');
      const { DEFAULT_STUN_PORT } = await import('../nat/index.ts');
      const { Broker } = await import('../punch/index.ts');
      if ((options.tokenFile === undefined) === (options.allowAny !== true)) {
        throw new CliFailure(
          options.tokenFile === undefined
            ? 'who may register? nothing says'
            : '--token-file and --allow-any together',
          ExitCode.USAGE,
          'give exactly one of --token-file <file> and --allow-any',
        );
      }
      // A token file: challenge-response (the tokens never travel); --allow-any: anyone's token.
      const tokens = options.tokenFile === undefined ? undefined : await readTokenFile(options.tokenFile);
      const auth:
        | { credential: (peerId: string) => Buffer | undefined }
        | { authenticate: BrokerAuthenticator } =
        tokens === undefined ? { authenticate: () => true } : { credential: (peerId) => tokens.get(peerId) };
      const parsed = parseHostPort(options.listen, { option: '--listen', minPort: 0 });
      const where = { host: parsed.host, port: parsed.port ?? DEFAULT_STUN_PORT };
      const maxPeers = options.maxPeers;
      const log = createLogger({ name: 'porthole-broker' });
      const broker = await Broker.listen({
        address: where.host,
        port: where.port,
        family: isIP(where.host) === 6 ? 'udp6' : 'udp4',
        ...auth,
        ...(maxPeers === undefined ? {} : { maxPeers }),
      });
      const bound = broker.address();
      const listening = formatEndpoint(bound);
      if (options.json === true) console.log(JSON.stringify({ listening }));
      else console.log(`broker listening on ${listening}`);
      log.info({ listening, auth: options.allowAny === true ? 'any' : 'token-file' }, 'broker listening');
      const statsS = options.stats;
      const ticker =
        statsS > 0 ? setInterval(() => log.info(broker.stats(), 'broker stats'), statsS * 1_000) : undefined;
      await onStopSignal().signal;
      clearInterval(ticker);
      await broker.close();
      log.info(broker.stats(), 'broker closed');
    });
}
