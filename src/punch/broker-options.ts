/**
 * The broker core's options, defaults, counters and the directory of other brokers' peers.
 * @module
 */
import type { NatClassType, NatEndpoint } from '../nat/index.ts';
import type { Candidate } from './candidates.ts';
import type { BrokerRetransmitOptions } from './retransmit.ts';

/** Decides whether `peerId` may register with `token` (an application-issued credential). */
export type BrokerAuthenticator = (peerId: string, token: Buffer) => boolean;

/** The credential (the peer's `token`) of `peerId`, or undefined for a peer that may not register. */
export type BrokerCredentialLookup = (peerId: string) => Buffer | undefined;

/** Options of a {@link BrokerCore}. One of `credential` and `authenticate` is required. */
export interface BrokerCoreOptions {
  /**
   * Challenge–response registration (recommended): the broker looks the peer's credential up and
   * checks an HMAC of its nonce under it, so the credential never travels and a captured REGISTER
   * cannot be replayed (docs/security.md). When given, `authenticate` is not used.
   */
  readonly credential?: BrokerCredentialLookup;
  /**
   * The application checks the token itself; the token then travels in clear (after the address
   * round trip), so an on-path observer can replay it. Peers it refuses get no answer at all.
   */
  readonly authenticate?: BrokerAuthenticator;
  /**
   * Most introductions in flight that involve one peer (as requester or target); a CONNECT over it
   * is answered BUSY (`rejectedPeerBusy`). Default {@link DEFAULT_BROKER_MAX_PENDING_PER_PEER}.
   */
  readonly maxPendingPerPeer?: number;
  /**
   * Most registered peers per source IP address (any port); a REGISTER over it is answered FULL
   * (`rejectedPerAddress`). Default {@link DEFAULT_BROKER_MAX_PEERS_PER_ADDRESS}.
   */
  readonly maxPeersPerAddress?: number;
  /** Most registered peers. Default {@link DEFAULT_BROKER_MAX_PEERS}. */
  readonly maxPeers?: number;
  /** Most introductions in flight (unacknowledged). Default {@link DEFAULT_BROKER_MAX_PENDING}. */
  readonly maxPending?: number;
  /** A peer heard from for this long expires, ms. Default {@link DEFAULT_PEER_TIMEOUT_MS}. */
  readonly peerTimeoutMs?: number;
  /** Retransmission of introductions. */
  readonly retransmit?: BrokerRetransmitOptions;
  /** Random bytes (session ids, link ids, secrets). Default `crypto.randomBytes`. */
  readonly randomBytes?: (size: number) => Buffer;
  /**
   * Peers registered at other brokers sharing a directory (a tracker scaled out on Redis): a
   * CONNECT naming a peer not registered here is looked up there, and `introduce` carries the
   * responder's half of the introduction to that broker, which sends it with
   * {@link BrokerCore.introduceFrom}.
   */
  readonly external?: ExternalBrokerDirectory;
}

/** A peer as another broker introduces it: its registered address, NAT class and candidates. */
export interface BrokerPeerInfo {
  readonly peerId: string;
  readonly address: NatEndpoint;
  readonly natClass: NatClassType;
  readonly candidates: readonly Candidate[];
  /**
   * The SHA-256 fingerprint (`AB:CD:…`) of the DTLS certificate it registered, if any: text, so a
   * directory can carry it as JSON. One that does not parse is not introduced.
   */
  readonly fingerprint?: string;
}

/** See {@link BrokerCoreOptions.external}. */
export interface ExternalBrokerDirectory {
  /** The peer registered at another broker, or undefined. */
  lookup(peerId: string): BrokerPeerInfo | undefined;
  /** Hands `to`'s half of an introduction (to `about`, registered here) to `to`'s broker. */
  introduce(to: BrokerPeerInfo, about: BrokerPeerInfo, linkId: Buffer, secret: Buffer, role: 0 | 1): void;
  /**
   * A peer registered here (again, after a rebinding): what the other brokers' `lookup` should
   * return for it from now on — its candidates and certificate fingerprint included. Optional.
   */
  registered?(info: BrokerPeerInfo): void;
}

/** Default cap on registered peers. */
export const DEFAULT_BROKER_MAX_PEERS = 10_000;
/** Default cap on introductions in flight. */
export const DEFAULT_BROKER_MAX_PENDING = 1024;
/** Default cap on registered peers per source IP (a CGNAT address may carry many real peers). */
export const DEFAULT_BROKER_MAX_PEERS_PER_ADDRESS = 256;
/** Default cap on introductions in flight per peer: one pair cannot take the broker's table. */
export const DEFAULT_BROKER_MAX_PENDING_PER_PEER = 8;
/** Default silence after which a peer expires: 45 s (three missed 15 s keepalives). */
export const DEFAULT_PEER_TIMEOUT_MS = 45_000;
/** How often the broker looks for silent peers, ms. */
export const BROKER_SWEEP_INTERVAL_MS = 1000;

/** A datagram a core wants sent. */
export interface Transmit {
  readonly data: Buffer;
  readonly to: NatEndpoint;
}

/** Counters of a {@link BrokerCore}. */
export interface BrokerStats {
  /** Peers registered now. */
  readonly peers: number;
  /** Introductions in flight now. */
  readonly pending: number;
  readonly registrations: number;
  /** REGISTER frames the authenticator refused (no answer sent). */
  readonly rejectedAuth: number;
  /** REGISTER frames refused because `maxPeers` was reached. */
  readonly rejectedFull: number;
  /** CONNECT frames refused because `maxPending` was reached. */
  readonly rejectedBusy: number;
  /** Frames naming an unknown session (answered NOT_REGISTERED). */
  readonly unknownSession: number;
  /** CONNECT frames naming an unregistered peer. */
  readonly unknownTarget: number;
  /** Links introduced (one per accepted CONNECT). */
  readonly introductions: number;
  readonly retransmissions: number;
  /** Introductions never acknowledged after every retransmission. */
  readonly introductionsLost: number;
  /** Peers that went silent and were removed. */
  readonly expired: number;
  /** Peers that said goodbye (UNREGISTER). */
  readonly unregistered: number;
  /** Proven re-registrations that moved a peer id to a new address (NAT rebinding). */
  readonly addressChanges: number;
  /** CHALLENGE answers sent (first REGISTERs, and REGISTERs whose nonce did not match their source). */
  readonly challenges: number;
  /** Session frames from an address other than the peer's registered one: not acted on, answered NOT_REGISTERED. */
  readonly addressUnproven: number;
  /** REGISTER frames answered FULL because their source IP holds `maxPeersPerAddress` peers. */
  readonly rejectedPerAddress: number;
  /** CONNECT frames refused because the requester or the target has `maxPendingPerPeer` introductions in flight. */
  readonly rejectedPeerBusy: number;
  /** Registration candidates dropped as not genuine or over the cap (see candidate-hygiene.ts). */
  readonly candidatesDropped: number;
  /** Frames that did not decode. */
  readonly malformed: number;
  /** Well-formed frames a broker does not take (INTRODUCE, stray ACKs). */
  readonly unexpected: number;
}
