/**
 * DTLS for `porthole rist-send` and `porthole rist-recv` (the Main profile's other protection,
 * instead of `--secret`): `--dtls` and the flags of `dtls-client` / `dtls-server` (dtls-flags.ts:
 * `--cert`, `--key`, `--key-type`, `--ca`, `--fingerprint`, `--psk`, `--psk-identity`, …; the
 * sender adds `--server-name` and `--insecure`, the receiver `--verify-client`), read into the
 * `dtls` option of porthole/rist. Loads no layer until asked (docs/cli.md "Start-up").
 * @module
 */
import { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import type { DtlsClientRoleOptions, DtlsServerRoleOptions } from '../dtls/index.ts';
import { addDtlsFlags, commonOptions, type DtlsFlags, serverPskOption } from './dtls-flags.ts';
import { CliFailure, ExitCode, oneOf } from './fail.ts';
import type { RistProfileChoice } from './rist-flags.ts';

/** The DTLS flags of the two commands as commander parsed them. */
export interface RistDtlsFlags extends DtlsFlags {
  dtls?: boolean;
  serverName?: string;
  insecure?: boolean;
  verifyClient?: 'none' | 'request' | 'require';
}

/** Flags that mean nothing without `--dtls` (with their spelling). */
const DTLS_ONLY = [
  ['suites', '--suites'],
  ['cert', '--cert'],
  ['key', '--key'],
  ['ca', '--ca'],
  ['fingerprint', '--fingerprint'],
  ['psk', '--psk'],
  ['pskIdentity', '--psk-identity'],
  ['cid', '--cid'],
  ['mtu', '--mtu'],
  ['alpn', '--alpn'],
  ['serverName', '--server-name'],
  ['insecure', '--insecure'],
  ['verifyClient', '--verify-client'],
] as const;

/** Adds `--dtls`, the shared DTLS flags and the role's own to `command`. */
export function ristDtlsFlags(command: Command, role: 'client' | 'server'): Command {
  addDtlsFlags(command.option('--dtls', 'Main profile: protect with DTLS 1.2 instead of a secret'));
  if (role === 'client') {
    return command
      .option(
        '--server-name <name>',
        'with --dtls --ca: host name (or IP) the receiver certificate must carry',
      )
      .option('--insecure', 'with --dtls: accept any receiver certificate (tests only)');
  }
  return command.option(
    '--verify-client <none|request|require>',
    'with --dtls: ask the sender for a certificate (checked with --ca / --fingerprint)',
    oneOf(['none', 'request', 'require'] as const),
  );
}

/**
 * Checks the DTLS flags against the profile choice; true when `--dtls` was given.
 * @throws CliFailure USAGE: a DTLS flag without `--dtls`, `--dtls` without the Main profile or with a secret.
 */
function wantsDtls(flags: RistDtlsFlags, choice: RistProfileChoice): boolean {
  if (flags.dtls !== true) {
    const given = DTLS_ONLY.find(([key]) => flags[key] !== undefined);
    if (given !== undefined)
      throw new CliFailure(`${given[1]} needs --dtls`, ExitCode.USAGE, 'add --dtls --profile main');
    return false;
  }
  if (choice.profile !== 'main')
    throw new CliFailure('--dtls needs the Main profile', ExitCode.USAGE, 'add --profile main');
  if (choice.secret !== undefined)
    throw new CliFailure('--dtls and a secret exclude each other', ExitCode.USAGE, 'give one of them');
  return true;
}

/**
 * The sender's `dtls` option (undefined without `--dtls`).
 * @throws CliFailure USAGE (see {@link wantsDtls}; a sender that would verify nothing).
 */
export function dtlsClientOption(
  flags: RistDtlsFlags,
  choice: RistProfileChoice,
): DtlsClientRoleOptions | undefined {
  if (!wantsDtls(flags, choice)) return undefined;
  const pinned = flags.fingerprint !== undefined || flags.ca !== undefined || flags.insecure === true;
  if (!pinned && flags.psk === undefined)
    throw new CliFailure(
      'the sender must verify the receiver',
      ExitCode.USAGE,
      'give --fingerprint, --ca (with --server-name) or --insecure, or use --psk',
    );
  return {
    ...commonOptions(flags),
    ...(flags.serverName !== undefined ? { serverName: flags.serverName } : {}),
    ...(flags.insecure === true ? { insecureSkipVerify: true } : {}),
    ...(flags.psk !== undefined
      ? { psk: { identity: flags.pskIdentity ?? 'Client_identity', key: flags.psk } }
      : {}),
  };
}

/** The receiver's `dtls` option and the SHA-256 fingerprint of its certificate (none with PSK only). */
export interface DtlsServerChoice {
  readonly options: DtlsServerRoleOptions;
  readonly fingerprint: string | undefined;
}

/**
 * The receiver's `dtls` option (undefined without `--dtls`): `--cert`/`--key`, else a fresh
 * self-signed certificate (`--key-type`), none with `--psk` alone.
 * @throws CliFailure USAGE (see {@link wantsDtls}).
 */
export async function dtlsServerOption(
  flags: RistDtlsFlags,
  choice: RistProfileChoice,
): Promise<DtlsServerChoice | undefined> {
  if (!wantsDtls(flags, choice)) return undefined;
  const common = commonOptions(flags);
  const psk = flags.psk;
  let certificate = common.certificate;
  let fingerprint: string | undefined;
  if (certificate === undefined && !(psk !== undefined && flags.cert === undefined)) {
    const { generateCertificate } = await import('../dtls/index.ts');
    const made = await generateCertificate({ keyType: flags.keyType });
    certificate = made;
    fingerprint = made.fingerprint;
  } else if (certificate !== undefined && 'cert' in certificate) {
    try {
      fingerprint = new X509Certificate(String(certificate.cert)).fingerprint256;
    } catch {
      throw new CliFailure('--cert does not hold a PEM certificate', ExitCode.USAGE);
    }
  }
  const options: DtlsServerRoleOptions = {
    ...common,
    ...(certificate !== undefined ? { certificate } : {}),
    ...(flags.verifyClient !== undefined ? { clientAuth: flags.verifyClient } : {}),
    ...serverPskOption(flags),
  };
  return { options, fingerprint };
}
