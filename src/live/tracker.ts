/**
 * The tracker (docs/live.md, "Tracker"): a {@link TrackerCore} on the Demux range of
 * `PortholeFrame.TRACKER` and the punch `BrokerCore` on `PortholeFrame.BROKER` of the same socket
 * (a peer behind a NAT keeps one mapping for both), the broker's credential being the peer's token
 * key the tracker learnt at JOIN. State lives in memory, or in Redis shared by several instances
 * (`store: { redis: url }`, see tracker-redis.ts).
 * @module
 */
import type { Socket } from 'node:dgram';
import { debuglog } from 'node:util';
import { InvalidOptionError } from '../errors/index.ts';
import { CoreDriver } from '../internal/core-driver.ts';
import { type Endpoint, wildcardAddress } from '../internal/endpoint.ts';
import { Demux, frameRange, PortholeFrame } from '../mux/index.ts';
import { bindUdpSocket, validatePort } from '../ports/index.ts';
import { BrokerCore, type BrokerCoreOptions, type BrokerStats } from '../punch/index.ts';
import { secretBytes } from './token.ts';
import type { TrackerChannel } from './tracker-channel.ts';
import { TrackerCore } from './tracker-core.ts';
import type { TrackerCoreOptions, TrackerEvent, TrackerStats } from './tracker-options.ts';
import { decodeNodeReport, type NodeReport } from './tracker-report.ts';
import type { TrackerStore, TrackerStoreHooks } from './tracker-store.ts';
import type { TrackerEdge, TrackerNatClass, TrackerRoleValue } from './tracker-wire.ts';

const debug = debuglog('porthole:live');

/** Options of {@link Tracker.listen} and `new Tracker`. */
export interface TrackerOptions extends Omit<TrackerCoreOptions, 'secret' | 'usable'> {
  /** The operator's token secret (≥ 16 bytes; a string is UTF-8). */
  readonly secret: Buffer | string;
  /** Where state lives: `'memory'` (default) or a Redis shared by several instances. */
  readonly store?: 'memory' | TrackerRedisStoreOptions;
  /** Options of the punch broker on the same socket (limits, retransmission). */
  readonly broker?: Omit<BrokerCoreOptions, 'credential' | 'authenticate'>;
  /** Wall clock, ms since the epoch (tests). Default `Date.now`. */
  readonly now?: () => number;
  readonly signal?: AbortSignal;
}

/** `store: { redis }`: several tracker instances share one Redis (see tracker-redis.ts). */
export interface TrackerRedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  readonly redis: string;
  /** Key and channel prefix. Default `porthole:tracker:`. */
  readonly prefix?: string;
  /** Node refresh and resync interval, ms. Default 5000. */
  readonly refreshMs?: number;
}

/** Options of {@link Tracker.listen}. */
export interface TrackerListenOptions extends TrackerOptions {
  /** Local address. Default the wildcard of the family. */
  readonly address?: string;
  /** UDP port (0: ephemeral). */
  readonly port: number;
  readonly family?: 'udp4' | 'udp6';
}

/** One node in a {@link SwarmSnapshot}. */
export interface SwarmNode {
  readonly id: string;
  readonly role: TrackerRoleValue;
  readonly natClass: TrackerNatClass;
  /** Joined at another tracker instance (its report is not here). */
  readonly remote: boolean;
  readonly joinedAtMs: number;
  readonly lastSeenMs: number;
  readonly flagged: boolean;
  readonly spareUploadBps: number;
  readonly address: Endpoint | null;
  /** The latest report (undefined before the first, and for remote nodes). */
  readonly report: NodeReport | undefined;
  readonly reportAtMs: number;
}

/** One channel in a {@link SwarmSnapshot}. */
export interface SwarmChannel {
  /** Hex. */
  readonly id: string;
  /** Hex, once a source proved it (or a store knew it). */
  readonly publicKey: string | null;
  readonly createdAtMs: number;
  readonly edges: readonly TrackerEdge[];
  readonly nodes: readonly SwarmNode[];
  /** Joins, leaves and expiries at this instance (also in `counters`). */
  readonly joins: number;
  readonly leaves: number;
  readonly expired: number;
  readonly counters: {
    readonly joins: number;
    readonly leaves: number;
    readonly expired: number;
    readonly flagged: number;
    readonly drops: number;
  };
}

/** What `swarm()` returns: every channel (or one), its edges and nodes with their latest report. */
export interface SwarmSnapshot {
  readonly atMs: number;
  readonly channels: readonly SwarmChannel[];
  readonly counters: TrackerStats;
}

/** Counters of a running tracker. */
export interface TrackerRunStats extends TrackerStats {
  readonly broker: BrokerStats;
  readonly sendErrors: number;
  /** Store operations that failed (Redis down): counted, the tracker keeps serving from memory. */
  readonly storeErrors: number;
}

/** A running tracker. */
export class Tracker {
  readonly #core: TrackerCore;
  readonly #broker: BrokerCore;
  readonly #demux: Demux;
  readonly #driver: CoreDriver<TrackerEvent>;
  readonly #brokerDriver: CoreDriver;
  readonly #now: () => number;
  #store: TrackerStore | null = null;
  #owned: Socket | null = null;
  #closing: Promise<void> | undefined;

  /**
   * Serves on `demux` (the socket stays the caller's); memory store only (use {@link listen} for Redis).
   * @throws InvalidOptionError `ERR_INVALID_OPTION`; ConfigError `ERR_MUX_RANGE_TAKEN`.
   */
  constructor(options: TrackerOptions & { readonly demux: Demux }) {
    const secret = secretBytes(options.secret);
    this.#now = options.now ?? Date.now;
    this.#demux = options.demux;
    const broker = new BrokerCore({
      ...options.broker,
      credential: (id) => this.#core.credential(id),
      external: {
        lookup: (id) => this.#store?.directory?.lookup(id),
        introduce: (to, about, linkId, secret, role) =>
          this.#store?.directory?.introduce(to, about, linkId, secret, role),
        registered: (info) => this.#store?.directory?.registered?.(info),
      },
    });
    this.#broker = broker;
    this.#core = new TrackerCore({ ...options, secret, usable: (id) => broker.has(id) });
    const demux = options.demux;
    const sender = { send: demux.socket.send.bind(demux.socket) } as const;
    this.#brokerDriver = new CoreDriver(broker, {
      attach: (handler) => demux.register(frameRange(PortholeFrame.BROKER), handler),
      sender: { send: (d, p, a, cb) => demux.socket.send(d, p, a, cb) },
      onSendError: (error) => debug('tracker broker send failed: %s', error.message),
      now: this.#now,
    });
    try {
      this.#driver = new CoreDriver(this.#core, {
        attach: (handler) => demux.register(frameRange(PortholeFrame.TRACKER), handler),
        sender: { send: (d, p, a, cb) => sender.send(d, p, a, cb) },
        onEvent: (event) => this.#store?.apply(event, this.#now()),
        onSendError: (error) => debug('tracker send failed: %s', error.message),
        now: this.#now,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      void this.#brokerDriver.close();
      throw error;
    }
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  /**
   * Binds a socket through `ports/` (validating every option first) and serves on it; with
   * `store: { redis }`, connects first and loads the channels Redis keeps.
   */
  static async listen(options: TrackerListenOptions): Promise<Tracker> {
    validatePort(options?.port, 'port');
    secretBytes(options.secret);
    const family = options.family ?? 'udp4';
    const store = options.store ?? 'memory';
    let shared: TrackerStore | null = null;
    if (store !== 'memory') shared = await openStore(store, options.nodeTimeoutMs, options.signal);
    let socket: Socket;
    try {
      socket = await bindUdpSocket({
        family,
        address: options.address ?? wildcardAddress(family),
        port: options.port,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      await shared?.close();
      throw error;
    }
    let tracker: Tracker;
    try {
      tracker = new Tracker({ ...options, demux: new Demux(socket) });
    } catch (error) {
      socket.close();
      await shared?.close();
      throw error;
    }
    tracker.#owned = socket;
    if (shared !== null) {
      tracker.#store = shared;
      await shared.attach(tracker.#hooks());
    }
    return tracker;
  }

  /** The bound address. */
  address(): Endpoint {
    const a = this.#demux.socket.address();
    return { address: a.address, port: a.port };
  }

  /** The sans-I/O core (tests, benchmarks). */
  get core(): TrackerCore {
    return this.#core;
  }

  /** A snapshot of the counters. */
  stats(): TrackerRunStats {
    return {
      ...this.#core.stats(),
      broker: this.#broker.stats(),
      sendErrors: this.#driver.stats().sendErrors + this.#brokerDriver.stats().sendErrors,
      storeErrors: this.#store?.errors ?? 0,
    };
  }

  /** Every channel (or the one of `channelId`, hex or bytes) with its edges and nodes. */
  swarm(channelId?: string | Buffer): SwarmSnapshot {
    const channels: SwarmChannel[] = [];
    const pick =
      channelId === undefined
        ? [...this.#core.channels()]
        : [this.#core.channel(channelId)].filter((c) => c !== undefined);
    for (const c of pick) channels.push(this.#snapshot(c as TrackerChannel));
    return { atMs: this.#now(), channels, counters: this.#core.stats() };
  }

  /** Stops serving (idempotent); closes the socket only when {@link listen} bound it. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #hooks(): TrackerStoreHooks {
    return {
      core: this.#core,
      broker: this.#broker,
      now: this.#now,
      flush: () => this.#driver.flush(),
      flushBroker: () => this.#brokerDriver.flush(),
    };
  }

  #snapshot(c: TrackerChannel): SwarmChannel {
    const nodes: SwarmNode[] = [];
    for (const n of this.#core.localNodes()) {
      if (n.channel !== c) continue;
      let report: NodeReport | undefined;
      if (n.report !== null) {
        try {
          report = decodeNodeReport(n.report);
        } catch {
          report = undefined;
        }
      }
      nodes.push({
        id: n.id,
        role: n.role,
        natClass: n.nat,
        remote: false,
        joinedAtMs: n.joinedAtMs,
        lastSeenMs: n.lastSeenMs,
        flagged: n.flagged,
        spareUploadBps: n.spareUploadBps,
        address: n.address,
        report,
        reportAtMs: n.reportAtMs,
      });
    }
    for (const n of c.remoteNodes.values()) {
      nodes.push({
        id: n.id,
        role: n.role,
        natClass: n.nat,
        remote: true,
        joinedAtMs: n.joinedAtMs,
        lastSeenMs: n.lastSeenMs,
        flagged: n.flagged,
        spareUploadBps: n.spareUploadBps,
        address: null,
        report: undefined,
        reportAtMs: 0,
      });
    }
    return {
      id: c.key,
      publicKey: c.publicKey === null ? null : c.publicKey.toString('hex'),
      createdAtMs: c.createdAtMs,
      edges: c.edgeList(64),
      nodes,
      joins: c.counters.joins,
      leaves: c.counters.leaves,
      expired: c.counters.expired,
      counters: { ...c.counters },
    };
  }

  async #close(): Promise<void> {
    await this.#driver.close();
    await this.#brokerDriver.close();
    await this.#store?.close();
    const socket = this.#owned;
    if (socket !== null) {
      this.#demux.detach();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  }
}

/** Opens a shared store (Redis). */
async function openStore(
  store: TrackerRedisStoreOptions,
  nodeTimeoutMs: number | undefined,
  signal: AbortSignal | undefined,
): Promise<TrackerStore> {
  if (typeof store !== 'object' || store === null || typeof store.redis !== 'string')
    throw new InvalidOptionError('store', "store must be 'memory' or { redis: 'redis://…' }");
  const { RedisTrackerStore } = await import('./tracker-redis.ts');
  return RedisTrackerStore.connect(store.redis, {
    ...(store.prefix === undefined ? {} : { prefix: store.prefix }),
    ...(store.refreshMs === undefined ? {} : { refreshMs: store.refreshMs }),
    ...(nodeTimeoutMs === undefined ? {} : { nodeTimeoutMs }),
    ...(signal === undefined ? {} : { signal }),
  });
}
