/**
 * A datagram link between two peers: the driver of one {@link AgentCore}. It sends what the core
 * asks on the peer's data socket or on prediction sockets (`punch-sockets.ts`), honours low-TTL
 * punches with `socket.setTTL`, carries DATA frames once a path is up, and falls back to an
 * optional relay provider (TURN, from the relay layer) when punching fails.
 * @module
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import type { DtlsCertificate } from '../dtls/index.ts';
import { type AbortOptions, ClosedError, InvalidStateError } from '../errors/index.ts';
import { raceAbort } from '../internal/abort.ts';
import { CoreTimer } from '../internal/core-timer.ts';
import { DatagramQueue, OverflowPolicy } from '../internal/datagram-queue.ts';
import type { Demux } from '../mux/index.ts';
import type { NatEndpoint } from '../nat/index.ts';
import { type AgentAction, AgentCore, type PathKind, PUNCH_CLOSE_COPIES } from './agent-core.ts';
import type { AgentCoreOptions } from './agent-options.ts';
import type { Introduction } from './broker-client-core.ts';
import type { LinkRoleType } from './broker-wire.ts';
import type { Candidate } from './candidates.ts';
import { pathChangedChannel, publishPath, punchFailedChannel } from './diagnostics.ts';
import { PunchFailedError } from './errors.ts';
import type { PunchLinkStats } from './link-stats.ts';
import { type PunchPortPool, PunchSockets } from './sockets.ts';
import {
  encodePunchDataHeader,
  hasPunchLinkId,
  isPunchData,
  mayBePunchClose,
  PUNCH_DATA_HEADER_BYTES,
} from './wire.ts';

const debug = debuglog('porthole:punch');

/** Default cap on received datagrams waiting for the iterator: 1024. */
export const DEFAULT_LINK_QUEUE = 1024;
/** `from` of frames that came through the relay (the agent only uses it for probes, never for CLOSE). */
const RELAY_FROM: NatEndpoint = { address: '0.0.0.0', port: 0 };
/** Default wait before retrying direct punching while on a relay: 30 s. */
export const DEFAULT_RELAY_RETRY_DIRECT_MS = 30_000;

/** A relayed channel to the peer (a TURN allocation with a permission/channel for it). */
export interface RelayChannel {
  send(data: Buffer): void;
  close(): Promise<void> | void;
}

/**
 * Opens a relayed channel when punching fails (RFC 8656 TURN, e.g. `TurnRelayProvider`).
 * `onData` receives what the peer sends through the relay.
 */
export interface RelayProvider {
  /**
   * Called once by `PunchPeer.open` before it registers with the broker: set up on the peer's
   * data socket (e.g. a TURN allocation) and return the relay candidates to announce, which the
   * broker hands to the other side in its introduction.
   */
  attach?(demux: Demux, options?: AbortOptions): Promise<readonly Candidate[]>;
  /** Called by `PunchPeer.close()` before it closes the data socket: undo {@link attach}. */
  detach?(): Promise<void>;
  open(
    introduction: Introduction,
    onData: (data: Buffer) => void,
    options?: AbortOptions,
  ): Promise<RelayChannel>;
}

/** @internal What {@link PunchPeer} hands a new link. */
export interface PunchLinkInit {
  readonly introduction: Introduction;
  readonly socket: Socket;
  readonly family: 'udp4' | 'udp6';
  readonly bindAddress: string;
  readonly agent: Omit<AgentCoreOptions, 'linkId' | 'role' | 'secret' | 'remoteNat' | 'remoteCandidates'>;
  readonly pool?: PunchPortPool | undefined;
  readonly relay?: RelayProvider | undefined;
  readonly relayRetryDirectMs?: number;
  /**
   * Open the relay at once instead of punching first (a symmetric ↔ symmetric pair, which no punch
   * opens): direct punching waits for the first retry after `relayRetryDirectMs`.
   */
  readonly relayFirst?: boolean;
  readonly maxQueued?: number;
  /** The local peer's DTLS certificate (its fingerprint is the one the broker introduced us with). */
  readonly certificate?: DtlsCertificate;
  readonly now: () => number;
  readonly onClose: (link: PunchLink) => void;
}

/**
 * Why a link ended: `'local'` (this side's `close()`), `'remote'` (the peer's authenticated
 * CLOSE), `'failed'` (no path: punching and the relay, if any, failed).
 */
export type PunchLinkCloseReason = 'local' | 'remote' | 'failed';

/** The events of a {@link PunchLink}. */
export interface PunchLinkEvents {
  /**
   * The path changed while the link is open: a `PathKind` once one is up, `null` when it was lost
   * and the link re-punches. Never emitted by closing (see `'close'`).
   */
  path: [PathKind | null];
  /** The link ended, once, with the reason; the iterator ends (throws the failure for `'failed'`). */
  close: [PunchLinkCloseReason];
}

/**
 * A link to one peer. Events: `'path'` while open, `'close'` once (see {@link PunchLinkEvents}).
 * Iterate it for received datagrams (slices of the received Buffer).
 */
export class PunchLink extends EventEmitter<PunchLinkEvents> {
  /** The peer's id. */
  readonly peerId: string;
  readonly linkId: Buffer;
  readonly #agent: AgentCore;
  readonly #socket: Socket;
  readonly #extra: PunchSockets;
  readonly #timer: CoreTimer;
  readonly #header: Buffer;
  readonly #init: PunchLinkInit;
  readonly #abort = new AbortController();
  /** Received payloads for the iterator (drop-newest when full: `droppedQueueFull`). */
  readonly #queue: DatagramQueue<Buffer>;
  #handler: ((data: Buffer) => void) | undefined;
  #path: PathKind | null = null;
  #pathSocket: Socket | null = null;
  #remote: NatEndpoint | null = null;
  #relay: RelayChannel | null = null;
  #relayRetry: NodeJS.Timeout | null = null;
  #error: Error | null = null;
  #closed = false;
  #closeReason: PunchLinkCloseReason | null = null;
  #ending: Promise<void> | null = null;
  #owner: { close(): Promise<void> } | null = null;
  #ready: { resolve: () => void; reject: (e: Error) => void } | null = null;
  readonly #readyPromise: Promise<void>;
  #c = { sent: 0, received: 0, droppedNoPath: 0, droppedNotPath: 0, sendErrors: 0 };

  /** @internal Made by {@link PunchPeer}. Starts punching at once. */
  constructor(init: PunchLinkInit) {
    super();
    this.#init = init;
    this.#queue = new DatagramQueue<Buffer>({
      capacity: init.maxQueued ?? DEFAULT_LINK_QUEUE,
      overflow: OverflowPolicy.DROP_NEWEST,
    });
    const intro = init.introduction;
    this.peerId = intro.peerId;
    this.linkId = intro.linkId;
    this.#socket = init.socket;
    this.#header = encodePunchDataHeader(intro.linkId);
    this.#agent = new AgentCore({
      ...init.agent,
      family: init.family,
      linkId: intro.linkId,
      role: intro.role,
      secret: intro.secret,
      remoteNat: intro.natClass,
      remoteCandidates: intro.candidates,
    });
    this.#extra = new PunchSockets({
      family: init.family,
      address: init.bindAddress,
      pool: init.pool,
      onDatagram: (index, data, from) => this.receive(index, data, from),
    });
    this.#timer = new CoreTimer(
      init.now,
      () => this.#agent.nextWakeMs(),
      (now) => {
        this.#agent.poll(now);
        this.#flush();
      },
    );
    this.#readyPromise = new Promise<void>((resolve, reject) => {
      this.#ready = { resolve, reject };
    });
    this.#readyPromise.catch(() => {});
    if (init.relayFirst === true && init.relay !== undefined) {
      this.#openRelay(init.relay, 'a symmetric pair: the relay first', true);
      return;
    }
    this.#agent.start(init.now());
    this.#flush();
  }

  /** Which side of the link this is (`LinkRole`): the initiator dialled, the responder accepted. */
  get role(): LinkRoleType {
    return this.#init.introduction.role;
  }

  /**
   * The SHA-256 fingerprint (`AB:CD:…`) of the DTLS certificate the peer registered with the
   * broker, from the introduction (undefined: it registered none); `encryptLink` pins it.
   */
  get peerFingerprint(): string | undefined {
    return this.#init.introduction.fingerprint;
  }

  /** Our DTLS certificate, when the {@link PunchPeer} has one (`encryptLink` presents it). */
  get certificate(): DtlsCertificate | undefined {
    return this.#init.certificate;
  }

  /** How data travels now: `'direct'`, `'predicted'`, `'relay'`, or null (no path). */
  get path(): PathKind | null {
    return this.#path;
  }

  /** Why the link ended, or null while it is open. */
  get closeReason(): PunchLinkCloseReason | null {
    return this.#closeReason;
  }

  /** The peer's address on the direct path (null on a relay or without a path). */
  get remote(): NatEndpoint | null {
    return this.#remote;
  }

  /** Resolves once a first path is up; rejects `ERR_PUNCH_FAILED`, `ERR_ABORTED`, `ERR_CLOSED`. */
  async ready(signal?: AbortSignal): Promise<void> {
    return raceAbort(this.#readyPromise, signal);
  }

  /**
   * Hands every received datagram to `handler` instead of the async iterator, until the returned
   * registration is removed (queued datagrams first). With {@link send} this makes the link a
   * `DatagramLink` (porthole/mux), so ARQ conversations run over it: `new ArqEndpoint({ link })`.
   * @throws InvalidStateError `ERR_INVALID_STATE` when a handler is already set.
   */
  onDatagram(handler: (data: Buffer) => void): { remove(): void } {
    if (this.#handler !== undefined) {
      throw new InvalidStateError('the link already hands its datagrams to a handler');
    }
    this.#handler = handler;
    for (let queued = this.#queue.shift(); queued !== undefined; queued = this.#queue.shift())
      handler(queued);
    return {
      remove: (): void => {
        if (this.#handler === handler) this.#handler = undefined;
      },
    };
  }

  /**
   * Sends one datagram to the peer on the current path. Without a path it is dropped and
   * counted (datagram semantics).
   * @throws ClosedError `ERR_CLOSED` after `close()`.
   */
  send(data: Uint8Array): void {
    if (this.#closed) throw new ClosedError('link');
    if (this.#path === 'relay' && this.#relay !== null) {
      this.#relay.send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      this.#c.sent++;
      return;
    }
    const socket = this.#pathSocket;
    const remote = this.#remote;
    if (socket === null || remote === null) {
      this.#c.droppedNoPath++;
      return;
    }
    this.#c.sent++;
    socket.send([this.#header, data], remote.port, remote.address, this.#onSent);
  }

  readonly #onSent = (error: Error | null): void => {
    if (error) this.#c.sendErrors++;
  };

  /** @internal A punch frame for this link arrived on socket `index` (0: the data socket). */
  receive(index: number, data: Buffer, from: RemoteInfo | NatEndpoint): void {
    if (this.#closed) return;
    if (isPunchData(data)) {
      const remote = this.#remote;
      const socket = index === 0 ? this.#socket : this.#extra.get(index);
      if (
        remote === null ||
        socket !== this.#pathSocket ||
        remote.port !== from.port ||
        remote.address !== from.address
      ) {
        this.#c.droppedNotPath++;
        return;
      }
      this.#agent.heard(this.#init.now());
      this.#deliver(data.subarray(PUNCH_DATA_HEADER_BYTES));
      return;
    }
    this.#agent.receive(data, from, index, this.#init.now());
    this.#flush();
  }

  #deliver(payload: Buffer): void {
    this.#c.received++;
    const handler = this.#handler;
    if (handler !== undefined) {
      handler(payload);
      return;
    }
    this.#queue.push(payload);
  }

  #flush(): void {
    if (this.#closed) return;
    for (const action of this.#agent.drain()) this.#act(action);
    this.#timer.arm();
  }

  #act(action: AgentAction): void {
    switch (action.type) {
      case 'send': {
        const socket = action.socket === 0 ? this.#socket : this.#extra.get(action.socket);
        if (socket === undefined) return;
        if (action.ttl !== undefined) setTtl(socket, action.ttl);
        socket.send(action.data, action.to.port, action.to.address, (error) => {
          if (action.ttl !== undefined) setTtl(socket, 64);
          if (error) this.#c.sendErrors++;
        });
        return;
      }
      case 'open-sockets':
        void this.#openSockets(action.count);
        return;
      case 'close-sockets':
        this.#extra.close(action.keep).catch((e: unknown) => debug('closing prediction sockets: %o', e));
        return;
      case 'path': {
        this.#remote = action.remote;
        this.#pathSocket = action.socket === 0 ? this.#socket : (this.#extra.get(action.socket) ?? null);
        this.#setPath(action.kind);
        this.#dropRelay();
        return;
      }
      case 'path-lost':
        this.#remote = null;
        this.#pathSocket = null;
        this.#setPath(null);
        return;
      case 'failed':
        this.#onFailed(action.reason);
        return;
      case 'closed-by-peer':
        void this.#end('remote');
        return;
    }
  }

  async #openSockets(count: number): Promise<void> {
    const opened = await this.#extra.open(count, this.#abort.signal);
    if (this.#closed || !this.#agent.socketsOpened(opened, this.#init.now())) {
      await this.#extra.close(null);
      return;
    }
    this.#flush();
  }

  #setPath(kind: PathKind | null): void {
    if (kind === this.#path) return;
    this.#path = kind;
    if (pathChangedChannel.hasSubscribers)
      publishPath(this.peerId, this.linkId, kind ?? 'none', this.#remote);
    if (kind !== null) this.#ready?.resolve();
    this.emit('path', kind);
  }

  #onFailed(reason: string): void {
    const relay = this.#init.relay;
    if (punchFailedChannel.hasSubscribers)
      punchFailedChannel.publish({
        peerId: this.peerId,
        linkId: this.linkId.toString('hex'),
        reason,
        relay: relay !== undefined,
      });
    if (relay === undefined) {
      this.#fail(new PunchFailedError(this.peerId, reason, this.stats()));
      return;
    }
    if (this.#relay !== null) {
      this.#scheduleDirectRetry();
      return;
    }
    this.#openRelay(relay, reason, false);
  }

  /**
   * Opens the relayed channel and moves the link onto it. When it fails: a link that had punched
   * fails; a link that went to the relay first punches after all (its punch failing tries the
   * relay once more).
   */
  #openRelay(relay: RelayProvider, reason: string, first: boolean): void {
    relay.open(this.#init.introduction, this.#onRelayData, { signal: this.#abort.signal }).then(
      (channel) => {
        if (this.#closed || this.#path !== null) {
          void channel.close();
          return;
        }
        this.#relay = channel;
        this.#setPath('relay');
        this.#scheduleDirectRetry();
      },
      (error: unknown) => {
        if (first && !this.#closed) {
          debug('relay first to %s failed, punching: %o', this.peerId, error);
          this.#agent.start(this.#init.now());
          this.#flush();
          return;
        }
        this.#fail(
          new PunchFailedError(this.peerId, `${reason}; relay failed`, this.stats(), { cause: error }),
        );
      },
    );
  }

  /** On the relay, keep trying direct in the background (never stuck on the relay). */
  #scheduleDirectRetry(): void {
    if (this.#relayRetry !== null || this.#closed) return;
    this.#relayRetry = setTimeout(() => {
      this.#relayRetry = null;
      if (this.#closed || this.#path !== 'relay') return;
      this.#agent.start(this.#init.now());
      this.#flush();
    }, this.#init.relayRetryDirectMs ?? DEFAULT_RELAY_RETRY_DIRECT_MS);
  }

  #dropRelay(): void {
    const relay = this.#relay;
    this.#relay = null;
    if (this.#relayRetry !== null) clearTimeout(this.#relayRetry);
    this.#relayRetry = null;
    if (relay !== null) void relay.close();
  }

  /**
   * What the peer sent on the relay: payloads travel unframed there, and the one control frame,
   * CLOSE, is told apart by its size, type byte, link id and HMAC (only the peer knows the secret).
   */
  readonly #onRelayData = (data: Buffer): void => {
    if (this.#closed || this.#path !== 'relay') return;
    if (mayBePunchClose(data) && hasPunchLinkId(data, this.linkId)) {
      this.#agent.receive(data, RELAY_FROM, 0, this.#init.now());
      if (this.#agent.state === 'closed') {
        this.#flush();
        return;
      }
    }
    this.#deliver(data);
  };

  #fail(error: Error): void {
    this.#error = error;
    this.#ready?.reject(error);
    void this.#end('failed');
  }

  /** Received datagrams, in order; ends on close, throws the failure when the link failed. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    // The one DatagramQueue's reader: breaking out ends this reader only, the link stays open.
    const reader = this.#queue.reader();
    return {
      next: async (): Promise<IteratorResult<Buffer>> => {
        const result = await reader.next();
        if (result.done === true && this.#error !== null) throw this.#error;
        return result;
      },
      return: (): Promise<IteratorResult<Buffer>> => reader.return(),
    };
  }

  stats(): PunchLinkStats {
    return {
      ...this.#agent.stats(),
      path: this.#path,
      ...this.#c,
      droppedQueueFull: this.#queue.dropped,
      extraSocketsPeak: this.#extra.peak,
      extraSockets: this.#extra.size,
    };
  }

  /**
   * Ends the link (idempotent): tells the peer (an authenticated CLOSE on the path or the relay),
   * stops punching, releases every prediction socket, closes a relay, emits `'close'` `'local'`.
   */
  close(): Promise<void> {
    return this.#end('local');
  }

  #end(reason: PunchLinkCloseReason): Promise<void> {
    if (this.#ending !== null) return this.#ending;
    this.#closed = true;
    this.#closeReason = reason;
    this.#abort.abort();
    this.#timer.stop();
    const told: Promise<void>[] = [];
    if (reason === 'local' && this.#path === 'relay' && this.#relay !== null) {
      const frame = this.#agent.closeFrame();
      for (let i = 0; i < PUNCH_CLOSE_COPIES; i++) this.#relay.send(frame);
    }
    this.#agent.close(); // queues the CLOSE copies when a direct path is up
    for (const action of this.#agent.drain()) {
      if (action.type !== 'send') continue;
      const socket = action.socket === 0 ? this.#socket : this.#extra.get(action.socket);
      if (socket === undefined) continue;
      told.push(
        new Promise<void>((resolve) => {
          try {
            socket.send(action.data, action.to.port, action.to.address, () => resolve());
          } catch {
            resolve(); // the socket is already closed
          }
        }),
      );
    }
    this.#dropRelay();
    // Diagnostics see the path end (kind 'none'); the 'path' event is for open links only.
    if (this.#path !== null && pathChangedChannel.hasSubscribers) {
      publishPath(this.peerId, this.linkId, 'none', null);
    }
    this.#path = null;
    this.#pathSocket = null;
    this.#remote = null;
    this.#ready?.reject(this.#error ?? new ClosedError('link'));
    this.#queue.end(); // readers take what is queued, then end (or throw the failure)
    this.#init.onClose(this);
    this.#ending = (async () => {
      await Promise.all(told);
      await this.#extra.close(null);
      this.emit('close', reason);
      await this.#owner?.close();
    })();
    return this.#ending;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal Closes `owner` (the link's own {@link PunchPeer}) after the link. */
  closeWith(owner: { close(): Promise<void> }): void {
    this.#owner = owner;
  }
}

function setTtl(socket: Socket, ttl: number): void {
  try {
    socket.setTTL(ttl);
  } catch (error) {
    debug('setTTL(%d) failed: %o', ttl, error);
  }
}
