/**
 * Wire constants and defaults of DTLS 1.2 (RFC 6347, RFC 5246, RFC 8422, RFC 7627, RFC 5764).
 * @module
 */

/** Record content types. RFC 5246 §6.2.1, RFC 9146 §4 (tls12_cid). */
export const ContentType = {
  CHANGE_CIPHER_SPEC: 20,
  ALERT: 21,
  HANDSHAKE: 22,
  APPLICATION_DATA: 23,
  /** A record carrying a connection ID, its real type inside the ciphertext. RFC 9146 §4. */
  TLS12_CID: 25,
} as const;
/** One of the {@link ContentType} values. */
export type ContentTypeValue = (typeof ContentType)[keyof typeof ContentType];

/** Handshake message types. RFC 5246 §7.4, RFC 6347 §4.3.2. */
export const HandshakeType = {
  HELLO_REQUEST: 0,
  CLIENT_HELLO: 1,
  SERVER_HELLO: 2,
  HELLO_VERIFY_REQUEST: 3,
  CERTIFICATE: 11,
  SERVER_KEY_EXCHANGE: 12,
  CERTIFICATE_REQUEST: 13,
  SERVER_HELLO_DONE: 14,
  CERTIFICATE_VERIFY: 15,
  CLIENT_KEY_EXCHANGE: 16,
  FINISHED: 20,
} as const;

/** Alert levels. RFC 5246 §7.2. */
export const AlertLevel = { WARNING: 1, FATAL: 2 } as const;

/** Alert descriptions. RFC 5246 §7.2, RFC 4279 §2, RFC 7301 §3.2. */
export const AlertDescription = {
  CLOSE_NOTIFY: 0,
  UNEXPECTED_MESSAGE: 10,
  BAD_RECORD_MAC: 20,
  RECORD_OVERFLOW: 22,
  HANDSHAKE_FAILURE: 40,
  BAD_CERTIFICATE: 42,
  UNSUPPORTED_CERTIFICATE: 43,
  CERTIFICATE_EXPIRED: 45,
  CERTIFICATE_UNKNOWN: 46,
  ILLEGAL_PARAMETER: 47,
  UNKNOWN_CA: 48,
  DECODE_ERROR: 50,
  DECRYPT_ERROR: 51,
  PROTOCOL_VERSION: 70,
  INSUFFICIENT_SECURITY: 71,
  INTERNAL_ERROR: 80,
  NO_RENEGOTIATION: 100,
  UNSUPPORTED_EXTENSION: 110,
  UNKNOWN_PSK_IDENTITY: 115,
  NO_APPLICATION_PROTOCOL: 120,
} as const;

/** The RFC name of an alert description (`bad_record_mac`), or its number. */
export function alertName(description: number): string {
  for (const [name, value] of Object.entries(AlertDescription))
    if (value === description) return name.toLowerCase();
  return String(description);
}

/** DTLS 1.2 on the wire (`{254, 253}`). RFC 6347 §4.1. */
export const DTLS_1_2 = 0xfefd;
/** DTLS 1.0 on the wire, the version of a HelloVerifyRequest. RFC 6347 §4.2.1. */
export const DTLS_1_0 = 0xfeff;

/** Record header: type(1) version(2) epoch(2) sequence_number(6) length(2). RFC 6347 §4.1. */
export const RECORD_HEADER_BYTES = 13;
/** Handshake header: type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3). RFC 6347 §4.2.2. */
export const HANDSHAKE_HEADER_BYTES = 12;
/** Largest record plaintext. RFC 5246 §6.2.1. */
export const MAX_PLAINTEXT_BYTES = 16_384;
/** Longest connection ID, bytes (`opaque cid<0..2^8-1>`). RFC 9146 §3. */
export const MAX_CID_BYTES = 255;
/** Largest 48-bit sequence number. RFC 6347 §4.1. */
export const MAX_SEQUENCE = 2 ** 48 - 1;

/** TLS extension types. */
export const ExtensionType = {
  SUPPORTED_GROUPS: 10,
  EC_POINT_FORMATS: 11,
  SIGNATURE_ALGORITHMS: 13,
  USE_SRTP: 14,
  ALPN: 16,
  EXTENDED_MASTER_SECRET: 23,
  /** RFC 9146 §3 (the final code point; drafts used 53). */
  CONNECTION_ID: 54,
  RENEGOTIATION_INFO: 0xff01,
} as const;

/** Named groups. RFC 8422 §5.1.1, RFC 7919. */
export const NamedGroup = {
  SECP256R1: 23,
  SECP384R1: 24,
  X25519: 29,
} as const;
/** One of the {@link NamedGroup} values. */
export type NamedGroupValue = (typeof NamedGroup)[keyof typeof NamedGroup];

/** Signature schemes (TLS 1.2 SignatureAndHashAlgorithm as one 16-bit value). RFC 8446 §4.2.3. */
export const SignatureScheme = {
  RSA_PKCS1_SHA256: 0x0401,
  ECDSA_SECP256R1_SHA256: 0x0403,
  RSA_PKCS1_SHA384: 0x0501,
  ECDSA_SECP384R1_SHA384: 0x0503,
  RSA_PSS_RSAE_SHA256: 0x0804,
  RSA_PSS_RSAE_SHA384: 0x0805,
  ED25519: 0x0807,
} as const;

/** SRTP protection profiles. RFC 5764 §4.1.2, RFC 7714 §14.2. */
export const SrtpProfile = {
  AES128_CM_HMAC_SHA1_80: 0x0001,
  AES128_CM_HMAC_SHA1_32: 0x0002,
  AEAD_AES_128_GCM: 0x0007,
  AEAD_AES_256_GCM: 0x0008,
} as const;
/** One of the {@link SrtpProfile} values. */
export type SrtpProfileValue = (typeof SrtpProfile)[keyof typeof SrtpProfile];

/** The renegotiation SCSV a client lists among its suites. RFC 5746 §3.3. */
export const EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;

/** Default path MTU, bytes (pion/dtls). */
export const DEFAULT_MTU_BYTES = 1200;
/** The MTU a flight falls back to after two retransmissions. RFC 6347 §4.1.1.1. */
export const FALLBACK_MTU_BYTES = 576;
/** Default first retransmission interval without a measured RTT, ms. RFC 6347 §4.2.4.1. */
export const DEFAULT_RETRANSMIT_INITIAL_MS = 1000;
/** Cap of the doubling retransmission interval, ms. RFC 6347 §4.2.4.1. */
export const DEFAULT_RETRANSMIT_MAX_MS = 60_000;
/** Default whole-handshake deadline, ms. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;
/** Default replay window, records. RFC 6347 §4.1.2.6. */
export const DEFAULT_REPLAY_WINDOW = 64;
/** Default cap of one handshake message, bytes. */
export const DEFAULT_MAX_HANDSHAKE_MESSAGE_BYTES = 65_536;
/** Default cap of the bytes buffered for reassembly in one session (pion/dtls). */
export const DEFAULT_MAX_REASSEMBLY_BYTES = 2_000_000;
/** Default cap of the fragments buffered for reassembly in one session (pion/dtls). */
export const DEFAULT_MAX_REASSEMBLY_FRAGMENTS = 1_000;
/** Default cap of sessions one server holds. */
export const DEFAULT_MAX_SESSIONS = 10_000;
/** How often the cookie secret rotates, ms (the previous secret is still accepted). */
export const COOKIE_ROTATE_MS = 60_000;
/** Bytes of a HelloVerifyRequest cookie (truncated HMAC-SHA256). */
export const COOKIE_BYTES = 16;
/** How many messages ahead of the next expected one are buffered. */
export const HANDSHAKE_LOOKAHEAD = 16;
/** How many records of the next epoch wait for its ChangeCipherSpec. */
export const PENDING_EPOCH_RECORDS = 16;
