/**
 * A node's session with the tracker (docs/live.md, "Tracker"): `TrackerSession.join()` joins the
 * channel on the node's own Demux (one socket, one NAT mapping), and for a peer opens the
 * {@link PunchPeer} registered at the tracker's broker with its token key. It keeps the session
 * alive, re-joins after a tracker restart, sends a report every second when given a reporter,
 * and emits `'edges'` when the channel's edges change.
 * @module
 */
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import type { DtlsCertificate } from '../dtls/index.ts';
import { ClosedError, InvalidOptionError, PortholeError, throwIfAborted } from '../errors/index.ts';
import { raceAbort } from '../internal/abort.ts';
import { CoreDriver } from '../internal/core-driver.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { resolveHostPort } from '../internal/host-port.ts';
import { type Demux, frameRange, PortholeFrame } from '../mux/index.ts';
import type { NatClassType } from '../nat/index.ts';
import { PunchPeer, type RelayProvider } from '../punch/index.ts';
import type { ChannelSigner } from './channel.ts';
import { CHANNEL_ID_BYTES } from './constants.ts';
import { LiveTrackerCode } from './errors.ts';
import type { Candidate, NatClassValue } from './neighbours.ts';
import { isTokenPeerId, tokenBytes, tokenKey } from './token.ts';
import { reachabilityClass } from './tracker-channel.ts';
import {
  TrackerClientCore,
  type TrackerClientEvent,
  type TrackerClientStats,
  type TrackerRetransmitOptions,
} from './tracker-client-core.ts';
import { encodeNodeReport, type NodeReport } from './tracker-report.ts';
import {
  TRACKER_NAT_CLASSES,
  type TrackerEdge,
  type TrackerNatClass,
  type TrackerRoleValue,
  TrackerStatus,
} from './tracker-wire.ts';

const debug = debuglog('porthole:live');

/** The tracker's port when its address gives none. */
export const DEFAULT_TRACKER_PORT = 7000;
/** Default interval of reports drawn from `reporter`, ms. */
export const DEFAULT_REPORT_INTERVAL_MS = 1000;
/** Most `candidates()` calls waiting at once. */
const MAX_WAITING_SAMPLES = 32;

/** A candidate the tracker offered, with the spare upload it announced. */
export interface TrackerCandidate extends Candidate {
  readonly spareUploadBps: number;
}

/** Options of {@link TrackerSession.join}. */
export interface TrackerSessionOptions {
  /** `"host:port"` (port default {@link DEFAULT_TRACKER_PORT}) or `{ address, port }`. */
  readonly tracker: string | Endpoint;
  /** The node's demux (its one socket); the session registers the TRACKER range (and a peer's punch ranges). */
  readonly demux: Demux;
  /** The application token (`issueToken`); a source may go without and prove the channel key with `signer`. */
  readonly token?: string;
  /** 32 bytes. */
  readonly channelId: Uint8Array;
  /** 1–64 visible ASCII characters (a 16-byte live peer id as hex is 32), or bytes (sent as hex). */
  readonly peerId: string | Uint8Array;
  readonly role: TrackerRoleValue;
  /** From `detectNat()`, or the live layer's classes. Default `'unknown'`. */
  readonly natClass?: NatClassType | NatClassValue;
  /** Upload capacity, bits/s (announced as spare upload until `setSpareUpload`). */
  readonly uploadCapBps?: number;
  /** Edges: where peers and sources reach it. Default the address the tracker sees. */
  readonly edgeEndpoint?: Endpoint;
  /** Sources: the channel key, proving the channel to the tracker. */
  readonly signer?: ChannelSigner;
  /** TURN fallback for punching (peers). */
  readonly relay?: RelayProvider;
  /**
   * The DTLS certificate the peer's PunchPeer registers (its fingerprint is handed to the peers
   * it is introduced to, at this tracker or, through Redis, another): `encryptLink` then works.
   */
  readonly certificate?: DtlsCertificate;
  /** Keepalive interval, ms. Default 5000. */
  readonly keepaliveMs?: number;
  /** Retransmission of requests (default 250 ms doubling to 2 s, 7 transmissions: about 10 s). */
  readonly retransmit?: TrackerRetransmitOptions;
  /** Called every `reportIntervalMs` for the report to send (or undefined to skip one). */
  readonly reporter?: () => NodeReport | undefined;
  /** Default {@link DEFAULT_REPORT_INTERVAL_MS}. */
  readonly reportIntervalMs?: number;
  /** Clock, ms (tests). Default `performance.now`. */
  readonly now?: () => number;
  readonly signal?: AbortSignal;
}

/** A node's error talking to the tracker; `code` is one of {@link LiveTrackerCode}. */
export class TrackerError extends PortholeError {}

/** Events of a {@link TrackerSession}. */
export interface TrackerSessionEvents {
  /** The channel's edges changed. */
  edges: [edges: readonly TrackerEdge[]];
  /** The tracker forgot the node or stopped answering; the session re-joins by itself. */
  lost: [];
  /** Joined again after `lost`. */
  rejoined: [];
}

/** See the module doc. */
export class TrackerSession extends EventEmitter<TrackerSessionEvents> {
  readonly #core: TrackerClientCore;
  readonly #driver: CoreDriver<TrackerClientEvent>;
  readonly #waiting = new Map<
    number,
    { resolve: (c: TrackerCandidate[]) => void; reject: (e: Error) => void }
  >();
  #punch: PunchPeer | null = null;
  #publicKey: Buffer | null = null;
  #observed: Endpoint | null = null;
  #reportTimer: NodeJS.Timeout | null = null;
  #closing: Promise<void> | undefined;
  #joined: { resolve: () => void; reject: (e: Error) => void } | null = null;
  readonly peerId: string;
  readonly role: TrackerRoleValue;

  private constructor(core: TrackerClientCore, options: TrackerSessionOptions, peerId: string) {
    super();
    this.#core = core;
    this.peerId = peerId;
    this.role = options.role;
    const demux = options.demux;
    this.#driver = new CoreDriver(core, {
      attach: (handler) => demux.register(frameRange(PortholeFrame.TRACKER), handler),
      sender: demux.socket,
      onEvent: (event) => this.#onEvent(event),
      onSendError: (error) => debug('send to the tracker failed: %s', error.message),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  /**
   * Joins the channel and, for a peer, opens its {@link PunchPeer} at the tracker's broker.
   * Rejects `ERR_LIVE_TRACKER_UNREACHABLE`, `ERR_LIVE_TRACKER_REFUSED` (a bad or expired token,
   * a source key that does not prove the channel), `ERR_LIVE_TRACKER_FULL`, `ERR_INVALID_OPTION`,
   * `ERR_ABORTED`, or what `PunchPeer.open` rejects with.
   */
  static async join(options: TrackerSessionOptions): Promise<TrackerSession> {
    throwIfAborted(options?.signal);
    const { token, peerId, nat } = validate(options);
    const tracker = await resolveHostPort(options.tracker, {
      option: 'tracker',
      defaultPort: DEFAULT_TRACKER_PORT,
      unresolvedCode: LiveTrackerCode.UNREACHABLE,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const core = new TrackerClientCore({
      tracker,
      channelId: Buffer.from(options.channelId),
      peerId,
      role: options.role,
      nat,
      relay: options.relay !== undefined,
      uploadCapBps: options.uploadCapBps,
      edgeEndpoint: options.edgeEndpoint,
      token,
      signer: options.signer,
      keepaliveMs: options.keepaliveMs,
      retransmit: options.retransmit,
    });
    if (options.uploadCapBps !== undefined) core.setSpareUpload(options.uploadCapBps);
    const session = new TrackerSession(core, options, peerId);
    try {
      const joined = new Promise<void>((resolve, reject) => {
        session.#joined = { resolve, reject };
      });
      core.start(session.#driver.now());
      session.#driver.flush();
      await raceAbort(joined, options.signal);
      if (options.role === 'peer' && token !== undefined) {
        session.#punch = await PunchPeer.open({
          broker: tracker,
          id: peerId,
          token: tokenKey(token),
          natClass: punchNat(nat),
          demux: options.demux,
          ...(options.relay === undefined ? {} : { relay: options.relay }),
          ...(options.certificate === undefined ? {} : { certificate: options.certificate }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
      }
      if (options.reporter !== undefined) session.#startReports(options.reporter, options.reportIntervalMs);
      return session;
    } catch (error) {
      await session.close();
      throw error;
    }
  }

  /** The PunchPeer registered at the tracker's broker (peers only: `ERR_CLOSED` for other roles). */
  get punch(): PunchPeer {
    if (this.#punch === null) throw new ClosedError('the punch peer (peers only)');
    return this.#punch;
  }

  /** The channel's edges as last heard. */
  get edges(): readonly TrackerEdge[] {
    return this.#core.edges;
  }

  /** The channel's public key, once a source proved it to the tracker. */
  get publicKey(): Buffer | null {
    return this.#publicKey;
  }

  /** This node's address as the tracker sees it. */
  get observed(): Endpoint | null {
    return this.#observed;
  }

  /**
   * Up to `n` (≤ 32) candidates chosen by the tracker for reachability and spare upload.
   * Rejects `ERR_LIVE_TRACKER_UNREACHABLE` when unanswered, `ERR_CLOSED`, `ERR_ABORTED`.
   */
  async candidates(n: number, options: { signal?: AbortSignal } = {}): Promise<TrackerCandidate[]> {
    throwIfAborted(options.signal);
    if (this.#closing !== undefined) throw new ClosedError('the tracker session');
    if (this.#waiting.size >= MAX_WAITING_SAMPLES) {
      throw new TrackerError(
        LiveTrackerCode.UNREACHABLE,
        'too many candidate requests waiting for the tracker',
      );
    }
    const seq = this.#core.requestSample(n, this.#driver.now());
    if (seq < 0) throw new TrackerError(LiveTrackerCode.UNREACHABLE, 'not joined to the tracker right now');
    this.#driver.flush();
    const answer = new Promise<TrackerCandidate[]>((resolve, reject) =>
      this.#waiting.set(seq, { resolve, reject }),
    );
    try {
      return await raceAbort(answer, options.signal);
    } finally {
      this.#waiting.delete(seq);
    }
  }

  /** Sends `report` now (bounded: ≤ 24 neighbours). False when not joined. */
  report(report: NodeReport): boolean {
    if (this.#closing !== undefined) return false;
    const sent = this.#core.sendReport(encodeNodeReport(report));
    this.#driver.flush();
    return sent;
  }

  /** Tells the tracker `peerId` sent a forged chunk. */
  reportForged(peerId: string): boolean {
    if (this.#closing !== undefined) return false;
    const sent = this.#core.reportForged(peerId, this.#driver.now());
    this.#driver.flush();
    return sent;
  }

  /** Spare upload announced with the next keepalive, bits/s. */
  setSpareUpload(bps: number): void {
    this.#core.setSpareUpload(bps);
  }

  /** Counters of the protocol. */
  stats(): TrackerClientStats & { readonly joined: boolean } {
    return { ...this.#core.stats(), joined: this.#core.joined };
  }

  /** Leaves (LEAVE, best effort), closes the punch peer; idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #startReports(reporter: () => NodeReport | undefined, intervalMs = DEFAULT_REPORT_INTERVAL_MS): void {
    this.#reportTimer = setInterval(() => {
      let r: NodeReport | undefined;
      try {
        r = reporter();
      } catch (error) {
        debug('reporter threw: %s', (error as Error).message);
        return;
      }
      if (r !== undefined) this.report(r);
    }, intervalMs);
    this.#reportTimer.unref();
  }

  #onEvent(event: TrackerClientEvent): void {
    switch (event.type) {
      case 'joined':
        if (event.publicKey !== null) this.#publicKey = Buffer.from(event.publicKey);
        if (event.observed !== null) this.#observed = event.observed;
        if (event.first) {
          this.#joined?.resolve();
          this.#joined = null;
        } else {
          this.emit('rejoined');
        }
        return;
      case 'edges':
        this.emit('edges', event.edges);
        return;
      case 'sample': {
        const waiter = this.#waiting.get(event.seq);
        waiter?.resolve(
          event.candidates.map((c) => ({
            id: c.id,
            nat: reachabilityClass(c.nat),
            uploads: c.uploads,
            spareUploadBps: c.spareUploadBps,
          })),
        );
        return;
      }
      case 'request-failed':
        this.#waiting
          .get(event.seq)
          ?.reject(new TrackerError(LiveTrackerCode.UNREACHABLE, 'the tracker did not answer'));
        return;
      case 'refused': {
        const error =
          event.status === TrackerStatus.FULL
            ? new TrackerError(LiveTrackerCode.FULL, 'the tracker is full')
            : new TrackerError(
                LiveTrackerCode.REFUSED,
                event.status === TrackerStatus.EXPIRED
                  ? 'the tracker refused the join: the token has expired'
                  : 'the tracker refused the join: the token (or channel key) does not prove this peer id, channel and role',
              );
        this.#joined?.reject(error);
        this.#joined = null;
        return;
      }
      case 'unreachable':
        this.#joined?.reject(
          new TrackerError(LiveTrackerCode.UNREACHABLE, 'the tracker did not answer the join'),
        );
        this.#joined = null;
        return;
      case 'lost':
        this.emit('lost');
        return;
    }
  }

  async #close(): Promise<void> {
    if (this.#reportTimer !== null) clearInterval(this.#reportTimer);
    this.#driver.flush();
    const closed = new ClosedError('the tracker session');
    for (const w of this.#waiting.values()) w.reject(closed);
    this.#waiting.clear();
    this.#joined?.reject(closed);
    this.#joined = null;
    await this.#punch?.close();
    this.#core.close();
    this.#driver.flush();
    await this.#driver.close();
  }
}

function validate(o: TrackerSessionOptions): {
  token: Buffer | undefined;
  peerId: string;
  nat: TrackerNatClass;
} {
  if (o === undefined || o.demux === undefined) throw new InvalidOptionError('demux', 'demux is required');
  if (!(o.channelId instanceof Uint8Array) || o.channelId.length !== CHANNEL_ID_BYTES)
    throw new InvalidOptionError('channelId', `channelId must be ${CHANNEL_ID_BYTES} bytes`);
  const peerId = typeof o.peerId === 'string' ? o.peerId : Buffer.from(o.peerId ?? []).toString('hex');
  if (!isTokenPeerId(peerId))
    throw new InvalidOptionError('peerId', 'peerId must be 1-64 visible ASCII characters');
  if (o.role !== 'peer' && o.role !== 'edge' && o.role !== 'source')
    throw new InvalidOptionError('role', 'role must be peer, edge or source');
  const nat = (o.natClass ?? 'unknown') as TrackerNatClass;
  if (!TRACKER_NAT_CLASSES.includes(nat))
    throw new InvalidOptionError('natClass', `natClass ${String(o.natClass)} unknown`);
  let token: Buffer | undefined;
  if (o.token !== undefined) {
    try {
      token = tokenBytes(o.token);
    } catch (error) {
      throw new InvalidOptionError('token', (error as Error).message);
    }
  } else if (!(o.role === 'source' && o.signer !== undefined)) {
    throw new InvalidOptionError(
      'token',
      'token is required (a source may prove the channel key with signer instead)',
    );
  }
  if (o.uploadCapBps !== undefined && !(Number.isFinite(o.uploadCapBps) && o.uploadCapBps >= 0))
    throw new InvalidOptionError('uploadCapBps', 'uploadCapBps must be a number ≥ 0');
  const r = o.retransmit;
  for (const [name, v] of [
    ['initialMs', r?.initialMs],
    ['maxMs', r?.maxMs],
    ['transmissions', r?.transmissions],
  ] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v >= 1))
      throw new InvalidOptionError(`retransmit.${name}`, `retransmit.${name} must be a number ≥ 1`);
  }
  if (o.keepaliveMs !== undefined && !(Number.isFinite(o.keepaliveMs) && o.keepaliveMs > 0))
    throw new InvalidOptionError('keepaliveMs', 'keepaliveMs must be a positive number');
  return { token, peerId, nat };
}

function punchNat(nat: TrackerNatClass): NatClassType {
  return nat === 'restricted' ? 'address-restricted' : nat;
}
