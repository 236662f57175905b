/**
 * A peer's side of broker signalling as a sans-I/O core: REGISTER (with the application's token),
 * KEEPALIVE every `keepaliveMs`, CONNECT requests, and INTRODUCE frames acknowledged and handed
 * out once per link. Every request is retransmitted until acknowledged (see `punch-retransmit.ts`).
 * @module
 */
import { InvalidOptionError } from '../errors/index.ts';
import { sameEndpoint } from '../internal/endpoint.ts';
import type { NatClassType, NatEndpoint } from '../nat/index.ts';
import type { Transmit } from './broker-core.ts';
import {
  type BrokerFrame,
  BrokerMessage,
  BrokerStatus,
  type BrokerStatusType,
  decodeBrokerFrame,
  encodeBrokerFrame,
  isPeerId,
  LinkRole,
  type LinkRoleType,
  MAX_TOKEN_BYTES,
  SESSION_ID_BYTES,
} from './broker-wire.ts';
import type { Candidate } from './candidates.ts';
import { introducedChannel, registeredChannel } from './diagnostics.ts';
import { FINGERPRINT_BYTES, formatFingerprint } from './fingerprint.ts';
import { isSealedIntroduction, REGISTRATION_NONCE_BYTES, registrationProof } from './registration.ts';
import { type BrokerRetransmitOptions, Retransmitter } from './retransmit.ts';

/** Default keepalive to the broker: 15 s (Linux forgets an idle UDP mapping after 30 s). */
export const DEFAULT_BROKER_KEEPALIVE_MS = 15_000;
const MAX_SEEN_LINKS = 64;
/** CHALLENGE answers in a row before the registration counts as failed. */
const MAX_CHALLENGES = 3;
const EMPTY = Buffer.alloc(0);
const MAX_IN_FLIGHT = 32;

/** Options of a {@link BrokerClientCore}. */
export interface BrokerClientCoreOptions {
  /** This peer's id: 1–64 visible ASCII bytes. */
  readonly peerId: string;
  /** The application-issued credential the broker's `authenticate` checks. */
  readonly token: Buffer;
  /** The broker's address. */
  readonly broker: NatEndpoint;
  /** This peer's NAT class (from `detectNat`). Default `'unknown'`. */
  readonly natClass?: NatClassType;
  /** Host (and relay) candidates to announce; the broker adds the server-reflexive one. */
  readonly candidates?: readonly Candidate[];
  /** Keepalive interval, ms (≤ 15 000 recommended). Default {@link DEFAULT_BROKER_KEEPALIVE_MS}. */
  readonly keepaliveMs?: number;
  readonly retransmit?: BrokerRetransmitOptions;
  /**
   * SHA-256 digest of this peer's DTLS certificate, registered so that the broker hands it to the
   * peers it introduces us to (they pin it). Default none.
   */
  readonly fingerprint?: Buffer;
}

/** What the broker told us about a new link. */
export interface Introduction {
  readonly linkId: Buffer;
  readonly role: LinkRoleType;
  readonly secret: Buffer;
  readonly peerId: string;
  readonly natClass: NatClassType;
  readonly candidates: readonly Candidate[];
  /** The SHA-256 fingerprint (`AB:CD:…`) of the certificate the peer registered, if it did. */
  readonly fingerprint?: string;
}

/** Something the client core reports. */
export type BrokerClientEvent =
  | { readonly type: 'registered'; readonly observed: NatEndpoint | null }
  | { readonly type: 'observed-changed'; readonly observed: NatEndpoint }
  | { readonly type: 'introduce'; readonly introduction: Introduction }
  | { readonly type: 'connect-result'; readonly seq: number; readonly status: BrokerStatusType | 'timeout' }
  | { readonly type: 'unreachable' }
  /** The broker answered our REGISTER with a refusal (FULL: it holds its maximum of peers). */
  | { readonly type: 'refused'; readonly status: BrokerStatusType };

/** Counters of a {@link BrokerClientCore}. */
export interface BrokerClientStats {
  readonly registered: boolean;
  readonly retransmissions: number;
  readonly timeouts: number;
  readonly malformed: number;
  /** Frames from an address that is not the broker, or not expected. */
  readonly unexpected: number;
  readonly introductions: number;
  /** INTRODUCE frames whose MAC is not the broker's under our credential (dropped, not acknowledged). */
  readonly forgedIntroductions: number;
}

type Meta = 'register' | 'keepalive' | 'connect';

/** The client state machine. */
export class BrokerClientCore {
  readonly #o: Required<Omit<BrokerClientCoreOptions, 'retransmit' | 'fingerprint'>>;
  readonly #fingerprint: { readonly fingerprint?: Buffer };
  readonly #inFlight: Retransmitter<Meta>;
  #session: Buffer | null = null;
  #observed: NatEndpoint | null = null;
  #seq = 1;
  /** CHALLENGE answers in a row (a broker that keeps challenging is not accepting our answer). */
  #challenges = 0;
  #nextKeepaliveMs = Number.POSITIVE_INFINITY;
  #registering = false;
  #outbox: Transmit[] = [];
  #events: BrokerClientEvent[] = [];
  readonly #seen: string[] = [];
  #c = {
    retransmissions: 0,
    timeouts: 0,
    malformed: 0,
    unexpected: 0,
    introductions: 0,
    forgedIntroductions: 0,
  };

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` for a bad peer id, token or interval. */
  constructor(options: BrokerClientCoreOptions) {
    if (!isPeerId(options.peerId)) {
      throw new InvalidOptionError('peerId', 'peerId must be 1-64 visible ASCII characters');
    }
    const maxToken = MAX_TOKEN_BYTES - REGISTRATION_NONCE_BYTES;
    if (!Buffer.isBuffer(options.token) || options.token.length > maxToken) {
      throw new InvalidOptionError('token', `token must be a Buffer of at most ${maxToken} bytes`);
    }
    if (
      options.fingerprint !== undefined &&
      (!Buffer.isBuffer(options.fingerprint) || options.fingerprint.length !== FINGERPRINT_BYTES)
    ) {
      throw new InvalidOptionError(
        'fingerprint',
        `fingerprint must be a ${FINGERPRINT_BYTES}-byte SHA-256 digest`,
      );
    }
    this.#fingerprint =
      options.fingerprint === undefined ? {} : { fingerprint: Buffer.from(options.fingerprint) };
    const keepaliveMs = options.keepaliveMs ?? DEFAULT_BROKER_KEEPALIVE_MS;
    if (!Number.isFinite(keepaliveMs) || keepaliveMs <= 0) {
      throw new InvalidOptionError('keepaliveMs', 'keepaliveMs must be positive');
    }
    this.#o = {
      peerId: options.peerId,
      token: options.token,
      broker: options.broker,
      natClass: options.natClass ?? 'unknown',
      candidates: options.candidates ?? [],
      keepaliveMs,
    };
    this.#inFlight = new Retransmitter(MAX_IN_FLIGHT, options.retransmit);
  }

  /** Whether the broker accepted our registration (and has not forgotten it since). */
  get registered(): boolean {
    return this.#session !== null;
  }

  /** Our address as the broker last saw it. */
  get observed(): NatEndpoint | null {
    return this.#observed;
  }

  /**
   * Sends REGISTER (again). The first carries no token; the broker's CHALLENGE answer (a nonce bound
   * to our address) is answered with a second REGISTER carrying the nonce and the proof.
   */
  register(nowMs: number, answer: Buffer = EMPTY): void {
    this.#inFlight.drop((meta) => meta === 'register' || meta === 'keepalive');
    this.#registering = true;
    this.#send(
      encodeBrokerFrame({
        type: BrokerMessage.REGISTER,
        seq: this.#peekSeq(),
        peerId: this.#o.peerId,
        token: answer,
        natClass: this.#o.natClass,
        ...this.#fingerprint,
        candidates: this.#o.candidates,
      }),
      'register',
      nowMs,
    );
  }

  /**
   * Asks the broker to introduce us to `target`; returns the request's sequence number, which
   * the `connect-result` event carries. Null when not registered or too much is in flight.
   */
  connect(target: string, nowMs: number): number | null {
    if (this.#session === null || !this.#inFlight.hasRoom() || !isPeerId(target)) return null;
    const seq = this.#peekSeq();
    this.#send(
      encodeBrokerFrame({ type: BrokerMessage.CONNECT, seq, session: this.#session, target }),
      'connect',
      nowMs,
    );
    return seq;
  }

  /** Takes a datagram from the broker's address. Bad input is counted and dropped. */
  receive(data: Buffer, from: NatEndpoint, nowMs: number): void {
    if (!sameEndpoint(from, this.#o.broker)) {
      this.#c.unexpected++;
      return;
    }
    let frame: BrokerFrame;
    try {
      frame = decodeBrokerFrame(data);
    } catch {
      this.#c.malformed++;
      return;
    }
    if (frame.type === BrokerMessage.INTRODUCE) {
      // Only what the broker sealed under our credential: nobody on the path can change the
      // peer, its candidates, secret or certificate fingerprint (no ACK, so the broker retries).
      if (!isSealedIntroduction(this.#o.token, data)) {
        this.#c.forgedIntroductions++;
        return;
      }
      this.#introduce(frame);
      return;
    }
    if (frame.type !== BrokerMessage.ACK) {
      this.#c.unexpected++;
      return;
    }
    const entry = this.#inFlight.ack(frame.seq);
    if (entry === undefined) {
      this.#c.unexpected++;
      return;
    }
    if (frame.status === BrokerStatus.NOT_REGISTERED) {
      this.#session = null;
      if (entry.meta === 'connect')
        this.#events.push({ type: 'connect-result', seq: frame.seq, status: frame.status });
      this.register(nowMs);
      return;
    }
    switch (entry.meta) {
      case 'register':
        if (frame.status === BrokerStatus.CHALLENGE || frame.status === BrokerStatus.CHALLENGE_TOKEN) {
          if (this.#challenges >= MAX_CHALLENGES) {
            // A broker that never takes our answer: give up like an unanswered REGISTER.
            this.#registering = false;
            this.#challenges = 0;
            this.#events.push({ type: 'unreachable' });
            this.#nextKeepaliveMs = nowMs + this.#o.keepaliveMs;
            return;
          }
          this.#challenges++;
          const nonce = frame.session;
          const proof =
            frame.status === BrokerStatus.CHALLENGE
              ? registrationProof(this.#o.token, nonce, this.#o.peerId, this.#fingerprint.fingerprint)
              : this.#o.token;
          this.register(nowMs, Buffer.concat([nonce, proof]));
          return;
        }
        this.#registering = false;
        if (registeredChannel.hasSubscribers)
          this.#publishRegistered(frame.status === BrokerStatus.OK, frame.observed);
        this.#challenges = 0;
        if (frame.status !== BrokerStatus.OK) {
          this.#events.push({ type: 'refused', status: frame.status });
          this.#nextKeepaliveMs = nowMs + this.#o.keepaliveMs;
          return;
        }
        this.#session = Buffer.from(frame.session);
        this.#observed = frame.observed;
        this.#nextKeepaliveMs = nowMs + this.#o.keepaliveMs;
        this.#events.push({ type: 'registered', observed: frame.observed });
        return;
      case 'keepalive':
        if (
          frame.observed !== null &&
          (this.#observed === null || !sameEndpoint(frame.observed, this.#observed))
        ) {
          this.#observed = frame.observed;
          this.#events.push({ type: 'observed-changed', observed: frame.observed });
        }
        return;
      case 'connect':
        this.#events.push({ type: 'connect-result', seq: frame.seq, status: frame.status });
        return;
    }
  }

  /** Retransmits, sends keepalives. Call at {@link nextWakeMs}. */
  poll(nowMs: number): void {
    this.#inFlight.poll(
      nowMs,
      (entry) => {
        this.#c.retransmissions++;
        this.#outbox.push({ data: entry.data, to: entry.to });
      },
      (entry) => {
        this.#c.timeouts++;
        if (entry.meta === 'connect') {
          this.#events.push({ type: 'connect-result', seq: entry.seq, status: 'timeout' });
          return;
        }
        // Register or keepalive unanswered: the broker is unreachable; try again a keepalive later.
        this.#registering = false;
        this.#session = null;
        this.#events.push({ type: 'unreachable' });
        this.#nextKeepaliveMs = nowMs + this.#o.keepaliveMs;
      },
    );
    if (nowMs >= this.#nextKeepaliveMs && !this.#registering) {
      this.#nextKeepaliveMs = nowMs + this.#o.keepaliveMs;
      if (this.#session === null) {
        this.register(nowMs);
      } else {
        this.#send(
          encodeBrokerFrame({ type: BrokerMessage.KEEPALIVE, seq: this.#peekSeq(), session: this.#session }),
          'keepalive',
          nowMs,
        );
      }
    }
  }

  /** When {@link poll} next has work. */
  nextWakeMs(): number {
    return Math.min(this.#inFlight.nextWakeMs(), this.#nextKeepaliveMs);
  }

  /** Datagrams queued since the last call (all go to the broker). */
  drain(): Transmit[] {
    const out = this.#outbox;
    this.#outbox = [];
    return out;
  }

  /** Events since the last call (the core contract's `drainEvents`). */
  drainEvents(): BrokerClientEvent[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }

  /**
   * Says goodbye (UNREGISTER), once and without retransmission: the caller is closing. Returns
   * whether a frame was queued (false when not registered). If it is lost the broker expires us
   * after its peer timeout instead.
   */
  unregister(): boolean {
    const session = this.#session;
    if (session === null) return false;
    this.#outbox.push({
      data: encodeBrokerFrame({ type: BrokerMessage.UNREGISTER, seq: this.#peekSeq(), session }),
      to: this.#o.broker,
    });
    this.#session = null;
    return true;
  }

  /** Stops everything (no more keepalives or retransmissions). Idempotent. */
  stop(): void {
    this.#inFlight.clear();
    this.#nextKeepaliveMs = Number.POSITIVE_INFINITY;
  }

  stats(): BrokerClientStats {
    return { registered: this.#session !== null, ...this.#c };
  }

  #publishRegistered(ok: boolean, observed: NatEndpoint | null): void {
    const broker = this.#o.broker;
    registeredChannel.publish({
      peerId: this.#o.peerId,
      broker: { address: broker.address, port: broker.port },
      status: ok ? 'ok' : 'refused',
      observed: ok && observed !== null ? { address: observed.address, port: observed.port } : undefined,
    });
  }

  #introduce(frame: Extract<BrokerFrame, { type: typeof BrokerMessage.INTRODUCE }>): void {
    const ack = encodeBrokerFrame({
      type: BrokerMessage.ACK,
      seq: frame.seq,
      status: BrokerStatus.OK,
      session: this.#session ?? Buffer.alloc(SESSION_ID_BYTES),
      observed: null,
    });
    this.#outbox.push({ data: ack, to: this.#o.broker });
    const key = frame.linkId.toString('hex');
    if (this.#seen.includes(key)) return;
    this.#seen.push(key);
    if (this.#seen.length > MAX_SEEN_LINKS) this.#seen.shift();
    this.#c.introductions++;
    if (introducedChannel.hasSubscribers)
      introducedChannel.publish({
        peerId: this.#o.peerId,
        remotePeerId: frame.peerId,
        linkId: key,
        role: frame.role === LinkRole.INITIATOR ? 'initiator' : 'responder',
        remoteNat: frame.natClass,
        candidates: frame.candidates.length,
      });
    this.#events.push({
      type: 'introduce',
      introduction: {
        linkId: Buffer.from(frame.linkId),
        role: frame.role,
        secret: Buffer.from(frame.secret),
        peerId: frame.peerId,
        natClass: frame.natClass,
        candidates: frame.candidates,
        ...(frame.fingerprint === undefined ? {} : { fingerprint: formatFingerprint(frame.fingerprint) }),
      },
    });
  }

  #peekSeq(): number {
    const seq = this.#seq;
    this.#seq = this.#seq >= 0xffffffff ? 1 : this.#seq + 1;
    return seq;
  }

  #send(data: Buffer, meta: Meta, nowMs: number): void {
    this.#inFlight.add(data.readUInt32BE(4), data, this.#o.broker, meta, nowMs);
    this.#outbox.push({ data, to: this.#o.broker });
  }
}
