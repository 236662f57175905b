/**
 * `porthole dtls-server`: a DTLS 1.2 server like `openssl s_server -dtls1_2`: with `--echo` every
 * client's records come back to it; otherwise one client at a time is joined to stdin/stdout.
 * Status lines (listening address, certificate fingerprint, clients) go to stderr.
 * @module
 */

import { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import type { DtlsConnection } from '../dtls/index.ts';
import {
  addDtlsFlags,
  commonOptions,
  type DtlsFlags,
  pumpStdin,
  recordBytesFor,
  serverPskOption,
} from './dtls-flags.ts';
import { ipAddress, numberIn, oneOf, onStopSignal } from './fail.ts';

interface ServerFlags extends DtlsFlags {
  host: string;
  port: number;
  echo?: boolean;
  once?: boolean;
  verifyClient: 'none' | 'request' | 'require';
  pskHint?: string;
}

/** Adds `porthole dtls-server`. */
export function register(program: Command): void {
  addDtlsFlags(
    program
      .command('dtls-server')
      .description(
        'serve DTLS 1.2: echo every client (--echo) or join one client at a time to stdin/stdout (like openssl s_server -dtls1_2)',
      ),
  )
    .option('--host <address>', 'local IP address to listen on', ipAddress, '0.0.0.0')
    .option(
      '--port <port>',
      'UDP port, 0-65535 (0: any)',
      numberIn({ min: 0, max: 65_535, integer: true }),
      4433,
    )
    .option('--echo', "send every client's records back to it")
    .option('--once', 'exit after the first client leaves')
    .option(
      '--verify-client <none|request|require>',
      'ask clients for a certificate (checked with --ca / --fingerprint)',
      oneOf(['none', 'request', 'require'] as const),
      'none',
    )
    .option('--psk-hint <text>', 'PSK identity hint sent to clients')
    .action(async (flags: ServerFlags) => {
      const { certificateFingerprint, DtlsServer, generateCertificate } = await import('../dtls/index.ts');
      const note = (line: string): void => {
        process.stderr.write(`porthole dtls-server: ${line}\n`);
      };
      const common = commonOptions(flags);
      const pskOnly = flags.psk !== undefined && flags.cert === undefined;
      const certificate =
        common.certificate ?? (pskOnly ? undefined : await generateCertificate({ keyType: flags.keyType }));
      const stop = onStopSignal();
      const server = await DtlsServer.listen({
        ...common,
        host: flags.host,
        port: flags.port,
        clientAuth: flags.verifyClient,
        ...(certificate !== undefined ? { certificate } : {}),
        ...serverPskOption(flags),
        ...(flags.pskHint !== undefined ? { pskHint: flags.pskHint } : {}),
      });
      const where = server.address();
      const at = `${where.address.includes(':') ? `[${where.address}]` : where.address}:${where.port}`;
      const leaf =
        certificate === undefined
          ? undefined
          : 'chain' in certificate
            ? certificate.chain[0]
            : firstCertificate(certificate.cert);
      note(
        `listening on ${at}` +
          (leaf !== undefined ? `, certificate sha-256 ${certificateFingerprint(leaf)}` : '') +
          (flags.echo === true ? ', echo' : ', stdin/stdout'),
      );
      const size = recordBytesFor(flags.mtu);
      let current: DtlsConnection | undefined;
      if (flags.echo !== true) {
        void pumpStdin(process.stdin, size, (record) => {
          if (current?.state === 'established') current.send(record);
        }).catch(() => {});
      }
      const serve = async (connection: DtlsConnection): Promise<void> => {
        const who = `${connection.remote.address}:${connection.remote.port}`;
        note(
          `client ${who}: ${connection.cipherSuite}` +
            (connection.alpnProtocol !== undefined ? `, ALPN ${connection.alpnProtocol}` : '') +
            (connection.connectionId !== undefined ? ', connection ID' : ''),
        );
        for await (const record of connection) {
          if (flags.echo === true) connection.send(record);
          else if (!process.stdout.write(record))
            await new Promise((resolve) => process.stdout.once('drain', resolve));
        }
        note(`client ${who} left${connection.error !== undefined ? `: ${connection.error.message}` : ''}`);
        await connection.close();
      };
      const accepting = (async () => {
        for await (const connection of server) {
          if (flags.echo === true) {
            const done = serve(connection);
            if (flags.once === true) return done;
            void done;
            continue;
          }
          // One at a time on stdin/stdout, as openssl s_server: later clients wait their turn.
          current = connection;
          await serve(connection);
          current = undefined;
          if (flags.once === true) return;
        }
      })();
      await Promise.race([stop.signal, accepting]);
      stop.off();
      process.stdin.destroy();
      await server.close();
    });
}

/** The DER of the first certificate in PEM text (for its fingerprint). */
function firstCertificate(pem: unknown): Buffer | undefined {
  try {
    return new X509Certificate(String(pem)).raw;
  } catch {
    return undefined;
  }
}
