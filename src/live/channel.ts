/**
 * A live channel: an Ed25519 key pair whose public key names the channel. The channel id is
 * SHA-256 of the raw public key, so an id certifies its key: nobody, the tracker included, can
 * hand out another key (and so other content) under the same id.
 * @module
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';
import { InvalidOptionError } from '../errors/index.ts';
import { CHANNEL_ID_BYTES, PUBLIC_KEY_BYTES } from './constants.ts';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4); the raw 32-byte key follows. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** DER prefix of an Ed25519 PKCS#8 PrivateKeyInfo (RFC 8410 §7); the 32-byte seed follows. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The public face of a channel: what a viewer needs to verify its chunks. */
export interface ChannelKey {
  /** SHA-256 of {@link publicKey}; 32 bytes. */
  readonly id: Buffer;
  /** Raw Ed25519 public key; 32 bytes. */
  readonly publicKey: Buffer;
  /** The public key as a node:crypto KeyObject (for `crypto.verify`). */
  readonly keyObject: KeyObject;
}

/** A channel the caller can sign for (the source's side). */
export interface ChannelSigner extends ChannelKey {
  /** The private key as a node:crypto KeyObject (for `crypto.sign`). */
  readonly privateKey: KeyObject;
}

/** The channel id of a raw Ed25519 public key: SHA-256 of its 32 bytes. */
export function deriveChannelId(publicKey: Uint8Array): Buffer {
  return createHash('sha256').update(publicKey).digest();
}

/**
 * A new channel with a fresh key pair, or the one of a 32-byte Ed25519 `seed` (RFC 8032 §5.1.5;
 * the same seed gives the same channel, for tests and for keys kept in a file).
 * @throws ConfigError `ERR_INVALID_OPTION` when `seed` is not 32 bytes.
 */
export function createChannel(seed?: Uint8Array): ChannelSigner {
  let privateKey: KeyObject;
  if (seed === undefined) {
    privateKey = generateKeyPairSync('ed25519').privateKey;
  } else {
    if (seed.length !== 32) throw new InvalidOptionError('seed', 'seed: an Ed25519 seed is 32 bytes');
    privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  }
  const keyObject = createPublicKey(privateKey);
  const publicKey = keyObject.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
  return { id: deriveChannelId(publicKey), publicKey, keyObject, privateKey };
}

/**
 * The verifying side of a channel from its raw public key, checked against `expectedId` when
 * given (the id a viewer was told to watch; a tracker handing out a different key is caught here).
 * @throws ConfigError `ERR_INVALID_OPTION` for a key that is not 32 bytes, or when its id differs.
 */
export function openChannel(publicKey: Uint8Array, expectedId?: Uint8Array): ChannelKey {
  if (publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new InvalidOptionError('publicKey', 'publicKey: an Ed25519 public key is 32 bytes');
  }
  const raw = Buffer.from(publicKey);
  const id = deriveChannelId(raw);
  if (
    expectedId !== undefined &&
    (expectedId.length !== CHANNEL_ID_BYTES || !timingSafeEqual(id, expectedId))
  ) {
    throw new InvalidOptionError('publicKey', 'publicKey: the key does not hash to the expected channel id');
  }
  const keyObject = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  return { id, publicKey: raw, keyObject };
}
