import { flushCompileCache } from 'node:module';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { parseHostPort } from '../internal/host-port.ts';
import type { Impairment, LivePeer, NatClassValue, OutputSpec } from '../live/index.ts';
import { CliFailure, ExitCode, hostPort, numberIn, oneOf, onStopSignal } from './fail.ts';
import { bitRate, hex32, printLine, processFigures } from './live-flags.ts';

interface PeerCommandOptions {
  tracker?: string;
  token: string;
  publicKey?: Buffer;
  edge: string[];
  listen: string;
  http?: string;
  udp: string[];
  file: string[];
  stdout?: boolean;
  uploadCap?: number;
  upload: boolean;
  natClass: NatClassValue;
  turn?: string;
  turnUser?: string;
  turnPassword?: string;
  degree?: number;
  strategy?: 'mixed' | 'edgeOnly';
  impair?: string;
  pollute?: boolean;
  control?: boolean;
  json?: boolean;
  metrics?: string;
}

const NATS: readonly NatClassValue[] = ['open', 'full-cone', 'restricted', 'port-restricted', 'symmetric'];
const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `porthole peer`: joins a channel through the tracker and plays it out. */
export function register(program: Command): void {
  program
    .command('peer')
    .description(
      'watch a live channel: join through the tracker, share with other peers, play out over HTTP, UDP, a file or stdout',
    )
    .requiredOption('--token <token>', 'the application token (names the channel and this peer)')
    .option('--tracker <host:port>', 'the tracker to join', hostPort())
    .option('--public-key <hex>', "the channel's public key (default: the tracker's)", hex32)
    .option('--edge <ip:port>', "an edge to use besides the tracker's (repeatable)", collect, [])
    .option('--listen <host:port>', 'local UDP address', '0.0.0.0:0')
    .option('--http <[host:]port>', 'serve the stream at http://host:port/live.ts (host default 127.0.0.1)')
    .option(
      '--udp <ip:port>',
      'send the stream as MPEG-TS over UDP, unicast or multicast (repeatable)',
      collect,
      [],
    )
    .option('--file <path>', 'write the stream to a file (repeatable)', collect, [])
    .option('--stdout', 'write the stream to stdout (then --json is not allowed)')
    .option('--upload-cap <bps>', 'upload at most this (default 2 x the bit rate)', bitRate)
    .option('--no-upload', 'upload nothing (a leech)')
    .option('--nat-class <class>', "this peer's NAT class (from porthole nat)", oneOf(NATS), 'open')
    .option('--turn <host:port>', 'a TURN server for links no punch opens (symmetric NAT pairs)', hostPort())
    .option('--turn-user <name>', 'TURN username')
    .option('--turn-password <password>', 'TURN password')
    .option('--degree <n>', 'peer neighbours to keep', numberIn({ min: 0, max: 64, integer: true }))
    .option(
      '--strategy <name>',
      'scheduler strategy (edgeOnly: a CDN baseline)',
      oneOf(['mixed', 'edgeOnly'] as const),
    )
    .option('--impair <spec>', 'impair what this peer sends: loss=0.05,delay=20 (tests and demos)')
    .option('--pollute', 'behave as a polluter: lying buffer maps, forged chunks (tests and demos)')
    .option('--control', 'read JSON commands on stdin ({"impair":{...}})')
    .option('--json', 'print JSON lines on stdout: ready, stats every second, closed')
    .option(
      '--metrics <host:port>',
      'serve Prometheus metrics at http://host:port/metrics',
      hostPort({ minPort: 0 }),
    )
    .action(async (o: PeerCommandOptions) => {
      const {
        createLogger,
        impairSocket,
        LivePeer,
        LivePolluter,
        openChannel,
        parseImpair,
        peekTokenClaims,
        startProcessMetrics,
        TrackerSession,
      } = await import('../live/index.ts');
      const { Demux } = await import('../mux/index.ts');
      const { bindUdpSocket } = await import('../ports/index.ts');
      const { TurnRelayProvider } = await import('../punch/index.ts');
      // Everything this command runs is loaded: write the compile cache now, so the peers started
      // after this one neither compile nor load Node's TypeScript stripper (~16 MB of each one's RSS).
      flushCompileCache();
      if (o.stdout === true && o.json === true)
        throw new CliFailure('--stdout and --json both write stdout', ExitCode.USAGE, 'drop one of them');
      if (o.tracker === undefined && o.edge.length === 0)
        throw new CliFailure('nowhere to get the channel from', ExitCode.USAGE, 'give --tracker or --edge');
      const claims = peekTokenClaims(o.token);
      if (claims === undefined)
        throw new CliFailure(
          '--token is not an application token',
          ExitCode.USAGE,
          'issue one with porthole tracker',
        );
      const listen = parseHostPort(o.listen, { option: '--listen', minPort: 0 });
      let impair = o.impair === undefined ? undefined : parseImpair(o.impair);
      let impairment: Impairment | undefined;
      const outputs: OutputSpec[] = [];
      if (o.http !== undefined) {
        const h = /^\d+$/.test(o.http)
          ? { host: '127.0.0.1', port: Number(o.http) }
          : parseHostPort(o.http, { option: '--http', minPort: 0 });
        outputs.push({ http: 'port' in h ? (h.port ?? 0) : 0, host: h.host });
      }
      for (const udp of o.udp) outputs.push({ udp });
      for (const file of o.file) outputs.push({ file });
      if (o.stdout === true) outputs.push('stdout');
      const channel = o.publicKey === undefined ? undefined : openChannel(o.publicKey, claims.channelId);
      const edges = o.edge.map((text, i) => {
        const e = parseHostPort(text, { option: '--edge' });
        return { id: `static-${i}`, endpoint: { address: e.host, port: e.port ?? 7001 } };
      });
      const log = createLogger({ name: 'porthole-peer' });
      const stop = onStopSignal();
      if (o.pollute === true) {
        if (o.tracker === undefined || channel === undefined)
          throw new CliFailure('a polluter needs --tracker and --public-key', ExitCode.USAGE);
        const socket = await bindUdpSocket({ family: 'udp4', address: listen.host, port: listen.port ?? 0 });
        const demux = new Demux(socket);
        const session = await TrackerSession.join({
          tracker: o.tracker,
          demux,
          token: o.token,
          channelId: claims.channelId,
          peerId: claims.peerId,
          role: 'peer',
          natClass: o.natClass,
        });
        const polluter = new LivePolluter(channel, session, claims.peerId);
        if (o.json === true) printLine('ready', { peerId: claims.peerId, polluter: true });
        const ticker = setInterval(() => {
          if (o.json === true)
            printLine('stats', { peerId: claims.peerId, polluter: true, ...polluter.stats() });
        }, 1000);
        await stop.signal;
        clearInterval(ticker);
        await polluter.close();
        await session.close();
        demux.detach();
        socket.close();
        return;
      }
      const turn = o.turn === undefined ? undefined : parseHostPort(o.turn, { option: '--turn' });
      const relay =
        turn === undefined
          ? undefined
          : new TurnRelayProvider({
              server: { address: turn.host, port: turn.port ?? 3478 },
              username: o.turnUser ?? '',
              password: o.turnPassword ?? '',
            });
      const peer = await LivePeer.start({
        ...(relay === undefined ? {} : { relay }),
        token: o.token,
        address: listen.host,
        port: listen.port ?? 0,
        outputs,
        edges,
        natClass: o.natClass,
        ...(channel === undefined ? {} : { channel }),
        ...(o.tracker === undefined ? {} : { tracker: o.tracker }),
        ...(o.upload === false ? { noUpload: true } : {}),
        ...(o.uploadCap === undefined ? {} : { uploadCapBps: o.uploadCap }),
        ...(o.degree === undefined ? {} : { targetDegree: o.degree }),
        ...(o.strategy === undefined ? {} : { scheduler: { strategy: o.strategy } }),
        onSocket: (socket) => {
          if (impair !== undefined) impairment = impairSocket(socket, impair);
        },
      });
      if (o.control === true) {
        createInterface({ input: process.stdin }).on('line', (line) => {
          try {
            const command = JSON.parse(line) as { impair?: { lossRate?: number; delayMs?: number } };
            if (command.impair !== undefined) {
              impair = command.impair;
              if (impairment === undefined) impairment = impairSocket(peer.demux.socket, impair);
              else impairment.set(impair);
            }
          } catch (error) {
            log.warn({ line, error: (error as Error).message }, 'bad control line');
          }
        });
      }
      const metrics =
        o.metrics === undefined
          ? undefined
          : await startProcessMetrics({
              process: 'peer',
              listen: o.metrics,
              node: () => peer.node.core.stats(),
              arqRttsMs: () => peer.node.rttsMs(),
              components: { peer: () => peer.stats().mesh ?? {} },
              natClass: () => o.natClass,
            });
      const url = peer.httpUrl;
      if (o.json === true)
        printLine('ready', {
          peerId: peer.peerId,
          http: url ?? null,
          port: peer.demux.socket.address().port,
        });
      else if (url !== undefined) console.log(`playing at ${url}  (ffplay ${url})`);
      log.info({ peerId: peer.peerId, http: url }, 'peer joined');
      const ticker = setInterval(() => {
        if (o.json === true) printLine('stats', { ...compactStats(peer), ...processFigures() });
      }, 1000);
      await stop.signal;
      clearInterval(ticker);
      const final = compactStats(peer);
      await metrics?.close();
      await peer.close();
      if (o.json === true) printLine('closed', final);
      log.info(final, 'peer left');
    });
}

/** The stats line of a peer: the figures the demo, the tests and the bench read. */
function compactStats(peer: LivePeer): object {
  const s = peer.stats();
  return {
    peerId: s.peerId,
    played: s.played,
    skipped: s.skipped,
    continuity: s.continuity,
    stalls: s.stalls,
    discontinuities: s.discontinuities,
    catchUps: s.catchUps,
    jumps: s.jumps,
    latePolls: s.latePolls,
    latencyP50Ms: s.latencyP50Ms,
    latencyP95Ms: s.latencyP95Ms,
    latencyP99Ms: s.latencyP99Ms,
    offload: s.offload,
    bytesFromEdge: s.bytesFromEdge,
    bytesFromPeers: s.bytesFromPeers,
    bytesUploaded: s.bytesUploaded,
    uploadBps: s.uploadBps,
    downloadBps: s.downloadBps,
    joinMs: s.joinMs,
    firstPlayedSeq: s.firstPlayedSeq,
    nextSeq: peer.node.core.playout.nextSeq,
    newestKnown: peer.node.core.scheduler.newestKnown,
    lastPlayedSeq: s.lastPlayedSeq,
    skippedSeqs: s.skippedSeqs,
    bans: s.bans,
    forgedDropped: s.forgedDropped,
    forgedReported: s.forgedReported,
    neighbours: s.neighbours.map((n) => ({
      id: n.id,
      isEdge: n.isEdge,
      pathKind: n.pathKind,
      delivered: n.delivered,
    })),
    degree: s.mesh?.degree ?? 0,
    mesh: s.mesh,
    links: s.links,
    edge: s.edge,
    outputs: s.outputs,
  };
}
