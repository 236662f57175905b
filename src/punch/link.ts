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
import { ClosedError } from '../errors/index.ts';
import { raceAbort } from '../internal/abort.ts';
import { CoreTimer } from '../internal/core-timer.ts';
import type { Demux } from '../mux/index.ts';
import type { NatEndpoint } from '../nat/index.ts';
import { type AgentAction, AgentCore, type AgentCoreOptions, type PathKind } from './agent-core.ts';
import type { Introduction } from './broker-client-core.ts';
import type { Candidate } from './candidates.ts';
import { pathChangedChannel, publishPath, punchFailedChannel } from './diagnostics.ts';
import { PunchFailedError } from './errors.ts';
import type { PunchLinkStats } from './link-stats.ts';
import { type PunchPortPool, PunchSockets } from './sockets.ts';
import { encodePunchDataHeader, PUNCH_DATA_HEADER_BYTES, PunchMessage } from './wire.ts';

const debug = debuglog('porthole:nat');

/** Default cap on received datagrams waiting for the iterator: 1024. */
export const DEFAULT_LINK_QUEUE = 1024;
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
  attach?(demux: Demux, signal?: AbortSignal): Promise<readonly Candidate[]>;
  /** Called by `PunchPeer.close()` before it closes the data socket: undo {@link attach}. */
  detach?(): Promise<void>;
  open(
    introduction: Introduction,
    onData: (data: Buffer) => void,
    signal: AbortSignal,
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
  readonly maxQueued?: number;
  readonly now: () => number;
  readonly onClose: (link: PunchLink) => void;
}

/**
 * A link to one peer. Events: `'path'` (`PathKind | null`) whenever the path changes.
 * Iterate it for received datagrams (slices of the received Buffer).
 */
export class PunchLink extends EventEmitter<{ path: [PathKind | null] }> {
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
  readonly #queue: Buffer[] = [];
  #waiter: ((result: IteratorResult<Buffer>) => void) | null = null;
  #failWaiter: ((error: Error) => void) | null = null;
  #path: PathKind | null = null;
  #pathSocket: Socket | null = null;
  #remote: NatEndpoint | null = null;
  #relay: RelayChannel | null = null;
  #relayRetry: NodeJS.Timeout | null = null;
  #error: Error | null = null;
  #closed = false;
  #owner: { close(): Promise<void> } | null = null;
  #ready: { resolve: () => void; reject: (e: Error) => void } | null = null;
  readonly #readyPromise: Promise<void>;
  #c = { sent: 0, received: 0, droppedNoPath: 0, droppedNotPath: 0, droppedQueueFull: 0, sendErrors: 0 };

  /** @internal Made by {@link PunchPeer}. Starts punching at once. */
  constructor(init: PunchLinkInit) {
    super();
    this.#init = init;
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
    this.#agent.start(init.now());
    this.#flush();
  }

  /** How data travels now: `'direct'`, `'predicted'`, `'relay'`, or null (no path). */
  get path(): PathKind | null {
    return this.#path;
  }

  /** The peer's address on the direct path (null on a relay or without a path). */
  get remote(): NatEndpoint | null {
    return this.#remote;
  }

  /** Resolves once a first path is up; rejects `ERR_NAT_PUNCH_FAILED`, `ERR_ABORTED`, `ERR_CLOSED`. */
  async ready(signal?: AbortSignal): Promise<void> {
    return raceAbort(this.#readyPromise, signal);
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
    if (data[2] === PunchMessage.DATA) {
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
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter({ value: payload, done: false });
    } else if (this.#queue.length >= (this.#init.maxQueued ?? DEFAULT_LINK_QUEUE)) {
      this.#c.droppedQueueFull++;
    } else {
      this.#queue.push(payload);
    }
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
    relay
      .open(
        this.#init.introduction,
        (data) => this.#path === 'relay' && this.#deliver(data),
        this.#abort.signal,
      )
      .then(
        (channel) => {
          if (this.#closed || this.#path !== null) {
            void channel.close();
            return;
          }
          this.#relay = channel;
          this.#setPath('relay');
          this.#scheduleDirectRetry();
        },
        (error: unknown) =>
          this.#fail(
            new PunchFailedError(this.peerId, `${reason}; relay failed`, this.stats(), { cause: error }),
          ),
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

  #fail(error: Error): void {
    this.#error = error;
    this.#ready?.reject(error);
    void this.close();
  }

  /** Received datagrams, in order; ends on close, throws the failure when the link failed. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: (): Promise<IteratorResult<Buffer>> => {
        const value = this.#queue.shift();
        if (value !== undefined) return Promise.resolve({ value, done: false });
        if (this.#closed)
          return this.#error !== null
            ? Promise.reject(this.#error)
            : Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.#waiter = resolve;
          this.#failWaiter = reject;
        });
      },
      return: async (): Promise<IteratorResult<Buffer>> => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  stats(): PunchLinkStats {
    return {
      ...this.#agent.stats(),
      path: this.#path,
      ...this.#c,
      extraSocketsPeak: this.#extra.peak,
      extraSockets: this.#extra.size,
    };
  }

  /** Ends the link (idempotent): stops punching, releases every prediction socket, closes a relay. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#timer.stop();
    this.#agent.close();
    this.#agent.drain();
    this.#dropRelay();
    this.#ready?.reject(this.#error ?? new ClosedError('link'));
    const waiter = this.#waiter;
    const failWaiter = this.#failWaiter;
    this.#waiter = null;
    this.#failWaiter = null;
    if (this.#error !== null) failWaiter?.(this.#error);
    else waiter?.({ value: undefined, done: true });
    this.#init.onClose(this);
    await this.#extra.close(null);
    if (this.#path !== null) {
      this.#path = null;
      if (pathChangedChannel.hasSubscribers) publishPath(this.peerId, this.linkId, 'none', null);
      this.emit('path', null);
    }
    await this.#owner?.close();
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
