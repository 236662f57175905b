/**
 * Signing and verifying the ServerKeyExchange and CertificateVerify (RFC 5246 §4.7, §7.4.3,
 * §7.4.8) with the schemes porthole accepts: ECDSA P-256/P-384, RSA-PSS (rsae), RSA PKCS#1 and
 * Ed25519, on node:crypto.
 * @module
 */
import { constants, type KeyObject, sign, verify } from 'node:crypto';
import { SignatureScheme } from './constants.ts';

/** Schemes porthole offers and accepts, in order of preference. */
export const SIGNATURE_SCHEMES: readonly number[] = [
  SignatureScheme.ECDSA_SECP256R1_SHA256,
  SignatureScheme.ECDSA_SECP384R1_SHA384,
  SignatureScheme.ED25519,
  SignatureScheme.RSA_PSS_RSAE_SHA256,
  SignatureScheme.RSA_PSS_RSAE_SHA384,
  SignatureScheme.RSA_PKCS1_SHA256,
  SignatureScheme.RSA_PKCS1_SHA384,
];

function hashOf(scheme: number): string | null {
  switch (scheme) {
    case SignatureScheme.ECDSA_SECP256R1_SHA256:
    case SignatureScheme.RSA_PSS_RSAE_SHA256:
    case SignatureScheme.RSA_PKCS1_SHA256:
      return 'sha256';
    case SignatureScheme.ECDSA_SECP384R1_SHA384:
    case SignatureScheme.RSA_PSS_RSAE_SHA384:
    case SignatureScheme.RSA_PKCS1_SHA384:
      return 'sha384';
    default:
      return null;
  }
}

function keyFor(scheme: number, key: KeyObject): Parameters<typeof verify>[2] {
  if (scheme === SignatureScheme.RSA_PSS_RSAE_SHA256 || scheme === SignatureScheme.RSA_PSS_RSAE_SHA384) {
    return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
  }
  if (key.asymmetricKeyType === 'ec') return { key, dsaEncoding: 'der' };
  return key;
}

/** Whether `scheme` fits `key` (its type and, for ECDSA, its curve). */
export function schemeFitsKey(scheme: number, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  switch (scheme) {
    case SignatureScheme.ECDSA_SECP256R1_SHA256:
      return type === 'ec' && curve === 'prime256v1';
    case SignatureScheme.ECDSA_SECP384R1_SHA384:
      return type === 'ec' && curve === 'secp384r1';
    case SignatureScheme.ED25519:
      return type === 'ed25519';
    case SignatureScheme.RSA_PSS_RSAE_SHA256:
    case SignatureScheme.RSA_PSS_RSAE_SHA384:
    case SignatureScheme.RSA_PKCS1_SHA256:
    case SignatureScheme.RSA_PKCS1_SHA384:
      return type === 'rsa';
    default:
      return false;
  }
}

/** The first of `offered` (peer's list, or all when absent) that our `key` can sign with. */
export function pickScheme(key: KeyObject, offered: readonly number[] | undefined): number | undefined {
  for (const scheme of SIGNATURE_SCHEMES) {
    if (offered !== undefined && !offered.includes(scheme)) continue;
    if (schemeFitsKey(scheme, key)) return scheme;
  }
  return undefined;
}

/** Signs `data` with `key` under `scheme`. */
export function signWith(scheme: number, key: KeyObject, data: Buffer): Buffer {
  return sign(hashOf(scheme), data, keyFor(scheme, key) as never);
}

/** Whether `signature` over `data` verifies with `key` under `scheme` (false for a misfit scheme). */
export function verifyWith(scheme: number, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  if (!SIGNATURE_SCHEMES.includes(scheme) || !schemeFitsKey(scheme, key)) return false;
  try {
    return verify(hashOf(scheme), data, keyFor(scheme, key), signature);
  } catch {
    return false;
  }
}
