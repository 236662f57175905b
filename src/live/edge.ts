/**
 * `LiveEdge`: the edge process as a library class. One public UDP socket (one Demux) carries the
 * peers' links (admitted by application token, edge-links.ts) and the ingest from the source; a
 * {@link LiveArqNode} with role `edge` keeps the bounded window and serves the peers' requests
 * (urgent ones first within each peer's queue, round-robin between peers) under a total and a
 * per-peer egress cap. It registers at the tracker so peers find it.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { InvalidOptionError, throwIfAborted } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { Demux } from '../mux/index.ts';
import { bindUdpSocket } from '../ports/index.ts';
import { LiveArqNode } from './arq-node.ts';
import { type ChannelKey, openChannel } from './channel.ts';
import { CHUNK_DURATION_DEFAULT_MS } from './constants.ts';
import { peekTokenClaims, tokenAdmission } from './edge-admit.ts';
import { type EdgeAdmitCheck, type EdgeLink, EdgeLinkTable, type EdgeLinkTableStats } from './edge-links.ts';
import { IngestServer, type IngestServerStats } from './ingest-server.ts';
import type { NodeReport } from './tracker-report.ts';
import { TrackerSession } from './tracker-session.ts';

/** Default window an edge keeps, s. */
export const EDGE_WINDOW_DEFAULT_S = 30;
/** Default peers an edge serves at most. */
export const EDGE_MAX_PEERS_DEFAULT = 1000;

/** Settings of {@link LiveEdge.start}. */
export interface LiveEdgeOptions {
  /** The channel whose chunks it serves (verified against its key); default the tracker's key for the token's channel. */
  readonly channel?: ChannelKey;
  /** The operator's token secret: peers are admitted by their tokens (edge-admit.ts). */
  readonly secret?: Buffer | string;
  /** Another admission check instead of the secret's. */
  readonly admit?: EdgeAdmitCheck;
  /** The tracker (`host:port`) to register at, as role `edge`, with `token`. */
  readonly tracker?: string | Endpoint;
  /** This edge's application token (role `edge`): its channel and id at the tracker. */
  readonly token?: string;
  /** Where peers and sources reach this edge, announced at the tracker; default what the tracker sees. */
  readonly advertise?: Endpoint;
  /** Receive chunks from sources over the ingest protocol (IngestServer) on the same socket; default true. */
  readonly ingest?: boolean;
  /** Bind address; default `0.0.0.0`. */
  readonly address?: string;
  /** UDP port; default 0 (ephemeral). */
  readonly port?: number;
  /** Seconds of stream kept; default {@link EDGE_WINDOW_DEFAULT_S}. */
  readonly windowSeconds?: number;
  /** Chunk duration assumed for the window, ms; default 250. */
  readonly chunkDurationMs?: number;
  /** Stream bitrate, bit/s; default 2,000,000 (sizes the per-peer cap). */
  readonly bitrateBps?: number;
  /** Total egress cap, bit/s; default unlimited. */
  readonly egressCapBps?: number;
  /** Most one peer is served, bit/s; default 3 × bitrate. */
  readonly perPeerCapBps?: number;
  /** Peers at most; default {@link EDGE_MAX_PEERS_DEFAULT}. */
  readonly maxPeers?: number;
  /** This edge's 16-byte id in HELLO; default random. */
  readonly edgeId?: Buffer;
  readonly signal?: AbortSignal;
}

/** What {@link LiveEdge.stats} reports. */
export interface LiveEdgeStats {
  readonly endpoint: Endpoint;
  readonly peers: number;
  /** Chunks the edge ingested (verified) and refused. */
  readonly chunksIngested: number;
  readonly chunksRefused: number;
  /** Newest chunk held, -1 before the first. */
  readonly newestSeq: number;
  readonly bytesUp: number;
  readonly chunksUp: number;
  /** Egress over the last second, bit/s. */
  readonly egressBps: number;
  readonly requestsRefused: number;
  readonly bans: number;
  readonly links: EdgeLinkTableStats;
  /** The ingest server's counters (sources, chunks, forged), when it runs one. */
  readonly ingest: IngestServerStats | null;
}

/** See the module doc. */
export class LiveEdge {
  readonly node: LiveArqNode;
  readonly demux: Demux;
  readonly channel: ChannelKey;
  /** The tracker session, when it registered at one. */
  session: TrackerSession | undefined;
  #ingest: IngestServer | undefined;
  readonly #links: EdgeLinkTable;
  readonly #byId = new Map<string, EdgeLink>();
  readonly #onClose: (() => Promise<void>)[] = [];
  readonly #rate: NodeJS.Timeout;
  #ingested = 0;
  #refused = 0;
  #newest = -1;
  #lastBytes = 0;
  #egressBps = 0;
  #closed = false;

  private constructor(options: LiveEdgeOptions, channel: ChannelKey, admit: EdgeAdmitCheck, demux: Demux) {
    this.demux = demux;
    this.channel = channel;
    const bitrate = options.bitrateBps ?? 2_000_000;
    const duration = options.chunkDurationMs ?? CHUNK_DURATION_DEFAULT_MS;
    const windowChunks = Math.ceil(((options.windowSeconds ?? EDGE_WINDOW_DEFAULT_S) * 1000) / duration);
    this.node = new LiveArqNode({
      channel,
      role: 'edge',
      peerId: options.edgeId ?? randomBytes(16),
      bitrateBps: bitrate,
      windowChunks,
      maxNeighbours: options.maxPeers ?? EDGE_MAX_PEERS_DEFAULT,
      ...(options.egressCapBps === undefined ? {} : { uploadCapBps: options.egressCapBps }),
      ...(options.perPeerCapBps === undefined ? {} : { perRequesterX: options.perPeerCapBps / bitrate }),
    });
    this.#links = new EdgeLinkTable({
      demux,
      maxLinks: options.maxPeers ?? EDGE_MAX_PEERS_DEFAULT,
      admit,
      onLink: (link) => this.#attach(link),
      onLost: (link) => this.#detach(link),
    });
    this.node.on('event', (e) => {
      if (e.type === 'ban' || e.type === 'drop') this.#byId.get(e.neighbour)?.close();
    });
    this.#rate = setInterval(() => {
      const bytes = this.node.core.stats().bytesUploaded;
      this.#egressBps = (bytes - this.#lastBytes) * 8;
      this.#lastBytes = bytes;
      for (const [id, link] of this.#byId) if (link.closed) this.#byId.delete(id);
    }, 1000);
    this.#rate.unref();
  }

  /**
   * Binds the socket and starts serving.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` for a bad window, cap or peer limit; the bind's errors.
   */
  static async start(options: LiveEdgeOptions): Promise<LiveEdge> {
    throwIfAborted(options.signal);
    const positive = (name: keyof LiveEdgeOptions): void => {
      const v = options[name];
      if (v !== undefined && !(typeof v === 'number' && v > 0))
        throw new InvalidOptionError(name, `${name} must be a number > 0`);
    };
    for (const name of [
      'windowSeconds',
      'chunkDurationMs',
      'bitrateBps',
      'egressCapBps',
      'perPeerCapBps',
      'maxPeers',
    ] as const)
      positive(name);
    const socket = await bindUdpSocket({
      family: 'udp4',
      address: options.address ?? '0.0.0.0',
      port: options.port ?? 0,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const demux = new Demux(socket);
    const release = (): Promise<void> =>
      new Promise<void>((resolve) => {
        demux.detach();
        socket.close(() => resolve());
      });
    let session: TrackerSession | undefined;
    // The session reports what the edge sends (its egress: the dashboard's "edge egress") once it exists.
    let made: LiveEdge | undefined;
    try {
      const claims = options.token === undefined ? undefined : peekTokenClaims(options.token);
      const channelId = options.channel?.id ?? claims?.channelId;
      if (channelId === undefined)
        throw new InvalidOptionError('channel', 'give the channel, or a token that names it');
      if (options.tracker !== undefined) {
        if (options.token === undefined)
          throw new InvalidOptionError('token', 'an edge needs its token to register at the tracker');
        session = await TrackerSession.join({
          tracker: options.tracker,
          demux,
          token: options.token,
          channelId,
          peerId: claims?.peerId ?? `edge-${randomBytes(6).toString('hex')}`,
          role: 'edge',
          reporter: () => made?.report(),
          ...(options.advertise === undefined ? {} : { edgeEndpoint: options.advertise }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
      }
      let channel = options.channel;
      if (channel === undefined) {
        const publicKey = session?.publicKey ?? null;
        if (publicKey === null)
          throw new InvalidOptionError(
            'channel',
            'the tracker knows no key for this channel yet: start the source first, or give the public key',
          );
        channel = openChannel(publicKey, channelId);
      }
      let admit = options.admit;
      if (admit === undefined) {
        if (options.secret === undefined)
          throw new InvalidOptionError(
            'secret',
            'an edge needs the token secret (or an admit check) to admit peers',
          );
        admit = tokenAdmission({ secret: options.secret, channelId: channel.id });
      }
      const edge = new LiveEdge(options, channel, admit, demux);
      made = edge;
      edge.session = session;
      edge.#onClose.push(release);
      if (options.ingest !== false) {
        const ingest = new IngestServer({ demux, channel });
        ingest.on('chunk', (bytes: Buffer) => edge.ingest(bytes));
        edge.#ingest = ingest;
      }
      return edge;
    } catch (error) {
      await session?.close();
      await release();
      throw error;
    }
  }

  /** Where peers and sources reach this edge (the bound address; a wildcard bind says 0.0.0.0). */
  get endpoint(): Endpoint {
    const a = this.demux.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Runs `fn` at close, before the socket goes (the ingest server, the tracker session). */
  onClose(fn: () => Promise<void>): void {
    this.#onClose.unshift(fn);
  }

  /** A signed chunk from the source (or another edge); false when it failed verification or the edge is closed. */
  ingest(bytes: Buffer): boolean {
    if (this.#closed) return false;
    const ok = this.node.ingest(bytes);
    if (ok) {
      this.#ingested++;
      const seq = bytes.readUInt32BE(36);
      if (seq > this.#newest) this.#newest = seq;
    } else this.#refused++;
    return ok;
  }

  /** The edge's per-second report to the tracker: its egress and the bytes it sent (it plays nothing). */
  report(): NodeReport {
    const s = this.stats();
    return {
      role: 'edge',
      natClass: 'open',
      uploadBps: s.egressBps,
      downloadBps: 0,
      bytesFromEdge: 0,
      bytesFromPeers: 0,
      bytesUp: s.bytesUp,
      continuity: 1,
      latencyP50Ms: Number.NaN,
      latencyP95Ms: Number.NaN,
      stalls: 0,
      bans: s.bans,
      chunksPlayed: 0,
      chunksMissed: 0,
      neighbours: [],
    };
  }

  /** Counters. */
  stats(): LiveEdgeStats {
    const s = this.node.core.stats();
    return {
      endpoint: this.endpoint,
      peers: this.node.core.degree,
      chunksIngested: this.#ingested,
      chunksRefused: this.#refused,
      newestSeq: this.#newest,
      bytesUp: s.bytesUploaded,
      chunksUp: s.chunksUploaded,
      egressBps: this.#egressBps,
      requestsRefused: s.requestsRefused,
      bans: s.bans,
      links: this.#links.stats(),
      ingest: this.#ingest?.stats() ?? null,
    };
  }

  /** Says BYE to every peer, stops the ingest and the tracker session, closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#rate);
    await this.#ingest?.close();
    await this.session?.close();
    await this.node.close();
    await this.#links.close();
    for (const fn of this.#onClose) await fn();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #attach(link: EdgeLink): void {
    const old = this.#byId.get(link.id);
    if (old !== undefined) {
      // The same peer from a new address (it restarted, or its NAT rebound): the new link wins.
      this.#byId.delete(link.id);
      this.node.detach(link.id);
      old.close();
    }
    this.#byId.set(link.id, link);
    this.node.attach(link.id, link, 'direct');
  }

  #detach(link: EdgeLink): void {
    if (this.#byId.get(link.id) !== link) return;
    this.#byId.delete(link.id);
    this.node.detach(link.id);
  }
}
