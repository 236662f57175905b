/**
 * Parsed peer certificates, cached by their DER: a server sees the same few client certificates
 * and a client the same server certificate handshake after handshake, and parsing one (and taking
 * its public key) is most of the certificate work of a handshake. The cache is safe because a
 * parse depends on the bytes alone; what depends on the time or the policy (validity, pins, CAs)
 * is checked every handshake. At most {@link CERTIFICATE_CACHE_SIZE} entries, the oldest evicted.
 * @module
 */
import { type KeyObject, X509Certificate } from 'node:crypto';

/** Certificates the cache holds. */
export const CERTIFICATE_CACHE_SIZE = 64;

interface Parsed {
  readonly certificate: X509Certificate;
  publicKey: KeyObject | undefined;
}

const cache = new Map<string, Parsed>();

function entry(der: Uint8Array): Parsed {
  const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1');
  let parsed = cache.get(key);
  if (parsed === undefined) {
    parsed = { certificate: new X509Certificate(der), publicKey: undefined };
    if (cache.size >= CERTIFICATE_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(key, parsed);
  }
  return parsed;
}

/** The parsed certificate of `der`. @throws what `new X509Certificate` throws for bad DER (not cached). */
export function parseCertificate(der: Uint8Array): X509Certificate {
  return entry(der).certificate;
}

/** The public key of the certificate `der`. @throws like {@link parseCertificate}. */
export function certificatePublicKey(der: Uint8Array): KeyObject {
  const parsed = entry(der);
  parsed.publicKey ??= parsed.certificate.publicKey;
  return parsed.publicKey;
}
