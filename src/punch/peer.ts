/**
 * A peer's punching endpoint: one data socket (bound through `ports/`, or the caller's `Demux`),
 * registered with a broker ({@link BrokerClientCore}), from which {@link PunchLink}s are made —
 * `dial(peerId)` asks the broker for an introduction, `accept()` takes the next link another
 * peer asked for. {@link dialPeer} is the one-call form.
 * @module
 */
import type { RemoteInfo } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { debuglog } from 'node:util';
import type { DtlsCertificate } from '../dtls/index.ts';
import {
  AbortError,
  ClosedError,
  InvalidOptionError,
  PortholeError,
  throwIfAborted,
} from '../errors/index.ts';
import { raceAbort as withSignal } from '../internal/abort.ts';
import { CoreDriver } from '../internal/core-driver.ts';
import { wildcardAddress } from '../internal/endpoint.ts';
import { resolveHostPort } from '../internal/host-port.ts';
import { Demux, type DemuxRegistration, frameRange, PortholeFrame } from '../mux/index.ts';
import type { NatClassType, NatEndpoint } from '../nat/index.ts';
import { bindUdpSocket, validatePort } from '../ports/index.ts';
import { DEFAULT_PUNCH_TIMEOUT_MS, type PunchTuning, resolvePunchTuning } from './agent-options.ts';
import {
  BrokerClientCore,
  type BrokerClientEvent,
  type BrokerClientStats,
  type Introduction,
} from './broker-client-core.ts';
import { BrokerStatus, isPeerId, LinkRole, MAX_TOKEN_BYTES } from './broker-wire.ts';
import type { Candidate } from './candidates.ts';
import { PunchErrorCode } from './error-codes.ts';
import { fingerprintDigest } from './fingerprint.ts';
import { DEFAULT_LINK_QUEUE, PunchLink, type RelayProvider } from './link.ts';
import { LinkRoutes } from './link-routes.ts';
import type { BrokerRetransmitOptions } from './retransmit.ts';
import type { PunchPortPool } from './sockets.ts';

const debug = debuglog('porthole:punch');

/** How long `dial()` waits for the broker's introduction: 15 s (the broker retransmits for about 10 s). */
export const DEFAULT_INTRODUCTION_TIMEOUT_MS = 15_000;
/** Default cap on introduced links nobody has accepted yet: 16. */
export const DEFAULT_MAX_UNACCEPTED = 16;
/** Default punch deadline of a symmetric ↔ symmetric pair's direct retries (it starts on the relay): 2 s. */
export const DEFAULT_SYMMETRIC_PAIR_TIMEOUT_MS = 2_000;
/** The broker's port when its address gives none: 3478 (the CLI's `porthole broker` default). */
export const DEFAULT_BROKER_PORT = 3478;
/** Most dials waiting for an introduction at once (then `dial()` rejects `ERR_PUNCH_BROKER_BUSY`). */
export const MAX_PENDING_DIALS = 64;

/** Options of {@link PunchPeer.open}. */
export interface PunchPeerOptions {
  /**
   * The broker's address: `"host:port"` (`"[v6]:port"`; port default {@link DEFAULT_BROKER_PORT})
   * or `{ address, port }`, as every server address in porthole (`detectNat`'s `server` too); a
   * host name is resolved once (not resolving: `ERR_PUNCH_BROKER_UNREACHABLE`).
   */
  readonly broker: string | NatEndpoint;
  /** This peer's id (1–64 visible ASCII characters). */
  readonly id: string;
  /** The credential the broker's `authenticate` checks. */
  readonly token: Buffer | string;
  /** This peer's NAT class, from `detectNat()`; decides port prediction. Default `'unknown'`. */
  readonly natClass?: NatClassType;
  /** Use this demux's socket instead of binding one (shared with STUN etc.; stays the caller's). */
  readonly demux?: Demux;
  readonly family?: 'udp4' | 'udp6';
  /** Bind address of the data socket and prediction sockets. Default the wildcard. */
  readonly address?: string;
  /** Port of the data socket. Default 0 (ephemeral). */
  readonly port?: number;
  /** Host candidates to announce. Default: the bound address, or every interface address of the family. */
  readonly hostCandidates?: readonly NatEndpoint[];
  /** Binds prediction sockets from this pool (else `bindUdpSocket` on ephemeral ports). */
  readonly pool?: PunchPortPool;
  /** TURN fallback (from the relay layer); without it, a failed punch rejects `ERR_PUNCH_FAILED`. */
  readonly relay?: RelayProvider;
  /** While on the relay, retry direct punching this often, ms. Default 30 000. */
  readonly relayRetryDirectMs?: number;
  /**
   * Punch deadline, ms, of the direct retries of a pair where both sides declared a symmetric NAT
   * and a `relay` is configured: such a pair does not connect directly (port prediction needs one
   * predictable side), so its link starts on the relay without punching, and tries direct every
   * `relayRetryDirectMs` for this long instead of `punch.punchTimeoutMs`. Default
   * {@link DEFAULT_SYMMETRIC_PAIR_TIMEOUT_MS}.
   */
  readonly symmetricPairTimeoutMs?: number;
  /** Punching tuning (pace, timeouts, keepalive ≤ 15 s, low TTL, prediction); see docs/punch.md. */
  readonly punch?: PunchTuning & {
    /** Uniform random in [0, 1) (prediction's port choice). Default `Math.random`. */
    readonly random?: () => number;
  };
  /**
   * This peer's DTLS certificate (`generateCertificate()`): its fingerprint is registered with the
   * broker, which hands it to every peer it introduces us to, and `encryptLink` on our links
   * presents it and pins the fingerprint the broker introduced for the other side. Default none
   * (`encryptLink` then needs `certificate` and `peerFingerprint`).
   */
  readonly certificate?: DtlsCertificate;
  /** Keepalive to the broker, ms (≤ 15 000 recommended). Default 15 000. */
  readonly keepaliveMs?: number;
  /** Retransmission of broker requests (default 250 ms doubling to 2 s, 7 transmissions). */
  readonly brokerRetransmit?: BrokerRetransmitOptions;
  /** Most introduced links nobody has accepted yet; later ones are dropped and counted. Default {@link DEFAULT_MAX_UNACCEPTED}. */
  readonly maxUnaccepted?: number;
  /** Received datagrams per link waiting for its iterator; more are dropped (`droppedQueueFull`). Default {@link DEFAULT_LINK_QUEUE}. */
  readonly maxQueued?: number;
  readonly signal?: AbortSignal;
}

/** One `dial()` waiting for its introduction. */
interface PendingDial {
  readonly peerId: string;
  readonly resolve: (introduction: Introduction) => void;
  readonly reject: (error: Error) => void;
}

/** A registered punching endpoint. */
export class PunchPeer {
  readonly #o: PunchPeerOptions;
  readonly #demux: Demux;
  readonly #ownsSocket: boolean;
  readonly #client: BrokerClientCore;
  /** Runs {@link BrokerClientCore} on the demux's BROKER range: one timer, the send loop, close. */
  readonly #driver: CoreDriver<BrokerClientEvent>;
  readonly #regs: DemuxRegistration[] = [];
  readonly #links = new LinkRoutes<PunchLink>();
  readonly #unaccepted: PunchLink[] = [];
  readonly #acceptors: { resolve: (l: PunchLink) => void; reject: (e: Error) => void }[] = [];
  /** Dials by the sequence number of their CONNECT, until the broker answers it. */
  readonly #dialsBySeq = new Map<number, PendingDial>();
  /**
   * Dials waiting for an introduction, oldest first, by peer id: the introduction does not
   * name its CONNECT, and any introduction to a peer serves any dial of it (each its own link).
   */
  readonly #dialsByPeer = new Map<string, PendingDial[]>();
  /** Every dial in progress (until `dial()` settles): the cap's count. */
  readonly #dials = new Set<PendingDial>();
  readonly #registered: Promise<void>;
  #onRegistered: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #closed = false;
  #droppedUnaccepted = 0;
  readonly #now = (): number => performance.now();

  private constructor(
    options: PunchPeerOptions,
    broker: NatEndpoint,
    demux: Demux,
    ownsSocket: boolean,
    relayCandidates: readonly Candidate[],
  ) {
    this.#o = options;
    this.#demux = demux;
    this.#ownsSocket = ownsSocket;
    const family = options.family ?? 'udp4';
    const local = demux.socket.address();
    const hosts = options.hostCandidates ?? hostAddresses(family, local.address, local.port);
    const candidates: Candidate[] = hosts.map((h) => ({ kind: 'host', address: h.address, port: h.port }));
    this.#client = new BrokerClientCore({
      peerId: options.id,
      token: Buffer.isBuffer(options.token) ? options.token : Buffer.from(options.token),
      broker,
      natClass: options.natClass ?? 'unknown',
      candidates: [...candidates.slice(0, 8), ...relayCandidates.slice(0, 4)],
      ...(options.certificate === undefined
        ? {}
        : { fingerprint: fingerprintDigest(options.certificate.fingerprint)! }),
      ...(options.keepaliveMs === undefined ? {} : { keepaliveMs: options.keepaliveMs }),
      ...(options.brokerRetransmit === undefined ? {} : { retransmit: options.brokerRetransmit }),
    });
    this.#registered = new Promise<void>((resolve, reject) => {
      this.#onRegistered = { resolve, reject };
    });
    this.#registered.catch(() => {});
    this.#driver = new CoreDriver<BrokerClientEvent>(this.#client, {
      attach: (handler) => demux.register(frameRange(PortholeFrame.BROKER), handler),
      sender: demux.socket,
      onEvent: this.#onBrokerEvent,
      onSendError: (error) => debug('send to the broker failed: %s', error.message),
      now: this.#now,
    });
    this.#regs.push(demux.register(frameRange(PortholeFrame.PUNCH), this.#onPunch));
  }

  /**
   * Binds the data socket (unless `demux` is given) and registers with the broker.
   * Rejects `ERR_PUNCH_BROKER_UNREACHABLE` (no answer: wrong address or refused token),
   * `ERR_PUNCH_BROKER_BUSY` (the broker answered FULL), `ERR_ABORTED`, `ERR_INVALID_OPTION`
   * (bad id, token, interval, broker address), `ERR_INVALID_OPTION` (bad `punch` tuning),
   * `ERR_INVALID_OPTION` (a port that is not an integer 0–65535), a `PortBindError`, or what
   * the relay's `attach` rejects with (`TurnRelayProvider`: `ERR_TURN_AUTH_FAILED`, `ERR_TIMEOUT`, …).
   */
  static async open(options: PunchPeerOptions): Promise<PunchPeer> {
    throwIfAborted(options.signal);
    validatePeerOptions(options);
    const family = options.family ?? 'udp4';
    const broker = await resolveHostPort(options.broker, {
      option: 'broker',
      defaultPort: DEFAULT_BROKER_PORT,
      family,
      unresolvedCode: PunchErrorCode.BROKER_UNREACHABLE,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    let demux = options.demux;
    const owns = demux === undefined;
    if (demux === undefined) {
      const socket = await bindUdpSocket({
        family,
        address: options.address ?? wildcardAddress(family),
        port: options.port ?? 0,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      demux = new Demux(socket);
    }
    let peer: PunchPeer;
    let attached = false;
    try {
      const relayCandidates = (await options.relay?.attach?.(demux, { signal: options.signal })) ?? [];
      attached = true;
      peer = new PunchPeer(options, broker, demux, owns, relayCandidates);
    } catch (error) {
      if (attached) await options.relay?.detach?.();
      if (owns) {
        demux.detach();
        demux.socket.close();
      }
      throw error;
    }
    try {
      peer.#client.register(peer.#now());
      peer.#driver.flush();
      await withSignal(peer.#registered, options.signal);
      return peer;
    } catch (error) {
      await peer.close();
      throw error;
    }
  }

  /** Our address as the broker sees it (server-reflexive). */
  get observed(): NatEndpoint | null {
    return this.#client.observed;
  }

  /** The data socket's local port. */
  get localPort(): number {
    return this.#demux.socket.address().port;
  }

  /**
   * Asks the broker to introduce us to `peerId` and punches; resolves with the link once a path is
   * up. Concurrent dials of one peer each get their own link. Rejects `ERR_PUNCH_PEER_UNKNOWN`,
   * `ERR_PUNCH_BROKER_BUSY` (the broker's limits, or {@link MAX_PENDING_DIALS} dials pending here),
   * `ERR_PUNCH_BROKER_UNREACHABLE` (not registered now, or no introduction within
   * {@link DEFAULT_INTRODUCTION_TIMEOUT_MS}), `ERR_PUNCH_FAILED`, `ERR_INVALID_OPTION`
   * (not a peer id), `ERR_ABORTED`, `ERR_CLOSED`.
   */
  async dial(peerId: string, options: { signal?: AbortSignal } = {}): Promise<PunchLink> {
    if (this.#closed) throw new ClosedError('punch peer');
    throwIfAborted(options.signal);
    if (!isPeerId(peerId)) {
      throw new InvalidOptionError('peerId', `peerId must be 1-64 visible ASCII characters`);
    }
    if (this.#dials.size >= MAX_PENDING_DIALS) {
      throw new PortholeError(
        PunchErrorCode.BROKER_BUSY,
        `${MAX_PENDING_DIALS} dials already wait for the broker`,
      );
    }
    if (!this.#client.registered) {
      throw new PortholeError(
        PunchErrorCode.BROKER_UNREACHABLE,
        'not registered with the broker now; try later',
      );
    }
    const seq = this.#client.connect(peerId, this.#now());
    if (seq === null) {
      throw new PortholeError(
        PunchErrorCode.BROKER_BUSY,
        'too many requests to the broker in flight; try later',
      );
    }
    const { promise: intro, resolve, reject } = Promise.withResolvers<Introduction>();
    const dial: PendingDial = { peerId, resolve, reject };
    this.#dialsBySeq.set(seq, dial);
    const queue = this.#dialsByPeer.get(peerId);
    if (queue === undefined) this.#dialsByPeer.set(peerId, [dial]);
    else queue.push(dial);
    this.#dials.add(dial);
    this.#driver.flush();
    let link: PunchLink | undefined;
    const timer = setTimeout(
      () =>
        reject(
          new PortholeError(
            PunchErrorCode.BROKER_UNREACHABLE,
            `no introduction to ${peerId} from the broker`,
          ),
        ),
      DEFAULT_INTRODUCTION_TIMEOUT_MS,
    );
    try {
      const introduction = await withSignal(intro, options.signal).finally(() => clearTimeout(timer));
      link = this.#links.get(introduction.linkId);
      if (link === undefined) throw new ClosedError('punch peer');
      await link.ready(options.signal);
      return link;
    } catch (error) {
      await link?.close();
      throw error;
    } finally {
      this.#forgetDial(dial, seq);
    }
  }

  /** Drops `dial` from every table (idempotent). */
  #forgetDial(dial: PendingDial, seq: number): void {
    this.#dials.delete(dial);
    if (this.#dialsBySeq.get(seq) === dial) this.#dialsBySeq.delete(seq);
    this.#unqueueDial(dial);
  }

  #unqueueDial(dial: PendingDial): void {
    const queue = this.#dialsByPeer.get(dial.peerId);
    const at = queue?.indexOf(dial) ?? -1;
    if (queue === undefined || at < 0) return;
    queue.splice(at, 1);
    if (queue.length === 0) this.#dialsByPeer.delete(dial.peerId);
  }

  /** The next link another peer asked for, once its path is up. */
  async accept(options: { signal?: AbortSignal } = {}): Promise<PunchLink> {
    if (this.#closed) throw new ClosedError('punch peer');
    for (;;) {
      const link =
        this.#unaccepted.shift() ??
        (await withSignal(
          new Promise<PunchLink>((resolve, reject) => this.#acceptors.push({ resolve, reject })),
          options.signal,
        ));
      try {
        await link.ready(options.signal);
        return link;
      } catch (error) {
        if (error instanceof AbortError) throw error;
        debug('incoming link from %s failed: %o', link.peerId, error);
      }
    }
  }

  stats(): BrokerClientStats & { readonly links: number; readonly droppedUnaccepted: number } {
    return { ...this.#client.stats(), links: this.#links.size, droppedUnaccepted: this.#droppedUnaccepted };
  }

  /** Closes every link, stops signalling, and closes the socket when this peer bound it (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Tell the broker first, so nobody is introduced to a peer that is gone.
    this.#client.stop();
    if (this.#client.unregister()) await this.#sendToBroker();
    await this.#driver.close();
    for (const r of this.#regs) r.remove();
    const closed = new ClosedError('punch peer');
    this.#onRegistered?.reject(closed);
    for (const dial of this.#dials) dial.reject(closed);
    this.#dialsBySeq.clear();
    this.#dialsByPeer.clear();
    for (const a of this.#acceptors.splice(0)) a.reject(closed);
    // Each link tells its peer (CLOSE) before the socket goes.
    await Promise.all(this.#links.all().map((l) => l.close()));
    await this.#o.relay?.detach?.();
    if (this.#ownsSocket) {
      this.#demux.detach();
      await new Promise<void>((resolve) => this.#demux.socket.close(() => resolve()));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  readonly #onPunch = (data: Buffer, from: RemoteInfo): void => {
    this.#links.find(data)?.receive(0, data, from);
  };

  /**
   * Sends the UNREGISTER the broker client queued at close and resolves once the socket has taken
   * it (so closing the socket next does not cancel it); the driver's send loop does the rest.
   */
  #sendToBroker(): Promise<void> | undefined {
    const socket = this.#demux.socket;
    const sends = this.#client.drain();
    if (sends.length === 0) return undefined;
    let left = sends.length;
    const { promise, resolve } = Promise.withResolvers<void>();
    for (const t of sends) {
      socket.send(t.data, t.to.port, t.to.address, (error) => {
        if (error) debug('send to the broker failed: %s', error.message);
        if (--left === 0) resolve();
      });
    }
    return promise;
  }

  readonly #onBrokerEvent = (event: BrokerClientEvent): void => {
    if (this.#closed) return;
    switch (event.type) {
      case 'registered':
        this.#onRegistered?.resolve();
        break;
      case 'unreachable':
        this.#onRegistered?.reject(
          new PortholeError(PunchErrorCode.BROKER_UNREACHABLE, 'the broker did not answer our registration'),
        );
        break;
      case 'refused':
        // The broker answered (FULL): it is there but at its limits — not "unreachable".
        this.#onRegistered?.reject(dialError(event.status, 'our registration'));
        break;
      case 'connect-result': {
        const dial = this.#dialsBySeq.get(event.seq);
        if (dial === undefined) break;
        this.#dialsBySeq.delete(event.seq);
        if (event.status === BrokerStatus.OK) break; // the introduction follows
        this.#unqueueDial(dial);
        dial.reject(dialError(event.status, dial.peerId));
        break;
      }
      case 'introduce':
        this.#introduce(event.introduction);
        break;
      case 'observed-changed':
        debug('our server-reflexive address changed to %s:%d', event.observed.address, event.observed.port);
        break;
    }
  };

  /**
   * Both sides declared a symmetric NAT and a relay is configured: no punch opens such a pair, so
   * its link starts on the relay (both sides decide alike: each knows both classes).
   */
  #isSymmetricPair(localNat: NatClassType, introduction: Introduction): boolean {
    return this.#o.relay !== undefined && localNat === 'symmetric' && introduction.natClass === 'symmetric';
  }

  /** The punch deadline of a new link: shorter for a symmetric pair (its retries of direct). */
  #punchTimeoutFor(localNat: NatClassType, introduction: Introduction): number {
    const full = this.#o.punch?.punchTimeoutMs ?? DEFAULT_PUNCH_TIMEOUT_MS;
    if (!this.#isSymmetricPair(localNat, introduction)) return full;
    return Math.min(full, this.#o.symmetricPairTimeoutMs ?? DEFAULT_SYMMETRIC_PAIR_TIMEOUT_MS);
  }

  #introduce(introduction: Introduction): void {
    const dial =
      introduction.role === LinkRole.INITIATOR ? this.#dialsByPeer.get(introduction.peerId)?.[0] : undefined;
    if (introduction.role === LinkRole.INITIATOR && dial === undefined) return; // not asked for (any more)
    if (
      introduction.role === LinkRole.RESPONDER &&
      this.#unaccepted.length >= (this.#o.maxUnaccepted ?? DEFAULT_MAX_UNACCEPTED)
    ) {
      this.#droppedUnaccepted++;
      return;
    }
    const family = this.#o.family ?? 'udp4';
    const localNat = this.#o.natClass ?? 'unknown';
    const link = new PunchLink({
      introduction,
      socket: this.#demux.socket,
      family,
      bindAddress: this.#o.address ?? wildcardAddress(family),
      agent: {
        ...this.#o.punch,
        localNat,
        punchTimeoutMs: this.#punchTimeoutFor(localNat, introduction),
        // Our public IP as the broker saw it: private candidates only from a peer behind it too.
        ...(this.#client.observed === null ? {} : { localPublicAddress: this.#client.observed.address }),
      },
      pool: this.#o.pool,
      relay: this.#o.relay,
      relayFirst: this.#isSymmetricPair(localNat, introduction),
      ...(this.#o.relayRetryDirectMs === undefined ? {} : { relayRetryDirectMs: this.#o.relayRetryDirectMs }),
      ...(this.#o.maxQueued === undefined ? {} : { maxQueued: this.#o.maxQueued }),
      ...(this.#o.certificate === undefined ? {} : { certificate: this.#o.certificate }),
      now: this.#now,
      onClose: (closed) => this.#links.delete(closed),
    });
    this.#links.add(link);
    if (dial !== undefined) {
      this.#unqueueDial(dial);
      dial.resolve(introduction);
      return;
    }
    const acceptor = this.#acceptors.shift();
    if (acceptor !== undefined) acceptor.resolve(link);
    else this.#unaccepted.push(link);
  }
}

/** Options of {@link dialPeer}: a {@link PunchPeer} plus the peer to reach. */
export interface DialPeerOptions extends PunchPeerOptions {
  /** The id of the peer to reach. */
  readonly peer: string;
}

/**
 * Registers with the broker, asks for `peer`, punches, and resolves with the link once a path is
 * up (`PunchPeer.open` + `dial` in one call). The link owns its {@link PunchPeer}: closing the
 * link closes it. Rejects as those two.
 */
export async function dialPeer(options: DialPeerOptions): Promise<PunchLink> {
  const peer = await PunchPeer.open(options);
  try {
    const link = await peer.dial(
      options.peer,
      options.signal === undefined ? {} : { signal: options.signal },
    );
    link.closeWith(peer);
    return link;
  } catch (error) {
    await peer.close();
    throw error;
  }
}

function dialError(status: number | 'timeout', target: string): PortholeError {
  if (status === BrokerStatus.UNKNOWN_PEER)
    return new PortholeError(PunchErrorCode.PEER_UNKNOWN, `${target} is not registered with the broker`);
  if (status === BrokerStatus.BUSY || status === BrokerStatus.FULL)
    return new PortholeError(PunchErrorCode.BROKER_BUSY, 'the broker is at its limits; try later');
  return new PortholeError(
    PunchErrorCode.BROKER_UNREACHABLE,
    `the broker did not answer the request for ${target}`,
  );
}

function hostAddresses(family: 'udp4' | 'udp6', bound: string, port: number): NatEndpoint[] {
  if (bound !== '0.0.0.0' && bound !== '::') return [{ address: bound, port }];
  const out: NatEndpoint[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.internal || (family === 'udp4') !== (i.family === 'IPv4') || i.address.startsWith('fe80'))
        continue;
      out.push({ address: i.address, port });
    }
  }
  return out;
}

/**
 * Checks every option of {@link PunchPeer.open} up front, so that a bad value rejects `open()`
 * instead of throwing later inside a datagram handler (when an introduction arrives).
 * @throws InvalidOptionError `ERR_INVALID_OPTION`.
 */
function validatePeerOptions(options: PunchPeerOptions): void {
  const bad = (option: string, why: string): never => {
    throw new InvalidOptionError(option, why);
  };
  if (!isPeerId(options.id)) bad('id', 'id must be 1-64 visible ASCII characters');
  const token = options.token;
  if (!(Buffer.isBuffer(token) || typeof token === 'string') || Buffer.byteLength(token) > MAX_TOKEN_BYTES)
    bad('token', `token must be a Buffer or string of at most ${MAX_TOKEN_BYTES} bytes`);
  if (options.port !== undefined) validatePort(options.port, 'port');
  const certificate = options.certificate;
  if (
    certificate !== undefined &&
    (typeof certificate !== 'object' ||
      certificate === null ||
      fingerprintDigest(certificate.fingerprint) === undefined)
  )
    bad(
      'certificate',
      'certificate must be a DtlsCertificate (generateCertificate()) with a SHA-256 fingerprint',
    );
  const broker = options.broker;
  if (typeof broker !== 'string') {
    if (
      typeof broker !== 'object' ||
      broker === null ||
      typeof broker.address !== 'string' ||
      broker.address === ''
    )
      bad('broker', 'broker must be "host[:port]" or { address, port }');
    validatePort(broker.port, 'broker.port', 1);
  }
  for (const [i, c] of (options.hostCandidates ?? []).entries()) {
    validatePort(c.port, `hostCandidates[${i}].port`, 1);
  }
  const positive = (value: number | undefined, name: string): void => {
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0))
      bad(name, `${name} must be > 0, got ${value}`);
  };
  positive(options.keepaliveMs, 'keepaliveMs');
  positive(options.relayRetryDirectMs, 'relayRetryDirectMs');
  positive(options.symmetricPairTimeoutMs, 'symmetricPairTimeoutMs');
  const queued = options.maxQueued;
  if (queued !== undefined && !(Number.isInteger(queued) && queued >= 1))
    bad('maxQueued', `maxQueued must be an integer ≥ 1, got ${queued}`);
  const max = options.maxUnaccepted;
  if (max !== undefined && !(Number.isInteger(max) && max >= 0))
    bad('maxUnaccepted', `maxUnaccepted must be an integer ≥ 0, got ${max}`);
  resolvePunchTuning(options.punch ?? {}, 'punch.');
}
