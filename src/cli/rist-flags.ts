/**
 * What `porthole rist-send` and `porthole rist-recv` share: the profile flags (`--profile`,
 * `--secret`, `--encryption`), their check before anything binds, and the endpoint specs of the
 * data's other side (`-`, `udp://HOST:PORT`, `file:PATH`). Loads no layer (docs/cli.md "Start-up").
 * @module
 */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { CliFailure, ExitCode, numberIn, oneOf } from './fail.ts';

/** The environment variable read for the passphrase when `--secret` is not given. */
export const SECRET_ENV = 'PORTHOLE_RIST_SECRET';

/** The profile flags as commander parsed them. */
export interface RistProfileFlags {
  profile: 'simple' | 'main';
  secret?: string;
  encryption?: 128 | 256;
  stats: number;
}

/** The profile options of porthole/rist (checked: a secret needs the Main profile, …). */
export interface RistProfileChoice {
  readonly profile: 'simple' | 'main';
  readonly secret?: string;
  readonly encryption?: 128 | 256;
}

/** Adds `--profile`, `--secret`, `--encryption` and `--stats` to `command`. */
export function profileFlags(command: Command): Command {
  return command
    .option(
      '--profile <profile>',
      'simple (an even/odd port pair) or main (GRE on one port)',
      oneOf(['simple', 'main']),
      'simple',
    )
    .option('--secret <passphrase>', `PSK passphrase, Main profile (default: $${SECRET_ENV} when set)`)
    .option(
      '--encryption <bits>',
      'AES key size with a secret, 128 or 256 (default 128)',
      (text) => Number(oneOf(['128', '256'])(text)) as 128 | 256,
    )
    .option(
      '--stats <seconds>',
      'print the counters on stderr this often, 1-86400 (0: never)',
      numberIn({ min: 1, max: 86_400, zero: true }),
      0,
    );
}

/**
 * The profile options the flags ask for.
 * @throws CliFailure USAGE: a secret without the Main profile, `--encryption` without a secret.
 */
export function profileChoice(flags: RistProfileFlags): RistProfileChoice {
  const secret = flags.secret ?? process.env[SECRET_ENV];
  if (secret !== undefined && secret !== '' && flags.profile !== 'main') {
    throw new CliFailure('a secret needs the Main profile', ExitCode.USAGE, 'add --profile main');
  }
  if (flags.encryption !== undefined && (secret === undefined || secret === '')) {
    throw new CliFailure(
      '--encryption without a secret',
      ExitCode.USAGE,
      `give --secret or set $${SECRET_ENV}`,
    );
  }
  return {
    profile: flags.profile,
    ...(secret === undefined || secret === '' ? {} : { secret }),
    ...(flags.encryption === undefined ? {} : { encryption: flags.encryption }),
  };
}

/** Where the data comes from or goes: stdin/stdout, a UDP address, a file. */
export type DataEnd =
  | { readonly kind: 'stdio' }
  | { readonly kind: 'udp'; readonly address: string; readonly port: number }
  | { readonly kind: 'file'; readonly path: string };

/**
 * Reads `-`, `udp://ADDRESS:PORT` (`udp://[v6]:PORT`) or `file:PATH`.
 * @throws CliFailure USAGE naming `flag`.
 */
export function parseDataEnd(text: string, flag: string): DataEnd {
  const bad = (why: string): never => {
    throw new CliFailure(`${flag}: ${why}`, ExitCode.USAGE, 'give -, udp://ADDRESS:PORT or file:PATH');
  };
  if (text === '-') return { kind: 'stdio' };
  if (text.startsWith('file:')) {
    const path = text.slice(5);
    if (path === '') bad('file: needs a path');
    return { kind: 'file', path };
  }
  if (text.startsWith('udp://')) {
    const rest = text.slice(6);
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(rest);
    const address = m?.[1] ?? m?.[2];
    const port = Number(m?.[3]);
    if (address === undefined || isIP(address) === 0) bad(`"${rest}" is not a numeric ADDRESS:PORT`);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) bad(`port ${m?.[3]} is not 1-65535`);
    return { kind: 'udp', address: address as string, port };
  }
  return bad(`"${text}" is not -, udp://… or file:…`);
}

/** Prints `counters` as one JSON line on stderr every `seconds` (0: never); returns the stop. */
export function statsTicker(seconds: number, counters: () => object): () => void {
  if (seconds <= 0) return () => {};
  const timer = setInterval(() => process.stderr.write(`${JSON.stringify(counters())}\n`), seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
