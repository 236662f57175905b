/**
 * Certificates: loading (PEM or DER), a self-signed ECDSA, RSA or Ed25519 certificate for users who bring none
 * (made with @peculiar/x509 on WebCrypto, never hand-written DER), the WebRTC fingerprint
 * (RFC 8122 §5: SHA-256 of the DER, upper-case hex pairs joined by colons), and verifying a
 * peer's chain against pinned fingerprints, CAs (node:crypto `X509Certificate`) or a callback.
 * @module
 */
import { createHash, createPrivateKey, type KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { InvalidOptionError } from '../errors/index.ts';
import { parseCertificate } from './certificate-cache.ts';
import { loadX509 } from './x509-loader.ts';

/** A certificate chain (leaf first, DER) and the leaf's private key. */
export interface DtlsCertificate {
  readonly chain: readonly Buffer[];
  readonly privateKey: KeyObject;
  /** SHA-256 fingerprint of the leaf, WebRTC style (`AB:CD:…`). */
  readonly fingerprint: string;
}

/** A certificate as a user gives it: PEM text (one or more certificates) or DER, and the key. */
export interface CertificateInput {
  readonly cert: string | Buffer | readonly (string | Buffer)[];
  readonly key: string | Buffer | KeyObject;
}

/** Key types {@link generateCertificate} makes. */
export type CertificateKeyType = 'ecdsa' | 'rsa' | 'ed25519';

/** Settings of {@link generateCertificate}. */
export interface GenerateCertificateOptions {
  /** Subject common name. Default `porthole`. */
  readonly commonName?: string;
  /** Key type: `ecdsa` (ECDHE-ECDSA suites), `rsa` (ECDHE-RSA suites) or `ed25519` (ECDHE-ECDSA suites, RFC 8422). Default `ecdsa`. */
  readonly keyType?: CertificateKeyType;
  /** Curve of an ECDSA key. Default `P-256`. */
  readonly curve?: 'P-256' | 'P-384';
  /** Modulus of an RSA key, bits (2048, 3072 or 4096). Default 2048. */
  readonly rsaBits?: number;
  /** Validity from now, days. Default 30. */
  readonly validDays?: number;
}

/** The WebRTC fingerprint of a DER certificate: SHA-256, `AB:CD:…`. RFC 8122 §5. */
export function certificateFingerprint(der: Uint8Array): string {
  return createHash('sha256')
    .update(der)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}

function normalizeFingerprint(text: string): string {
  return text.replace(/^sha-256\s+/i, '').toUpperCase();
}

function pemBlocks(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  }
  return out;
}

/** DER certificates from PEM text, a DER Buffer, or a list of either. */
export function loadCertificates(
  input: string | Buffer | readonly (string | Buffer)[],
  option: string,
): Buffer[] {
  const items = typeof input === 'string' || Buffer.isBuffer(input) ? [input] : input;
  const out: Buffer[] = [];
  for (const item of items) {
    const text =
      typeof item === 'string'
        ? item
        : item.subarray(0, 11).toString('latin1') === '-----BEGIN '
          ? item.toString('latin1')
          : undefined;
    if (text !== undefined) out.push(...pemBlocks(text));
    else out.push(Buffer.from(item as Buffer));
  }
  if (out.length === 0) throw new InvalidOptionError(option, `${option} holds no certificate`);
  for (const der of out) {
    try {
      new X509Certificate(der);
    } catch (error) {
      throw new InvalidOptionError(option, `${option} holds a certificate node:crypto cannot parse`, {
        cause: error,
      });
    }
  }
  return out;
}

/** A {@link DtlsCertificate} from what the user gave. @throws InvalidOptionError `certificate`. */
export function loadCertificate(input: CertificateInput | DtlsCertificate): DtlsCertificate {
  if ('chain' in input) return input;
  const chain = loadCertificates(input.cert, 'certificate.cert');
  let privateKey: KeyObject;
  try {
    privateKey =
      typeof input.key === 'object' && !Buffer.isBuffer(input.key) ? input.key : createPrivateKey(input.key);
  } catch (error) {
    throw new InvalidOptionError('certificate.key', 'certificate.key is not a private key', { cause: error });
  }
  const leaf = new X509Certificate(chain[0]!);
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new InvalidOptionError('certificate.key', 'certificate.key does not match the certificate');
  }
  return { chain, privateKey, fingerprint: certificateFingerprint(chain[0]!) };
}

/** The WebCrypto algorithm of a key type (the certificate's signature algorithm too). */
function keyAlgorithm(options: GenerateCertificateOptions): Record<string, unknown> & { name: string } {
  const keyType = options.keyType ?? 'ecdsa';
  if (keyType === 'rsa') {
    const bits = options.rsaBits ?? 2048;
    if (bits !== 2048 && bits !== 3072 && bits !== 4096)
      throw new InvalidOptionError('rsaBits', 'rsaBits must be 2048, 3072 or 4096');
    return {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: bits,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    };
  }
  if (keyType === 'ed25519') return { name: 'Ed25519' };
  if (keyType !== 'ecdsa') throw new InvalidOptionError('keyType', 'keyType must be ecdsa, rsa or ed25519');
  const curve = options.curve ?? 'P-256';
  if (curve !== 'P-256' && curve !== 'P-384')
    throw new InvalidOptionError('curve', 'curve must be P-256 or P-384');
  return { name: 'ECDSA', namedCurve: curve, hash: curve === 'P-256' ? 'SHA-256' : 'SHA-384' };
}

/**
 * A fresh self-signed certificate and key (@peculiar/x509 on WebCrypto): ECDSA P-256 by default,
 * RSA (`keyType: 'rsa'`, for the ECDHE-RSA suites) or Ed25519.
 * @throws InvalidOptionError `keyType`, `curve`, `rsaBits`, `validDays`.
 */
export async function generateCertificate(
  options: GenerateCertificateOptions = {},
): Promise<DtlsCertificate> {
  const days = options.validDays ?? 30;
  const alg = keyAlgorithm(options);
  if (!(days > 0)) throw new InvalidOptionError('validDays', 'validDays must be > 0');
  const keys = (await webcrypto.subtle.generateKey(alg as unknown as webcrypto.EcKeyGenParams, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const x509 = await loadX509();
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<(typeof x509)['cryptoProvider']['set']>[0]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=${options.commonName ?? 'porthole'}`,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + days * 86_400_000),
    signingAlgorithm: alg,
    keys,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const der = Buffer.from(cert.rawData);
  return {
    chain: [der],
    privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
    fingerprint: certificateFingerprint(der),
  };
}

/** PEM text of a DER certificate (for handing to other tools, e.g. `openssl s_server -cert`). */
export function certificatePem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** How a peer's certificate chain is checked (any given check must pass). */
export interface PeerVerification {
  /** Pinned SHA-256 fingerprints of the peer's leaf (`AB:CD:…`, an optional `sha-256 ` prefix). */
  readonly fingerprints?: readonly string[];
  /** Trusted CA certificates (PEM or DER): the chain must lead to one of them. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** The host name the leaf must carry (CA verification only). */
  readonly serverName?: string;
  /** Last word: gets the parsed chain, leaf first; returns false to refuse it. */
  readonly verify?: (chain: readonly X509Certificate[]) => boolean;
}

/** Why `chain` is refused under `policy` at wall-clock `nowMs` (default now), or undefined when it is accepted. */
export function checkPeerChain(
  chain: readonly Buffer[],
  policy: PeerVerification,
  nowMs: number = Date.now(),
): string | undefined {
  if (chain.length === 0) return 'the peer sent no certificate';
  let parsed: X509Certificate[];
  try {
    parsed = chain.map((der) => parseCertificate(der));
  } catch {
    return 'the peer certificate does not parse';
  }
  const leaf = parsed[0]!;
  if (policy.fingerprints !== undefined) {
    const print = certificateFingerprint(chain[0]!);
    if (!policy.fingerprints.some((f) => normalizeFingerprint(f) === print)) {
      return `the peer certificate ${print} matches no pinned fingerprint`;
    }
  }
  if (policy.ca !== undefined) {
    const cas = loadCertificates(policy.ca, 'ca').map((der) => new X509Certificate(der));
    const reason = checkAgainstCas(parsed, cas, nowMs);
    if (reason !== undefined) return reason;
    if (
      policy.serverName !== undefined &&
      leaf.checkHost(policy.serverName) === undefined &&
      leaf.checkIP(policy.serverName) === undefined
    ) {
      return `the peer certificate is not for ${policy.serverName}`;
    }
  }
  if (policy.verify !== undefined && !policy.verify(parsed))
    return 'the verify callback refused the peer certificate';
  return undefined;
}

function checkAgainstCas(
  chain: readonly X509Certificate[],
  cas: readonly X509Certificate[],
  nowMs: number,
): string | undefined {
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    if (Date.parse(cert.validFrom) > nowMs || Date.parse(cert.validTo) < nowMs)
      return 'a certificate of the chain is not valid now';
    const anchor = cas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
    if (anchor !== undefined) return undefined;
    const next = chain[i + 1];
    if (next === undefined || !cert.checkIssued(next) || !cert.verify(next.publicKey) || !next.ca) break;
  }
  return 'the peer chain leads to no trusted CA';
}
