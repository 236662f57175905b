/**
 * The resolved settings of one session (what the public options become once validated).
 * @module
 */

import type { DtlsCertificate, PeerVerification } from './certificate.ts';
import type { CipherSuite } from './cipher-suites.ts';

/** A pre-shared key a client offers. RFC 4279 §2. */
export interface PskClientKey {
  readonly identity: Buffer;
  readonly key: Buffer;
}

/** Client certificate policy of a server. */
export type ClientAuth = 'none' | 'request' | 'require';

/** Everything a session needs, validated. */
export interface SessionConfig {
  readonly suites: readonly CipherSuite[];
  readonly groups: readonly number[];
  readonly certificate: DtlsCertificate | undefined;
  /** How the peer's certificate is checked; undefined: not at all (only when allowed). */
  readonly verification: PeerVerification | undefined;
  readonly clientAuth: ClientAuth;
  readonly psk: PskClientKey | undefined;
  readonly pskLookup: ((identity: Buffer) => Buffer | undefined) | undefined;
  readonly pskHint: Buffer | undefined;
  readonly srtpProfiles: readonly number[];
  /** ALPN protocols (RFC 7301), in order of preference; empty: not offered / ignored. */
  readonly alpnProtocols: readonly string[];
  /** Length of our connection ID (RFC 9146), 0–255; undefined: connection_id is not offered. */
  readonly connectionIdBytes: number | undefined;
  readonly requireExtendedMasterSecret: boolean;
  readonly mtuBytes: number;
  readonly retransmitInitialMs: number;
  readonly retransmitMaxMs: number;
  readonly handshakeTimeoutMs: number;
  readonly replayWindow: number;
  readonly maxHandshakeMessageBytes: number;
  readonly maxReassemblyBytes: number;
  readonly maxReassemblyFragments: number;
  readonly maxBadRecords: number;
  readonly random: (bytes: number) => Buffer;
}
