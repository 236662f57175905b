import type { Command } from 'commander';
import type { DropCounts, ServerModeValue, UdpServerStats } from '../server/index.ts';
import { ipAddress, numberIn, oneOf, onStopSignal } from './fail.ts';

interface EchoOptions {
  mode: ServerModeValue;
  host: string;
  port: number;
  cookie?: boolean;
  for?: number;
  json?: boolean;
  maxSessions?: number;
  idle?: number;
}

/**
 * `porthole echo`: a UDP echo server with live stats, to test a network path. Stats go to stdout
 * (redrawn in place on a terminal, one JSON object per line with --json); session events to stderr.
 */
export function register(program: Command): void {
  program
    .command('echo')
    .description(
      'run a UDP echo server (shared or connected mode) printing sessions, datagrams and drops every second',
    )
    .option(
      '--mode <shared|connected>',
      'one shared socket, or a connected socket per session',
      oneOf(['shared', 'connected'] as const),
      'shared',
    )
    .option('--host <address>', 'local IP address to listen on', ipAddress, '0.0.0.0')
    .option(
      '--port <port>',
      'UDP port to listen on, 0-65535 (0: any)',
      numberIn({ min: 0, max: 65_535, integer: true }),
      7007,
    )
    .option('--cookie', 'require the cookie handshake (default: on unless the host is loopback)')
    .option('--no-cookie', 'accept any source without the cookie handshake (plain clients such as nc -u)')
    .option(
      '--max-sessions <n>',
      'sessions alive at once, at most (1-1000000, default 10000)',
      numberIn({ min: 1, max: 1_000_000, integer: true }),
    )
    .option(
      '--idle <ms>',
      'close sessions idle this long (100-86400000, default 60000)',
      numberIn({ min: 100, max: 86_400_000, integer: true, unit: 'ms' }),
    )
    .option(
      '--for <seconds>',
      'stop after this many seconds (0.1-86400; default: until Ctrl-C)',
      numberIn({ min: 0.1, max: 86_400, unit: 'seconds' }),
    )
    .option('--json', 'print stats as one JSON object per line')
    .action(async (options: EchoOptions) => {
      const { isLoopbackHost, UdpServer } = await import('../server/index.ts');
      const json = options.json === true;
      const note = (line: string): void => {
        process.stderr.write(`${live.active ? '\r\x1b[2K' : ''}porthole echo: ${line}\n`);
      };
      const live = { active: false };
      const stop = onStopSignal();
      const server = await UdpServer.listen({
        host: options.host,
        port: options.port,
        mode: options.mode,
        fallback: 'shared',
        ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
        ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
        ...(options.idle === undefined ? {} : { idleTimeoutMs: options.idle }),
      });
      const where = server.address();
      const cookie = options.cookie ?? !isLoopbackHost(options.host);
      const at = `${where.address.includes(':') ? `[${where.address}]` : where.address}:${where.port}`;
      if (json) console.log(JSON.stringify({ listening: at, mode: server.mode, cookie }));
      else console.log(`echo server (${server.mode}) on ${at}; Ctrl-C stops`);
      note(
        cookie
          ? `the cookie handshake is on: plain UDP clients (nc -u) get no echo and count as "unverified"; try it with \`porthole ping ${at}\`, or run with --no-cookie`
          : 'the cookie handshake is off: every source is echoed',
      );
      server.on('session', (session) => {
        note(`session ${session.key} open`);
        session.setReceiver((data) => session.send(data));
        session.on('unreachable', (error) => note(`session ${session.key} unreachable: ${error.message}`));
        session.once('close', () => {
          const s = session.stats();
          note(`session ${session.key} closed (${JSON.stringify(s)})`);
        });
      });
      const tty = !json && process.stdout.isTTY === true;
      const ticker = setInterval(() => {
        live.active = tty;
        print(server.stats(), json, tty);
      }, 1_000);
      let forTimer: NodeJS.Timeout | undefined;
      const seconds = options.for;
      await (seconds === undefined
        ? stop.signal
        : Promise.race([
            stop.signal,
            new Promise<void>((resolve) => (forTimer = setTimeout(resolve, seconds * 1_000))),
          ]));
      stop.off();
      clearTimeout(forTimer);
      clearInterval(ticker);
      await server.close({ graceMs: 1_000 });
      if (live.active) process.stdout.write('\n');
      print(server.stats(), json, false);
    });
}

function print(stats: UdpServerStats, json: boolean, inPlace: boolean): void {
  if (json) {
    console.log(JSON.stringify(stats));
    return;
  }
  const drops = Object.entries(stats.drops as DropCounts)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason}=${n}`)
    .join(' ');
  const line =
    `${stats.mode} sessions=${stats.sessions} backlog=${stats.backlog} in=${stats.datagramsIn} ` +
    `delivered=${stats.delivered} out=${stats.datagramsOut} control=${stats.control} ` +
    `drops: ${drops === '' ? 'none' : drops}`;
  process.stdout.write(inPlace ? `\r\x1b[2K${line}` : `${line}\n`);
}
