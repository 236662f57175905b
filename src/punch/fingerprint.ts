/**
 * Certificate fingerprints on the broker wire: a peer registers the SHA-256 digest of its DTLS
 * certificate and the broker hands it to every peer it introduces, which pins it (RFC 8122 §5,
 * the WebRTC way, with the broker as the party both trust). The wire carries the 32 digest bytes;
 * the API speaks the text form `certificateFingerprint` makes (`AB:CD:…`).
 * @module
 */

/** Bytes of a fingerprint on the wire: a SHA-256 digest. RFC 8122 §5. */
export const FINGERPRINT_BYTES = 32;

const TEXT = /^(?:sha-256\s+)?((?:[0-9a-f]{2}:){31}[0-9a-f]{2})$/i;

/**
 * The digest of a SHA-256 fingerprint in text form (`AB:CD:…`, an optional `sha-256 ` prefix), or
 * undefined when `text` is not one. Never throws.
 */
export function fingerprintDigest(text: unknown): Buffer | undefined {
  if (typeof text !== 'string') return undefined;
  const m = TEXT.exec(text.trim());
  return m === null ? undefined : Buffer.from(m[1]!.replaceAll(':', ''), 'hex');
}

/** The text form (`AB:CD:…`, upper case, as `certificateFingerprint`) of a digest. */
export function formatFingerprint(digest: Uint8Array): string {
  return Buffer.from(digest)
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}
