/**
 * One DTLS 1.2 session with one peer, sans-I/O: the record layer (epochs, 48-bit sequence
 * numbers, replay window, AEAD), handshake reassembly, flights and their retransmission, alerts.
 * The endpoint core feeds it datagrams and the clock and collects what it sends and emits.
 * @module
 */
import { ParseError } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import type { CipherSuite } from './cipher-suites.ts';
import { ClientHandshake } from './client-handshake.ts';
import type { SessionConfig } from './config.ts';
import {
  AlertDescription,
  AlertLevel,
  alertName,
  ContentType,
  FALLBACK_MTU_BYTES,
  MAX_PLAINTEXT_BYTES,
  MAX_SEQUENCE,
  PENDING_EPOCH_RECORDS,
} from './constants.ts';
import { DtlsError, DtlsErrorCode } from './errors.ts';
import { type FlightEntry, packFlight } from './flight.ts';
import { type Handshake, HandshakeAbort, type HandshakeHost, type Negotiated } from './handshake-context.ts';
import { encodeMessage, readFragment } from './handshake-header.ts';
import { type HandshakeMessage, Reassembler } from './reassembly.ts';
import { createRecordView, readRecord, writeRecordHeader } from './record.ts';
import { type DirectionKeys, RecordProtection } from './record-protection.ts';
import { ReplayWindow } from './replay-window.ts';
import { ServerHandshake } from './server-handshake.ts';
import { SessionCounters } from './session-counters.ts';

/** Where a session is. */
export type SessionState = 'handshaking' | 'established' | 'closed' | 'failed';

/** What a session emits. */
export type SessionEvent =
  | { readonly type: 'connected' }
  | { readonly type: 'data'; readonly data: Buffer }
  | { readonly type: 'closed'; readonly error: DtlsError | undefined };

const view = createRecordView();
/** What drain() and drainEvents() return when there is nothing (no array per datagram). */
const NOTHING: Buffer[] = [];
const NO_EVENTS: SessionEvent[] = [];

/** See the module doc. */
export class DtlsSession implements HandshakeHost {
  readonly role: 'client' | 'server';
  readonly config: SessionConfig;
  /**
   * Our connection ID (RFC 9146): what the peer puts in records to us, given out by the endpoint;
   * undefined when the extension is not offered (empty: offered, the peer's CID is sent only).
   */
  ownCid: Buffer | undefined;
  readonly transcript: Buffer[] = [];
  readonly counters = new SessionCounters();
  expectChangeCipherSpec = false;
  /**
   * Where application records go once set (the driver's fast path: no event object per record);
   * unset, they are `data` events.
   */
  onData: ((data: Buffer) => void) | undefined;
  #remote: Endpoint;
  /** The peer's connection ID once negotiated (RFC 9146); undefined: not negotiated. */
  #peerCid: Buffer | undefined;
  /** Records to us carry our CID (negotiated and non-empty): its length, else 0. */
  #readCidLength = 0;
  /** An authenticated tls12_cid record newer than every earlier one arrived (the endpoint may move us). */
  #advanced = false;
  #state: SessionState = 'handshaking';
  readonly #handshake: Handshake;
  readonly #reassembler: Reassembler;
  #writeEpoch = 0;
  #writeSeq = [0, 0];
  #readEpoch = 0;
  readonly #windows: ReplayWindow[];
  #write: RecordProtection | undefined;
  #read: RecordProtection | undefined;
  #suite: CipherSuite | undefined;
  #pendingEpoch: Buffer[] = [];
  #earlyCcs = false;
  #building: FlightEntry[] = [];
  #flight: FlightEntry[] = [];
  #flightFinal = false;
  #sendSeq = 0;
  #retransmitAtMs = Number.POSITIVE_INFINITY;
  #intervalMs: number;
  #retransmits = 0;
  #lastResendMs = Number.NEGATIVE_INFINITY;
  #mtuBytes: number;
  readonly #deadlineMs: number;
  #nowMs: number;
  readonly #out: Buffer[] = [];
  readonly #events: SessionEvent[] = [];
  #error: DtlsError | undefined;

  constructor(role: 'client' | 'server', remote: Endpoint, config: SessionConfig, nowMs: number) {
    this.role = role;
    this.#remote = remote;
    this.config = config;
    this.#nowMs = nowMs;
    this.#intervalMs = config.retransmitInitialMs;
    this.#mtuBytes = config.mtuBytes;
    this.#deadlineMs = nowMs + config.handshakeTimeoutMs;
    this.#windows = [new ReplayWindow(config.replayWindow), new ReplayWindow(config.replayWindow)];
    this.#reassembler = new Reassembler({
      maxMessageBytes: config.maxHandshakeMessageBytes,
      maxBytes: config.maxReassemblyBytes,
      maxFragments: config.maxReassemblyFragments,
    });
    this.#handshake = role === 'client' ? new ClientHandshake(this) : new ServerHandshake(this);
  }

  /** The peer's address (the key of the session in its endpoint; it moves with NAT rebinding). */
  get remote(): Endpoint {
    return this.#remote;
  }

  /** The connection IDs once negotiated (RFC 9146): ours (in records to us) and the peer's. */
  get connectionIds(): { readonly own: Buffer; readonly peer: Buffer } | undefined {
    return this.#peerCid === undefined
      ? undefined
      : { own: this.ownCid ?? Buffer.alloc(0), peer: this.#peerCid };
  }

  /** The endpoint moved the session to the peer's new address (RFC 9146 §6). */
  moveTo(remote: Endpoint): void {
    this.#remote = { address: remote.address, port: remote.port };
    this.counters.addressChanges++;
  }

  /**
   * Whether an authenticated tls12_cid record newer than every earlier one of its epoch arrived
   * since the last call (the condition for following the peer to a new address, RFC 9146 §6).
   */
  takeAdvanced(): boolean {
    const advanced = this.#advanced;
    this.#advanced = false;
    return advanced;
  }

  /** Where the session is. */
  get state(): SessionState {
    return this.#state;
  }

  /** Why it failed, if it did. */
  get error(): DtlsError | undefined {
    return this.#error;
  }

  /** What the handshake negotiated (once established). */
  get negotiated(): Negotiated | undefined {
    return this.#handshake.negotiated;
  }

  /** Starts the handshake (the client sends its ClientHello). */
  start(): void {
    this.#guard(() => this.#handshake.start());
  }

  /**
   * A server session begins at the ClientHello that carried a valid cookie: its message_seq, and
   * its record sequence number for our first record (RFC 6347 §4.2.1: the initial ServerHello
   * reuses it, so no record repeats the HelloVerifyRequest's number; OpenSSL drops one that does).
   */
  startAt(messageSeq: number, recordSeq = 0): void {
    this.#reassembler.nextSeq = messageSeq;
    this.#sendSeq = messageSeq;
    this.#writeSeq[0] = recordSeq;
  }

  // --- HandshakeHost -------------------------------------------------------------------------

  addMessage(type: number, body: Buffer): void {
    const messageSeq = this.#sendSeq++;
    this.#building.push({ kind: 'handshake', epoch: this.#writeEpoch, type, messageSeq, body });
    this.transcript.push(encodeMessage(type, messageSeq, body));
  }

  addReceived(m: HandshakeMessage): void {
    this.transcript.push(encodeMessage(m.type, m.messageSeq, m.body));
  }

  addChangeCipherSpec(): void {
    this.#building.push({
      kind: 'ccs',
      epoch: this.#writeEpoch,
      type: 0,
      messageSeq: -1,
      body: Buffer.alloc(0),
    });
    this.#writeEpoch = 1;
  }

  sendFlight(final: boolean): void {
    this.#flight = this.#building;
    this.#building = [];
    this.#flightFinal = final;
    this.#retransmits = 0;
    this.#intervalMs = this.config.retransmitInitialMs;
    this.#mtuBytes = this.config.mtuBytes;
    this.#transmitFlight();
    this.#retransmitAtMs = final ? Number.POSITIVE_INFINITY : this.#nowMs + this.#intervalMs;
  }

  useConnectionIds(peer: Buffer): void {
    this.#peerCid = Buffer.from(peer);
    this.#readCidLength = this.ownCid?.length ?? 0;
  }

  installKeys(suite: CipherSuite, write: DirectionKeys, read: DirectionKeys): void {
    this.#suite = suite;
    this.#write = new RecordProtection(suite, write, this.#peerCid);
    this.#read = new RecordProtection(suite, read, this.#readCidLength > 0 ? this.ownCid : undefined);
  }

  complete(): void {
    this.#state = 'established';
    this.#retransmitAtMs = Number.POSITIVE_INFINITY;
    this.counters.handshakeMs = this.#nowMs - (this.#deadlineMs - this.config.handshakeTimeoutMs);
    this.#events.push({ type: 'connected' });
  }

  // --- core contract ---------------------------------------------------------------------------

  /** One datagram from the peer. */
  receive(data: Buffer, nowMs: number): void {
    this.#nowMs = nowMs;
    if (this.#state === 'closed' || this.#state === 'failed') return;
    let offset = 0;
    while (offset < data.length && (this.#state === 'handshaking' || this.#state === 'established')) {
      let next: number;
      try {
        next = readRecord(data, offset, view, this.#readCidLength);
      } catch {
        this.counters.malformed++;
        return;
      }
      if (view.type === ContentType.TLS12_CID && !this.#ownCidAt(data, view.cidOffset)) {
        this.counters.unexpectedRecords++;
        offset = next;
        continue;
      }
      this.#record(
        view.type,
        view.epoch,
        view.sequence,
        data.subarray(view.fragmentOffset, view.fragmentOffset + view.fragmentLength),
        data,
        offset,
        next,
      );
      offset = next;
    }
  }

  /** The clock moved: retransmit a flight, or fail a handshake past its deadline. */
  poll(nowMs: number): void {
    this.#nowMs = nowMs;
    if (this.#state !== 'handshaking') return;
    if (nowMs >= this.#deadlineMs) {
      this.#fail(
        new DtlsError(
          DtlsErrorCode.HANDSHAKE_TIMEOUT,
          `no handshake within ${this.config.handshakeTimeoutMs} ms`,
        ),
        undefined,
      );
      return;
    }
    if (nowMs >= this.#retransmitAtMs) {
      this.#retransmits++;
      this.counters.retransmissions++;
      if (this.#retransmits >= 2) this.#mtuBytes = Math.min(this.#mtuBytes, FALLBACK_MTU_BYTES);
      this.#intervalMs = Math.min(this.#intervalMs * 2, this.config.retransmitMaxMs);
      this.#transmitFlight();
      this.#retransmitAtMs = nowMs + this.#intervalMs;
    }
  }

  /** When {@link poll} is due next (Infinity when nothing is scheduled). */
  nextWakeMs(): number {
    if (this.#state !== 'handshaking') return Number.POSITIVE_INFINITY;
    return Math.min(this.#retransmitAtMs, this.#deadlineMs);
  }

  /** Datagrams to send to {@link remote} since the last call. */
  drain(): Buffer[] {
    return this.#out.length === 0 ? NOTHING : this.#out.splice(0);
  }

  /** Events since the last call. */
  drainEvents(): SessionEvent[] {
    return this.#events.length === 0 ? NO_EVENTS : this.#events.splice(0);
  }

  /**
   * Queues one application record. @throws DtlsError-free: returns false when the session is not
   * established (the caller raises InvalidStateError) or the data is larger than a record.
   */
  send(data: Uint8Array): boolean {
    const record = this.seal(data);
    if (record === undefined) return false;
    this.#out.push(record);
    return true;
  }

  /**
   * One application record, protected, for the caller to send itself (the driver's fast path);
   * undefined when the session is not established or the data is larger than a record.
   */
  seal(data: Uint8Array): Buffer | undefined {
    if (this.#state !== 'established' || data.length > MAX_PLAINTEXT_BYTES) return undefined;
    this.counters.recordsSent++;
    return this.#seal(ContentType.APPLICATION_DATA, 1, data);
  }

  /** Ends the session: a close_notify alert, then `closed`. Idempotent. */
  close(): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    this.#sendAlert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY);
    this.#end(undefined);
  }

  // --- record layer ----------------------------------------------------------------------------

  #seal(type: number, epoch: number, plaintext: Uint8Array): Buffer {
    const seq = this.#writeSeq[epoch]!;
    if (seq > MAX_SEQUENCE) throw new RangeError('sequence number space exhausted');
    this.#writeSeq[epoch] = seq + 1;
    if (epoch === 0) {
      const out = Buffer.allocUnsafe(13 + plaintext.length);
      writeRecordHeader(out, 0, type, 0, seq, plaintext.length);
      out.set(plaintext, 13);
      return out;
    }
    return this.#write!.seal(type, epoch, seq, plaintext);
  }

  readonly #sealer = (type: number, epoch: number, plaintext: Buffer): Buffer =>
    this.#seal(type, epoch, plaintext);
  readonly #overhead = (epoch: number): number => (epoch === 0 ? 0 : (this.#write?.overhead ?? 0));

  #transmitFlight(): void {
    for (const d of packFlight(this.#flight, this.#mtuBytes, this.#sealer, this.#overhead)) this.#out.push(d);
    this.#lastResendMs = this.#nowMs;
  }

  /** The peer retransmitted: resend our last flight (at most once per quarter interval). */
  #peerRetransmitted(): void {
    if (this.#flight.length === 0) return;
    if (this.#state === 'established' && !this.#flightFinal) return;
    if (this.#nowMs - this.#lastResendMs < this.#intervalMs / 4) return;
    this.counters.flightResends++;
    this.#transmitFlight();
  }

  /** Whether the tls12_cid record's connection ID at `at` is ours (and we gave one out). */
  #ownCidAt(data: Buffer, at: number): boolean {
    const own = this.ownCid;
    const length = this.#readCidLength;
    if (length === 0 || own === undefined) return false;
    for (let i = 0; i < length; i++) if (data[at + i] !== own[i]) return false;
    return true;
  }

  /** One record; `data[start, end)` is the whole of it (kept when it must wait for its epoch). */
  #record(
    outerType: number,
    epoch: number,
    seq: number,
    fragment: Buffer,
    data: Buffer,
    start: number,
    end: number,
  ): void {
    let plaintext: Buffer;
    let type = outerType;
    if (epoch === 0 && this.#readEpoch <= 1) {
      // Plaintext has no replay window: nothing authenticates it, so marking it would let a forged
      // record with a high sequence number shut the peer's real ones out. The handshake layer drops
      // duplicates by message_seq instead.
      plaintext = fragment;
    } else if (epoch === this.#readEpoch) {
      // RFC 9146 §4: with our CID negotiated, protected records to us are tls12_cid, and only they.
      if ((type === ContentType.TLS12_CID) !== this.#readCidLength > 0) {
        this.counters.unexpectedRecords++;
        return;
      }
      const window = this.#windows[epoch]!;
      if (!window.check(seq)) {
        this.counters.replaysDropped++;
        return;
      }
      const opened = this.#read!.open(type, epoch, seq, fragment);
      if (opened === undefined) {
        this.#badRecord();
        return;
      }
      plaintext = opened;
      if (type === ContentType.TLS12_CID && seq > window.newest) this.#advanced = true;
      window.mark(seq);
      type = this.#read!.lastType;
      if (type === ContentType.APPLICATION_DATA && this.#state === 'established') {
        // The per-record path: no closure, no guard (application data never aborts a handshake).
        this.counters.recordsReceived++;
        if (this.onData !== undefined) this.onData(plaintext);
        else this.#events.push({ type: 'data', data: plaintext });
        return;
      }
    } else if (epoch === 1 && this.#readEpoch === 0 && this.#state === 'handshaking') {
      if (this.#pendingEpoch.length < PENDING_EPOCH_RECORDS)
        this.#pendingEpoch.push(Buffer.from(data.subarray(start, end)));
      else this.counters.unexpectedRecords++;
      return;
    } else {
      this.counters.unexpectedRecords++;
      return;
    }
    this.#guard(() => this.#content(type, epoch, plaintext));
  }

  #badRecord(): void {
    this.counters.badRecords++;
    if (this.counters.badRecords > this.config.maxBadRecords) {
      this.#fail(
        new DtlsError(
          DtlsErrorCode.TOO_MANY_BAD_RECORDS,
          `more than ${this.config.maxBadRecords} records failed authentication`,
        ),
        AlertDescription.BAD_RECORD_MAC,
      );
    }
  }

  #content(type: number, epoch: number, plaintext: Buffer): void {
    const authenticated = epoch > 0;
    switch (type) {
      case ContentType.CHANGE_CIPHER_SPEC:
        if (plaintext.length !== 1 || plaintext[0] !== 1 || epoch !== 0)
          return void this.counters.malformed++;
        if (!this.expectChangeCipherSpec || this.#read === undefined) {
          // Early (reordered, or forged): remembered while handshaking, acted on only once the
          // state machine expects it — the Finished behind it must still authenticate and verify.
          this.counters.unexpectedRecords++;
          if (this.#state === 'handshaking' && this.#readEpoch === 0) this.#earlyCcs = true;
          return;
        }
        this.#switchReadEpoch();
        return;
      case ContentType.ALERT:
        this.#alert(plaintext, authenticated);
        return;
      case ContentType.HANDSHAKE:
        this.#handshakeRecord(plaintext, epoch);
        return;
      case ContentType.APPLICATION_DATA:
        if (this.#state !== 'established' || !authenticated) {
          this.counters.unexpectedRecords++;
          return;
        }
        this.counters.recordsReceived++;
        if (this.onData !== undefined) this.onData(plaintext);
        else this.#events.push({ type: 'data', data: plaintext });
        return;
      default:
        this.counters.unexpectedRecords++;
    }
  }

  #switchReadEpoch(): void {
    this.#earlyCcs = false;
    this.#readEpoch = 1;
    this.#handshake.onChangeCipherSpec();
    for (const record of this.#pendingEpoch.splice(0)) this.receive(record, this.#nowMs);
  }

  #alert(plaintext: Buffer, authenticated: boolean): void {
    if (plaintext.length !== 2) return void this.counters.malformed++;
    const level = plaintext[0]!;
    const description = plaintext[1]!;
    // After the handshake only an authenticated alert counts: a plaintext one is anyone's.
    if (this.#state === 'established' && !authenticated) {
      this.counters.unauthenticatedAlerts++;
      return;
    }
    if (description === AlertDescription.CLOSE_NOTIFY) {
      if (this.#state === 'established') {
        this.#sendAlert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY);
        this.#end(undefined);
        return;
      }
      this.#fail(
        new DtlsError(DtlsErrorCode.HANDSHAKE_FAILED, 'the peer closed during the handshake', description),
        undefined,
      );
      return;
    }
    if (level === AlertLevel.FATAL) {
      const code = this.#state === 'established' ? DtlsErrorCode.PEER_ALERT : DtlsErrorCode.HANDSHAKE_FAILED;
      this.#fail(
        new DtlsError(code, `the peer sent fatal alert ${alertName(description)}`, description),
        undefined,
      );
      return;
    }
    this.counters.warningAlerts++;
  }

  #handshakeRecord(plaintext: Buffer, epoch: number): void {
    let offset = 0;
    while (offset < plaintext.length) {
      let parsed: ReturnType<typeof readFragment>;
      try {
        parsed = readFragment(plaintext, offset);
      } catch (error) {
        if (!(error instanceof ParseError)) throw error;
        this.counters.malformed++;
        return;
      }
      offset = parsed.next;
      const f = parsed.fragment;
      const stale = epoch < this.#readEpoch;
      if (this.#state === 'established' || stale) {
        if (f.messageSeq < this.#reassembler.nextSeq) this.#peerRetransmitted();
        else if (this.#state === 'established' && epoch === 1) {
          // RFC 5746: renegotiation is refused (a warning no_renegotiation, the session stays).
          this.counters.renegotiationsRefused++;
          this.#sendAlert(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION);
        } else this.counters.unexpectedRecords++;
        continue;
      }
      const added = this.#reassembler.add(f);
      if (added === 'old') {
        this.#peerRetransmitted();
        continue;
      }
      if (added === 'dropped') {
        this.counters.reassemblyDropped++;
        continue;
      }
      for (let m = this.#reassembler.take(); m !== undefined; m = this.#reassembler.take()) {
        if (!this.#flightFinal) this.#retransmitAtMs = Number.POSITIVE_INFINITY;
        this.#handshake.onMessage(m);
        if (this.#state !== 'handshaking') break;
      }
      if (
        this.#earlyCcs &&
        this.expectChangeCipherSpec &&
        this.#read !== undefined &&
        this.#readEpoch === 0
      ) {
        this.#switchReadEpoch();
      }
    }
  }

  #guard(run: () => void): void {
    try {
      run();
    } catch (error) {
      if (error instanceof HandshakeAbort) {
        this.#fail(new DtlsError(error.code, error.message, error.alert), error.alert);
        return;
      }
      throw error;
    }
  }

  #sendAlert(level: number, description: number): void {
    const epoch = this.#writeEpoch === 1 && this.#write !== undefined ? 1 : 0;
    this.#out.push(this.#seal(ContentType.ALERT, epoch, Buffer.of(level, description)));
  }

  #fail(error: DtlsError, alert: number | undefined): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    if (alert !== undefined) this.#sendAlert(AlertLevel.FATAL, alert);
    this.#error = error;
    this.#state = 'failed';
    this.#retransmitAtMs = Number.POSITIVE_INFINITY;
    this.#events.push({ type: 'closed', error });
  }

  #end(error: DtlsError | undefined): void {
    this.#state = 'closed';
    this.#retransmitAtMs = Number.POSITIVE_INFINITY;
    this.#events.push({ type: 'closed', error });
  }

  /** The suite in use once keys exist. */
  get suite(): CipherSuite | undefined {
    return this.#suite;
  }
}
