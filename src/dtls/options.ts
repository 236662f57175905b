/**
 * Options of the public DTLS API and their validation into a {@link SessionConfig}.
 * @module
 */
import { randomBytes, type X509Certificate } from 'node:crypto';
import { InvalidOptionError } from '../errors/index.ts';
import {
  type CertificateInput,
  type DtlsCertificate,
  loadCertificate,
  type PeerVerification,
} from './certificate.ts';
import { CIPHER_SUITES, type CipherSuite, suiteByName, usesCertificate, usesPsk } from './cipher-suites.ts';
import type { ClientAuth, SessionConfig } from './config.ts';
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_HANDSHAKE_MESSAGE_BYTES,
  DEFAULT_MAX_REASSEMBLY_BYTES,
  DEFAULT_MAX_REASSEMBLY_FRAGMENTS,
  DEFAULT_MTU_BYTES,
  DEFAULT_REPLAY_WINDOW,
  DEFAULT_RETRANSMIT_INITIAL_MS,
  DEFAULT_RETRANSMIT_MAX_MS,
  MAX_CID_BYTES,
  NamedGroup,
} from './constants.ts';

/** A group by name. */
export type GroupName = 'x25519' | 'P-256' | 'P-384';
const GROUPS: Record<GroupName, number> = {
  x25519: NamedGroup.X25519,
  'P-256': NamedGroup.SECP256R1,
  'P-384': NamedGroup.SECP384R1,
};

/** Options both roles take (all optional). */
export interface DtlsCommonOptions {
  /** Our certificate and key (PEM/DER, or from `generateCertificate`). Required for a server with certificate suites. */
  readonly certificate?: CertificateInput | DtlsCertificate;
  /** Pinned SHA-256 fingerprints of the peer's certificate (the WebRTC way). */
  readonly fingerprints?: readonly string[];
  /** Trusted CAs (PEM or DER) for the peer's chain. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** Host name the server's certificate must carry (with `ca`). */
  readonly serverName?: string;
  /** Last word on the peer's chain: return false to refuse it. */
  readonly verify?: (chain: readonly X509Certificate[]) => boolean;
  /** IANA names of the suites to offer, in order. Default: every suite porthole implements that the keys allow. */
  readonly cipherSuites?: readonly string[];
  /** Groups to offer, in order. Default `['x25519', 'P-256', 'P-384']`. */
  readonly groups?: readonly GroupName[];
  /** SRTP protection profiles to offer/accept (RFC 5764), e.g. `[SrtpProfile.AES128_CM_HMAC_SHA1_80]`. Default none. */
  readonly srtpProfiles?: readonly number[];
  /**
   * ALPN protocol names (RFC 7301), in order of preference: a client offers them, a server picks
   * its first one the client offers and fails with `no_application_protocol` when there is none.
   * Default none (a server without them ignores the client's list).
   */
  readonly alpnProtocols?: readonly string[];
  /**
   * Connection ID (RFC 9146): the length of the CID this side asks the peer to put in its records,
   * bytes (0–255). 0 offers the extension without a CID of our own (we still send the peer's);
   * a non-zero CID lets the session follow the peer to a new address (NAT rebinding). Default:
   * not offered.
   */
  readonly connectionIdBytes?: number;
  /** Refuse a peer without extended_master_secret (RFC 7627). Default true. */
  readonly requireExtendedMasterSecret?: boolean;
  /** Largest datagram sent during the handshake, bytes (≥ 128). Default 1200. */
  readonly mtuBytes?: number;
  /** First retransmission interval, ms. Default: 3 × `rttMs` when given (at least 50), else 1000. */
  readonly retransmitInitialMs?: number;
  /** A measured round-trip time to the peer, ms (derives `retransmitInitialMs`). */
  readonly rttMs?: number;
  /** Cap of the doubling retransmission interval, ms. Default 60 000. */
  readonly retransmitMaxMs?: number;
  /** Whole-handshake deadline, ms. Default 30 000. */
  readonly handshakeTimeoutMs?: number;
  /** Replay window, records (1–1024). Default 64. */
  readonly replayWindow?: number;
  /** Largest handshake message, bytes. Default 65 536. */
  readonly maxHandshakeMessageBytes?: number;
  /** Bytes buffered for reassembly per session. Default 2 000 000. */
  readonly maxReassemblyBytes?: number;
  /** Fragments buffered for reassembly per session. Default 1 000. */
  readonly maxReassemblyFragments?: number;
  /** Records failing authentication before the session fails. Default Infinity (drop and count only). */
  readonly maxBadRecords?: number;
  /** Received records waiting for the reader. Default 256 (then the newest are dropped and counted). */
  readonly receiveQueue?: number;
}

function positive(
  options: object,
  name: string,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = (options as Record<string, unknown>)[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= min) || !(value <= max)) {
    throw new InvalidOptionError(name, `${name} must be a number ${min}-${max}`);
  }
  return value;
}

function integer(options: object, name: string, min: number, max: number): number {
  const value = (options as Record<string, unknown>)[name];
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    throw new InvalidOptionError(name, `${name} must be an integer ${min}-${max}`);
  return value as number;
}

/** Validates the common options into a config; `role` decides what is required. */
export function resolveConfig(
  options: DtlsCommonOptions,
  role: 'client' | 'server',
  extra: {
    clientAuth?: ClientAuth;
    psk?: { identity: Buffer; key: Buffer };
    pskLookup?: (identity: Buffer) => Buffer | undefined;
    pskHint?: Buffer;
    insecureSkipVerify?: boolean;
  },
): SessionConfig {
  const certificate = options.certificate === undefined ? undefined : loadCertificate(options.certificate);
  let suites: CipherSuite[];
  if (options.cipherSuites !== undefined) {
    suites = options.cipherSuites.map((name) => {
      const s = suiteByName(name);
      if (s === undefined)
        throw new InvalidOptionError(
          'cipherSuites',
          `porthole offers no cipher suite ${name}; choose from ${CIPHER_SUITES.map((c) => c.name).join(', ')}`,
        );
      return s;
    });
  } else {
    const pskOnly = extra.psk !== undefined || extra.pskLookup !== undefined;
    suites = CIPHER_SUITES.filter((s) => (usesPsk(s) ? pskOnly : !pskOnly || certificate !== undefined));
  }
  const havePsk = extra.psk !== undefined || extra.pskLookup !== undefined;
  suites = suites.filter((s) => !usesPsk(s) || havePsk);
  if (role === 'server') suites = suites.filter((s) => !usesCertificate(s) || certificate !== undefined);
  if (suites.length === 0) {
    throw new InvalidOptionError(
      'cipherSuites',
      role === 'server' ? 'no usable cipher suite: give a certificate or a psk' : 'no usable cipher suite',
    );
  }
  const groups = (options.groups ?? ['x25519', 'P-256', 'P-384']).map((g) => {
    const v = GROUPS[g];
    if (v === undefined) throw new InvalidOptionError('groups', `group ${g} is not x25519, P-256 or P-384`);
    return v;
  });
  const policy: PeerVerification = {
    ...(options.fingerprints !== undefined ? { fingerprints: options.fingerprints } : {}),
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    ...(options.serverName !== undefined ? { serverName: options.serverName } : {}),
    ...(options.verify !== undefined ? { verify: options.verify } : {}),
  };
  const hasPolicy = Object.keys(policy).length > 0;
  if (role === 'client' && !hasPolicy && extra.insecureSkipVerify !== true && suites.some(usesCertificate)) {
    throw new InvalidOptionError(
      'fingerprints',
      'a client must verify the server: give fingerprints, ca or verify (or insecureSkipVerify: true)',
    );
  }
  const clientAuth = extra.clientAuth ?? 'none';
  if (role === 'server' && clientAuth !== 'none' && !hasPolicy) {
    throw new InvalidOptionError(
      'clientAuth',
      'clientAuth needs fingerprints, ca or verify to check client certificates',
    );
  }
  const rtt = options.rttMs === undefined ? undefined : positive(options, 'rttMs', 0, 0, 60_000);
  const initial = positive(
    options,
    'retransmitInitialMs',
    rtt === undefined ? DEFAULT_RETRANSMIT_INITIAL_MS : Math.max(50, 3 * rtt),
    1,
    60_000,
  );
  return {
    suites,
    groups,
    certificate,
    verification: hasPolicy ? policy : undefined,
    clientAuth,
    psk: extra.psk,
    pskLookup: extra.pskLookup,
    pskHint: extra.pskHint,
    srtpProfiles: options.srtpProfiles ?? [],
    alpnProtocols: resolveAlpn(options.alpnProtocols),
    connectionIdBytes:
      options.connectionIdBytes === undefined
        ? undefined
        : integer(options, 'connectionIdBytes', 0, MAX_CID_BYTES),
    requireExtendedMasterSecret: options.requireExtendedMasterSecret ?? true,
    mtuBytes: positive(options, 'mtuBytes', DEFAULT_MTU_BYTES, 128, 65_507),
    retransmitInitialMs: initial,
    retransmitMaxMs: positive(options, 'retransmitMaxMs', DEFAULT_RETRANSMIT_MAX_MS, initial, 600_000),
    handshakeTimeoutMs: positive(options, 'handshakeTimeoutMs', DEFAULT_HANDSHAKE_TIMEOUT_MS, 1, 3_600_000),
    replayWindow: positive(options, 'replayWindow', DEFAULT_REPLAY_WINDOW, 1, 1024),
    maxHandshakeMessageBytes: positive(
      options,
      'maxHandshakeMessageBytes',
      DEFAULT_MAX_HANDSHAKE_MESSAGE_BYTES,
      1024,
      16_777_215,
    ),
    maxReassemblyBytes: positive(options, 'maxReassemblyBytes', DEFAULT_MAX_REASSEMBLY_BYTES, 1024),
    maxReassemblyFragments: positive(options, 'maxReassemblyFragments', DEFAULT_MAX_REASSEMBLY_FRAGMENTS, 1),
    maxBadRecords: positive(options, 'maxBadRecords', Number.POSITIVE_INFINITY, 0, Number.POSITIVE_INFINITY),
    random: randomBytes,
  };
}

/** Validates `alpnProtocols`: 1–255 bytes each (RFC 7301 §3.1), a list that fits an extension. */
function resolveAlpn(protocols: readonly string[] | undefined): readonly string[] {
  if (protocols === undefined) return [];
  if (!Array.isArray(protocols))
    throw new InvalidOptionError('alpnProtocols', 'alpnProtocols must be an array of strings');
  let total = 0;
  for (const p of protocols) {
    const bytes = typeof p === 'string' ? Buffer.byteLength(p, 'utf8') : 0;
    if (bytes < 1 || bytes > 255)
      throw new InvalidOptionError('alpnProtocols', 'each ALPN protocol is a string of 1-255 bytes');
    total += bytes + 1;
  }
  if (total > 65_535)
    throw new InvalidOptionError('alpnProtocols', 'the ALPN list is longer than 65 535 bytes');
  return [...protocols];
}

/** What a client adds to the common options (`DtlsConnection.connect`, `connectDtlsLink`). */
export interface DtlsClientRoleOptions extends DtlsCommonOptions {
  /** A pre-shared key (RFC 4279) to offer. */
  readonly psk?: { readonly identity: string | Uint8Array; readonly key: Uint8Array };
  /** Accept any server certificate (tests only). Default false. */
  readonly insecureSkipVerify?: boolean;
}

/** What a server adds to the common options (`DtlsServer.listen`, `DtlsLinkAcceptor`, `UdpServer({ dtls })`). */
export interface DtlsServerRoleOptions extends DtlsCommonOptions {
  /** Client certificates: `none`, `request` or `require`. Default `none`. */
  readonly clientAuth?: ClientAuth;
  /** PSK: the key of an identity, or undefined for an unknown one (RFC 4279). */
  readonly psk?: (identity: Buffer) => Uint8Array | undefined;
  /** PSK identity hint sent in the ServerKeyExchange. */
  readonly pskHint?: string;
}

/** Validates a client's options. @throws InvalidOptionError. */
export function resolveClientConfig(options: DtlsClientRoleOptions): SessionConfig {
  return resolveConfig(options, 'client', {
    ...(options.psk !== undefined
      ? { psk: { identity: pskIdentity(options.psk.identity), key: Buffer.from(options.psk.key) } }
      : {}),
    ...(options.insecureSkipVerify !== undefined ? { insecureSkipVerify: options.insecureSkipVerify } : {}),
  });
}

/** Validates a server's options. @throws InvalidOptionError. */
export function resolveServerConfig(options: DtlsServerRoleOptions): SessionConfig {
  const pskLookup = options.psk;
  return resolveConfig(options, 'server', {
    clientAuth: options.clientAuth ?? 'none',
    ...(pskLookup !== undefined
      ? {
          pskLookup: (identity: Buffer) => {
            const key = pskLookup(identity);
            return key === undefined ? undefined : Buffer.from(key);
          },
        }
      : {}),
    ...(options.pskHint !== undefined ? { pskHint: Buffer.from(options.pskHint, 'utf8') } : {}),
  });
}

/** Validates `receiveQueue`. */
export function resolveReceiveQueue(options: DtlsCommonOptions): number {
  return positive(options, 'receiveQueue', 256, 1, 1_000_000);
}

/** Identity as bytes. */
export function pskIdentity(identity: string | Uint8Array): Buffer {
  return typeof identity === 'string' ? Buffer.from(identity, 'utf8') : Buffer.from(identity);
}
