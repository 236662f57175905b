import type { Command } from 'commander';
import pino from 'pino';
import { type DropCounts, type ServerModeValue, UdpServer, type UdpServerStats } from '../server/index.ts';

interface EchoOptions {
  mode: string;
  host: string;
  port: string;
  cookie?: boolean;
  for?: string;
  json?: boolean;
  maxSessions?: string;
  idle?: string;
}

/** `porthole echo`: a UDP echo server with live stats, to test a network path. */
export function register(program: Command): void {
  program
    .command('echo')
    .description(
      'run a UDP echo server (shared or connected mode) printing sessions, datagrams and drops every second',
    )
    .option('--mode <shared|connected>', 'one shared socket, or a connected socket per session', 'shared')
    .option('--host <address>', 'local address to listen on', '0.0.0.0')
    .option('--port <port>', 'UDP port to listen on (0: any)', '7007')
    .option('--cookie', 'require the cookie handshake (default: on unless the host is loopback)')
    .option('--no-cookie', 'accept any source without the cookie handshake')
    .option('--max-sessions <n>', 'sessions alive at once, at most')
    .option('--idle <ms>', 'close sessions idle this long')
    .option('--for <seconds>', 'stop after this many seconds (default: until Ctrl-C)')
    .option('--json', 'print stats as one JSON object per line')
    .action(async (options: EchoOptions) => {
      const log = pino({ name: 'porthole-echo' }, pino.destination(2));
      const server = await UdpServer.listen({
        host: options.host,
        port: Number(options.port),
        mode: options.mode as ServerModeValue,
        fallback: 'shared',
        ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
        ...(options.maxSessions === undefined ? {} : { maxSessions: Number(options.maxSessions) }),
        ...(options.idle === undefined ? {} : { idleTimeoutMs: Number(options.idle) }),
      });
      const where = server.address();
      log.info({ mode: server.mode, address: where.address, port: where.port }, 'echo server listening');
      server.on('session', (session) => {
        log.info({ remote: session.key }, 'session open');
        session.setReceiver((data) => session.send(data));
        session.on('unreachable', (error) =>
          log.warn({ remote: session.key, err: error.message }, 'unreachable'),
        );
        session.once('close', () => log.info({ remote: session.key, ...session.stats() }, 'session closed'));
      });
      const ticker = setInterval(() => print(server.stats(), options.json === true), 1_000);
      const stop = (): void => {
        clearInterval(ticker);
        void server.close({ graceMs: 1_000 }).then(() => {
          print(server.stats(), options.json === true);
          log.info('echo server closed');
        });
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (options.for !== undefined) setTimeout(stop, Number(options.for) * 1_000).unref();
      await new Promise<void>((resolve) => server.once('close', resolve));
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    });
}

function print(stats: UdpServerStats, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(stats));
    return;
  }
  const drops = Object.entries(stats.drops as DropCounts)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason}=${n}`)
    .join(' ');
  console.log(
    `${stats.mode} sessions=${stats.sessions} backlog=${stats.backlog} in=${stats.datagramsIn} ` +
      `delivered=${stats.delivered} out=${stats.datagramsOut} control=${stats.control} ` +
      `drops: ${drops === '' ? 'none' : drops}`,
  );
}
