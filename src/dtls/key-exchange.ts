/**
 * Ephemeral ECDH on node:crypto: X25519 (RFC 7748, 32-byte points) and the NIST curves P-256 and
 * P-384 (uncompressed points, RFC 8422 §5.4.1). A peer point that is not on the curve throws.
 * @module
 */
import { createECDH, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { NamedGroup } from './constants.ts';

/** One side's ephemeral key. */
export interface EphemeralKey {
  readonly group: number;
  /** The public point as it goes on the wire. */
  readonly publicKey: Buffer;
  /** The shared secret with the peer's wire point. @throws when the point is invalid. */
  derive(peer: Buffer): Buffer;
}

/** Groups porthole implements, in its default order of preference. */
export const SUPPORTED_GROUPS: readonly number[] = [
  NamedGroup.X25519,
  NamedGroup.SECP256R1,
  NamedGroup.SECP384R1,
];

/** DER of an X25519 SubjectPublicKeyInfo before its 32-byte point (RFC 8410 §4). */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * A fresh ephemeral key of `group` (one of {@link SUPPORTED_GROUPS}). X25519 points go in and out
 * as SPKI DER around the raw 32 bytes (no JWK and base64url on the handshake path).
 */
export function generateEphemeral(group: number): EphemeralKey {
  if (group === NamedGroup.X25519) {
    const { publicKey, privateKey } = generateKeyPairSync('x25519');
    const raw = (publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(
      X25519_SPKI_PREFIX.length,
    );
    return {
      group,
      publicKey: raw,
      derive(peer: Buffer): Buffer {
        if (peer.length !== 32) throw new RangeError('an X25519 point is 32 bytes');
        const der = Buffer.allocUnsafe(X25519_SPKI_PREFIX.length + 32);
        X25519_SPKI_PREFIX.copy(der, 0);
        peer.copy(der, X25519_SPKI_PREFIX.length);
        const key: KeyObject = createPublicKey({ key: der, format: 'der', type: 'spki' });
        const secret = diffieHellman({ privateKey, publicKey: key });
        if (secret.every((b) => b === 0)) throw new RangeError('X25519 shared secret is all zeros');
        return secret;
      },
    };
  }
  const ecdh = createECDH(group === NamedGroup.SECP384R1 ? 'secp384r1' : 'prime256v1');
  const publicKey = ecdh.generateKeys();
  const pointBytes = group === NamedGroup.SECP384R1 ? 97 : 65;
  return {
    group,
    publicKey,
    derive(peer: Buffer): Buffer {
      if (peer.length !== pointBytes || peer[0] !== 4) throw new RangeError('not an uncompressed point');
      return ecdh.computeSecret(peer);
    },
  };
}
