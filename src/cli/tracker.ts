import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { type Command, InvalidArgumentError } from 'commander';
import { InvalidOptionError } from '../errors/index.ts';
import { formatEndpoint } from '../internal/endpoint.ts';
import { parseHostPort } from '../internal/host-port.ts';
import type { Dashboard, TrackerListenOptions } from '../live/index.ts';
import { CliFailure, ExitCode, hostPort, ipAddress, numberIn, oneOf, onStopSignal } from './fail.ts';
import { isPeerIdText, TRACKER_PORT } from './flag-constants.ts';

interface TrackerCommandOptions {
  listen: string;
  secretFile?: string;
  generateSecret?: string;
  redis?: string;
  redisPrefix?: string;
  maxNodes?: number;
  nodeTimeout?: number;
  metrics?: string;
  dashboard?: string;
  dashboardToken?: string;
  stats: number;
  json?: boolean;
}

interface TokenCommandOptions {
  secretFile: string;
  peer: string;
  channel: string;
  role: 'peer' | 'edge' | 'source';
  ttl: number;
  json?: boolean;
}

/**
 * Reads an operator secret: 64 hex digits (what `--generate-secret` writes), else the file's
 * bytes (trailing new line trimmed), at least 16.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming `option` when unreadable or too short.
 */
export async function readSecretFile(path: string, option = '--secret-file'): Promise<Buffer> {
  const { TOKEN_MIN_SECRET_BYTES } = await import('../live/index.ts');
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (error) {
    throw new InvalidOptionError(option, `cannot read the secret file ${path}`, { cause: error });
  }
  const trimmed = text.toString('latin1').replace(/\r?\n$/, '');
  const secret = /^(?:[0-9a-f]{2}){16,}$/i.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : Buffer.from(trimmed, 'latin1');
  if (secret.length < TOKEN_MIN_SECRET_BYTES) {
    throw new InvalidOptionError(option, `${path}: a secret of at least ${TOKEN_MIN_SECRET_BYTES} bytes`);
  }
  return secret;
}

/** Writes 32 random bytes as hex to `path` (never over an existing file) and returns them. */
async function generateSecret(path: string): Promise<Buffer> {
  const secret = randomBytes(32);
  try {
    await writeFile(path, `${secret.toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new InvalidOptionError(
      '--generate-secret',
      exists ? `${path} exists: use --secret-file ${path}` : `cannot write ${path}`,
      { cause: error },
    );
  }
  return secret;
}

/** `--listen`: a numeric address and an optional port. */
function listenAddress(text: string): string {
  hostPort({ minPort: 0 })(text);
  ipAddress(parseHostPort(text, { option: '--listen', minPort: 0 }).host);
  return text;
}

/** `--redis`: a redis:// or rediss:// URL. */
function redisUrl(text: string): string {
  if (!/^rediss?:\/\/[^\s]+$/.test(text)) throw new InvalidArgumentError('Give a redis:// or rediss:// URL.');
  return text;
}

/** `--channel`: 64 hex digits. */
function channelId(text: string): string {
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new InvalidArgumentError('Give the channel id: 64 hex digits.');
  return text.toLowerCase();
}

/** `--peer`: what a token and the broker accept. */
function peerId(text: string): string {
  if (!isPeerIdText(text)) throw new InvalidArgumentError('Give 1-64 visible ASCII characters.');
  return text;
}

/** `porthole tracker` and `porthole token`. */
export function register(program: Command): void {
  program
    .command('tracker')
    .description(
      'run a live tracker: channels, peers, edges, candidate samples and the punch broker on one UDP port',
    )
    .requiredOption(
      '--listen <address:port>',
      `numeric UDP address to listen on (port default ${TRACKER_PORT}; 0: any)`,
      listenAddress,
    )
    .option(
      '--secret-file <file>',
      'the operator secret tokens are issued under (64 hex digits, or ≥ 16 bytes)',
    )
    .option('--generate-secret <file>', 'write a new random secret to this file (must not exist) and use it')
    .option(
      '--redis <url>',
      'share channels and peers with other trackers on this Redis (redis://host:port)',
      redisUrl,
    )
    .option('--redis-prefix <prefix>', 'key and channel prefix in Redis (default porthole:tracker:)')
    .option(
      '--max-nodes <n>',
      'joined nodes at most, 1-10000000 (default 100000)',
      numberIn({ min: 1, max: 10_000_000, integer: true }),
    )
    .option(
      '--node-timeout <seconds>',
      'a silent node expires after this, 5-3600 (default 30)',
      numberIn({ min: 5, max: 3_600, unit: 'seconds' }),
    )
    .option('--metrics <host:port>', 'serve Prometheus /metrics there', hostPort({ minPort: 0 }))
    .option(
      '--dashboard <host:port>',
      'serve the browser dashboard there (beyond loopback only with --dashboard-token)',
      hostPort({ minPort: 0 }),
    )
    .option('--dashboard-token <token>', 'the token the dashboard requires (16 characters at least)')
    .option(
      '--stats <seconds>',
      'log the counters this often, 1-86400 (0: never)',
      numberIn({ min: 1, max: 86_400, zero: true, unit: 'seconds' }),
      60,
    )
    .option('--json', 'print {"listening":"ip:port"} on stdout once bound')
    .action(async (options: TrackerCommandOptions) => {
      const { createLogger, Dashboard, DEFAULT_TRACKER_PORT, startProcessMetrics, Tracker } = await import(
        '../live/index.ts'
      );
      if ((options.secretFile === undefined) === (options.generateSecret === undefined)) {
        throw new CliFailure(
          options.secretFile === undefined
            ? 'no secret to check tokens with'
            : '--secret-file and --generate-secret together',
          ExitCode.USAGE,
          'give exactly one of --secret-file <file> and --generate-secret <file>',
        );
      }
      if (options.redisPrefix !== undefined && options.redis === undefined) {
        throw new CliFailure('--redis-prefix without --redis', ExitCode.USAGE);
      }
      const secret =
        options.secretFile !== undefined
          ? await readSecretFile(options.secretFile)
          : await generateSecret(options.generateSecret!);
      const parsed = parseHostPort(options.listen, { option: '--listen', minPort: 0 });
      const listenOptions: TrackerListenOptions = {
        address: parsed.host,
        port: parsed.port ?? DEFAULT_TRACKER_PORT,
        family: isIP(parsed.host) === 6 ? 'udp6' : 'udp4',
        secret,
        ...(options.redis === undefined
          ? {}
          : {
              store: {
                redis: options.redis,
                ...(options.redisPrefix === undefined ? {} : { prefix: options.redisPrefix }),
              },
            }),
        ...(options.maxNodes === undefined ? {} : { maxNodes: options.maxNodes }),
        ...(options.nodeTimeout === undefined ? {} : { nodeTimeoutMs: options.nodeTimeout * 1000 }),
      };
      const log = createLogger({ name: 'porthole-tracker' });
      const tracker = await Tracker.listen(listenOptions);
      let metrics: Awaited<ReturnType<typeof startProcessMetrics>> | undefined;
      try {
        metrics = await startProcessMetrics({
          process: 'tracker',
          listen: options.metrics,
          swarm: () => tracker.swarm(),
          components: { tracker: () => tracker.stats() },
        });
      } catch (error) {
        await tracker.close();
        throw error;
      }
      let dashboard: Dashboard | undefined;
      if (options.dashboard !== undefined) {
        const at = parseHostPort(options.dashboard, { option: '--dashboard', minPort: 0 });
        dashboard = await Dashboard.start({
          swarm: () => tracker.swarm(),
          host: at.host,
          port: at.port ?? 0,
          registry: metrics.registry,
          logger: log,
          ...(options.dashboardToken === undefined ? {} : { token: options.dashboardToken }),
        }).catch(async (error: unknown) => {
          await metrics?.close();
          await tracker.close();
          throw error;
        });
      }
      const listening = formatEndpoint(tracker.address());
      if (options.json === true) console.log(JSON.stringify({ listening, dashboard: dashboard?.url }));
      else console.log(`tracker listening on ${listening}`);
      if (dashboard !== undefined && options.json !== true) console.log(`dashboard: ${dashboard.url}`);
      log.info({ listening, store: options.redis === undefined ? 'memory' : 'redis' }, 'tracker listening');
      const statsS = options.stats;
      const ticker =
        statsS > 0
          ? setInterval(() => log.info(tracker.stats(), 'tracker stats'), statsS * 1_000)
          : undefined;
      await onStopSignal().signal;
      clearInterval(ticker);
      await dashboard?.close();
      await metrics.close();
      await tracker.close();
      log.info(tracker.stats(), 'tracker closed');
    });

  program
    .command('token')
    .description(
      'issue an application token (HMAC-SHA256 under the tracker secret) for one peer, channel and role',
    )
    .requiredOption('--secret-file <file>', "the tracker's secret file")
    .requiredOption('--peer <id>', 'the peer id the token admits (1-64 visible ASCII)', peerId)
    .requiredOption('--channel <hex>', 'the channel id (64 hex digits)', channelId)
    .option('--role <role>', 'peer | edge | source', oneOf(['peer', 'edge', 'source'] as const), 'peer')
    .option(
      '--ttl <seconds>',
      'valid for this long, 1-31536000',
      numberIn({ min: 1, max: 31_536_000, integer: true, unit: 'seconds' }),
      3600,
    )
    .option('--json', 'print {"token":…,"expiresAt":…} instead of the bare token')
    .action(async (options: TokenCommandOptions) => {
      const { issueToken } = await import('../live/index.ts');
      const secret = await readSecretFile(options.secretFile);
      const expiresAtMs = Date.now() + options.ttl * 1000;
      const token = issueToken({
        secret,
        peerId: options.peer,
        channelId: Buffer.from(options.channel, 'hex'),
        role: options.role,
        expiresAtMs,
      });
      if (options.json === true)
        console.log(JSON.stringify({ token, expiresAt: new Date(expiresAtMs).toISOString() }));
      else console.log(token);
    });
}
