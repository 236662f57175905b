/**
 * The Redis store of a tracker (ioredis): several tracker instances on one Redis share their
 * channels and nodes, offer each other's peers in samples, and introduce peers registered at
 * different instances (the broker's `external` directory: the responder's half of an
 * introduction travels on the target instance's pub/sub channel). A restarted instance loses no
 * channel: they are kept in Redis; a running one learns channels created at the others (a
 * `channel` message, and at each refresh).
 *
 * Keys (prefix default `porthole:tracker:`):
 * ```
 * {p}channels              hash  channel id (hex) → {"publicKey":hex|null,"createdAtMs":n}
 * {p}nodes:{channel}       hash  node id → node record (one line, tracker-redis-record.ts: its instance,
 *                                 role, NAT class, upload, address, times, and what it registered at
 *                                 the broker: certificate fingerprint, candidates)
 * {p}events                pub/sub: channel / joined / left / flagged, from every instance
 * {p}intro:{instance}      pub/sub: introductions for the peers registered at that instance
 * ```
 * Node records are refreshed every `refreshMs`; records silent past the node timeout are
 * dropped by the readers and deleted by the next resync. The punch secret of a cross-instance
 * introduction crosses Redis in clear: Redis is the operator's, inside the trust boundary.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { debuglog } from 'node:util';
import { Redis } from 'ioredis';
import { InvalidOptionError } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import {
  type BrokerPeerInfo,
  type Candidate,
  type ExternalBrokerDirectory,
  fingerprintDigest,
  formatFingerprint,
} from '../punch/index.ts';
import { publishTrackerDrop, trackerDropChannel } from './diagnostics.ts';
import type { TrackerNode } from './tracker-channel.ts';
import type { LocalNode, TrackerEvent } from './tracker-options.ts';
import {
  decodeRedisRecord,
  encodeRedisRecord,
  type RedisNodeRecord,
  redisRecordOwnerPrefix,
} from './tracker-redis-record.ts';
import type { TrackerStore, TrackerStoreHooks } from './tracker-store.ts';
import type { TrackerNatClass } from './tracker-wire.ts';

const debug = debuglog('porthole:live');

/** Default key prefix. */
export const DEFAULT_REDIS_PREFIX = 'porthole:tracker:';
/** Default interval of the node refresh and resync, ms. */
export const DEFAULT_REDIS_REFRESH_MS = 5000;
/** Most remote nodes a resync reads per channel (HSCAN would page beyond; bounded here). */
const MAX_REMOTE_PER_CHANNEL = 100_000;
/** Most instance names interned. */
const MAX_INSTANCES = 1024;

/** Options of {@link RedisTrackerStore.connect}. */
export interface RedisTrackerStoreOptions {
  readonly prefix?: string;
  readonly refreshMs?: number;
  /** A node record older than this is ignored and deleted, ms. Default 30 000 (the core's node timeout). */
  readonly nodeTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** What an instance keeps of another's node besides the core's record: where it is registered and reached. */
interface RemoteNode {
  readonly channel: string;
  readonly instance: string;
  readonly role: TrackerNode['role'];
  readonly nat: TrackerNatClass;
  readonly address: Endpoint;
  /** SHA-256 digest of its certificate (hex, as in the record), if it registered one. */
  readonly fingerprint: string | null;
  /** The candidates it registered at its broker. */
  readonly candidates: readonly Candidate[];
}

type Message =
  | {
      readonly type: 'joined';
      readonly instance: string;
      readonly channel: string;
      readonly id: string;
      /** The node's record ({@link encodeRedisRecord}). */
      readonly node: string;
    }
  | { readonly type: 'left'; readonly instance: string; readonly channel: string; readonly id: string }
  | { readonly type: 'flagged'; readonly instance: string; readonly channel: string; readonly id: string }
  /** A channel created, or its key learnt, at another instance. */
  | {
      readonly type: 'channel';
      readonly instance: string;
      readonly channel: string;
      readonly publicKey: string | null;
    };

interface Introduction {
  readonly to: string;
  readonly about: BrokerPeerInfo;
  readonly linkId: string;
  readonly secret: string;
  readonly role: 0 | 1;
}

/** Deletes a node record only when it is still the given instance's (another may own the id now). */
const DELETE_OWN = `local v = redis.call('hget', KEYS[1], ARGV[1])
if v and string.sub(v, 1, #ARGV[2]) == ARGV[2] then return redis.call('hdel', KEYS[1], ARGV[1]) end
return 0`;

/** See the module doc. */
export class RedisTrackerStore implements TrackerStore, ExternalBrokerDirectory {
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  readonly #refreshMs: number;
  readonly #timeoutMs: number;
  readonly instance = randomBytes(8).toString('hex');
  #hooks: TrackerStoreHooks | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Remote peers by id: where they are registered (for the broker directory). */
  readonly #remote = new Map<string, RemoteNode>();
  /** Other instances' names, each kept once ({@link RemoteNode.instance}). */
  readonly #instances = new Map<string, string>();
  #errors = 0;
  #closing: Promise<void> | undefined;

  private constructor(redis: Redis, sub: Redis, options: RedisTrackerStoreOptions) {
    this.#redis = redis;
    this.#sub = sub;
    this.#prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.#refreshMs = options.refreshMs ?? DEFAULT_REDIS_REFRESH_MS;
    this.#timeoutMs = options.nodeTimeoutMs ?? 30_000;
  }

  /**
   * Connects (two connections: commands and subscriptions).
   * @throws InvalidOptionError `ERR_INVALID_OPTION` for a URL that is not `redis://` / `rediss://`, or
   *   when Redis does not answer (`option` is `store.redis`).
   */
  static async connect(url: string, options: RedisTrackerStoreOptions = {}): Promise<RedisTrackerStore> {
    if (typeof url !== 'string' || !/^rediss?:\/\//.test(url))
      throw new InvalidOptionError('store.redis', `store.redis must be a redis:// URL, got ${String(url)}`);
    if (options.refreshMs !== undefined && !(options.refreshMs >= 10))
      throw new InvalidOptionError('store.refreshMs', 'store.refreshMs must be ≥ 10');
    const settings = { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true } as const;
    const redis = new Redis(url, settings);
    const sub = new Redis(url, settings);
    for (const r of [redis, sub]) r.on('error', (error: Error) => debug('redis: %s', error.message));
    try {
      await Promise.all([redis.connect(), sub.connect()]);
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      sub.disconnect();
      throw new InvalidOptionError(
        'store.redis',
        `cannot reach Redis at ${url}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    return new RedisTrackerStore(redis, sub, options);
  }

  /** Store operations that failed. */
  get errors(): number {
    return this.#errors;
  }

  /** This store as the broker's directory of other instances' peers. */
  get directory(): ExternalBrokerDirectory {
    return this;
  }

  /** Loads channels and other instances' nodes, subscribes, starts the refresh. */
  async attach(hooks: TrackerStoreHooks): Promise<void> {
    this.#hooks = hooks;
    await this.#loadChannels();
    this.#sub.on('message', (channel: string, message: string) => this.#onMessage(channel, message));
    await this.#sub.subscribe(`${this.#prefix}events`, `${this.#prefix}intro:${this.instance}`);
    await this.#resync();
    this.#timer = setInterval(() => void this.#tick(), this.#refreshMs);
    this.#timer.unref();
  }

  /** Learns the channels (and keys) in Redis: at the start, and at each refresh (a missed message). */
  async #loadChannels(): Promise<void> {
    const hooks = this.#hooks!;
    const channels = await this.#redis.hgetall(`${this.#prefix}channels`);
    for (const [id, json] of Object.entries(channels)) {
      try {
        const c = JSON.parse(json) as { publicKey: string | null };
        this.#learnChannel(id, c.publicKey, hooks);
      } catch {
        this.#fail('channel record');
      }
    }
  }

  #learnChannel(id: string, publicKey: string | null, hooks: TrackerStoreHooks): void {
    const known = hooks.core.channel(id);
    if (known !== undefined && (publicKey === null || known.publicKey !== null)) return;
    hooks.core.ensureChannel(
      Buffer.from(id, 'hex'),
      publicKey === null ? null : Buffer.from(publicKey, 'hex'),
      hooks.now(),
    );
  }

  /** Mirrors one core event. */
  apply(event: TrackerEvent, _nowMs: number): void {
    const p = this.#prefix;
    switch (event.type) {
      case 'channel': {
        const c = event.channel;
        const publicKey = c.publicKey === null ? null : c.publicKey.toString('hex');
        const value = JSON.stringify({ publicKey, createdAtMs: c.createdAtMs });
        // A channel this instance knows without its key (a peer's token named it, or another
        // instance's node) never overwrites a record that has the key.
        this.#run(
          publicKey === null
            ? this.#redis.hsetnx(`${p}channels`, c.key, value)
            : this.#redis.hset(`${p}channels`, c.key, value),
        );
        this.#announce({ type: 'channel', instance: this.instance, channel: c.key, publicKey });
        return;
      }
      case 'joined': {
        const id = event.node.id;
        const record = this.#record(event.node);
        const channel = event.node.channel.key;
        this.#remote.delete(id);
        this.#run(this.#redis.hset(`${p}nodes:${channel}`, id, record));
        this.#announce({ type: 'joined', instance: this.instance, channel, id, node: record });
        return;
      }
      case 'left': {
        if (event.reason === 'replaced') return; // the same id joins again at once
        const channel = event.node.channel.key;
        this.#run(
          this.#redis.eval(
            DELETE_OWN,
            1,
            `${p}nodes:${channel}`,
            event.node.id,
            redisRecordOwnerPrefix(this.instance),
          ),
        );
        this.#announce({ type: 'left', instance: this.instance, channel, id: event.node.id });
        return;
      }
      case 'flagged':
        this.#announce({
          type: 'flagged',
          instance: this.instance,
          channel: event.channel.key,
          id: event.peerId,
        });
        return;
    }
  }

  /** The broker directory: a peer registered at another instance. */
  lookup(peerId: string): BrokerPeerInfo | undefined {
    const r = this.#remote.get(peerId);
    if (r === undefined || r.role !== 'peer') return undefined;
    const info = {
      peerId,
      address: r.address,
      natClass: r.nat === 'restricted' ? 'address-restricted' : r.nat,
      candidates: r.candidates,
    } as const;
    return r.fingerprint === null
      ? info
      : { ...info, fingerprint: formatFingerprint(Buffer.from(r.fingerprint, 'hex')) };
  }

  /**
   * The broker directory: a peer registered at this instance's broker. Its record now carries its
   * candidates and fingerprint; written and announced at once, so the other instances introduce
   * it fully from the start, not from the next refresh.
   */
  registered(info: BrokerPeerInfo): void {
    const node = this.#hooks?.core.node(info.peerId);
    if (node === undefined || node.role !== 'peer') return;
    const record = this.#record(node);
    const channel = node.channel.key;
    this.#run(this.#redis.hset(`${this.#prefix}nodes:${channel}`, node.id, record));
    this.#announce({ type: 'joined', instance: this.instance, channel, id: node.id, node: record });
  }

  /** The broker directory: hands the responder's half to the instance it is registered at. */
  introduce(to: BrokerPeerInfo, about: BrokerPeerInfo, linkId: Buffer, secret: Buffer, role: 0 | 1): void {
    const where = this.#remote.get(to.peerId)?.instance;
    if (where === undefined) return;
    const message: Introduction = {
      to: to.peerId,
      about,
      linkId: linkId.toString('hex'),
      secret: secret.toString('hex'),
      role,
    };
    this.#run(this.#redis.publish(`${this.#prefix}intro:${where}`, JSON.stringify(message)));
  }

  /** Stops the refresh and disconnects (idempotent). */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#hooks = null;
    await Promise.allSettled([this.#redis.quit(), this.#sub.quit()]);
  }

  #record(node: LocalNode): string {
    const punch = node.role === 'peer' ? this.#hooks?.broker.peerInfo(node.id) : undefined;
    const digest = fingerprintDigest(punch?.fingerprint);
    return encodeRedisRecord({
      fingerprint: digest === undefined ? null : digest.toString('hex'),
      candidates: punch?.candidates ?? [],
      instance: this.instance,
      role: node.role,
      nat: node.nat,
      relay: node.relay,
      spare: node.spareUploadBps,
      cap: node.uploadCapBps,
      edge: node.edgeEndpoint,
      address: node.address,
      joinedAtMs: node.joinedAtMs,
      lastSeenMs: node.lastSeenMs,
    });
  }

  async #tick(): Promise<void> {
    const hooks = this.#hooks;
    if (hooks === null) return;
    // 1. Refresh this instance's nodes (one pipeline).
    const pipeline = this.#redis.pipeline();
    let n = 0;
    for (const node of hooks.core.localNodes()) {
      pipeline.hset(`${this.#prefix}nodes:${node.channel.key}`, node.id, this.#record(node));
      n++;
    }
    if (n > 0) this.#run(pipeline.exec());
    // 2. Read the others'.
    await this.#resync();
  }

  /** Reads every channel's node records: adds fresh remote ones, forgets stale or gone ones. */
  async #resync(): Promise<void> {
    const hooks = this.#hooks;
    if (hooks === null) return;
    const nowMs = hooks.now();
    const seen = new Set<string>();
    try {
      await this.#loadChannels();
      for (const channel of [...hooks.core.channels()]) {
        const all = await this.#redis.hgetall(`${this.#prefix}nodes:${channel.key}`);
        let count = 0;
        const stale: string[] = [];
        for (const [id, text] of Object.entries(all)) {
          if (++count > MAX_REMOTE_PER_CHANNEL) break;
          let r: RedisNodeRecord;
          try {
            r = decodeRedisRecord(text);
          } catch {
            this.#fail('node record');
            continue;
          }
          if (nowMs - r.lastSeenMs > this.#timeoutMs) {
            stale.push(id);
            continue;
          }
          if (r.instance === this.instance) continue;
          seen.add(id);
          this.#upsert(channel.key, id, r, nowMs);
        }
        if (stale.length > 0) this.#run(this.#redis.hdel(`${this.#prefix}nodes:${channel.key}`, ...stale));
      }
    } catch (error) {
      this.#fail(`resync: ${(error as Error).message}`);
      return;
    }
    for (const [id, where] of this.#remote) {
      if (seen.has(id)) continue;
      this.#remote.delete(id);
      hooks.core.removeRemote(Buffer.from(where.channel, 'hex'), id);
    }
  }

  #upsert(channel: string, id: string, r: RedisNodeRecord, nowMs: number): void {
    const hooks = this.#hooks;
    if (hooks === null || hooks.core.node(id) !== undefined) return;
    // One string per instance, not one per record.
    const instance = this.#instanceName(r.instance);
    this.#remote.set(id, {
      channel,
      instance,
      role: r.role,
      nat: r.nat,
      address: r.address,
      fingerprint: r.fingerprint,
      candidates: r.candidates,
    });
    hooks.core.upsertRemote(
      Buffer.from(channel, 'hex'),
      {
        id,
        role: r.role,
        nat: r.nat,
        relay: r.relay,
        spareUploadBps: r.spare,
        uploadCapBps: r.cap,
        edgeEndpoint: r.edge,
        joinedAtMs: r.joinedAtMs,
        lastSeenMs: r.lastSeenMs,
      },
      nowMs,
    );
  }

  /** `name` as the one string this store keeps for that instance (at most {@link MAX_INSTANCES} kept). */
  #instanceName(name: string): string {
    const known = this.#instances.get(name);
    if (known !== undefined) return known;
    if (this.#instances.size < MAX_INSTANCES) this.#instances.set(name, name);
    return name;
  }

  #onMessage(channel: string, text: string): void {
    const hooks = this.#hooks;
    if (hooks === null) return;
    try {
      if (channel !== `${this.#prefix}events`) {
        const m = JSON.parse(text) as Introduction;
        hooks.broker.introduceFrom(
          m.to,
          m.about,
          Buffer.from(m.linkId, 'hex'),
          Buffer.from(m.secret, 'hex'),
          m.role,
          hooks.now(),
        );
        hooks.flushBroker();
        return;
      }
      const m = JSON.parse(text) as Message;
      if (m.instance === this.instance) return;
      const id = Buffer.from(m.channel, 'hex');
      if (m.type === 'channel') this.#learnChannel(m.channel, m.publicKey, hooks);
      else if (m.type === 'joined') this.#upsert(m.channel, m.id, decodeRedisRecord(m.node), hooks.now());
      else if (m.type === 'left') {
        if (this.#remote.get(m.id)?.instance === m.instance) {
          this.#remote.delete(m.id);
          hooks.core.removeRemote(id, m.id);
        }
      } else hooks.core.flagRemote(id, m.id);
      hooks.flush();
    } catch {
      this.#fail('message');
    }
  }

  #announce(message: Message): void {
    this.#run(this.#redis.publish(`${this.#prefix}events`, JSON.stringify(message)));
  }

  #run(operation: Promise<unknown>): void {
    operation.catch((error: Error) => this.#fail(error.message));
  }

  #fail(what: string): void {
    this.#errors++;
    debug('redis store: %s', what);
    if (trackerDropChannel.hasSubscribers) publishTrackerDrop('store', undefined);
  }
}
