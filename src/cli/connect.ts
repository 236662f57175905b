import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { InvalidOptionError, type PortholeError } from '../errors/index.ts';
import { NatClass, type NatClassType } from '../nat/index.ts';
import { isPeerId, PunchErrorCode, type PunchLink, PunchPeer, TurnRelayProvider } from '../punch/index.ts';
import { resolveEndpoint } from './broker.ts';

interface ConnectCommandOptions {
  broker: string;
  id: string;
  peer: string;
  token: string;
  turn?: string;
  turnUser?: string;
  turnPass?: string;
  natClass: string;
  localAddress?: string;
  timeout: string;
  json?: boolean;
}

/**
 * Frames of the CLI's own protocol over the link (one byte of type, then the body):
 * PING/PONG carry a u32 sequence (round-trip time), DATA a chunk of stdin, EOF the end of stdin.
 */
const Frame = { PING: 1, PONG: 2, DATA: 3, EOF: 4 } as const;
/** Largest chunk of stdin per datagram, bytes (stays under a 1280-byte IPv6 path MTU). */
const MAX_CHUNK_BYTES = 1_200;
/** Retry interval of PING and of asking for a peer that is not registered yet, ms. */
const RETRY_MS = 200;
/** How long to measure the round-trip time before giving up on it, ms. */
const RTT_WAIT_MS = 5_000;
/** How often the EOF frame is sent (datagrams may be lost). */
const EOF_COPIES = 3;

/**
 * `porthole connect`: registers with a broker, links to `--peer` (the peer with the smaller id asks
 * the broker, the other waits for it), prints the path and the round-trip time on stderr, then
 * relays stdin to the peer and the peer's data to stdout, as datagrams (best effort, ≤ 1200 bytes
 * each) until both sides reach the end of their input.
 */
export function register(program: Command): void {
  program
    .command('connect')
    .description(
      'punch a link to another peer through a broker (TURN fallback), print the path and RTT, relay stdin/stdout',
    )
    .requiredOption('--broker <host:port>', "the broker's UDP address (port default 3478)")
    .requiredOption('--id <id>', 'this peer id (1-64 visible ASCII characters)')
    .requiredOption('--peer <id>', 'the peer to link to (it runs `porthole connect` with --peer <our id>)')
    .option('--token <token>', 'credential the broker checks', '')
    .option('--turn <host:port>', 'TURN server for the relay fallback (numeric or resolvable)')
    .option('--turn-user <user>', 'TURN username')
    .option('--turn-pass <password>', 'TURN password')
    .option(
      '--nat-class <class>',
      "this host's NAT class from `porthole nat` (decides port prediction)",
      'unknown',
    )
    .option('--local-address <address>', 'local address to bind (default: the wildcard)')
    .option('--timeout <ms>', 'give up linking after this long', '30000')
    .option('--json', 'print the link status on stderr as one JSON object')
    .action(async (options: ConnectCommandOptions) => {
      if (!isPeerId(options.id) || !isPeerId(options.peer) || options.id === options.peer) {
        throw new InvalidOptionError('--peer', '--id and --peer must be two different peer ids');
      }
      if (options.turn !== undefined && (options.turnUser === undefined || options.turnPass === undefined)) {
        throw new InvalidOptionError('--turn-user', '--turn needs --turn-user and --turn-pass');
      }
      if (
        !(Object.values(NatClass) as string[]).includes(options.natClass) &&
        options.natClass !== 'unknown'
      ) {
        throw new InvalidOptionError('--nat-class', `--nat-class ${options.natClass} is not a NAT class`);
      }
      const timeoutMs = Number(options.timeout);
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
        throw new InvalidOptionError('--timeout', `--timeout must be a positive number of ms`);
      }
      const signal = AbortSignal.timeout(timeoutMs);
      const relay =
        options.turn === undefined
          ? undefined
          : new TurnRelayProvider({
              server: await resolveEndpoint(options.turn, '--turn'),
              username: options.turnUser ?? '',
              password: options.turnPass ?? '',
            });
      const peer = await PunchPeer.open({
        broker: await resolveEndpoint(options.broker),
        id: options.id,
        token: options.token,
        natClass: options.natClass as NatClassType,
        ...(relay === undefined ? {} : { relay }),
        ...(options.localAddress === undefined ? {} : { address: options.localAddress }),
        signal,
      });
      try {
        const link =
          options.id < options.peer
            ? await askFor(peer, options.peer, signal)
            : await waitFor(peer, options.peer, signal);
        await relayStdio(link, options);
      } finally {
        await peer.close();
      }
    });
}

/**
 * Asks the broker for `target`, again every 200 ms while it is not registered yet, and again after
 * a failed punch (the broker may still hold a registration of a previous run of the peer until it
 * expires), until `signal` fires.
 */
async function askFor(peer: PunchPeer, target: string, signal: AbortSignal): Promise<PunchLink> {
  for (;;) {
    try {
      return await peer.dial(target, { signal });
    } catch (error) {
      const code = (error as PortholeError).code;
      if (code !== PunchErrorCode.PEER_UNKNOWN && code !== PunchErrorCode.FAILED) throw error;
      if (code === PunchErrorCode.FAILED)
        process.stderr.write(`porthole: ${(error as Error).message}; asking again\n`);
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

async function relayStdio(link: PunchLink, options: ConnectCommandOptions): Promise<void> {
  const ping = Buffer.alloc(5);
  const sentAt = new Map<number, number>();
  let rtt: (ms: number) => void = () => {};
  const rttMs = new Promise<number | null>((resolve) => {
    rtt = resolve;
    setTimeout(() => resolve(null), RTT_WAIT_MS).unref();
  });
  let remoteEof = false;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  let localEof = false;
  const check = (): void => {
    if (localEof && remoteEof) done();
  };
  link.on('path', (path) => {
    if (path !== null) process.stderr.write(`porthole: path now ${path}\n`);
    else process.stderr.write('porthole: path lost, re-punching\n');
  });
  const reader = (async () => {
    for await (const data of link) {
      switch (data[0]) {
        case Frame.PING:
          if (data.length === 5) link.send(Buffer.from([Frame.PONG, data[1]!, data[2]!, data[3]!, data[4]!]));
          break;
        case Frame.PONG: {
          const at = data.length === 5 ? sentAt.get(data.readUInt32BE(1)) : undefined;
          if (at !== undefined) rtt(performance.now() - at);
          break;
        }
        case Frame.DATA:
          process.stdout.write(data.subarray(1));
          break;
        case Frame.EOF:
          if (!remoteEof) {
            remoteEof = true;
            check();
          }
          break;
      }
    }
  })();
  reader.catch(() => done());
  let seq = 0;
  const pinger = setInterval(() => {
    seq++;
    ping[0] = Frame.PING;
    ping.writeUInt32BE(seq, 1);
    sentAt.set(seq, performance.now());
    link.send(ping);
  }, RETRY_MS);
  const measured = await rttMs;
  clearInterval(pinger);
  const status = {
    peer: link.peerId,
    path: link.path,
    remote: link.remote === null ? null : `${link.remote.address}:${link.remote.port}`,
    rttMs: measured === null ? null : Math.round(measured * 100) / 100,
  };
  process.stderr.write(
    options.json === true
      ? `${JSON.stringify(status)}\n`
      : `porthole: linked to ${status.peer} via ${status.path}${status.remote === null ? '' : ` (${status.remote})`}, rtt ${status.rttMs ?? '?'} ms\n`,
  );

  process.stdin.on('data', (chunk: Buffer) => {
    for (let at = 0; at < chunk.length; at += MAX_CHUNK_BYTES) {
      link.send(Buffer.concat([Buffer.from([Frame.DATA]), chunk.subarray(at, at + MAX_CHUNK_BYTES)]));
    }
  });
  process.stdin.once('end', () => {
    for (let i = 0; i < EOF_COPIES; i++) link.send(Buffer.from([Frame.EOF]));
    localEof = true;
    check();
  });
  const stop = (): void => done();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await finished;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  process.stdin.pause();
  await link.close();
}
