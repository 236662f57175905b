/**
 * The broker's punching role as a sans-I/O core (the tracker's half of the P2P-Live punching
 * design): peers register from their one data socket, so the broker learns the mapping that
 * matters; a CONNECT from A names B and the broker introduces each to the other with candidates,
 * NAT classes and a fresh random punch secret. No I/O, no clock: `receive()`/`poll()` queue
 * datagrams that `drain()` hands out.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors/index.ts';
import { endpointKey, sameEndpoint } from '../internal/endpoint.ts';
import type { NatClassType, NatEndpoint } from '../nat/index.ts';
import {
  type BrokerFrame,
  BrokerStatus,
  type BrokerStatusType,
  decodeBrokerFrame,
  encodeBrokerFrame,
  LinkRole,
  MAX_WIRE_CANDIDATES,
  PUNCH_SECRET_BYTES,
  SESSION_ID_BYTES,
} from './broker-wire.ts';
import type { Candidate } from './candidates.ts';
import {
  brokerIntroductionChannel,
  brokerRegistrationChannel,
  publishBrokerIntroduction,
  publishBrokerRegistration,
} from './diagnostics.ts';
import { type RetransmitOptions, Retransmitter } from './retransmit.ts';

/** Decides whether `peerId` may register with `token` (an application-issued credential). */
export type BrokerAuthenticator = (peerId: string, token: Buffer) => boolean;

/** Options of a {@link BrokerCore}. */
export interface BrokerCoreOptions {
  /** Required. Peers it refuses get no answer at all. */
  readonly authenticate: BrokerAuthenticator;
  /** Most registered peers. Default {@link DEFAULT_BROKER_MAX_PEERS}. */
  readonly maxPeers?: number;
  /** Most introductions in flight (unacknowledged). Default {@link DEFAULT_BROKER_MAX_PENDING}. */
  readonly maxPending?: number;
  /** A peer heard from for this long expires, ms. Default {@link DEFAULT_PEER_TIMEOUT_MS}. */
  readonly peerTimeoutMs?: number;
  /** Retransmission of introductions. */
  readonly retransmit?: RetransmitOptions;
  /** Random bytes (session ids, link ids, secrets). Default `crypto.randomBytes`. */
  readonly randomBytes?: (size: number) => Buffer;
}

/** Default cap on registered peers. */
export const DEFAULT_BROKER_MAX_PEERS = 10_000;
/** Default cap on introductions in flight. */
export const DEFAULT_BROKER_MAX_PENDING = 1024;
/** Default silence after which a peer expires: 45 s (three missed 15 s keepalives). */
export const DEFAULT_PEER_TIMEOUT_MS = 45_000;
const SWEEP_INTERVAL_MS = 1000;

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
  /** Keepalives that arrived from a new address (NAT rebinding); the address was updated. */
  readonly addressChanges: number;
  /** Frames that did not decode. */
  readonly malformed: number;
  /** Well-formed frames a broker does not take (INTRODUCE, stray ACKs). */
  readonly unexpected: number;
}

interface PeerRecord {
  readonly peerId: string;
  readonly session: Buffer;
  readonly sessionKey: string;
  address: NatEndpoint;
  readonly natClass: NatClassType;
  readonly candidates: readonly Candidate[];
  lastSeenMs: number;
  readonly registerSeq: number;
  lastConnectSeq: number;
  lastConnectStatus: BrokerStatusType;
}

const ZERO_SESSION = Buffer.alloc(SESSION_ID_BYTES);

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
  #c = {
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

  /** @throws ConfigError `ERR_NAT_BROKER_OPTIONS` for a missing authenticator or a bad limit. */
  constructor(options: BrokerCoreOptions) {
    if (typeof options?.authenticate !== 'function') {
      throw new ConfigError('ERR_NAT_BROKER_OPTIONS', 'authenticate(peerId, token) is required');
    }
    this.#auth = options.authenticate;
    this.#maxPeers = positive(options.maxPeers, DEFAULT_BROKER_MAX_PEERS, 'maxPeers');
    this.#peerTimeoutMs = positive(options.peerTimeoutMs, DEFAULT_PEER_TIMEOUT_MS, 'peerTimeoutMs');
    this.#pending = new Retransmitter(
      positive(options.maxPending, DEFAULT_BROKER_MAX_PENDING, 'maxPending'),
      options.retransmit,
    );
    this.#random = options.randomBytes ?? randomBytes;
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
      case 1:
        this.#register(frame, from, nowMs);
        return;
      case 2: {
        const peer = this.#session(frame.session, frame.seq, from);
        if (peer === undefined) return;
        this.#touch(peer, from, nowMs);
        this.#ack(from, frame.seq, BrokerStatus.OK, peer.session, from);
        return;
      }
      case 3: {
        const peer = this.#session(frame.session, frame.seq, from);
        if (peer === undefined) return;
        this.#touch(peer, from, nowMs);
        this.#connect(peer, frame.target, frame.seq, nowMs);
        return;
      }
      case 5: {
        const entry = this.#pending.get(frame.seq);
        const peer = this.#bySession.get(frame.session.toString('hex'));
        if (entry === undefined || peer === undefined || entry.meta !== peer.sessionKey) {
          this.#c.unexpected++;
          return;
        }
        this.#pending.ack(frame.seq);
        this.#touch(peer, from, nowMs);
        return;
      }
      case 6: {
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
      () => this.#c.introductionsLost++,
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
      this.#pending.nextDueMs(),
      this.#byId.size > 0 ? this.#nextSweepMs : Number.POSITIVE_INFINITY,
    );
  }

  /** The datagrams queued since the last call. */
  drain(): Transmit[] {
    const out = this.#outbox;
    this.#outbox = [];
    return out;
  }

  /** Whether `peerId` is registered now. */
  has(peerId: string): boolean {
    return this.#byId.has(peerId);
  }

  /** A snapshot of the counters. */
  stats(): BrokerStats {
    return { peers: this.#byId.size, pending: this.#pending.size, ...this.#c };
  }

  #register(frame: Extract<BrokerFrame, { type: 1 }>, from: NatEndpoint, nowMs: number): void {
    let allowed = false;
    try {
      allowed = this.#auth(frame.peerId, frame.token) === true;
    } catch {
      allowed = false;
    }
    if (!allowed) {
      this.#c.rejectedAuth++;
      if (brokerRegistrationChannel.hasSubscribers)
        publishBrokerRegistration(frame.peerId, from, 'rejected-auth', frame.natClass, this.#byId.size);
      return;
    }
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
    if (existing !== undefined) this.#remove(existing);
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
      candidates: frame.candidates
        .filter((c) => c.kind === 'host' || c.kind === 'relay')
        .map((c) => ({ ...c })),
      lastSeenMs: nowMs,
      registerSeq: frame.seq,
      lastConnectSeq: -1,
      lastConnectStatus: BrokerStatus.OK,
    };
    this.#byId.set(peer.peerId, peer);
    this.#bySession.set(peer.sessionKey, peer);
    this.#c.registrations++;
    if (brokerRegistrationChannel.hasSubscribers)
      publishBrokerRegistration(frame.peerId, from, 'ok', frame.natClass, this.#byId.size);
    this.#ack(from, frame.seq, BrokerStatus.OK, session, from);
  }

  #session(session: Buffer, seq: number, from: NatEndpoint): PeerRecord | undefined {
    const peer = this.#bySession.get(session.toString('hex'));
    if (peer === undefined) {
      this.#c.unknownSession++;
      this.#ack(from, seq, BrokerStatus.NOT_REGISTERED, session, null);
    }
    return peer;
  }

  #touch(peer: PeerRecord, from: NatEndpoint, nowMs: number): void {
    peer.lastSeenMs = nowMs;
    if (!sameEndpoint(peer.address, from)) {
      peer.address = { address: from.address, port: from.port };
      this.#c.addressChanges++;
    }
  }

  #connect(peer: PeerRecord, target: string, seq: number, nowMs: number): void {
    if (peer.lastConnectSeq === seq) {
      this.#ack(peer.address, seq, peer.lastConnectStatus, peer.session, peer.address);
      return;
    }
    const other = this.#byId.get(target);
    let status: BrokerStatusType = BrokerStatus.OK;
    if (other === undefined || other === peer) {
      status = BrokerStatus.UNKNOWN_PEER;
      this.#c.unknownTarget++;
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

  /** Tells `to` about `about`. */
  #introduce(
    to: PeerRecord,
    about: PeerRecord,
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
    const data = encodeBrokerFrame({
      type: 4,
      seq,
      linkId,
      role,
      secret,
      natClass: about.natClass,
      peerId: about.peerId,
      candidates,
    });
    this.#pending.add(seq, data, to.address, to.sessionKey, nowMs);
    this.#outbox.push({ data, to: to.address });
  }

  #ack(
    to: NatEndpoint,
    seq: number,
    status: BrokerStatusType,
    session: Buffer,
    observed: NatEndpoint | null,
  ): void {
    this.#outbox.push({ data: encodeBrokerFrame({ type: 5, seq, status, session, observed }), to });
  }

  #remove(peer: PeerRecord): void {
    this.#byId.delete(peer.peerId);
    this.#bySession.delete(peer.sessionKey);
    this.#pending.drop((key) => key === peer.sessionKey);
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
    throw new ConfigError('ERR_NAT_BROKER_OPTIONS', `${name} must be a positive number, got ${value}`);
  }
  return value;
}
