/**
 * What `porthole dtls-server` and `porthole dtls-client` share: the TLS flags (suites, certificate
 * and key files, CA and fingerprint pins, PSK, connection ID, MTU, ALPN), read into the options of
 * `porthole/dtls` before anything is bound, and stdin cut into records.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { type Command, InvalidArgumentError } from 'commander';
import type { CertificateKeyType, DtlsCommonOptions } from '../dtls/index.ts';
import { CliFailure, ExitCode, numberIn, oneOf } from './fail.ts';

/** The flags both commands take. */
export interface DtlsFlags {
  suites?: string[];
  cert?: string;
  key?: string;
  keyType: CertificateKeyType;
  ca?: string;
  fingerprint?: string[];
  psk?: Buffer;
  pskIdentity?: string;
  cid?: number;
  mtu?: number;
  alpn?: string[];
}

const commaList = (text: string): string[] => {
  const list = text.split(',').map((s) => s.trim());
  if (list.some((s) => s === ''))
    throw new InvalidArgumentError('Give a comma-separated list without empty items.');
  return list;
};
const hexKey = (text: string): Buffer => {
  if (!/^([0-9a-fA-F]{2}){1,64}$/.test(text))
    throw new InvalidArgumentError('Give the key in hex, 1-64 bytes.');
  return Buffer.from(text, 'hex');
};
const collect = (text: string, previous: string[] | undefined): string[] => [...(previous ?? []), text];

/** Adds the shared flags to `command`. */
export function addDtlsFlags(command: Command): Command {
  return command
    .option(
      '--suites <list>',
      'cipher suites, IANA names, comma-separated, in order (default: all that fit the keys)',
      commaList,
    )
    .option('--cert <file>', 'certificate chain, PEM (default: a fresh self-signed one)')
    .option('--key <file>', 'private key of --cert, PEM')
    .option(
      '--key-type <ecdsa|rsa|ed25519>',
      'key of the self-signed certificate made without --cert',
      oneOf(['ecdsa', 'rsa', 'ed25519'] as const),
      'ecdsa',
    )
    .option('--ca <file>', 'trusted CA certificates, PEM: the peer chain must lead to one')
    .option(
      '--fingerprint <sha-256>',
      "pin the peer certificate's SHA-256 fingerprint (AB:CD:…; repeatable)",
      collect,
    )
    .option('--psk <hex>', 'pre-shared key, hex (enables the PSK suites)', hexKey)
    .option(
      '--psk-identity <id>',
      'PSK identity (client: sent, default Client_identity; server: the only one accepted)',
    )
    .option(
      '--cid <bytes>',
      "connection ID (RFC 9146): length of our own, 0-255 (0: none of ours, send the peer's)",
      numberIn({ min: 0, max: 255, integer: true }),
    )
    .option(
      '--mtu <bytes>',
      'largest handshake datagram, 128-65507 (default 1200)',
      numberIn({ min: 128, max: 65_507, integer: true }),
    )
    .option('--alpn <list>', 'ALPN protocols, comma-separated, in order of preference', commaList);
}

function readFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch (error) {
    throw new CliFailure(`cannot read ${flag} ${path}: ${(error as Error).message}`, ExitCode.USAGE);
  }
}

/** The common options of `porthole/dtls` from the flags (files read now). @throws CliFailure USAGE. */
export function commonOptions(flags: DtlsFlags): DtlsCommonOptions {
  if ((flags.cert === undefined) !== (flags.key === undefined))
    throw new CliFailure('--cert and --key go together', ExitCode.USAGE, 'give both or neither');
  return {
    ...(flags.suites !== undefined ? { cipherSuites: flags.suites } : {}),
    ...(flags.cert !== undefined && flags.key !== undefined
      ? { certificate: { cert: readFile(flags.cert, '--cert'), key: readFile(flags.key, '--key') } }
      : {}),
    ...(flags.ca !== undefined ? { ca: readFile(flags.ca, '--ca') } : {}),
    ...(flags.fingerprint !== undefined ? { fingerprints: flags.fingerprint } : {}),
    ...(flags.cid !== undefined ? { connectionIdBytes: flags.cid } : {}),
    ...(flags.mtu !== undefined ? { mtuBytes: flags.mtu } : {}),
    ...(flags.alpn !== undefined ? { alpnProtocols: flags.alpn } : {}),
  };
}

/**
 * A server's PSK option from the flags: the `--psk` key for the `--psk-identity` client (any
 * identity when none is given); nothing without `--psk`.
 */
export function serverPskOption(flags: DtlsFlags): { psk?: (identity: Buffer) => Buffer | undefined } {
  const psk = flags.psk;
  if (psk === undefined) return {};
  const wanted = flags.pskIdentity;
  return {
    psk: (identity) => (wanted === undefined || identity.toString('utf8') === wanted ? psk : undefined),
  };
}

/** Calls `send` with stdin cut into records of at most `recordBytes`; resolves at the end of stdin. */
export function pumpStdin(
  input: Readable,
  recordBytes: number,
  send: (record: Buffer) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      for (let at = 0; at < chunk.length; at += recordBytes) send(chunk.subarray(at, at + recordBytes));
    };
    input.on('data', onData);
    input.once('end', () => {
      input.off('data', onData);
      resolve();
    });
    input.once('error', (error) =>
      reject(new CliFailure(`cannot read stdin: ${error.message}`, ExitCode.FAILED)),
    );
  });
}

/** Record payload per stdin chunk: what fits the MTU after the record's own bytes. */
export function recordBytesFor(mtu: number | undefined): number {
  return Math.max(64, (mtu ?? 1200) - 64);
}
