import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { PortholeError } from '../errors/index.ts';
import type { NatClassType } from '../nat/index.ts';
import type { PunchLink, PunchPeer } from '../punch/index.ts';
import { resolveEndpoint } from './broker.ts';
import { CliFailure, ExitCode, hostPort, ipAddress, numberIn, oneOf } from './fail.ts';
import { BROKER_TOKEN_BYTES, isPeerIdText, NAT_CLASSES } from './flag-constants.ts';
import type { LinkStatus } from './relay-stdio.ts';

interface ConnectCommandOptions {
  broker: string;
  id: string;
  peer: string;
  token: string;
  turn?: string;
  turnUser?: string;
  turnPass?: string;
  natClass: NatClassType;
  localAddress?: string;
  timeout: number;
  peerTimeout: number;
  json?: boolean;
}

/** Retry interval of asking for a peer that is not registered yet, ms. */
const RETRY_MS = 200;

const peerId = (text: string): string => {
  if (!isPeerIdText(text)) throw new InvalidArgumentError('Give 1-64 visible ASCII characters (no spaces).');
  return text;
};
const token = (text: string): string => {
  if (Buffer.byteLength(text) > BROKER_TOKEN_BYTES) {
    throw new InvalidArgumentError(`Give at most ${BROKER_TOKEN_BYTES} bytes.`);
  }
  return text;
};

/**
 * `porthole connect`: registers with a broker, links to `--peer` (the peer with the smaller id asks
 * the broker, the other waits for it), prints the path and the round-trip time on stderr, then
 * carries stdin to the peer's stdout and back, reliably (ARQ over the link, relay-stdio.ts), until
 * both sides reach the end of their input. Exit codes: docs/cli.md.
 */
export function register(program: Command): void {
  program
    .command('connect')
    .description(
      'punch a link to another peer through a broker (TURN fallback), print the path and RTT, carry stdin/stdout reliably',
    )
    .requiredOption('--broker <host:port>', "the broker's UDP address (port default 3478)", hostPort())
    .requiredOption('--id <id>', 'this peer id (1-64 visible ASCII characters)', peerId)
    .requiredOption(
      '--peer <id>',
      'the peer to link to (it runs `porthole connect` with --peer <our id>)',
      peerId,
    )
    .option('--token <token>', 'credential the broker checks (at most 512 bytes)', token, '')
    .option('--turn <host:port>', 'TURN server for the relay fallback (numeric or resolvable)', hostPort())
    .option('--turn-user <user>', 'TURN username')
    .option('--turn-pass <password>', 'TURN password')
    .option(
      '--nat-class <class>',
      "this host's NAT class from `porthole nat` (decides port prediction)",
      oneOf(NAT_CLASSES),
      'unknown',
    )
    .option('--local-address <address>', 'local IP address to bind (default: the wildcard)', ipAddress)
    .option(
      '--timeout <ms>',
      'give up when the peer is not linked after this long (100-3600000)',
      numberIn({ min: 100, max: 3_600_000, integer: true, unit: 'ms' }),
      30_000,
    )
    .option(
      '--peer-timeout <ms>',
      'the peer has gone away after this long without a heartbeat (1000-600000)',
      numberIn({ min: 1_000, max: 600_000, integer: true, unit: 'ms' }),
      5_000,
    )
    .option('--json', 'print the link status on stderr as one JSON object')
    .action(async (options: ConnectCommandOptions) => {
      if (options.id === options.peer) {
        throw new CliFailure(
          `--id and --peer are both "${options.id}"`,
          ExitCode.USAGE,
          "give the other peer's id to --peer",
        );
      }
      if (options.turn !== undefined && (options.turnUser === undefined || options.turnPass === undefined)) {
        throw new CliFailure('--turn needs --turn-user and --turn-pass', ExitCode.USAGE);
      }
      const interrupt = new AbortController();
      const onSignal = (): void => interrupt.abort();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await connect(options, interrupt.signal);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

async function connect(options: ConnectCommandOptions, interrupted: AbortSignal): Promise<void> {
  const { PunchPeer, TurnRelayProvider } = await import('../punch/index.ts');
  const { relayStdio } = await import('./relay-stdio.ts');
  const deadline = AbortSignal.timeout(options.timeout);
  const signal = AbortSignal.any([deadline, interrupted]);
  const broker = await resolveEndpoint(options.broker);
  const relay =
    options.turn === undefined
      ? undefined
      : new TurnRelayProvider({
          server: await resolveEndpoint(options.turn, '--turn'),
          username: options.turnUser ?? '',
          password: options.turnPass ?? '',
        });
  let peer: PunchPeer;
  try {
    peer = await PunchPeer.open({
      broker,
      id: options.id,
      token: options.token,
      natClass: options.natClass,
      ...(relay === undefined ? {} : { relay }),
      ...(options.localAddress === undefined ? {} : { address: options.localAddress }),
      signal,
    });
  } catch (error) {
    throw await linkingFailure(error, options, deadline, interrupted, 'registering with the broker');
  }
  try {
    let link: PunchLink;
    try {
      link =
        options.id < options.peer
          ? await askFor(peer, options.peer, signal)
          : await waitFor(peer, options.peer, signal);
    } catch (error) {
      throw await linkingFailure(error, options, deadline, interrupted, 'linking');
    }
    const { bytesIn, bytesOut } = await relayStdio(link, {
      input: process.stdin,
      output: process.stdout,
      peerTimeoutMs: options.peerTimeout,
      signal: interrupted,
      onLinked: (status) => process.stderr.write(formatStatus(status, options.json === true)),
      note: (line) => {
        if (options.json !== true) process.stderr.write(`porthole connect: ${line}\n`);
      },
    });
    if (options.json !== true) {
      process.stderr.write(`porthole connect: done, ${bytesOut} bytes sent, ${bytesIn} received\n`);
    }
  } finally {
    await peer.close();
  }
}

function formatStatus(status: LinkStatus, json: boolean): string {
  if (json) return `${JSON.stringify(status)}\n`;
  const remote = status.remote === null ? '' : ` (${status.remote})`;
  return `porthole connect: linked to ${status.peer} via ${status.path}${remote}, rtt ${status.rttMs ?? '?'} ms\n`;
}

/** What a failure before the link was up means to the user. */
async function linkingFailure(
  error: unknown,
  options: ConnectCommandOptions,
  deadline: AbortSignal,
  interrupted: AbortSignal,
  doing: string,
): Promise<unknown> {
  const { PunchErrorCode } = await import('../punch/index.ts');
  const other = `porthole connect --id ${options.peer} --peer ${options.id}`;
  if (interrupted.aborted) return new CliFailure(`interrupted while ${doing}`, ExitCode.INTERRUPTED);
  if (deadline.aborted) {
    return new CliFailure(
      `peer "${options.peer}" did not link within ${options.timeout / 1000} s`,
      ExitCode.UNREACHABLE,
      `start \`${other}\` with the same --broker on the other host, or raise --timeout`,
      { cause: error },
    );
  }
  if (error instanceof PortholeError && error.code === PunchErrorCode.BROKER_UNREACHABLE) {
    return new CliFailure(
      `${error.message} [${error.code}]`,
      ExitCode.UNREACHABLE,
      'check --broker (is `porthole broker` running there?) and --token',
      { cause: error },
    );
  }
  if (error instanceof PortholeError && error.code === PunchErrorCode.FAILED) {
    return new CliFailure(
      `no path to "${options.peer}": ${error.message} [${error.code}]`,
      ExitCode.UNREACHABLE,
      'give both sides a --turn relay, or check their --nat-class',
      { cause: error },
    );
  }
  return error;
}

/**
 * Asks the broker for `target`, again every 200 ms while it is not registered yet, and again after
 * a failed punch (the broker may still hold a registration of a previous run of the peer until it
 * expires), until `signal` fires.
 */
async function askFor(peer: PunchPeer, target: string, signal: AbortSignal): Promise<PunchLink> {
  const { PunchErrorCode } = await import('../punch/index.ts');
  for (;;) {
    try {
      return await peer.dial(target, { signal });
    } catch (error) {
      const code = (error as PortholeError).code;
      if (code !== PunchErrorCode.PEER_UNKNOWN && code !== PunchErrorCode.FAILED) throw error;
      if (code === PunchErrorCode.FAILED) {
        process.stderr.write(`porthole connect: ${(error as Error).message}; asking again\n`);
      }
      await sleep(RETRY_MS, undefined, { signal });
    }
  }
}

/** Accepts links until one comes from `target` (links from anyone else are closed). */
async function waitFor(peer: PunchPeer, target: string, signal: AbortSignal): Promise<PunchLink> {
  for (;;) {
    const link = await peer.accept({ signal });
    if (link.peerId === target) return link;
    await link.close();
  }
}
