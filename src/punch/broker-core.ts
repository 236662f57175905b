/**
 * The broker's punching role as a sans-I/O core (the tracker's half of the P2P-Live punching
 * design): peers register from their one data socket, so the broker learns the mapping that
 * matters; a CONNECT from A names B and the broker introduces each to the other with candidates,
 * NAT classes and a fresh random punch secret. No I/O, no clock: `receive()`/`poll()` queue
 * datagrams that `drain()` hands out.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { InvalidOptionError } from '../errors/index.ts';
import { endpointKey, sameEndpoint } from '../internal/endpoint.ts';
import type { NatClassType, NatEndpoint } from '../nat/index.ts';
import {
  type BrokerAuthenticator,
  type BrokerCoreOptions,
  type BrokerCredentialLookup,
  type BrokerPeerInfo,
  type BrokerStats,
  DEFAULT_BROKER_MAX_PEERS,
  DEFAULT_BROKER_MAX_PEERS_PER_ADDRESS,
  DEFAULT_BROKER_MAX_PENDING,
  DEFAULT_BROKER_MAX_PENDING_PER_PEER,
  DEFAULT_PEER_TIMEOUT_MS,
  type ExternalBrokerDirectory,
  BROKER_SWEEP_INTERVAL_MS as SWEEP_INTERVAL_MS,
  type Transmit,
} from './broker-options.ts';
import {
  type BrokerFrame,
  BrokerMessage,
  BrokerStatus,
  type BrokerStatusType,
  decodeBrokerFrame,
  encodeBrokerFrame,
  LinkRole,
  MAX_WIRE_CANDIDATES,
  PUNCH_SECRET_BYTES,
  SESSION_ID_BYTES,
} from './broker-wire.ts';
import { genuineCandidates } from './candidate-hygiene.ts';
import type { Candidate } from './candidates.ts';
import {
  brokerIntroductionChannel,
  brokerRegistrationChannel,
  publishBrokerIntroduction,
  publishBrokerRegistration,
} from './diagnostics.ts';
import { fingerprintDigest, formatFingerprint } from './fingerprint.ts';
import {
  isRegistrationNonce,
  isRegistrationProof,
  REGISTRATION_NONCE_BYTES,
  REGISTRATION_NONCE_PERIOD_MS,
  registrationNonce,
  sealIntroduction,
} from './registration.ts';
import { Retransmitter } from './retransmit.ts';

export type {
  BrokerAuthenticator,
  BrokerCoreOptions,
  BrokerCredentialLookup,
  BrokerPeerInfo,
  BrokerStats,
  ExternalBrokerDirectory,
  Transmit,
} from './broker-options.ts';
export {
  DEFAULT_BROKER_MAX_PEERS,
  DEFAULT_BROKER_MAX_PEERS_PER_ADDRESS,
  DEFAULT_BROKER_MAX_PENDING,
  DEFAULT_BROKER_MAX_PENDING_PER_PEER,
  DEFAULT_PEER_TIMEOUT_MS,
} from './broker-options.ts';

interface PeerRecord {
  readonly peerId: string;
  readonly session: Buffer;
  readonly sessionKey: string;
  address: NatEndpoint;
  readonly natClass: NatClassType;
  readonly candidates: readonly Candidate[];
  /** SHA-256 digest of the DTLS certificate it registered (handed to whoever it is introduced to). */
  readonly fingerprint: Buffer | undefined;
  /** Key of the MAC on the INTRODUCEs sent to it: its credential (its token with `authenticate`). */
  readonly macKey: Buffer;
  lastSeenMs: number;
  readonly registerSeq: number;
  lastConnectSeq: number;
  lastConnectStatus: BrokerStatusType;
}

const ZERO_SESSION = Buffer.alloc(SESSION_ID_BYTES);

/** What an introduction says about the other peer. */
type IntroducedPeer = Pick<PeerRecord, 'peerId' | 'address' | 'natClass' | 'candidates' | 'fingerprint'>;

/** `info` (another broker's peer) as an introduction describes it: its candidates checked, its fingerprint as bytes. */
function introducedFrom(info: BrokerPeerInfo, candidates: Candidate[]): IntroducedPeer {
  return {
    peerId: info.peerId,
    address: info.address,
    natClass: info.natClass,
    candidates,
    fingerprint: fingerprintDigest(info.fingerprint),
  };
}

/** The directory's view of a peer registered here. */
function peerInfoOf(peer: PeerRecord): BrokerPeerInfo {
  const info = {
    peerId: peer.peerId,
    address: peer.address,
    natClass: peer.natClass,
    candidates: peer.candidates,
  };
  return peer.fingerprint === undefined
    ? info
    : { ...info, fingerprint: formatFingerprint(peer.fingerprint) };
}

/** The broker state machine. */
export class BrokerCore {
  readonly #auth: BrokerAuthenticator;
  readonly #maxPeers: number;
  readonly #peerTimeoutMs: number;
  readonly #random: (size: number) => Buffer;
  readonly #byId = new Map<string, PeerRecord>();
  readonly #bySession = new Map<string, PeerRecord>();
  readonly #pending: Retransmitter<string>;
  #outbox: Transmit[] = [];
  #seq = 1;
  #nextSweepMs = 0;
  readonly #credential: BrokerCredentialLookup | undefined;
  readonly #external: ExternalBrokerDirectory | undefined;
  readonly #maxPendingPerPeer: number;
  readonly #maxPeersPerAddress: number;
  /** Registered peers per source IP address. */
  readonly #peersByAddress = new Map<string, number>();
  /** Introductions in flight per peer (session key). */
  readonly #pendingByPeer = new Map<string, number>();
  /** Key of the stateless registration nonces. */
  readonly #nonceKey: Buffer;
  #c = {
    challenges: 0,
    addressUnproven: 0,
    rejectedPeerBusy: 0,
    rejectedPerAddress: 0,
    candidatesDropped: 0,
    registrations: 0,
    rejectedAuth: 0,
    rejectedFull: 0,
    rejectedBusy: 0,
    unknownSession: 0,
    unknownTarget: 0,
    introductions: 0,
    retransmissions: 0,
    introductionsLost: 0,
    expired: 0,
    unregistered: 0,
    addressChanges: 0,
    malformed: 0,
    unexpected: 0,
  };

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` for a missing authenticator or a bad limit. */
  constructor(options: BrokerCoreOptions) {
    if (typeof options?.credential !== 'function' && typeof options?.authenticate !== 'function') {
      throw new InvalidOptionError(
        'credential',
        'credential(peerId) or authenticate(peerId, token) is required',
      );
    }
    this.#credential = options.credential;
    this.#external = options.external;
    this.#auth = options.authenticate ?? (() => false);
    this.#maxPeersPerAddress = positive(
      options.maxPeersPerAddress,
      DEFAULT_BROKER_MAX_PEERS_PER_ADDRESS,
      'maxPeersPerAddress',
    );
    this.#maxPendingPerPeer = positive(
      options.maxPendingPerPeer,
      DEFAULT_BROKER_MAX_PENDING_PER_PEER,
      'maxPendingPerPeer',
    );
    this.#maxPeers = positive(options.maxPeers, DEFAULT_BROKER_MAX_PEERS, 'maxPeers');
    this.#peerTimeoutMs = positive(options.peerTimeoutMs, DEFAULT_PEER_TIMEOUT_MS, 'peerTimeoutMs');
    this.#pending = new Retransmitter(
      positive(options.maxPending, DEFAULT_BROKER_MAX_PENDING, 'maxPending'),
      options.retransmit,
    );
    this.#random = options.randomBytes ?? randomBytes;
    this.#nonceKey = Buffer.from(randomBytes(32));
  }

  /** Takes one datagram received from `from`. Never throws on bad input: it is counted and dropped. */
  receive(data: Buffer, from: NatEndpoint, nowMs: number): void {
    let frame: BrokerFrame;
    try {
      frame = decodeBrokerFrame(data);
    } catch {
      this.#c.malformed++;
      return;
    }
    switch (frame.type) {
      case BrokerMessage.REGISTER:
        this.#register(frame, from, nowMs);
        return;
      case BrokerMessage.KEEPALIVE: {
        const peer = this.#session(frame.session, frame.seq, from);
        if (peer === undefined) return;
        this.#touch(peer, nowMs);
        this.#ack(from, frame.seq, BrokerStatus.OK, peer.session, from);
        return;
      }
      case BrokerMessage.CONNECT: {
        const peer = this.#session(frame.session, frame.seq, from);
        if (peer === undefined) return;
        this.#touch(peer, nowMs);
        this.#connect(peer, frame.target, frame.seq, nowMs);
        return;
      }
      case BrokerMessage.ACK: {
        const entry = this.#pending.get(frame.seq);
        const peer = this.#bySession.get(frame.session.toString('hex'));
        if (
          entry === undefined ||
          peer === undefined ||
          entry.meta !== peer.sessionKey ||
          !sameEndpoint(peer.address, from)
        ) {
          this.#c.unexpected++;
          return;
        }
        this.#pending.ack(frame.seq);
        this.#settle(peer.sessionKey);
        this.#touch(peer, nowMs);
        return;
      }
      case BrokerMessage.UNREGISTER: {
        // A closing peer: forget it now instead of introducing others to it until it expires.
        // Only its session id (which only it and we know) can do this; an unknown session is
        // answered NOT_REGISTERED like any other request.
        const peer = this.#session(frame.session, frame.seq, from);
        if (peer === undefined) return;
        this.#remove(peer);
        this.#c.unregistered++;
        this.#ack(from, frame.seq, BrokerStatus.OK, frame.session, null);
        return;
      }
      default:
        this.#c.unexpected++;
    }
  }

  /** Retransmits due introductions and expires silent peers. Call at {@link nextWakeMs}. */
  poll(nowMs: number): void {
    this.#pending.poll(
      nowMs,
      (entry) => {
        const peer = this.#bySession.get(entry.meta);
        if (peer !== undefined) entry.to = peer.address;
        this.#c.retransmissions++;
        this.#outbox.push({ data: entry.data, to: entry.to });
      },
      (entry) => {
        this.#c.introductionsLost++;
        this.#settle(entry.meta);
      },
    );
    if (nowMs >= this.#nextSweepMs) {
      this.#nextSweepMs = nowMs + SWEEP_INTERVAL_MS;
      for (const peer of this.#byId.values()) {
        if (nowMs - peer.lastSeenMs >= this.#peerTimeoutMs) {
          this.#remove(peer);
          this.#c.expired++;
        }
      }
    }
  }

  /** When {@link poll} next has work (ms on the caller's clock). */
  nextWakeMs(): number {
    return Math.min(
      this.#pending.nextWakeMs(),
      this.#byId.size > 0 ? this.#nextSweepMs : Number.POSITIVE_INFINITY,
    );
  }

  /** The datagrams queued since the last call. */
  drain(): Transmit[] {
    const out = this.#outbox;
    this.#outbox = [];
    return out;
  }

  /** What another broker needs to introduce `peerId` (registered here), or undefined. */
  peerInfo(peerId: string): BrokerPeerInfo | undefined {
    const p = this.#byId.get(peerId);
    return p === undefined ? undefined : peerInfoOf(p);
  }

  /**
   * Sends `to` (registered here) the introduction another broker made to `about` (registered
   * there), retransmitted like any. False when `to` is not registered here or has
   * `maxPendingPerPeer` introductions in flight (counted as `rejectedPeerBusy`).
   */
  introduceFrom(
    to: string,
    about: BrokerPeerInfo,
    linkId: Buffer,
    secret: Buffer,
    role: 0 | 1,
    nowMs: number,
  ): boolean {
    const peer = this.#byId.get(to);
    if (peer === undefined) {
      this.#c.unknownTarget++;
      return false;
    }
    if (
      (this.#pendingByPeer.get(peer.sessionKey) ?? 0) + 1 > this.#maxPendingPerPeer ||
      !this.#pending.hasRoom(1)
    ) {
      this.#c.rejectedPeerBusy++;
      return false;
    }
    const remote = introducedFrom(about, this.#genuine(about.candidates, about.address));
    this.#introduce(peer, remote, linkId, secret, role, nowMs);
    this.#c.introductions++;
    return true;
  }

  /** Whether `peerId` is registered now. */
  has(peerId: string): boolean {
    return this.#byId.has(peerId);
  }

  /** A snapshot of the counters. */
  stats(): BrokerStats {
    return { peers: this.#byId.size, pending: this.#pending.size, ...this.#c };
  }

  #register(
    frame: Extract<BrokerFrame, { type: typeof BrokerMessage.REGISTER }>,
    from: NatEndpoint,
    nowMs: number,
  ): void {
    const existing = this.#byId.get(frame.peerId);
    if (
      existing !== undefined &&
      existing.registerSeq === frame.seq &&
      sameEndpoint(existing.address, from)
    ) {
      existing.lastSeenMs = nowMs; // a retransmitted REGISTER: same answer
      this.#ack(from, frame.seq, BrokerStatus.OK, existing.session, from);
      return;
    }
    // 1. Return routability: a REGISTER without the nonce minted for its source address and id is
    //    answered with one (CHALLENGE: no larger than the REGISTER, no observed address).
    const nonce = frame.token.subarray(0, REGISTRATION_NONCE_BYTES);
    if (!isRegistrationNonce(this.#nonceKey, nonce, from, frame.peerId, nowMs)) {
      this.#c.challenges++;
      const period = Math.floor(nowMs / REGISTRATION_NONCE_PERIOD_MS);
      this.#ack(
        from,
        frame.seq,
        this.#credential !== undefined ? BrokerStatus.CHALLENGE : BrokerStatus.CHALLENGE_TOKEN,
        registrationNonce(this.#nonceKey, from, frame.peerId, period),
        null,
      );
      return;
    }
    // 2. The credential: an HMAC of the nonce (challenge–response) or the token itself.
    //    The proof covers the fingerprint; the credential (or the token) keys our INTRODUCEs to it.
    const proof = frame.token.subarray(REGISTRATION_NONCE_BYTES);
    let allowed = false;
    let macKey = proof;
    try {
      if (this.#credential !== undefined) {
        const credential = this.#credential(frame.peerId);
        allowed =
          credential !== undefined &&
          isRegistrationProof(credential, nonce, frame.peerId, proof, frame.fingerprint);
        if (credential !== undefined) macKey = credential;
      } else {
        allowed = this.#auth(frame.peerId, proof) === true;
      }
    } catch {
      allowed = false;
    }
    if (!allowed) {
      this.#c.rejectedAuth++;
      if (brokerRegistrationChannel.hasSubscribers)
        publishBrokerRegistration(frame.peerId, from, 'rejected-auth', frame.natClass, this.#byId.size);
      return;
    }
    // 3. Proven: an id registered elsewhere moves here (a NAT rebinding re-registers this way).
    if (existing !== undefined) {
      if (!sameEndpoint(existing.address, from)) this.#c.addressChanges++;
      this.#remove(existing);
    }
    const fromAddress = this.#peersByAddress.get(from.address) ?? 0;
    if (fromAddress >= this.#maxPeersPerAddress) {
      this.#c.rejectedPerAddress++;
      if (brokerRegistrationChannel.hasSubscribers)
        publishBrokerRegistration(frame.peerId, from, 'full', frame.natClass, this.#byId.size);
      this.#ack(from, frame.seq, BrokerStatus.FULL, ZERO_SESSION, null);
      return;
    }
    if (this.#byId.size >= this.#maxPeers) {
      this.poll(nowMs);
      if (this.#byId.size >= this.#maxPeers) {
        this.#c.rejectedFull++;
        if (brokerRegistrationChannel.hasSubscribers)
          publishBrokerRegistration(frame.peerId, from, 'full', frame.natClass, this.#byId.size);
        this.#ack(from, frame.seq, BrokerStatus.FULL, ZERO_SESSION, null);
        return;
      }
    }
    const session = Buffer.from(this.#random(SESSION_ID_BYTES));
    const peer: PeerRecord = {
      peerId: frame.peerId,
      session,
      sessionKey: session.toString('hex'),
      address: { address: from.address, port: from.port },
      natClass: frame.natClass,
      candidates: this.#genuine(frame.candidates, from),
      fingerprint: frame.fingerprint === undefined ? undefined : Buffer.from(frame.fingerprint),
      macKey: Buffer.from(macKey),
      lastSeenMs: nowMs,
      registerSeq: frame.seq,
      lastConnectSeq: -1,
      lastConnectStatus: BrokerStatus.OK,
    };
    this.#byId.set(peer.peerId, peer);
    this.#peersByAddress.set(from.address, fromAddress + 1);
    this.#bySession.set(peer.sessionKey, peer);
    this.#c.registrations++;
    if (brokerRegistrationChannel.hasSubscribers)
      publishBrokerRegistration(frame.peerId, from, 'ok', frame.natClass, this.#byId.size);
    this.#ack(from, frame.seq, BrokerStatus.OK, session, from);
    this.#external?.registered?.(peerInfoOf(peer));
  }

  #genuine(candidates: readonly Candidate[], from: NatEndpoint): Candidate[] {
    const { kept } = genuineCandidates(
      candidates.filter((c) => c.kind === 'host' || c.kind === 'relay'),
      from.address,
    );
    this.#c.candidatesDropped += candidates.length - kept.length;
    return kept;
  }

  /**
   * The peer of a session frame, if it came from the peer's registered address. A session id alone
   * proves nothing (it travels in clear): a frame from another address — a replay, or a NAT that
   * rebound — is answered NOT_REGISTERED there, and a real peer then re-registers with proof.
   */
  #session(session: Buffer, seq: number, from: NatEndpoint): PeerRecord | undefined {
    const peer = this.#bySession.get(session.toString('hex'));
    if (peer === undefined) {
      this.#c.unknownSession++;
      this.#ack(from, seq, BrokerStatus.NOT_REGISTERED, session, null);
      return undefined;
    }
    if (!sameEndpoint(peer.address, from)) {
      this.#c.addressUnproven++;
      this.#ack(from, seq, BrokerStatus.NOT_REGISTERED, session, null);
      return undefined;
    }
    return peer;
  }

  #touch(peer: PeerRecord, nowMs: number): void {
    peer.lastSeenMs = nowMs;
  }

  /** One introduction of `sessionKey`'s is no longer in flight. */
  #settle(sessionKey: string): void {
    const n = this.#pendingByPeer.get(sessionKey) ?? 0;
    if (n <= 1) this.#pendingByPeer.delete(sessionKey);
    else this.#pendingByPeer.set(sessionKey, n - 1);
  }

  #connect(peer: PeerRecord, target: string, seq: number, nowMs: number): void {
    if (peer.lastConnectSeq === seq) {
      this.#ack(peer.address, seq, peer.lastConnectStatus, peer.session, peer.address);
      return;
    }
    const other = this.#byId.get(target);
    const external =
      other === undefined && target !== peer.peerId ? this.#external?.lookup(target) : undefined;
    if (external !== undefined) {
      this.#connectExternal(peer, external, seq, nowMs);
      return;
    }
    let status: BrokerStatusType = BrokerStatus.OK;
    if (other === undefined || other === peer) {
      status = BrokerStatus.UNKNOWN_PEER;
      this.#c.unknownTarget++;
    } else if (
      (this.#pendingByPeer.get(peer.sessionKey) ?? 0) + 1 > this.#maxPendingPerPeer ||
      (this.#pendingByPeer.get(other.sessionKey) ?? 0) + 1 > this.#maxPendingPerPeer
    ) {
      status = BrokerStatus.BUSY;
      this.#c.rejectedPeerBusy++;
    } else if (!this.#pending.hasRoom(2)) {
      status = BrokerStatus.BUSY;
      this.#c.rejectedBusy++;
    }
    peer.lastConnectSeq = seq;
    peer.lastConnectStatus = status;
    this.#ack(peer.address, seq, status, peer.session, peer.address);
    if (status !== BrokerStatus.OK || other === undefined) return;
    const linkId = Buffer.from(this.#random(SESSION_ID_BYTES));
    const secret = Buffer.from(this.#random(PUNCH_SECRET_BYTES));
    this.#introduce(other, peer, linkId, secret, LinkRole.RESPONDER, nowMs);
    this.#introduce(peer, other, linkId, secret, LinkRole.INITIATOR, nowMs);
    this.#c.introductions++;
    if (brokerIntroductionChannel.hasSubscribers) publishBrokerIntroduction(linkId, peer, other);
  }

  /** A CONNECT to a peer of another broker: our half here, theirs through the directory. */
  #connectExternal(peer: PeerRecord, other: BrokerPeerInfo, seq: number, nowMs: number): void {
    let status: BrokerStatusType = BrokerStatus.OK;
    if ((this.#pendingByPeer.get(peer.sessionKey) ?? 0) + 1 > this.#maxPendingPerPeer) {
      status = BrokerStatus.BUSY;
      this.#c.rejectedPeerBusy++;
    } else if (!this.#pending.hasRoom(1)) {
      status = BrokerStatus.BUSY;
      this.#c.rejectedBusy++;
    }
    peer.lastConnectSeq = seq;
    peer.lastConnectStatus = status;
    this.#ack(peer.address, seq, status, peer.session, peer.address);
    if (status !== BrokerStatus.OK) return;
    const linkId = Buffer.from(this.#random(SESSION_ID_BYTES));
    const secret = Buffer.from(this.#random(PUNCH_SECRET_BYTES));
    this.#external?.introduce(other, peerInfoOf(peer), linkId, secret, LinkRole.RESPONDER);
    this.#introduce(
      peer,
      introducedFrom(other, this.#genuine(other.candidates, other.address)),
      linkId,
      secret,
      LinkRole.INITIATOR,
      nowMs,
    );
    this.#c.introductions++;
    if (brokerIntroductionChannel.hasSubscribers) publishBrokerIntroduction(linkId, peer, other);
  }

  /** Tells `to` about `about`. */
  #introduce(
    to: PeerRecord,
    about: IntroducedPeer,
    linkId: Buffer,
    secret: Buffer,
    role: 0 | 1,
    nowMs: number,
  ): void {
    const candidates: Candidate[] = [
      { kind: 'srflx', address: about.address.address, port: about.address.port },
    ];
    const seen = new Set([endpointKey(about.address)]);
    for (const c of about.candidates) {
      if (candidates.length >= MAX_WIRE_CANDIDATES || seen.has(endpointKey(c))) continue;
      seen.add(endpointKey(c));
      candidates.push(c);
    }
    const seq = this.#nextSeq();
    const data = sealIntroduction(
      to.macKey,
      encodeBrokerFrame({
        type: BrokerMessage.INTRODUCE,
        seq,
        linkId,
        role,
        secret,
        natClass: about.natClass,
        peerId: about.peerId,
        ...(about.fingerprint === undefined ? {} : { fingerprint: about.fingerprint }),
        candidates,
      }),
    );
    if (this.#pending.add(seq, data, to.address, to.sessionKey, nowMs)) {
      this.#pendingByPeer.set(to.sessionKey, (this.#pendingByPeer.get(to.sessionKey) ?? 0) + 1);
    }
    this.#outbox.push({ data, to: to.address });
  }

  #ack(
    to: NatEndpoint,
    seq: number,
    status: BrokerStatusType,
    session: Buffer,
    observed: NatEndpoint | null,
  ): void {
    this.#outbox.push({
      data: encodeBrokerFrame({ type: BrokerMessage.ACK, seq, status, session, observed }),
      to,
    });
  }

  #remove(peer: PeerRecord): void {
    const n = this.#peersByAddress.get(peer.address.address) ?? 1;
    if (n <= 1) this.#peersByAddress.delete(peer.address.address);
    else this.#peersByAddress.set(peer.address.address, n - 1);
    this.#byId.delete(peer.peerId);
    this.#bySession.delete(peer.sessionKey);
    this.#pending.drop((key) => key === peer.sessionKey);
    this.#pendingByPeer.delete(peer.sessionKey);
  }

  #nextSeq(): number {
    const seq = this.#seq;
    this.#seq = this.#seq >= 0xffffffff ? 1 : this.#seq + 1;
    return seq;
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(name, `${name} must be a positive number, got ${value}`);
  }
  return value;
}
