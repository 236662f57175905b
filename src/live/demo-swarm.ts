/**
 * `LiveDemo`: a whole live system on loopback, no root, no external service — the tracker and the
 * source (the ffmpeg test pattern) in this process, the edges and the peers as child processes
 * (`porthole edge` / `porthole peer --json`), so a peer or an edge can be killed for real. It is
 * `porthole demo` (`npm start`), the harness of the multi-process tests and of `bench/live.ts`,
 * and what the dashboard drives: {@link LiveDemo.addPeer}, {@link LiveDemo.killPeer},
 * {@link LiveDemo.addPolluter}, {@link LiveDemo.impair}, {@link LiveDemo.swarm}.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionError } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { Demux } from '../mux/index.ts';
import { bindUdpSocket } from '../ports/index.ts';
import { type ChannelSigner, createChannel } from './channel.ts';
import { type Chunk, decodeChunk } from './chunk.ts';
import type { ImpairOptions } from './demo-impair.ts';
import { DemoChild } from './demo-process.ts';
import type { ViewPeer } from './demo-view.ts';
import { openTestPattern } from './ffmpeg.ts';
import { LiveSource } from './source-process.ts';
import { issueToken } from './token.ts';
import { type SwarmSnapshot, Tracker } from './tracker.ts';
import { TrackerSession } from './tracker-session.ts';

/** Settings of {@link LiveDemo.start}. */
export interface LiveDemoOptions {
  /** Peers started at once; default 5. */
  readonly peers?: number;
  /** Edges; default 1. */
  readonly edges?: number;
  /** The test pattern's video bitrate, kbit/s; default 1000. */
  readonly bitrateKbps?: number;
  /** Impair every node's sends (user-space: loss and delay); default none. */
  readonly impair?: ImpairOptions;
  /** Peers take everything from the edge (the CDN baseline). */
  readonly edgeOnly?: boolean;
  /** Each peer also writes its output to `<dir>/<peer id>.ts` (tests). */
  readonly recordDir?: string;
  /** Extra arguments of every `porthole peer`. */
  readonly peerArgs?: readonly string[];
  /** Source chunk duration, ms; default 250. */
  readonly chunkDurationMs?: number;
  /**
   * Every chunk the source publishes, as it left the source (tests compare the peers' output with
   * it), taken from the source itself: nothing on the way can drop one.
   */
  readonly onSourceChunk?: (bytes: Buffer, chunk: Chunk) => void;
}

/** One peer (or polluter) process of the demo. */
export interface DemoPeer {
  readonly id: string;
  readonly child: DemoChild;
  readonly polluter: boolean;
  killed: boolean;
}

const HOST = '127.0.0.1';
/** Children started at once (each compiles the CLI's TypeScript: a few hundred ms of CPU). */
const START_CONCURRENCY = 4;
/** How long a child may take to say it is ready, ms (a loaded machine is slow to start Node). */
const READY_TIMEOUT_MS = 90_000;
const TOKEN_TTL_MS = 24 * 3600_000;

/** The demo tracker's node expiry, ms. */
const DEMO_NODE_TIMEOUT_MS = 12_000;

/** See the module doc. */
export class LiveDemo {
  readonly tracker: Tracker;
  readonly channel: ChannelSigner;
  readonly secret: string;
  readonly peers = new Map<string, DemoPeer>();
  readonly edges: DemoChild[] = [];
  readonly #o: LiveDemoOptions;
  /** Node's compile cache shared by the children (the first compiles, the others reuse). */
  readonly #cache: string;
  readonly #env: NodeJS.ProcessEnv;
  #source: { live: LiveSource; session: TrackerSession; demux: Demux } | undefined;
  #next = 1;
  /** The peer whose stream the dashboard plays (playerUrl). */
  #player: string | undefined;
  #edgeNext = 1;
  #closed = false;

  private constructor(o: LiveDemoOptions, tracker: Tracker, channel: ChannelSigner, secret: string) {
    this.#o = o;
    this.tracker = tracker;
    this.channel = channel;
    this.secret = secret;
    this.#cache = mkdtempSync(join(tmpdir(), 'porthole-demo-cache-'));
    this.#env = { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? this.#cache };
  }

  /**
   * Starts the tracker, the source, the edges and the peers; resolves once every edge and peer
   * process is ready.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` for a peer or edge count out of range; what a
   *   child's start fails with (`ERR_LIVE_DEMO_CHILD_EXITED`, with its stderr).
   */
  static async start(o: LiveDemoOptions = {}): Promise<LiveDemo> {
    const peers = o.peers ?? 5;
    const edges = o.edges ?? 1;
    if (!Number.isInteger(peers) || peers < 0 || peers > 500)
      throw new InvalidOptionError('peers', 'peers: 0-500');
    if (!Number.isInteger(edges) || edges < 1 || edges > 16)
      throw new InvalidOptionError('edges', 'edges: 1-16');
    const secret = randomBytes(24).toString('base64url');
    // A killed peer leaves the swarm view within about 12 s (the default is 30 s): more than two of
    // the nodes' 5 s keepalives, short enough for a visitor watching the demo heal.
    const tracker = await Tracker.listen({
      address: HOST,
      port: 0,
      secret,
      nodeTimeoutMs: DEMO_NODE_TIMEOUT_MS,
    });
    const demo = new LiveDemo(o, tracker, createChannel(), secret);
    try {
      await demo.startSource();
      await demo.startEdge(); // warms the compile cache for the others
      await Promise.all(Array.from({ length: edges - 1 }, () => demo.startEdge()));
      let left = peers;
      // The first peer alone: it writes the peer's modules to the compile cache for the others.
      if (left > 0) {
        left--;
        await demo.addPeer();
      }
      const worker = async (): Promise<void> => {
        while (left > 0) {
          left--;
          await demo.addPeer();
        }
      };
      await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, peers) }, worker));
      return demo;
    } catch (error) {
      await demo.close();
      throw error;
    }
  }

  /** The tracker's address. */
  get trackerEndpoint(): Endpoint {
    return this.tracker.address();
  }

  /** The channel id, hex. */
  get channelId(): string {
    return this.channel.id.toString('hex');
  }

  /** The tracker's view of the swarm (the dashboard's data). */
  swarm(): SwarmSnapshot {
    return this.tracker.swarm(this.channel.id);
  }

  /** A token for `peerId` in the demo's channel. */
  token(peerId: string, role: 'peer' | 'edge' | 'source' = 'peer'): string {
    return issueToken({
      secret: this.secret,
      peerId,
      channelId: this.channel.id,
      role,
      expiresAtMs: Date.now() + TOKEN_TTL_MS,
    });
  }

  /** Starts the source (the test pattern) in this process, registered at the tracker. */
  async startSource(): Promise<void> {
    if (this.#source !== undefined) return;
    const socket = await bindUdpSocket({ family: 'udp4', address: HOST, port: 0 });
    const demux = new Demux(socket);
    try {
      const session = await TrackerSession.join({
        tracker: this.trackerEndpoint,
        demux,
        channelId: this.channel.id,
        peerId: 'source',
        role: 'source',
        signer: this.channel,
      });
      const on = this.#o.onSourceChunk;
      const live = await LiveSource.start({
        channel: this.channel,
        demux,
        edgeDirectory: session,
        ...(on === undefined ? {} : { onChunk: (bytes: Buffer) => on(bytes, decodeChunk(bytes)) }),
        input: () => openTestPattern({ bitrateKbps: this.#o.bitrateKbps ?? 1000, drawText: false }),
        ...(this.#o.chunkDurationMs === undefined ? {} : { chunkDurationMs: this.#o.chunkDurationMs }),
      });
      this.#source = { live, session, demux };
    } catch (error) {
      demux.detach();
      socket.close();
      throw error;
    }
  }

  /** Stops the source (the fault tests restart it with {@link startSource}). */
  async stopSource(): Promise<void> {
    const s = this.#source;
    if (s === undefined) return;
    this.#source = undefined;
    await s.live.close();
    await s.session.close();
    s.demux.detach();
    await new Promise<void>((resolve) => s.demux.socket.close(() => resolve()));
  }

  /** The source's counters, or undefined while it is stopped. */
  sourceStats(): ReturnType<LiveSource['stats']> | undefined {
    return this.#source?.live.stats();
  }

  /** Starts one more edge process; resolves with it once it is ready. */
  async startEdge(): Promise<DemoChild> {
    const id = `edge-${this.#edgeNext++}`;
    const args = [
      'edge',
      '--json',
      ...['--listen', `${HOST}:0`, '--tracker', `${HOST}:${this.trackerEndpoint.port}`],
      ...[
        '--token',
        this.token(id, 'edge'),
        '--secret',
        this.secret,
        '--public-key',
        this.channel.publicKey.toString('hex'),
      ],
      ...this.#impairArgs(),
    ];
    const child = new DemoChild(id, args, { env: this.#env });
    this.edges.push(child);
    await child.waitFor('ready', READY_TIMEOUT_MS);
    return child;
  }

  /** Starts a peer process; resolves with its id once it is ready. */
  async addPeer(options: { readonly args?: readonly string[] } = {}): Promise<string> {
    const id = `peer-${this.#next++}`;
    const record = this.#o.recordDir === undefined ? [] : ['--file', join(this.#o.recordDir, `${id}.ts`)];
    const args = [
      'peer',
      '--json',
      '--control',
      ...['--tracker', `${HOST}:${this.trackerEndpoint.port}`, '--token', this.token(id)],
      ...['--public-key', this.channel.publicKey.toString('hex'), '--listen', `${HOST}:0`, '--http', '0'],
      ...record,
      ...(this.#o.edgeOnly === true ? ['--strategy', 'edgeOnly', '--degree', '0'] : []),
      ...this.#impairArgs(),
      ...(this.#o.peerArgs ?? []),
      ...(options.args ?? []),
    ];
    const peer: DemoPeer = {
      id,
      child: new DemoChild(id, args, { env: this.#env }),
      polluter: false,
      killed: false,
    };
    this.peers.set(id, peer);
    await peer.child.waitFor('ready', READY_TIMEOUT_MS);
    return id;
  }

  /** Starts a polluter process (lying maps, forged chunks); resolves with its id. */
  async addPolluter(): Promise<string> {
    const id = `polluter-${this.#next++}`;
    const args = [
      'peer',
      '--json',
      '--pollute',
      ...['--tracker', `${HOST}:${this.trackerEndpoint.port}`, '--token', this.token(id)],
      ...['--public-key', this.channel.publicKey.toString('hex'), '--listen', `${HOST}:0`],
    ];
    const peer: DemoPeer = {
      id,
      child: new DemoChild(id, args, { env: this.#env }),
      polluter: true,
      killed: false,
    };
    this.peers.set(id, peer);
    await peer.child.waitFor('ready', READY_TIMEOUT_MS);
    return id;
  }

  /** Kills a peer for real (SIGKILL; the newest running one when `id` is absent); resolves with its id. */
  async killPeer(id?: string): Promise<string | undefined> {
    const peer =
      id === undefined
        ? [...this.peers.values()].reverse().find((p) => p.child.running && !p.polluter)
        : this.peers.get(id);
    if (peer === undefined) return undefined;
    peer.killed = true;
    await peer.child.kill();
    return peer.id;
  }

  /** Kills edge `index` for real (SIGKILL). */
  async killEdge(index: number): Promise<void> {
    await this.edges[index]?.kill();
  }

  /** Impairs a peer's sends (the first running one when `peer` is absent); resolves with its id. */
  async impair(impairment: {
    peer?: string;
    lossPercent?: number;
    delayMs?: number;
  }): Promise<string | undefined> {
    const peer =
      impairment.peer === undefined
        ? [...this.peers.values()].find((p) => p.child.running && !p.polluter)
        : this.peers.get(impairment.peer);
    if (peer === undefined) return undefined;
    peer.child.command({
      impair: {
        ...(impairment.lossPercent === undefined ? {} : { lossRate: impairment.lossPercent / 100 }),
        ...(impairment.delayMs === undefined ? {} : { delayMs: impairment.delayMs }),
      },
    });
    return peer.id;
  }

  /**
   * The HTTP stream the dashboard plays: the same peer's while it runs (a player that switched
   * peers under a playing browser would cut its stream), else the first running peer that plays,
   * else the first running peer with an output.
   */
  playerUrl(): string | undefined {
    const current = this.#player === undefined ? undefined : this.peers.get(this.#player);
    const kept = current === undefined ? undefined : this.#httpOf(current);
    if (kept !== undefined) return kept;
    const candidates = [...this.peers.values()].filter((p) => this.#httpOf(p) !== undefined);
    const chosen = candidates.find((p) => (p.child.latest('stats')?.played ?? 0) > 0) ?? candidates[0];
    this.#player = chosen?.id;
    return chosen === undefined ? undefined : this.#httpOf(chosen);
  }

  /** The id of the peer whose stream {@link playerUrl} gives now. */
  playerId(): string | undefined {
    return this.playerUrl() === undefined ? undefined : this.#player;
  }

  #httpOf(p: DemoPeer): string | undefined {
    const url = p.child.latest('ready')?.http as string | undefined;
    return p.child.running && !p.killed && !p.polluter ? url : undefined;
  }

  /** Every peer's figures for the terminal view. */
  viewPeers(): ViewPeer[] {
    return [...this.peers.values()].map((p) => {
      const s = p.child.latest('stats');
      const state: ViewPeer['state'] = p.polluter
        ? 'polluter'
        : p.killed
          ? 'killed'
          : !p.child.running
            ? 'exited'
            : (s?.played ?? 0) > 0
              ? 'playing'
              : s === undefined
                ? 'starting'
                : 'joining';
      return {
        id: p.id,
        state,
        played: s?.played ?? 0,
        continuity: s?.continuity ?? Number.NaN,
        latencyP50Ms: s?.latencyP50Ms ?? Number.NaN,
        latencyP95Ms: s?.latencyP95Ms ?? Number.NaN,
        offload: s?.offload ?? Number.NaN,
        uploadBps: s?.uploadBps ?? 0,
        neighbours: s?.degree ?? s?.victims ?? 0,
        bans: s?.bans ?? 0,
      };
    });
  }

  /** Stops every process (peers, edges: SIGTERM then SIGKILL), the source and the tracker. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Each step runs whatever the one before it did: a failure never leaves a process behind.
    await Promise.allSettled([...this.peers.values()].map((p) => p.child.stop(3_000)));
    await Promise.allSettled(this.edges.map((e) => e.stop(3_000)));
    await Promise.allSettled([this.stopSource()]);
    await Promise.allSettled([this.tracker.close()]);
    rmSync(this.#cache, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #impairArgs(): string[] {
    const i = this.#o.impair;
    if (i === undefined) return [];
    return ['--impair', `loss=${i.lossRate ?? 0},delay=${i.delayMs ?? 0},jitter=${i.jitterMs ?? 0}`];
  }
}
