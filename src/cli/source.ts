import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { type Command, InvalidArgumentError } from 'commander';
import { ErrorCode, InvalidOptionError } from '../errors/index.ts';
import { parseHostPort, resolveHostPort } from '../internal/host-port.ts';
import type { LiveSource, LiveSourceOptions, TrackerSession, TsInput } from '../live/index.ts';
import type { Demux } from '../mux/index.ts';
import { CliFailure, ExitCode, hostPort, numberIn, onStopSignal } from './fail.ts';

interface SourceCommandOptions {
  key: string;
  input: string;
  edge: string[];
  tracker?: string;
  token?: string;
  listen?: string;
  chunkMs?: number;
  bitrate?: number;
  ingestId?: string;
  stats: number;
  metrics?: string;
  json?: boolean;
}

/** `--edge` (repeatable): the shape checked now, names resolved before the start. */
function collectEdge(text: string, previous: string[] = []): string[] {
  hostPort()(text);
  if (parseHostPort(text, { option: '--edge' }).port === undefined) {
    throw new InvalidArgumentError('Give host:port (the edge has no default port).');
  }
  return [...previous, text];
}

/** `porthole source`: a channel's source — an input cut into signed chunks, pushed to the edges. */
export function register(program: Command): void {
  program
    .command('source')
    .description('run a live source: cut an MPEG-TS input into signed chunks and push them to edges')
    .requiredOption('--key <file>', 'channel key (Ed25519, PEM PKCS#8); created when the file does not exist')
    .requiredOption(
      '--input <spec>',
      'testpattern | udp://ADDRESS:PORT | rtp://ADDRESS[:FIRST-LAST] | rist://@ADDRESS:PORT | file:PATH | - (stdin)',
    )
    .option('--edge <host:port>', 'an edge to push to (repeatable)', collectEdge, [])
    .option('--tracker <host:port>', "join this tracker and push to the channel's edges it names", hostPort())
    .option('--token <token>', 'application token for the tracker (default: prove the channel key instead)')
    .option(
      '--listen <address:port>',
      'local UDP address of the source (default 0.0.0.0:0)',
      hostPort({ minPort: 0 }),
    )
    .option(
      '--chunk-ms <ms>',
      'target chunk duration, 20-10000 (default 250)',
      numberIn({ min: 20, max: 10_000, integer: true }),
    )
    .option(
      '--bitrate <kbps>',
      'test pattern video bitrate, 100-50000 (default 1800)',
      numberIn({ min: 100, max: 50_000, integer: true }),
    )
    .option(
      '--ingest-id <id>',
      'RTP input: the owner id its port pair is reserved under (default source-<pid>)',
    )
    .option(
      '--stats <seconds>',
      'log the counters this often, 1-86400 (0: never)',
      numberIn({ min: 1, max: 86_400, zero: true }),
      10,
    )
    .option(
      '--metrics <host:port>',
      'serve Prometheus metrics at http://host:port/metrics',
      hostPort({ minPort: 0 }),
    )
    .option('--json', 'print {"channel":…,"listening":…,"input":…} on stdout once started')
    .action(async (options: SourceCommandOptions) => {
      const {
        createLogger,
        LiveSource,
        loadChannelKey,
        metricFields,
        openInput,
        parseInputSpec,
        startProcessMetrics,
        TrackerSession,
      } = await import('../live/index.ts');
      const { demuxOf } = await import('../mux/index.ts');
      const { bindUdpSocket } = await import('../ports/index.ts');
      // `--input` first, so a bad spec fails before anything binds.
      let spec: ReturnType<typeof parseInputSpec>;
      try {
        spec = parseInputSpec(options.input, '--input');
      } catch (error) {
        throw new CliFailure((error as Error).message, ExitCode.USAGE);
      }
      if (options.edge.length === 0 && options.tracker === undefined) {
        throw new CliFailure(
          'no edge to push to',
          ExitCode.USAGE,
          'give --edge <host:port> (repeatable) or --tracker',
        );
      }
      if (options.token !== undefined && options.tracker === undefined) {
        throw new CliFailure('--token without --tracker', ExitCode.USAGE);
      }
      if (options.bitrate !== undefined && spec.kind !== 'testpattern') {
        throw new CliFailure('--bitrate is for --input testpattern', ExitCode.USAGE);
      }
      const edges = await Promise.all(
        options.edge.map((text) =>
          resolveHostPort(text, {
            option: '--edge',
            defaultPort: 0,
            unresolvedCode: ErrorCode.INVALID_OPTION,
          }),
        ),
      );
      let address = '0.0.0.0';
      let listenPort = 0;
      if (options.listen !== undefined) {
        const listen = await resolveHostPort(options.listen, {
          option: '--listen',
          minPort: 0,
          defaultPort: 0,
          unresolvedCode: ErrorCode.INVALID_OPTION,
        });
        if (isIP(listen.address) !== 4) throw new InvalidOptionError('--listen', '--listen: an IPv4 address');
        address = listen.address;
        listenPort = listen.port;
      }
      const { channel, created } = await loadChannelKey(options.key, { create: true });
      const openOptions = {
        ...(options.bitrate === undefined ? {} : { testPattern: { bitrateKbps: options.bitrate } }),
        ...(options.ingestId === undefined ? {} : { owner: options.ingestId }),
      };
      // The first input opens now (its failure is the command's); restarts come from the factory.
      let first: TsInput | undefined = await openInput(spec, openOptions);
      const inputPort = (first as unknown as { port?: unknown }).port;
      const restartable = spec.kind === 'testpattern' || spec.kind === 'file';
      const input: LiveSourceOptions['input'] = restartable
        ? () => {
            const ready = first;
            first = undefined;
            return ready ?? openInput(spec, openOptions);
          }
        : first;
      const log = createLogger({ name: 'porthole-source' });
      let source: LiveSource;
      let session: TrackerSession | undefined;
      let socket: Socket | undefined;
      try {
        let demux: Demux | undefined;
        if (options.tracker !== undefined) {
          // One socket for the tracker session and the ingest: the tracker sees where chunks come from.
          socket = await bindUdpSocket({ family: 'udp4', address, port: listenPort });
          demux = demuxOf(socket);
          session = await TrackerSession.join({
            tracker: options.tracker,
            demux,
            channelId: channel.id,
            peerId: `source-${channel.id.toString('hex').slice(0, 16)}`,
            role: 'source',
            signer: channel,
            ...(options.token === undefined ? {} : { token: options.token }),
          });
          session.on('edges', (list) =>
            log.info({ edges: list.map((e) => `${e.endpoint.address}:${e.endpoint.port}`) }, 'edges'),
          );
        }
        source = await LiveSource.start({
          channel,
          input,
          edges: edges.map((e) => ({ address: e.address, port: e.port })),
          ...(demux === undefined ? { address, port: listenPort } : { demux }),
          ...(session === undefined ? {} : { edgeDirectory: session }),
          ...(options.chunkMs === undefined ? {} : { chunkDurationMs: options.chunkMs }),
        });
      } catch (error) {
        await first?.close();
        await session?.close();
        socket?.close();
        throw error;
      }
      const metrics = await startProcessMetrics({
        process: 'source',
        listen: options.metrics,
        source: () => source.stats(),
      }).catch(async (error: unknown) => {
        await source.close();
        await session?.close();
        socket?.close();
        throw error;
      });
      const channelId = channel.id.toString('hex');
      const bound = socket?.address();
      const listening = bound === undefined ? source.address() : { address: bound.address, port: bound.port };
      const where = listening === undefined ? '' : `${listening.address}:${listening.port}`;
      const port = typeof inputPort === 'number' ? inputPort : undefined;
      if (options.json === true) {
        console.log(
          JSON.stringify({
            channel: channelId,
            listening: where,
            input: spec.kind,
            inputPort: port,
            created,
          }),
        );
      } else {
        if (created) console.log(`created channel key ${options.key}`);
        console.log(`channel ${channelId}`);
        const at =
          port === undefined
            ? ''
            : spec.kind === 'rtp'
              ? ` (RTP to port ${port}, RTCP ${port + 1})`
              : ` (port ${port})`;
        const to = [
          ...options.edge,
          ...(options.tracker === undefined ? [] : [`the edges of tracker ${options.tracker}`]),
        ];
        console.log(`source on ${where}, input ${spec.kind}${at}, pushing to ${to.join(', ')}`);
      }
      log.info({ channel: channelId, listening: where, input: spec.kind }, 'source started');
      if (metrics.server !== undefined) log.info({ metrics: metrics.server.url }, 'metrics listening');
      // The periodic line carries the metrics' names and values (docs/live.md, Metrics).
      const ticker =
        options.stats > 0
          ? setInterval(() => {
              void metricFields(metrics.registry).then((fields) => log.info(fields, 'source stats'));
            }, options.stats * 1000)
          : undefined;
      const stop = onStopSignal();
      await Promise.race([stop.signal, source.done]);
      stop.off();
      clearInterval(ticker);
      const lastError = source.stats().lastInputError;
      await metrics.close();
      await source.close();
      await session?.close();
      if (socket !== undefined) await new Promise<void>((resolve) => socket!.close(() => resolve()));
      log.info({ chunks: source.stats().chunks }, 'source stopped');
      if (!restartable && lastError !== undefined)
        throw new CliFailure(`the input ended: ${lastError}`, ExitCode.FAILED);
    });
}
