/**
 * The channel key file: an Ed25519 private key in PEM, PKCS#8 (`-----BEGIN PRIVATE KEY-----`,
 * RFC 8410 §7) — what `openssl genpkey -algorithm ed25519` writes, so an operator can make one
 * with OpenSSL too. {@link loadChannelKey} reads it or, with `create`, writes a new one (mode 0600,
 * never over an existing file).
 * @module
 */
import { createPrivateKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { ConfigError } from '../errors/index.ts';
import { type ChannelSigner, createChannel } from './channel.ts';
import { LiveSourceErrorCode } from './errors.ts';

/** The channel key as PEM (PKCS#8). */
export function encodeChannelKey(channel: ChannelSigner): string {
  return channel.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/**
 * The channel of a PEM (PKCS#8) Ed25519 private key.
 * @throws ConfigError `ERR_LIVE_BAD_KEY_FILE` when it is not one.
 */
export function decodeChannelKey(pem: string, where = 'the key'): ChannelSigner {
  let der: Buffer;
  try {
    const key = createPrivateKey({ key: pem, format: 'pem' });
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`);
    der = key.export({ format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new ConfigError(
      LiveSourceErrorCode.BAD_KEY_FILE,
      `${where}: not an Ed25519 private key in PEM (${(error as Error).message})`,
    );
  }
  // PKCS#8 of Ed25519: a fixed 16-byte prefix, then the 32-byte seed (RFC 8410 §7).
  return createChannel(der.subarray(der.length - 32));
}

/** What {@link loadChannelKey} returns. */
export interface LoadedChannelKey {
  readonly channel: ChannelSigner;
  /** Whether the file was written now. */
  readonly created: boolean;
}

/**
 * Reads the channel key from `path`; when the file does not exist and `create` is set, makes a new
 * key and writes it there (mode 0600).
 * @throws ConfigError `ERR_LIVE_BAD_KEY_FILE` for a file that is no Ed25519 key, or one that cannot
 *   be read or written (the message says which).
 */
export async function loadChannelKey(
  path: string,
  options: { create?: boolean } = {},
): Promise<LoadedChannelKey> {
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' || options.create !== true) {
      throw new ConfigError(LiveSourceErrorCode.BAD_KEY_FILE, `${path}: ${(error as Error).message}`);
    }
  }
  if (text !== undefined) return { channel: decodeChannelKey(text, path), created: false };
  const channel = createChannel();
  try {
    await writeFile(path, encodeChannelKey(channel), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    throw new ConfigError(LiveSourceErrorCode.BAD_KEY_FILE, `${path}: ${(error as Error).message}`);
  }
  return { channel, created: true };
}
