import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { ErrorCode, PortholeError } from '../errors/index.ts';
import { parseHostPort } from '../internal/host-port.ts';
import type { UdpClient } from '../server/index.ts';
import { CliFailure, ExitCode, ipAddress, numberIn } from './fail.ts';

interface PingOptions {
  count: number;
  interval: number;
  size: number;
  wait: number;
  handshake: boolean;
  json?: boolean;
}

/** First byte of a probe: outside 0x08 (server frames), so the echo server routes it to a session. */
const PROBE = 0x50;
/** Marker, u32 sequence, f64 send time. */
const HEADER_BYTES = 13;

/** What `porthole ping` measured. */
export interface PingSummary {
  readonly target: string;
  readonly transmitted: number;
  readonly received: number;
  readonly duplicates: number;
  readonly reordered: number;
  readonly lossPercent: number;
  readonly rttMs: {
    readonly min: number;
    readonly avg: number;
    readonly max: number;
    readonly mdev: number;
  } | null;
}

/**
 * `porthole ping host:port`: a client of `porthole echo` (any UdpServer that echoes) that does the
 * cookie handshake and reports round-trip time, loss and reordering like ping(8).
 */
export function register(program: Command): void {
  program
    .command('ping')
    .description(
      'ping a `porthole echo` server (cookie handshake included): RTT min/avg/max/mdev, loss, reordering',
    )
    .argument('<host:port>', "the echo server's numeric address and port", target)
    .option(
      '-c, --count <n>',
      'probes to send (1-1000000)',
      numberIn({ min: 1, max: 1_000_000, integer: true }),
      5,
    )
    .option(
      '-i, --interval <ms>',
      'gap between probes (10-60000)',
      numberIn({ min: 10, max: 60_000, integer: true, unit: 'ms' }),
      1_000,
    )
    .option(
      '-s, --size <bytes>',
      `probe size (${HEADER_BYTES}-1400)`,
      numberIn({ min: HEADER_BYTES, max: 1_400, integer: true, unit: 'bytes' }),
      64,
    )
    .option(
      '-W, --wait <ms>',
      'after the last probe, wait this long for replies (1-60000)',
      numberIn({ min: 1, max: 60_000, integer: true, unit: 'ms' }),
      2_000,
    )
    .option('--no-handshake', 'skip the cookie handshake (a plain UDP echo server)')
    .option('--json', 'one JSON object per reply, then the summary, on stdout')
    .action(async (at: { host: string; port: number }, options: PingOptions) => {
      const { connectUdp } = await import('../server/index.ts');
      const json = options.json === true;
      const name = `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
      const interrupted = new AbortController();
      const onSignal = (): void => interrupted.abort();
      process.once('SIGINT', onSignal);
      let client: UdpClient;
      try {
        client = await connectUdp({
          host: at.host,
          port: at.port,
          handshake: options.handshake,
          timeoutMs: 5_000,
          signal: interrupted.signal,
        });
      } catch (error) {
        process.off('SIGINT', onSignal);
        if (interrupted.signal.aborted)
          throw new CliFailure('interrupted before the handshake', ExitCode.INTERRUPTED);
        if (error instanceof PortholeError && error.code === ErrorCode.TIMEOUT) {
          throw new CliFailure(
            `no handshake with ${name} within 5 s`,
            ExitCode.UNREACHABLE,
            'is `porthole echo` running there (and reachable over UDP)? For a plain echo server, give --no-handshake',
          );
        }
        throw error;
      }
      const rtts: number[] = [];
      const seen = new Set<number>();
      let duplicates = 0;
      let reordered = 0;
      let highest = -1;
      let sent = 0;
      if (!json) console.log(`PING ${name}: ${options.size} bytes per probe`);
      client.setReceiver((data) => {
        if (data.length < HEADER_BYTES || data[0] !== PROBE) return;
        const seq = data.readUInt32BE(1);
        const ms = performance.now() - data.readDoubleBE(5);
        if (seen.has(seq)) {
          duplicates++;
          return;
        }
        seen.add(seq);
        const late = seq < highest;
        if (late) reordered++;
        else highest = seq;
        rtts.push(ms);
        const time = Math.round(ms * 1000) / 1000;
        if (json) console.log(JSON.stringify({ seq, bytes: data.length, timeMs: time, reordered: late }));
        else
          console.log(
            `${data.length} bytes from ${name}: seq=${seq} time=${time} ms${late ? ' (reordered)' : ''}`,
          );
      });
      try {
        const probe = Buffer.alloc(options.size);
        probe[0] = PROBE;
        for (let seq = 0; seq < options.count && !interrupted.signal.aborted; seq++) {
          probe.writeUInt32BE(seq, 1);
          probe.writeDoubleBE(performance.now(), 5);
          client.send(Buffer.from(probe));
          sent++;
          await pause(seq + 1 < options.count ? options.interval : options.wait, interrupted.signal);
        }
      } finally {
        process.off('SIGINT', onSignal);
        await client.close();
      }
      const summary = summarize(name, sent, rtts, duplicates, reordered);
      if (json) console.log(JSON.stringify(summary));
      else printSummary(summary);
      if (summary.received === 0) {
        throw new CliFailure(
          `no reply from ${name}`,
          ExitCode.UNREACHABLE,
          'the handshake worked: the path drops data, or the server does not echo',
        );
      }
    });
}

function target(text: string): { host: string; port: number } {
  let parsed: { host: string; port?: number };
  try {
    parsed = parseHostPort(text, { option: '<host:port>' });
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
  ipAddress(parsed.host);
  if (parsed.port === undefined)
    throw new InvalidArgumentError('Give the port too (the echo server listens on 7007 by default).');
  return { host: parsed.host, port: parsed.port };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function summarize(
  target: string,
  transmitted: number,
  rtts: readonly number[],
  duplicates: number,
  reordered: number,
): PingSummary {
  const received = rtts.length;
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  let rttMs: PingSummary['rttMs'] = null;
  if (received > 0) {
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    let sum = 0;
    for (const r of rtts) {
      min = Math.min(min, r);
      max = Math.max(max, r);
      sum += r;
    }
    const avg = sum / received;
    const mdev = Math.sqrt(rtts.reduce((a, b) => a + (b - avg) ** 2, 0) / received);
    rttMs = { min: round(min), avg: round(avg), max: round(max), mdev: round(mdev) };
  }
  const lossPercent =
    transmitted === 0 ? 0 : Math.round(((transmitted - received) / transmitted) * 1000) / 10;
  return { target, transmitted, received, duplicates, reordered, lossPercent, rttMs };
}

function printSummary(s: PingSummary): void {
  console.log(`\n--- ${s.target} ping statistics ---`);
  const extra = `${s.duplicates > 0 ? `, +${s.duplicates} duplicates` : ''}, ${s.reordered} reordered`;
  console.log(`${s.transmitted} probes transmitted, ${s.received} received${extra}, ${s.lossPercent}% loss`);
  if (s.rttMs !== null) {
    const { min, avg, max, mdev } = s.rttMs;
    console.log(`rtt min/avg/max/mdev = ${min}/${avg}/${max}/${mdev} ms`);
  }
}
