/**
 * The cipher suites porthole's DTLS speaks: AEAD only (RFC 5288, RFC 7905, RFC 4279/5487/5489).
 * @module
 */

/** Key exchange of a suite. */
export type KeyExchangeKind = 'ecdhe-ecdsa' | 'ecdhe-rsa' | 'psk' | 'ecdhe-psk';
/** Record AEAD of a suite. */
export type AeadKind = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

/** One cipher suite. */
export interface CipherSuite {
  /** IANA value. */
  readonly id: number;
  /** IANA name. */
  readonly name: string;
  readonly keyExchange: KeyExchangeKind;
  readonly aead: AeadKind;
  /** PRF hash. RFC 5246 §5. */
  readonly hash: 'sha256' | 'sha384';
  /** AEAD key, bytes. */
  readonly keyBytes: number;
  /** Fixed IV from the key block, bytes (GCM: 4-byte salt, RFC 5288 §3; ChaCha20: 12, RFC 7905 §2). */
  readonly ivBytes: number;
  /** Explicit nonce carried in each record, bytes (8 for GCM, 0 for ChaCha20). */
  readonly explicitNonceBytes: number;
}

function suite(
  id: number,
  name: string,
  keyExchange: KeyExchangeKind,
  aead: AeadKind,
  hash: 'sha256' | 'sha384',
): CipherSuite {
  const chacha = aead === 'chacha20-poly1305';
  return {
    id,
    name,
    keyExchange,
    aead,
    hash,
    keyBytes: aead === 'aes-128-gcm' ? 16 : 32,
    ivBytes: chacha ? 12 : 4,
    explicitNonceBytes: chacha ? 0 : 8,
  };
}

/** Every suite porthole implements, in its default order of preference. */
export const CIPHER_SUITES: readonly CipherSuite[] = [
  suite(0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'ecdhe-ecdsa', 'aes-128-gcm', 'sha256'),
  suite(0xc02c, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'ecdhe-ecdsa', 'aes-256-gcm', 'sha384'),
  suite(
    0xcca9,
    'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
    'ecdhe-ecdsa',
    'chacha20-poly1305',
    'sha256',
  ),
  suite(0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ecdhe-rsa', 'aes-128-gcm', 'sha256'),
  suite(0xc030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'ecdhe-rsa', 'aes-256-gcm', 'sha384'),
  suite(0xcca8, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'ecdhe-rsa', 'chacha20-poly1305', 'sha256'),
  suite(0xccac, 'TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256', 'ecdhe-psk', 'chacha20-poly1305', 'sha256'),
  suite(0x00a8, 'TLS_PSK_WITH_AES_128_GCM_SHA256', 'psk', 'aes-128-gcm', 'sha256'),
  suite(0x00a9, 'TLS_PSK_WITH_AES_256_GCM_SHA384', 'psk', 'aes-256-gcm', 'sha384'),
  suite(0xccab, 'TLS_PSK_WITH_CHACHA20_POLY1305_SHA256', 'psk', 'chacha20-poly1305', 'sha256'),
];

const byId = new Map(CIPHER_SUITES.map((s) => [s.id, s]));
const byName = new Map(CIPHER_SUITES.map((s) => [s.name, s]));

/** The suite with IANA value `id`, if porthole implements it. */
export function suiteById(id: number): CipherSuite | undefined {
  return byId.get(id);
}

/** The suite named `name` (IANA name), if porthole implements it. */
export function suiteByName(name: string): CipherSuite | undefined {
  return byName.get(name);
}

/** Whether the suite authenticates the server with a certificate. */
export function usesCertificate(s: CipherSuite): boolean {
  return s.keyExchange === 'ecdhe-ecdsa' || s.keyExchange === 'ecdhe-rsa';
}

/** Whether the suite uses a pre-shared key. */
export function usesPsk(s: CipherSuite): boolean {
  return s.keyExchange === 'psk' || s.keyExchange === 'ecdhe-psk';
}

/** Whether the suite runs an ephemeral ECDH exchange. */
export function usesEcdhe(s: CipherSuite): boolean {
  return s.keyExchange !== 'psk';
}
