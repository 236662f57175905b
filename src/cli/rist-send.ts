import type { Command } from 'commander';
import { ErrorCode } from '../errors/index.ts';
import { parseHostPort, resolveHostPort } from '../internal/host-port.ts';
import { CliFailure, ExitCode, hostPort, numberIn, onStopSignal } from './fail.ts';
import { dtlsClientOption, type RistDtlsFlags, ristDtlsFlags } from './rist-dtls.ts';
import {
  parseDataEnd,
  profileChoice,
  profileFlags,
  type RistProfileFlags,
  statsTicker,
} from './rist-flags.ts';

interface RistSendOptions extends RistProfileFlags, RistDtlsFlags {
  input: string;
  loop?: boolean;
  linger: number;
  buffer?: number;
}

/** `porthole rist-send`: MPEG-TS from stdin, UDP or a file, sent as RIST (porthole/rist). */
export function register(program: Command): void {
  ristDtlsFlags(
    profileFlags(
      program
        .command('rist-send')
        .description('send MPEG-TS (stdin, UDP or a file) to a RIST receiver, Simple or Main profile')
        .argument(
          '<host:port>',
          'the receiver: Simple profile its even RTP port, Main profile its port',
          hostPort(),
        )
        .option(
          '--input <spec>',
          '- (stdin), udp://ADDRESS:PORT (listen there) or file:PATH (paced by its PCR)',
          '-',
        )
        .option('--loop', 'file input: start again at its end')
        .option(
          '--linger <ms>',
          'once the input ended, keep answering NACKs this long, 0-60000',
          numberIn({ min: 0, max: 60_000, integer: true }),
          1500,
        )
        .option(
          '--buffer <ms>',
          'recovery buffer: how long a packet can be resent, 1-60000',
          numberIn({ min: 1, max: 60_000, integer: true }),
        ),
    ),
    'client',
  ).action(async (destinationText: string, options: RistSendOptions) => {
    const choice = profileChoice(options);
    const dtls = dtlsClientOption(options, choice);
    const from = parseDataEnd(options.input, '--input');
    if (options.loop === true && from.kind !== 'file')
      throw new CliFailure('--loop is for file input', ExitCode.USAGE);
    if (parseHostPort(destinationText, { option: '<host:port>' }).port === undefined) {
      throw new CliFailure('<host:port>: no port', ExitCode.USAGE, 'give the receiver as host:port');
    }
    const destination = await resolveHostPort(destinationText, {
      option: '<host:port>',
      defaultPort: 0,
      unresolvedCode: ErrorCode.INVALID_OPTION,
    });
    const { RistSender } = await import('../rist/index.ts');
    const { FileTsInput, StreamTsInput, openUdpInput } = await import('../live/index.ts');
    const sender = await RistSender.connect(destination.address, destination.port, {
      ...choice,
      ...(options.buffer === undefined ? {} : { recoveryBufferMs: options.buffer }),
      ...(dtls === undefined ? {} : { dtls }),
    });
    const input =
      from.kind === 'stdio'
        ? new StreamTsInput()
        : from.kind === 'udp'
          ? await openUdpInput({ address: from.address, port: from.port }).catch(async (error: unknown) => {
              await sender.close();
              throw error;
            })
          : new FileTsInput({ path: from.path, loop: options.loop === true });
    const protection =
      dtls !== undefined
        ? `, DTLS ${sender.transport.dtls?.cipherSuite ?? ''}`
        : choice.secret === undefined
          ? ''
          : `, AES-${choice.encryption ?? 128}`;
    process.stderr.write(
      `porthole rist-send: sending to ${destination.address}:${destination.port} (${choice.profile} profile${protection}) from port ${sender.transport.ports.media}\n`,
    );
    const stopStats = statsTicker(options.stats, () => sender.stats());
    const stop = onStopSignal();
    let interrupted = false;
    void stop.signal.then(() => {
      interrupted = true;
      void input.close();
    });
    try {
      for await (const packets of input) sender.writeTs(packets);
      sender.flushTs();
      if (!interrupted) await new Promise((resolve) => setTimeout(resolve, options.linger));
    } finally {
      stop.off();
      stopStats();
      await input.close();
      await sender.close();
    }
    const s = sender.stats();
    process.stderr.write(
      `porthole rist-send: sent ${s.sent} packets, ${s.retransmitsSent} retransmitted of ${s.retransmitsRequested} asked for, rtt ${Number.isNaN(s.rttMs) ? '-' : s.rttMs.toFixed(1)} ms\n`,
    );
    if (interrupted) throw new CliFailure('interrupted before the input ended', ExitCode.INTERRUPTED);
  });
}
