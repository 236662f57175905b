/**
 * A node's side of the tracker protocol as a sans-I/O core: JOIN with its challenge round,
 * retransmission of every request (250 ms doubling to 2 s), keepalives, re-joining when the
 * tracker forgets the node (restart, expiry) or stops answering, samples, reports and forged-chunk
 * reports. No I/O, no clock; `TrackerSession` drives it on the node's Demux.
 * @module
 */
import type { Endpoint } from '../internal/endpoint.ts';
import type { ChannelSigner } from './channel.ts';
import { tokenProof } from './token.ts';
import { signSourceProof } from './tracker-auth.ts';
import {
  decodeTrackerFrame,
  encodeTrackerFrame,
  TRACKER_MAX_SAMPLE,
  TRACKER_NONCE_BYTES,
  type TrackerCandidateWire,
  type TrackerEdge,
  type TrackerFrame,
  TrackerMessage,
  type TrackerNatClass,
  type TrackerRoleValue,
  TrackerStatus,
  type TrackerStatusType,
} from './tracker-wire.ts';

/** First retransmission timeout of a request, ms. */
export const TRACKER_RTO_MS = 250;
/** Longest retransmission timeout, ms. */
export const TRACKER_MAX_RTO_MS = 2000;
/** Transmissions of a request before it counts as unanswered. */
export const TRACKER_TRANSMISSIONS = 7;
/** Default keepalive interval, ms. */
export const DEFAULT_TRACKER_KEEPALIVE_MS = 5000;
/** Most requests in flight (samples, forged reports); more are refused. */
export const TRACKER_MAX_IN_FLIGHT = 32;
const REJOIN_PAUSE_MS = 1000;

/** Options of a {@link TrackerClientCore}. */
export interface TrackerClientCoreOptions {
  readonly tracker: Endpoint;
  readonly channelId: Buffer;
  readonly peerId: string;
  readonly role: TrackerRoleValue;
  readonly nat: TrackerNatClass;
  readonly relay: boolean;
  /** Bits/s; undefined when not said. */
  readonly uploadCapBps?: number | undefined;
  readonly edgeEndpoint?: Endpoint | undefined;
  /** The token's bytes (payload ‖ MAC), if any. */
  readonly token?: Buffer | undefined;
  /** A source's channel key. */
  readonly signer?: ChannelSigner | undefined;
  readonly keepaliveMs?: number | undefined;
  readonly retransmit?: TrackerRetransmitOptions | undefined;
}

/** Retransmission of requests to the tracker. */
export interface TrackerRetransmitOptions {
  /** First timeout, ms. Default {@link TRACKER_RTO_MS}. */
  readonly initialMs?: number;
  /** Longest timeout, ms. Default {@link TRACKER_MAX_RTO_MS}. */
  readonly maxMs?: number;
  /** Transmissions before a request counts as unanswered. Default {@link TRACKER_TRANSMISSIONS}. */
  readonly transmissions?: number;
}

/** What the client core tells its driver. */
export type TrackerClientEvent =
  | {
      readonly type: 'joined';
      readonly first: boolean;
      readonly publicKey: Buffer | null;
      readonly observed: Endpoint | null;
    }
  | { readonly type: 'edges'; readonly edges: readonly TrackerEdge[] }
  | { readonly type: 'sample'; readonly seq: number; readonly candidates: readonly TrackerCandidateWire[] }
  | { readonly type: 'request-failed'; readonly seq: number }
  | { readonly type: 'refused'; readonly status: TrackerStatusType }
  | { readonly type: 'unreachable' }
  | { readonly type: 'lost' };

interface Pending {
  readonly kind: 'join' | 'keepalive' | 'sample' | 'forged' | 'leave';
  data: Buffer;
  dueMs: number;
  rtoMs: number;
  sent: number;
}

/** Counters of a {@link TrackerClientCore}. */
export interface TrackerClientStats {
  readonly joins: number;
  readonly rejoins: number;
  readonly retransmissions: number;
  readonly keepalives: number;
  readonly reportsSent: number;
  readonly requestsRefused: number;
  readonly unexpected: number;
  readonly malformed: number;
}

/** See the module doc. */
export class TrackerClientCore {
  readonly #o: TrackerClientCoreOptions;
  readonly #keepaliveMs: number;
  readonly #rto: { initialMs: number; maxMs: number; transmissions: number };
  readonly #pending = new Map<number, Pending>();
  #outbox: { data: Buffer; to: Endpoint }[] = [];
  #events: TrackerClientEvent[] = [];
  #seq = 1;
  #session: Buffer | null = null;
  #everJoined = false;
  #edgesVersion = 0;
  #edges: readonly TrackerEdge[] = [];
  #nextKeepaliveMs = Number.POSITIVE_INFINITY;
  #rejoinAtMs = Number.POSITIVE_INFINITY;
  #closed = false;
  #spareUploadBps = 0;
  #c = {
    joins: 0,
    rejoins: 0,
    retransmissions: 0,
    keepalives: 0,
    reportsSent: 0,
    requestsRefused: 0,
    unexpected: 0,
    malformed: 0,
  };

  constructor(options: TrackerClientCoreOptions) {
    this.#o = options;
    this.#keepaliveMs = options.keepaliveMs ?? DEFAULT_TRACKER_KEEPALIVE_MS;
    const r = options.retransmit;
    this.#rto = {
      initialMs: r?.initialMs ?? TRACKER_RTO_MS,
      maxMs: r?.maxMs ?? TRACKER_MAX_RTO_MS,
      transmissions: r?.transmissions ?? TRACKER_TRANSMISSIONS,
    };
  }

  /** Whether the tracker has the node now. */
  get joined(): boolean {
    return this.#session !== null;
  }

  /** The channel's edges as last heard. */
  get edges(): readonly TrackerEdge[] {
    return this.#edges;
  }

  /** Sends the first JOIN. */
  start(nowMs: number): void {
    this.#sendJoin(Buffer.alloc(TRACKER_NONCE_BYTES), nowMs);
  }

  /** Spare upload announced with the next keepalive, bits/s. */
  setSpareUpload(bps: number): void {
    this.#spareUploadBps = Number.isFinite(bps) && bps > 0 ? Math.min(Math.round(bps), 0xffffffff) : 0;
  }

  /** Asks for `want` candidates; returns the request's seq (its `sample` event), or −1 when not joined or too busy. */
  requestSample(want: number, nowMs: number): number {
    if (this.#session === null || this.#pending.size >= TRACKER_MAX_IN_FLIGHT) return -1;
    const seq = this.#nextSeq();
    const w = Math.max(0, Math.min(TRACKER_MAX_SAMPLE, Math.floor(want)));
    this.#request(
      seq,
      'sample',
      encodeTrackerFrame({ type: TrackerMessage.SAMPLE, seq, session: this.#session, want: w }),
      nowMs,
    );
    return seq;
  }

  /** Sends a report (not retransmitted: the next one follows). False when not joined. */
  sendReport(report: Buffer): boolean {
    if (this.#session === null) return false;
    this.#outbox.push({
      data: encodeTrackerFrame({ type: TrackerMessage.REPORT, seq: 0, session: this.#session, report }),
      to: this.#o.tracker,
    });
    this.#c.reportsSent++;
    return true;
  }

  /** Reports a neighbour that sent a forged chunk. False when not joined or too busy. */
  reportForged(peerId: string, nowMs: number): boolean {
    if (this.#session === null || this.#pending.size >= TRACKER_MAX_IN_FLIGHT) return false;
    const seq = this.#nextSeq();
    this.#request(
      seq,
      'forged',
      encodeTrackerFrame({ type: TrackerMessage.FORGED, seq, session: this.#session, peerId }),
      nowMs,
    );
    return true;
  }

  /** Takes one datagram; anything not from the tracker or not understood is counted and dropped. */
  receive(data: Buffer, from: Endpoint, nowMs: number): void {
    if (this.#closed) return;
    if (from.port !== this.#o.tracker.port || from.address !== this.#o.tracker.address) {
      this.#c.unexpected++;
      return;
    }
    let frame: TrackerFrame;
    try {
      frame = decodeTrackerFrame(data);
    } catch {
      this.#c.malformed++;
      return;
    }
    const pending = this.#pending.get(frame.seq);
    if (pending === undefined) {
      this.#c.unexpected++;
      return;
    }
    switch (frame.type) {
      case TrackerMessage.CHALLENGE:
        if (pending.kind !== 'join') break;
        this.#pending.delete(frame.seq);
        this.#sendJoin(frame.nonce, nowMs);
        return;
      case TrackerMessage.JOINED:
        if (pending.kind !== 'join') break;
        this.#pending.delete(frame.seq);
        if (frame.status !== TrackerStatus.OK) {
          this.#c.requestsRefused++;
          this.#events.push({ type: 'refused', status: frame.status });
          if (this.#everJoined && frame.status === TrackerStatus.FULL)
            this.#rejoinAtMs = nowMs + 5 * REJOIN_PAUSE_MS;
          return;
        }
        this.#session = Buffer.from(frame.session);
        this.#events.push({
          type: 'joined',
          first: !this.#everJoined,
          publicKey: frame.publicKey,
          observed: frame.observed,
        });
        if (this.#everJoined) this.#c.rejoins++;
        this.#everJoined = true;
        this.#nextKeepaliveMs = nowMs + this.#keepaliveMs;
        this.#setEdges(frame.edgesVersion, frame.edges);
        return;
      case TrackerMessage.ACK:
        if (pending.kind === 'join' || pending.kind === 'sample') break;
        this.#pending.delete(frame.seq);
        if (frame.status === TrackerStatus.NOT_JOINED) {
          if (pending.kind !== 'leave') this.#lost(nowMs, false);
          return;
        }
        if (frame.edgesVersion !== 0 && frame.edgesVersion !== this.#edgesVersion)
          this.requestSample(0, nowMs);
        return;
      case TrackerMessage.SAMPLE_RESULT:
        if (pending.kind !== 'sample') break;
        this.#pending.delete(frame.seq);
        this.#setEdges(frame.edgesVersion, frame.edges);
        this.#events.push({ type: 'sample', seq: frame.seq, candidates: frame.candidates });
        return;
      default:
        break;
    }
    this.#c.unexpected++;
  }

  /** Retransmits, keeps alive, re-joins. */
  poll(nowMs: number): void {
    if (this.#closed) return;
    for (const [seq, p] of this.#pending) {
      if (nowMs < p.dueMs) continue;
      if (p.sent >= this.#rto.transmissions) {
        this.#pending.delete(seq);
        if (p.kind === 'join') {
          if (!this.#everJoined) {
            this.#events.push({ type: 'unreachable' });
            this.#rejoinAtMs = Number.POSITIVE_INFINITY;
          } else {
            this.#rejoinAtMs = nowMs + REJOIN_PAUSE_MS;
          }
        } else if (p.kind === 'keepalive') {
          this.#lost(nowMs, true);
        } else if (p.kind !== 'leave') {
          this.#events.push({ type: 'request-failed', seq });
        }
        continue;
      }
      p.sent++;
      p.rtoMs = Math.min(this.#rto.maxMs, p.rtoMs * 2);
      p.dueMs = nowMs + p.rtoMs;
      this.#c.retransmissions++;
      this.#outbox.push({ data: p.data, to: this.#o.tracker });
    }
    if (nowMs >= this.#rejoinAtMs) {
      this.#rejoinAtMs = Number.POSITIVE_INFINITY;
      this.#sendJoin(Buffer.alloc(TRACKER_NONCE_BYTES), nowMs);
    }
    if (this.#session !== null && nowMs >= this.#nextKeepaliveMs) {
      this.#nextKeepaliveMs = nowMs + this.#keepaliveMs;
      const seq = this.#nextSeq();
      this.#c.keepalives++;
      this.#request(
        seq,
        'keepalive',
        encodeTrackerFrame({
          type: TrackerMessage.KEEPALIVE,
          seq,
          session: this.#session,
          spareUploadBps: this.#spareUploadBps,
        }),
        nowMs,
      );
    }
  }

  /** When {@link poll} next has work. */
  nextWakeMs(): number {
    if (this.#closed) return Number.POSITIVE_INFINITY;
    let next = Math.min(
      this.#rejoinAtMs,
      this.#session !== null ? this.#nextKeepaliveMs : Number.POSITIVE_INFINITY,
    );
    for (const p of this.#pending.values()) if (p.dueMs < next) next = p.dueMs;
    return next;
  }

  drain(): { data: Buffer; to: Endpoint }[] {
    const out = this.#outbox;
    this.#outbox = [];
    return out;
  }

  drainEvents(): TrackerClientEvent[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }

  /** Says LEAVE once (best effort) and stops. */
  close(): void {
    if (this.#closed) return;
    if (this.#session !== null) {
      this.#outbox.push({
        data: encodeTrackerFrame({
          type: TrackerMessage.LEAVE,
          seq: this.#nextSeq(),
          session: this.#session,
        }),
        to: this.#o.tracker,
      });
    }
    this.#closed = true;
    this.#pending.clear();
  }

  stats(): TrackerClientStats {
    return { ...this.#c };
  }

  #lost(nowMs: number, silent: boolean): void {
    if (this.#session === null) return;
    this.#session = null;
    this.#nextKeepaliveMs = Number.POSITIVE_INFINITY;
    for (const [seq, p] of this.#pending) if (p.kind !== 'join') this.#pending.delete(seq);
    this.#events.push({ type: 'lost' });
    let joining = false;
    for (const p of this.#pending.values()) if (p.kind === 'join') joining = true;
    if (!joining) {
      if (silent) this.#rejoinAtMs = nowMs;
      else this.#sendJoin(Buffer.alloc(TRACKER_NONCE_BYTES), nowMs);
    }
  }

  #setEdges(version: number, edges: readonly TrackerEdge[]): void {
    if (version === this.#edgesVersion) return;
    this.#edgesVersion = version;
    this.#edges = edges;
    this.#events.push({ type: 'edges', edges });
  }

  #sendJoin(nonce: Buffer, nowMs: number): void {
    const o = this.#o;
    const seq = this.#nextSeq();
    const challenged = nonce.some((b) => b !== 0);
    const token = o.token;
    const data = encodeTrackerFrame({
      type: TrackerMessage.JOIN,
      seq,
      role: o.role,
      nat: o.nat,
      relay: o.relay,
      uploadCapBps: o.uploadCapBps ?? 0xffffffff,
      channelId: o.channelId,
      nonce,
      peerId: o.peerId,
      tokenPayload: token === undefined ? EMPTY : token.subarray(0, token.length - 32),
      proof: token === undefined ? EMPTY : challenged ? tokenProof(token, nonce) : Buffer.alloc(32),
      edgeEndpoint: o.edgeEndpoint ?? null,
      source:
        o.signer === undefined
          ? null
          : {
              publicKey: o.signer.publicKey,
              signature: challenged ? signSourceProof(o.signer, nonce, o.peerId) : Buffer.alloc(64),
            },
    });
    if (!challenged) this.#c.joins++;
    this.#request(seq, 'join', data, nowMs);
  }

  #request(seq: number, kind: Pending['kind'], data: Buffer, nowMs: number): void {
    const rto = this.#rto.initialMs;
    this.#pending.set(seq, { kind, data, dueMs: nowMs + rto, rtoMs: rto, sent: 1 });
    this.#outbox.push({ data, to: this.#o.tracker });
  }

  #nextSeq(): number {
    const seq = this.#seq;
    this.#seq = this.#seq >= 0xffffffff ? 1 : this.#seq + 1;
    return seq;
  }
}

const EMPTY = Buffer.alloc(0);
