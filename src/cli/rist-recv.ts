import type { Command } from 'commander';
import { ErrorCode } from '../errors/index.ts';
import { resolveHostPort } from '../internal/host-port.ts';
import { CliFailure, ExitCode, familyOf, hostPort, numberIn, onStopSignal } from './fail.ts';
import { dtlsServerOption, type RistDtlsFlags, ristDtlsFlags } from './rist-dtls.ts';
import {
  parseDataEnd,
  profileChoice,
  profileFlags,
  type RistProfileFlags,
  statsTicker,
} from './rist-flags.ts';

interface RistRecvOptions extends RistProfileFlags, RistDtlsFlags {
  output: string;
  latency: number;
  idle: number;
}

/** A sink for the payloads: stdout, a file or UDP datagrams. */
interface Sink {
  write(payload: Buffer): void;
  close(): Promise<void>;
}

/** `porthole rist-recv`: a RIST receiver (porthole/rist) writing the MPEG-TS to stdout, UDP or a file. */
export function register(program: Command): void {
  ristDtlsFlags(
    profileFlags(
      program
        .command('rist-recv')
        .description('receive RIST (Simple or Main profile) and write the MPEG-TS to stdout, UDP or a file')
        .argument(
          '<address:port>',
          'where to listen: Simple profile an even port (RTCP on the next), Main profile one port; 0: the OS chooses',
          hostPort({ minPort: 0 }),
        )
        .option(
          '--output <spec>',
          '- (stdout), udp://ADDRESS:PORT (one datagram per RTP payload) or file:PATH',
          '-',
        )
        .option(
          '--latency <ms>',
          'output delay and recovery window, 1-60000',
          numberIn({ min: 1, max: 60_000, integer: true }),
          1000,
        )
        .option(
          '--idle <seconds>',
          'exit once nothing arrived for this long after the first packet, 1-86400 (0: run until Ctrl-C)',
          numberIn({ min: 1, max: 86_400, zero: true }),
          0,
        ),
    ),
    'server',
  ).action(async (listenText: string, options: RistRecvOptions) => {
    const choice = profileChoice(options);
    const dtls = await dtlsServerOption(options, choice);
    const to = parseDataEnd(options.output, '--output');
    const listen = await resolveHostPort(listenText, {
      option: '<address:port>',
      minPort: 0,
      defaultPort: 0,
      unresolvedCode: ErrorCode.INVALID_OPTION,
    });
    if (choice.profile === 'simple' && listen.port % 2 === 1) {
      throw new CliFailure(
        `port ${listen.port} is odd`,
        ExitCode.USAGE,
        'the Simple profile listens on an even port (RTCP on the next), or give --profile main',
      );
    }
    const { RistReceiver } = await import('../rist/index.ts');
    const { MediaTransport } = await import('../transport/index.ts');
    const receiverOptions = {
      ...choice,
      latencyMs: options.latency,
      ...(dtls === undefined ? {} : { dtls: dtls.options }),
    };
    const receiver =
      choice.profile === 'simple' && listen.port === 0
        ? new RistReceiver(await MediaTransport.listenEphemeralPair(listen.address), receiverOptions, true)
        : await RistReceiver.listen(listen.address, listen.port, receiverOptions);
    let sink: Sink;
    try {
      sink = await openSink(to);
    } catch (error) {
      await receiver.close();
      throw error;
    }
    const protection =
      dtls !== undefined ? ', DTLS' : choice.secret === undefined ? '' : `, AES-${choice.encryption ?? 128}`;
    const pin = dtls?.fingerprint === undefined ? '' : `, certificate sha-256 ${dtls.fingerprint}`;
    process.stderr.write(
      `porthole rist-recv: listening on ${listen.address}:${receiver.ports.media} (${choice.profile} profile${protection})${pin}\n`,
    );
    const stopStats = statsTicker(options.stats, () => receiver.stats());
    const stop = onStopSignal();
    void stop.signal.then(() => receiver.close());
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdle = (): void => {
      if (options.idle <= 0) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => void receiver.close(), options.idle * 1000);
    };
    let holes = 0;
    try {
      for await (const item of receiver) {
        armIdle();
        if (item.type === 'data') sink.write(item.payload);
        else holes += item.count;
      }
    } finally {
      clearTimeout(idleTimer);
      stop.off();
      stopStats();
      await receiver.close();
      await sink.close();
    }
    const s = receiver.stats();
    const main =
      s.main === undefined
        ? ''
        : `, ${s.main.decryptFailures} decrypt and ${s.main.authFailures} auth failures`;
    process.stderr.write(
      `porthole rist-recv: delivered ${s.delivered} packets, recovered ${s.recovered} of ${s.lost} lost, ${holes} unrecovered${main}\n`,
    );
  });
}

async function openSink(to: ReturnType<typeof parseDataEnd>): Promise<Sink> {
  if (to.kind === 'stdio') {
    return {
      write: (payload) => void process.stdout.write(Buffer.from(payload)),
      close: () => new Promise<void>((resolve) => process.stdout.write('', () => resolve())),
    };
  }
  if (to.kind === 'file') {
    const { createWriteStream } = await import('node:fs');
    const stream = createWriteStream(to.path);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (error) =>
        reject(new CliFailure(`--output ${to.path}: ${error.message}`, ExitCode.FAILED)),
      );
    });
    return {
      write: (payload) => void stream.write(Buffer.from(payload)),
      close: () => new Promise<void>((resolve) => stream.end(() => resolve())),
    };
  }
  const { bindUdpSocket } = await import('../ports/index.ts');
  const socket = await bindUdpSocket({
    family: familyOf(to.address),
    address: familyOf(to.address) === 'udp6' ? '::' : '0.0.0.0',
    port: 0,
  });
  return {
    write: (payload) => socket.send(payload, to.port, to.address),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
