/**
 * A peer's punching endpoint: one data socket (bound through `ports/`, or the caller's `Demux`),
 * registered with a broker ({@link BrokerClientCore}), from which {@link PunchLink}s are made —
 * `connect(peerId)` asks the broker for an introduction, `accept()` takes the next link another
 * peer asked for. {@link connect} is the one-call form.
 * @module
 */
import type { RemoteInfo } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { debuglog } from 'node:util';
import { ClosedError, ConfigError, PortholeError, throwIfAborted } from '../errors/index.ts';
import { raceAbort as withSignal } from '../internal/abort.ts';
import { CoreTimer } from '../internal/core-timer.ts';
import { wildcardAddress } from '../internal/endpoint.ts';
import { Demux, type DemuxRegistration, frameRange, PortholeFrame } from '../mux/index.ts';
import type { NatClassType, NatEndpoint } from '../nat/index.ts';
import { bindUdpSocket } from '../ports/index.ts';
import { AgentCore, type AgentCoreOptions, DEFAULT_PUNCH_TIMEOUT_MS } from './agent-core.ts';
import { BrokerClientCore, type BrokerClientStats, type Introduction } from './broker-client-core.ts';
import { BrokerStatus, LinkRole, PUNCH_SECRET_BYTES, SESSION_ID_BYTES } from './broker-wire.ts';
import type { Candidate } from './candidates.ts';
import { PunchLink, type RelayProvider } from './link.ts';
import type { RetransmitOptions } from './retransmit.ts';
import type { PunchPortPool } from './sockets.ts';

const debug = debuglog('porthole:nat');

/** How long `connect()` waits for the broker's introduction: 15 s (the broker retransmits for about 10 s). */
export const DEFAULT_INTRODUCTION_TIMEOUT_MS = 15_000;
/** Default cap on introduced links nobody has accepted yet: 16. */
export const DEFAULT_MAX_UNACCEPTED = 16;
/** Default punch deadline of a symmetric ↔ symmetric pair that has a relay: 2 s. */
export const DEFAULT_SYMMETRIC_PAIR_TIMEOUT_MS = 2_000;

/** Options of {@link PunchPeer.open}. */
export interface PunchPeerOptions {
  /** The broker's address. */
  readonly broker: NatEndpoint;
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
  /** TURN fallback (from the relay layer); without it, a failed punch rejects `ERR_NAT_PUNCH_FAILED`. */
  readonly relay?: RelayProvider;
  /** While on the relay, retry direct punching this often, ms. Default 30 000. */
  readonly relayRetryDirectMs?: number;
  /**
   * Punch deadline, ms, when both sides declared a symmetric NAT and a `relay` is configured:
   * such a pair does not connect directly (port prediction needs one predictable side), so it
   * moves to the relay after this instead of `punch.punchTimeoutMs`, and keeps retrying direct
   * every `relayRetryDirectMs`. Default {@link DEFAULT_SYMMETRIC_PAIR_TIMEOUT_MS}.
   */
  readonly symmetricPairTimeoutMs?: number;
  /** Punching tuning (pace, timeouts, keepalive ≤ 15 s, low TTL, prediction). */
  readonly punch?: Omit<
    AgentCoreOptions,
    'linkId' | 'role' | 'secret' | 'remoteNat' | 'remoteCandidates' | 'localNat'
  >;
  /** Keepalive to the broker, ms (≤ 15 000 recommended). Default 15 000. */
  readonly keepaliveMs?: number;
  /** Retransmission of broker requests (default 250 ms doubling to 2 s, 7 transmissions). */
  readonly brokerRetransmit?: RetransmitOptions;
  readonly maxUnaccepted?: number;
  readonly signal?: AbortSignal;
}

/** A registered punching endpoint. */
export class PunchPeer {
  readonly #o: PunchPeerOptions;
  readonly #demux: Demux;
  readonly #ownsSocket: boolean;
  readonly #client: BrokerClientCore;
  readonly #timer: CoreTimer;
  readonly #regs: DemuxRegistration[] = [];
  readonly #links = new Map<string, PunchLink>();
  readonly #unaccepted: PunchLink[] = [];
  readonly #acceptors: { resolve: (l: PunchLink) => void; reject: (e: Error) => void }[] = [];
  readonly #connects = new Map<number, { target: string; reject: (e: Error) => void }>();
  readonly #introWaiters = new Map<string, (intro: Introduction) => void>();
  readonly #registered: Promise<void>;
  #onRegistered: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #closed = false;
  #droppedUnaccepted = 0;
  readonly #now = (): number => performance.now();

  private constructor(
    options: PunchPeerOptions,
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
      broker: options.broker,
      natClass: options.natClass ?? 'unknown',
      candidates: [...candidates.slice(0, 8), ...relayCandidates.slice(0, 4)],
      ...(options.keepaliveMs === undefined ? {} : { keepaliveMs: options.keepaliveMs }),
      ...(options.brokerRetransmit === undefined ? {} : { retransmit: options.brokerRetransmit }),
    });
    this.#timer = new CoreTimer(
      this.#now,
      () => this.#client.nextWakeMs(),
      (now) => {
        this.#client.poll(now);
        this.#flush();
      },
    );
    this.#registered = new Promise<void>((resolve, reject) => {
      this.#onRegistered = { resolve, reject };
    });
    this.#registered.catch(() => {});
    this.#regs.push(
      demux.register(frameRange(PortholeFrame.BROKER), (data, from) => {
        this.#client.receive(data, from, this.#now());
        this.#flush();
      }),
      demux.register(frameRange(PortholeFrame.PUNCH), this.#onPunch),
    );
  }

  /**
   * Binds the data socket (unless `demux` is given) and registers with the broker.
   * Rejects `ERR_NAT_BROKER_UNREACHABLE` (no answer: wrong address or refused token),
   * `ERR_NAT_BROKER_BUSY` (the broker answered FULL), `ERR_ABORTED`,
   * `ERR_NAT_BROKER_OPTIONS`, `ERR_NAT_AGENT_OPTIONS` (bad `punch` tuning), a `PortBindError`, or what the relay's `attach` rejects with
   * (`TurnRelayProvider`: `ERR_TURN_AUTH_FAILED`, `ERR_TIMEOUT`, …).
   */
  static async open(options: PunchPeerOptions): Promise<PunchPeer> {
    throwIfAborted(options.signal);
    checkLinkOptions(options);
    const family = options.family ?? 'udp4';
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
      const relayCandidates = (await options.relay?.attach?.(demux, options.signal)) ?? [];
      attached = true;
      peer = new PunchPeer(options, demux, owns, relayCandidates);
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
      peer.#flush();
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
   * up. Rejects `ERR_NAT_PEER_UNKNOWN`, `ERR_NAT_BROKER_BUSY`, `ERR_NAT_BROKER_UNREACHABLE`,
   * `ERR_NAT_PUNCH_FAILED`, `ERR_ABORTED`, `ERR_CLOSED`.
   */
  async connect(peerId: string, options: { signal?: AbortSignal } = {}): Promise<PunchLink> {
    if (this.#closed) throw new ClosedError('punch peer');
    throwIfAborted(options.signal);
    const seq = this.#client.connect(peerId, this.#now());
    if (seq === null)
      throw new ConfigError('ERR_NAT_BROKER_OPTIONS', `cannot ask for ${JSON.stringify(peerId)} now`);
    const intro = new Promise<Introduction>((resolve, reject) => {
      this.#connects.set(seq, { target: peerId, reject });
      this.#introWaiters.set(peerId, resolve);
    });
    this.#flush();
    let link: PunchLink | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new PortholeError('ERR_NAT_BROKER_UNREACHABLE', `no introduction to ${peerId} from the broker`),
          ),
        DEFAULT_INTRODUCTION_TIMEOUT_MS,
      );
    });
    try {
      const introduction = await withSignal(Promise.race([intro, timeout]), options.signal).finally(() =>
        clearTimeout(timer),
      );
      link = this.#links.get(introduction.linkId.toString('hex'));
      if (link === undefined) throw new ClosedError('punch peer');
      await link.ready(options.signal);
      return link;
    } catch (error) {
      this.#connects.delete(seq);
      this.#introWaiters.delete(peerId);
      await link?.close();
      throw error;
    }
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
        if ((error as PortholeError).code === 'ERR_ABORTED') throw error;
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
    this.#timer.stop();
    // Tell the broker first, so nobody is introduced to a peer that is gone.
    this.#client.stop();
    if (this.#client.unregister()) await this.#sendToBroker();
    for (const r of this.#regs) r.remove();
    const closed = new ClosedError('punch peer');
    this.#onRegistered?.reject(closed);
    for (const c of this.#connects.values()) c.reject(closed);
    this.#connects.clear();
    for (const a of this.#acceptors.splice(0)) a.reject(closed);
    await Promise.all([...this.#links.values()].map((l) => l.close()));
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
    if (data.length < 12) return;
    for (const link of this.#links.values()) {
      if (data.compare(link.linkId, 0, 8, 4, 12) === 0) {
        link.receive(0, data, from);
        return;
      }
    }
  };

  /** Sends what the broker client queued; resolves once the socket has taken every datagram. */
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

  #flush(): void {
    if (this.#closed) return;
    void this.#sendToBroker();
    for (const event of this.#client.events()) {
      switch (event.type) {
        case 'registered':
          this.#onRegistered?.resolve();
          break;
        case 'unreachable':
          this.#onRegistered?.reject(
            new PortholeError('ERR_NAT_BROKER_UNREACHABLE', 'the broker did not answer our registration'),
          );
          break;
        case 'refused':
          // The broker answered (FULL): it is there but at its limits — not "unreachable".
          this.#onRegistered?.reject(connectError(event.status, 'our registration'));
          break;
        case 'connect-result': {
          const pending = this.#connects.get(event.seq);
          if (pending === undefined) break;
          this.#connects.delete(event.seq);
          if (event.status === BrokerStatus.OK) break;
          this.#introWaiters.delete(pending.target);
          pending.reject(connectError(event.status, pending.target));
          break;
        }
        case 'introduce':
          this.#introduce(event.introduction);
          break;
        case 'observed-changed':
          debug('our server-reflexive address changed to %s:%d', event.observed.address, event.observed.port);
          break;
      }
    }
    this.#timer.arm();
  }

  /** The punch deadline of a new link: shorter when both NATs are symmetric and a relay waits. */
  #punchTimeoutFor(localNat: NatClassType, introduction: Introduction): number {
    const full = this.#o.punch?.punchTimeoutMs ?? DEFAULT_PUNCH_TIMEOUT_MS;
    if (this.#o.relay === undefined || localNat !== 'symmetric' || introduction.natClass !== 'symmetric') {
      return full;
    }
    return Math.min(full, this.#o.symmetricPairTimeoutMs ?? DEFAULT_SYMMETRIC_PAIR_TIMEOUT_MS);
  }

  #introduce(introduction: Introduction): void {
    const waiter = this.#introWaiters.get(introduction.peerId);
    if (introduction.role === LinkRole.INITIATOR && waiter === undefined) return; // not asked for (any more)
    if (
      introduction.role === LinkRole.RESPONDER &&
      this.#unaccepted.length >= (this.#o.maxUnaccepted ?? DEFAULT_MAX_UNACCEPTED)
    ) {
      this.#droppedUnaccepted++;
      return;
    }
    const key = introduction.linkId.toString('hex');
    const family = this.#o.family ?? 'udp4';
    const localNat = this.#o.natClass ?? 'unknown';
    const link = new PunchLink({
      introduction,
      socket: this.#demux.socket,
      family,
      bindAddress: this.#o.address ?? wildcardAddress(family),
      agent: { ...this.#o.punch, localNat, punchTimeoutMs: this.#punchTimeoutFor(localNat, introduction) },
      pool: this.#o.pool,
      relay: this.#o.relay,
      ...(this.#o.relayRetryDirectMs === undefined ? {} : { relayRetryDirectMs: this.#o.relayRetryDirectMs }),
      now: this.#now,
      onClose: () => this.#links.delete(key),
    });
    this.#links.set(key, link);
    if (introduction.role === LinkRole.INITIATOR) {
      this.#introWaiters.delete(introduction.peerId);
      waiter?.(introduction);
      return;
    }
    const acceptor = this.#acceptors.shift();
    if (acceptor !== undefined) acceptor.resolve(link);
    else this.#unaccepted.push(link);
  }
}

/** Options of {@link connect}: a {@link PunchPeer} plus the peer to reach. */
export interface ConnectOptions extends PunchPeerOptions {
  readonly peer: string;
}

/**
 * Registers with the broker, asks for `peer`, punches, and resolves with the link once a path is
 * up. The link owns its {@link PunchPeer}: closing the link closes it.
 */
export async function connect(options: ConnectOptions): Promise<PunchLink> {
  const peer = await PunchPeer.open(options);
  try {
    const link = await peer.connect(
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

function connectError(status: number | 'timeout', target: string): PortholeError {
  if (status === BrokerStatus.UNKNOWN_PEER)
    return new PortholeError('ERR_NAT_PEER_UNKNOWN', `${target} is not registered with the broker`);
  if (status === BrokerStatus.BUSY || status === BrokerStatus.FULL)
    return new PortholeError('ERR_NAT_BROKER_BUSY', 'the broker is at its limits; try later');
  return new PortholeError(
    'ERR_NAT_BROKER_UNREACHABLE',
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
 * Checks the link tuning now, as each link's agent would, so that a bad value rejects `open()`
 * instead of throwing later inside a datagram handler (when an introduction arrives).
 */
function checkLinkOptions(options: PunchPeerOptions): void {
  const trial = new AgentCore({
    ...options.punch,
    linkId: Buffer.alloc(SESSION_ID_BYTES),
    role: LinkRole.INITIATOR,
    secret: Buffer.alloc(PUNCH_SECRET_BYTES),
    remoteCandidates: [],
  });
  trial.close();
  const t = options.symmetricPairTimeoutMs;
  if (t !== undefined && !(Number.isFinite(t) && t > 0)) {
    throw new ConfigError('ERR_NAT_AGENT_OPTIONS', 'symmetricPairTimeoutMs must be > 0');
  }
}
