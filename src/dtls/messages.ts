/**
 * Bodies of the handshake messages (RFC 5246 §7.4, RFC 6347 §4.2.1, RFC 8422 §5.4, RFC 4279 §2,
 * RFC 5489 §2): each a decoder (a value or ParseError `ERR_DTLS_BAD_HANDSHAKE` with the offset)
 * and an encoder.
 * @module
 */
import { decodeExtensions, encodeExtensions, type HelloExtensions } from './extensions.ts';
import { badHandshake, handshakeReader, readU16List, readVector, u16List, uint, vector } from './wire.ts';

/** ClientHello. RFC 6347 §4.2.1 (with the cookie). */
export interface ClientHello {
  readonly version: number;
  readonly random: Buffer;
  readonly sessionId: Buffer;
  readonly cookie: Buffer;
  readonly cipherSuites: readonly number[];
  readonly compression: Buffer;
  readonly extensions: HelloExtensions;
  /** The raw extensions block (what the cookie HMAC covers). */
  readonly rawExtensions: Buffer;
}

/** Decodes a ClientHello body. */
export function decodeClientHello(body: Buffer): ClientHello {
  const r = handshakeReader(body);
  const version = r.u16('client_version');
  const random = r.bytes(32, 'random');
  const sessionId = readVector(r, 1, 'session_id', 0, 32);
  const cookie = readVector(r, 1, 'cookie', 0, 255);
  const cipherSuites = readU16List(r, 2, 'cipher_suites', 2);
  const compression = readVector(r, 1, 'compression_methods', 1);
  let rawExtensions: Buffer = Buffer.alloc(0);
  let extensions: HelloExtensions = {};
  if (r.remaining > 0) {
    const at = r.offset;
    rawExtensions = readVector(r, 2, 'extensions');
    extensions = decodeExtensions(rawExtensions, at + 2);
  }
  endOf(r);
  return { version, random, sessionId, cookie, cipherSuites, compression, extensions, rawExtensions };
}

/** Encodes a ClientHello body. */
export function encodeClientHello(ch: Omit<ClientHello, 'rawExtensions'>): Buffer {
  return Buffer.concat([
    uint(ch.version, 2),
    ch.random,
    vector(ch.sessionId, 1),
    vector(ch.cookie, 1),
    u16List(ch.cipherSuites),
    vector(ch.compression, 1),
    encodeExtensions(ch.extensions),
  ]);
}

/** HelloVerifyRequest. RFC 6347 §4.2.1. */
export interface HelloVerifyRequest {
  readonly version: number;
  readonly cookie: Buffer;
}

/** Decodes a HelloVerifyRequest body. */
export function decodeHelloVerifyRequest(body: Buffer): HelloVerifyRequest {
  const r = handshakeReader(body);
  const version = r.u16('server_version');
  const cookie = readVector(r, 1, 'cookie', 0, 255);
  endOf(r);
  return { version, cookie };
}

/** Encodes a HelloVerifyRequest body. */
export function encodeHelloVerifyRequest(hvr: HelloVerifyRequest): Buffer {
  return Buffer.concat([uint(hvr.version, 2), vector(hvr.cookie, 1)]);
}

/** ServerHello. RFC 5246 §7.4.1.3. */
export interface ServerHello {
  readonly version: number;
  readonly random: Buffer;
  readonly sessionId: Buffer;
  readonly cipherSuite: number;
  readonly compression: number;
  readonly extensions: HelloExtensions;
}

/** Decodes a ServerHello body. */
export function decodeServerHello(body: Buffer): ServerHello {
  const r = handshakeReader(body);
  const version = r.u16('server_version');
  const random = r.bytes(32, 'random');
  const sessionId = readVector(r, 1, 'session_id', 0, 32);
  const cipherSuite = r.u16('cipher_suite');
  const compression = r.u8('compression_method');
  let extensions: HelloExtensions = {};
  if (r.remaining > 0) {
    const at = r.offset;
    extensions = decodeExtensions(readVector(r, 2, 'extensions'), at + 2);
  }
  endOf(r);
  return { version, random, sessionId, cipherSuite, compression, extensions };
}

/** Encodes a ServerHello body. */
export function encodeServerHello(sh: ServerHello): Buffer {
  return Buffer.concat([
    uint(sh.version, 2),
    sh.random,
    vector(sh.sessionId, 1),
    uint(sh.cipherSuite, 2),
    uint(sh.compression, 1),
    encodeExtensions(sh.extensions),
  ]);
}

/** Decodes a Certificate body: the DER certificates, leaf first. RFC 5246 §7.4.2. */
export function decodeCertificate(body: Buffer): Buffer[] {
  const r = handshakeReader(body);
  const list = handshakeReader(readVector(r, 3, 'certificate_list'));
  endOf(r);
  const out: Buffer[] = [];
  while (list.remaining > 0) out.push(readVector(list, 3, 'ASN.1Cert', 1));
  return out;
}

/** Encodes a Certificate body. */
export function encodeCertificate(chain: readonly Buffer[]): Buffer {
  return vector(Buffer.concat(chain.map((c) => vector(c, 3))), 3);
}

/** ServerKeyExchange of the ECDHE, PSK and ECDHE-PSK suites. */
export interface ServerKeyExchange {
  /** PSK identity hint (PSK suites). RFC 4279 §2. */
  readonly pskHint?: Buffer;
  /** Named group and public point (ECDHE suites). RFC 8422 §5.4. */
  readonly group?: number;
  readonly publicKey?: Buffer;
  /** The bytes the server signs after the randoms (curve_type, group, point). */
  readonly params?: Buffer;
  /** Signature scheme and signature (certificate suites). */
  readonly scheme?: number;
  readonly signature?: Buffer;
}

/** Decodes a ServerKeyExchange for a suite that has `psk`, `ecdhe` and `signed` parts. */
export function decodeServerKeyExchange(
  body: Buffer,
  parts: { psk: boolean; ecdhe: boolean; signed: boolean },
): ServerKeyExchange {
  const r = handshakeReader(body);
  const out: { -readonly [K in keyof ServerKeyExchange]: ServerKeyExchange[K] } = {};
  if (parts.psk) out.pskHint = readVector(r, 2, 'psk_identity_hint');
  if (parts.ecdhe) {
    const start = r.offset;
    const curveType = r.u8('curve_type');
    if (curveType !== 3) badHandshake(`curve_type ${curveType} is not named_curve`, start);
    out.group = r.u16('named_curve');
    out.publicKey = readVector(r, 1, 'ec point', 1);
    out.params = body.subarray(start, r.offset);
  }
  if (parts.signed) {
    out.scheme = r.u16('signature algorithm');
    out.signature = readVector(r, 2, 'signature', 1);
  }
  endOf(r);
  return out;
}

/** ServerECDHParams: curve_type named_curve (3), group, point. RFC 8422 §5.4. */
export function encodeEcdhParams(group: number, publicKey: Buffer): Buffer {
  return Buffer.concat([uint(3, 1), uint(group, 2), vector(publicKey, 1)]);
}

/** CertificateRequest. RFC 5246 §7.4.4. */
export interface CertificateRequest {
  readonly types: Buffer;
  readonly signatureAlgorithms: readonly number[];
}

/** Decodes a CertificateRequest body (the CA names are skipped). */
export function decodeCertificateRequest(body: Buffer): CertificateRequest {
  const r = handshakeReader(body);
  const types = readVector(r, 1, 'certificate_types', 1);
  const signatureAlgorithms = readU16List(r, 2, 'supported_signature_algorithms', 2);
  readVector(r, 2, 'certificate_authorities');
  endOf(r);
  return { types, signatureAlgorithms };
}

/** Encodes a CertificateRequest body with no CA names. */
export function encodeCertificateRequest(cr: CertificateRequest): Buffer {
  return Buffer.concat([vector(cr.types, 1), u16List(cr.signatureAlgorithms), uint(0, 2)]);
}

/** ClientKeyExchange: a PSK identity and/or an EC point. RFC 8422 §5.7, RFC 4279 §2, RFC 5489 §2. */
export interface ClientKeyExchange {
  readonly pskIdentity?: Buffer;
  readonly publicKey?: Buffer;
}

/** Decodes a ClientKeyExchange. */
export function decodeClientKeyExchange(
  body: Buffer,
  parts: { psk: boolean; ecdhe: boolean },
): ClientKeyExchange {
  const r = handshakeReader(body);
  const out: { -readonly [K in keyof ClientKeyExchange]: ClientKeyExchange[K] } = {};
  if (parts.psk) out.pskIdentity = readVector(r, 2, 'psk_identity', 0, 128);
  if (parts.ecdhe) out.publicKey = readVector(r, 1, 'ec point', 1);
  endOf(r);
  return out;
}

/** Encodes a ClientKeyExchange. */
export function encodeClientKeyExchange(cke: ClientKeyExchange): Buffer {
  const parts: Buffer[] = [];
  if (cke.pskIdentity !== undefined) parts.push(vector(cke.pskIdentity, 2));
  if (cke.publicKey !== undefined) parts.push(vector(cke.publicKey, 1));
  return Buffer.concat(parts);
}

/** A digitally-signed struct: scheme and signature. RFC 5246 §4.7 (CertificateVerify §7.4.8). */
export interface SignedBlob {
  readonly scheme: number;
  readonly signature: Buffer;
}

/** Decodes a CertificateVerify body. */
export function decodeCertificateVerify(body: Buffer): SignedBlob {
  const r = handshakeReader(body);
  const scheme = r.u16('signature algorithm');
  const signature = readVector(r, 2, 'signature', 1);
  endOf(r);
  return { scheme, signature };
}

/** Encodes a digitally-signed struct. */
export function encodeSigned(blob: SignedBlob): Buffer {
  return Buffer.concat([uint(blob.scheme, 2), vector(blob.signature, 2)]);
}

/** Decodes a Finished body (12 bytes of verify_data). */
export function decodeFinished(body: Buffer): Buffer {
  if (body.length !== 12) badHandshake(`Finished is ${body.length} bytes, not 12`, 0);
  return body;
}

/** Decodes an empty body (ServerHelloDone, HelloRequest). */
export function decodeEmpty(body: Buffer, what: string): void {
  if (body.length !== 0) badHandshake(`${what} carries ${body.length} bytes`, 0);
}

function endOf(r: ReturnType<typeof handshakeReader>): void {
  if (r.remaining !== 0) badHandshake(`${r.remaining} bytes after the message`, r.offset);
}
