/**
 * `porthole dtls-client <host:port>`: a DTLS 1.2 client like `openssl s_client -dtls1_2`: stdin
 * goes to the server as records, the server's records to stdout; the end of stdin sends
 * close_notify. Status lines go to stderr.
 * @module
 */
import type { Command } from 'commander';
import type { DtlsConnection } from '../dtls/index.ts';
import { ErrorCode, PortholeError } from '../errors/index.ts';
import { resolveHostPort } from '../internal/host-port.ts';
import { addDtlsFlags, commonOptions, type DtlsFlags, pumpStdin, recordBytesFor } from './dtls-flags.ts';
import { CliFailure, ExitCode, hostPort, numberIn, onStopSignal } from './fail.ts';

interface ClientFlags extends DtlsFlags {
  serverName?: string;
  insecure?: boolean;
  timeout: number;
}

/** Adds `porthole dtls-client`. */
export function register(program: Command): void {
  addDtlsFlags(
    program
      .command('dtls-client')
      .description(
        'connect to a DTLS 1.2 server: stdin to it, its records to stdout (like openssl s_client -dtls1_2)',
      )
      .argument('<host:port>', 'the server', hostPort()),
  )
    .option('--server-name <name>', 'host name (or IP) the server certificate must carry, with --ca')
    .option('--insecure', 'accept any server certificate (tests only)')
    .option(
      '--timeout <ms>',
      'handshake deadline, 100-3600000 (default 10000)',
      numberIn({ min: 100, max: 3_600_000, integer: true, unit: 'ms' }),
      10_000,
    )
    .action(async (target: string, flags: ClientFlags) => {
      const { DtlsConnection, DtlsErrorCode } = await import('../dtls/index.ts');
      const note = (line: string): void => {
        process.stderr.write(`porthole dtls-client: ${line}\n`);
      };
      const common = commonOptions(flags);
      const pinned = flags.fingerprint !== undefined || flags.ca !== undefined || flags.insecure === true;
      if (!pinned && flags.psk === undefined)
        throw new CliFailure(
          'the client must verify the server',
          ExitCode.USAGE,
          'give --fingerprint, --ca (with --server-name) or --insecure, or use --psk',
        );
      const remote = await resolveHostPort(target, {
        option: '<host:port>',
        defaultPort: 4433,
        unresolvedCode: ErrorCode.INVALID_OPTION,
      }).catch((error: unknown) => {
        throw new CliFailure(
          (error as Error).message,
          ExitCode.USAGE,
          'give an IP address or a name that resolves',
        );
      });
      const stop = onStopSignal();
      const abort = new AbortController();
      void stop.signal.then(() => abort.abort());
      let connection: DtlsConnection;
      try {
        connection = await DtlsConnection.connect({
          ...common,
          remote,
          handshakeTimeoutMs: flags.timeout,
          ...(flags.serverName !== undefined ? { serverName: flags.serverName } : {}),
          ...(flags.insecure === true ? { insecureSkipVerify: true } : {}),
          ...(flags.psk !== undefined
            ? { psk: { identity: flags.pskIdentity ?? 'Client_identity', key: flags.psk } }
            : {}),
          signal: abort.signal,
        });
      } catch (error) {
        stop.off();
        if (abort.signal.aborted)
          throw new CliFailure('interrupted during the handshake', ExitCode.INTERRUPTED);
        if (error instanceof PortholeError && error.code === DtlsErrorCode.HANDSHAKE_TIMEOUT)
          throw new CliFailure(
            `no DTLS handshake with ${target} within ${flags.timeout} ms`,
            ExitCode.UNREACHABLE,
            'is a DTLS 1.2 server listening there?',
          );
        throw error;
      }
      note(
        `connected to ${target}: ${connection.cipherSuite}` +
          (connection.alpnProtocol !== undefined ? `, ALPN ${connection.alpnProtocol}` : '') +
          (connection.connectionId !== undefined
            ? `, connection ID ours ${connection.connectionId.own.toString('hex') || '(none)'} peer's ${connection.connectionId.peer.toString('hex') || '(none)'}`
            : ''),
      );
      const received = (async () => {
        for await (const record of connection) {
          if (!process.stdout.write(record))
            await new Promise((resolve) => process.stdout.once('drain', resolve));
        }
      })();
      const size = recordBytesFor(flags.mtu);
      const input = pumpStdin(process.stdin, size, (record) => {
        if (connection.state === 'established') connection.send(record);
      });
      const outcome = await Promise.race([
        input.then(() => 'stdin-ended' as const),
        received.then(() => 'peer-closed' as const),
        stop.signal.then(() => 'interrupted' as const),
      ]);
      stop.off();
      process.stdin.pause();
      const error = connection.error;
      await connection.close();
      await received;
      if (outcome === 'interrupted')
        throw new CliFailure('interrupted', ExitCode.INTERRUPTED, 'close_notify was sent');
      if (outcome === 'peer-closed' && error !== undefined)
        throw new CliFailure(`the server ended the session: ${error.message}`, ExitCode.PEER_LOST);
      note(
        outcome === 'peer-closed' ? 'the server closed the session' : 'end of stdin: closed (close_notify)',
      );
      process.stdin.destroy();
    });
}
