import { flushCompileCache } from 'node:module';
import type { Command } from 'commander';
import { parseHostPort } from '../internal/host-port.ts';
import { CliFailure, ExitCode, hostPort, numberIn, onStopSignal } from './fail.ts';
import { bitRate, hex32, printLine, processFigures } from './live-flags.ts';
import { readSecretFile } from './tracker.ts';

interface EdgeCommandOptions {
  listen: string;
  tracker?: string;
  token?: string;
  secret?: string;
  secretFile?: string;
  publicKey?: Buffer;
  advertise?: string;
  window: number;
  egressCap?: number;
  peerCap?: number;
  maxPeers?: number;
  impair?: string;
  json?: boolean;
  metrics?: string;
}

/** `porthole edge`: serves a channel to its peers, fed by the source over the ingest protocol. */
export function register(program: Command): void {
  program
    .command('edge')
    .description('run a live edge: receives a channel from its source and serves the peers that dial it')
    .option('--listen <host:port>', 'UDP address for peers and sources (port 0: any)', '0.0.0.0:7001')
    .option('--tracker <host:port>', 'register at this tracker (with --token)', hostPort())
    .option('--token <token>', "this edge's application token (role edge; names the channel)")
    .option('--secret <secret>', 'the token secret, to admit peers by their tokens (or --secret-file)')
    .option('--secret-file <file>', 'read the token secret from this file')
    .option('--public-key <hex>', "the channel's public key (default: the tracker's)", hex32)
    .option(
      '--advertise <ip:port>',
      'the address to announce at the tracker (default: what it sees)',
      hostPort(),
    )
    .option('--window <seconds>', 'seconds of stream kept', numberIn({ min: 1, max: 600 }), 30)
    .option('--egress-cap <bps>', 'total egress cap (e.g. 1G)', bitRate)
    .option('--peer-cap <bps>', 'egress cap per peer (default 3 x the bit rate)', bitRate)
    .option('--max-peers <n>', 'peers served at most', numberIn({ min: 1, max: 100_000, integer: true }))
    .option('--impair <spec>', 'impair what this edge sends: loss=0.05,delay=20 (tests and demos)')
    .option('--json', 'print JSON lines on stdout: ready, stats every second, closed')
    .option(
      '--metrics <host:port>',
      'serve Prometheus metrics at http://host:port/metrics',
      hostPort({ minPort: 0 }),
    )
    .action(async (o: EdgeCommandOptions) => {
      const {
        createLogger,
        impairSocket,
        LiveEdge,
        openChannel,
        parseImpair,
        peekTokenClaims,
        startProcessMetrics,
      } = await import('../live/index.ts');
      flushCompileCache(); // as `porthole peer` does: the next edges start from the cache
      const secret = o.secretFile === undefined ? o.secret : await readSecretFile(o.secretFile);
      if (secret === undefined)
        throw new CliFailure(
          'no token secret',
          ExitCode.USAGE,
          "give --secret or --secret-file (the tracker's)",
        );
      const listen = parseHostPort(o.listen, { option: '--listen', minPort: 0 });
      const advertise =
        o.advertise === undefined ? undefined : parseHostPort(o.advertise, { option: '--advertise' });
      const claims = o.token === undefined ? undefined : peekTokenClaims(o.token);
      if (o.token !== undefined && claims === undefined)
        throw new CliFailure(
          '--token is not an application token',
          ExitCode.USAGE,
          'issue one with porthole tracker',
        );
      const impair = o.impair === undefined ? undefined : parseImpair(o.impair);
      const log = createLogger({ name: 'porthole-edge' });
      const edge = await LiveEdge.start({
        address: listen.host,
        port: listen.port ?? 7001,
        secret,
        windowSeconds: o.window,
        ...(o.publicKey === undefined || claims === undefined
          ? {}
          : { channel: openChannel(o.publicKey, claims.channelId) }),
        ...(o.tracker === undefined ? {} : { tracker: o.tracker }),
        ...(o.token === undefined ? {} : { token: o.token }),
        ...(advertise === undefined
          ? {}
          : { advertise: { address: advertise.host, port: advertise.port ?? 7001 } }),
        ...(o.egressCap === undefined ? {} : { egressCapBps: o.egressCap }),
        ...(o.peerCap === undefined ? {} : { perPeerCapBps: o.peerCap }),
        ...(o.maxPeers === undefined ? {} : { maxPeers: o.maxPeers }),
      });
      if (impair !== undefined) impairSocket(edge.demux.socket, impair);
      const metrics =
        o.metrics === undefined
          ? undefined
          : await startProcessMetrics({
              process: 'edge',
              listen: o.metrics,
              node: () => edge.node.core.stats(),
              arqRttsMs: () => edge.node.rttsMs(),
              components: { edge: () => edge.stats() },
            });
      const where = `${edge.endpoint.address}:${edge.endpoint.port}`;
      if (o.json === true) printLine('ready', { listening: where, channel: edge.channel.id.toString('hex') });
      else console.log(`edge listening on ${where}`);
      log.info({ listening: where, channel: edge.channel.id.toString('hex') }, 'edge listening');
      const ticker = setInterval(() => {
        const s = edge.stats();
        if (o.json === true) printLine('stats', { ...s, ...processFigures() });
      }, 1000);
      const stop = onStopSignal();
      await stop.signal;
      clearInterval(ticker);
      await metrics?.close();
      await edge.close();
      if (o.json === true) printLine('closed', edge.stats());
      log.info(edge.stats(), 'edge closed');
    });
}
