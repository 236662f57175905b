/**
 * `LivePeer`: the viewer process as a library class. One UDP socket (one Demux) carries the
 * tracker session and its punch endpoint, the links to the other peers (punch links: direct,
 * predicted or relayed) and the link to an edge (edge-links.ts); a {@link LiveArqNode} runs the
 * scheduler and playout; what plays goes to the outputs (HTTP, UDP, file, stdout). It reports a
 * NodeReport to the tracker every second and every forged sender at once.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { InvalidOptionError, throwIfAborted } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { Demux } from '../mux/index.ts';
import { bindUdpSocket } from '../ports/index.ts';
import type { RelayProvider } from '../punch/index.ts';
import { LiveArqNode } from './arq-node.ts';
import { type ChannelKey, openChannel } from './channel.ts';
import { admitCredential, peekTokenClaims } from './edge-admit.ts';
import { type EdgeCredential, EdgeLinkTable } from './edge-links.ts';
import { NatClass, type NatClassValue } from './neighbours.ts';
import type { OutputSpec, OutputStats, PlayoutOutput } from './output.ts';
import { HttpOutput } from './output-http.ts';
import { StreamOutput } from './output-stream.ts';
import { UdpOutput } from './output-udp.ts';
import { PeerEdges, type PeerEdgesStats } from './peer-edges.ts';
import { PeerMesh, type PeerMeshLink, type PeerMeshStats } from './peer-mesh.ts';
import { type PeerNodeReport, PeerRates } from './peer-report.ts';
import type { PeerSession, SessionEdge } from './peer-session.ts';
import type { LivePeerStats as CoreStats } from './peer-stats.ts';
import type { PlayoutOptions } from './playout.ts';
import type { SchedulerOptions } from './scheduler.ts';
import { TrackerSession } from './tracker-session.ts';

/** Skipped sequence numbers remembered in {@link LivePeerProcessStats.skippedSeqs}. */
const MAX_SKIPPED_LISTED = 1024;

/** Settings of {@link LivePeer.start}. */
export interface LivePeerStartOptions {
  /** The channel (its key verifies every chunk); default the key the tracker knows for the token's channel. */
  readonly channel?: ChannelKey;
  /** The tracker (`host:port`): joined as role `peer` on the peer's socket, unless `join` is given. */
  readonly tracker?: string | Endpoint;
  /** The application token (`issueToken`): proven to the edges and the tracker. */
  readonly token: string;
  /**
   * What to present to the edges instead of the token's proof (edges with another admission
   * check); default the proof, or the token's bytes when it is no application token.
   */
  readonly edgeCredential?: EdgeCredential;
  /** This peer's id at the tracker; default the token's peer id. */
  readonly peerId?: string;
  /** Joins the tracker on the peer's demux (e.g. `TrackerSession.join`); none: edge only, no mesh. */
  readonly join?: (demux: Demux, peerId: string) => Promise<PeerSession>;
  /** Edges to use besides (or without) the tracker's. */
  readonly edges?: readonly SessionEdge[];
  readonly outputs?: readonly OutputSpec[];
  /** Upload cap, bit/s; default 2 × bitrate. */
  readonly uploadCapBps?: number;
  /** Upload nothing (a leech). */
  readonly noUpload?: boolean;
  /** This peer's NAT class (from `detectNat`); default `open`. */
  readonly natClass?: NatClassValue;
  /** A TURN relay for the punch links (symmetric ↔ symmetric pairs meet there); joins with it. */
  readonly relay?: RelayProvider;
  /** Bind address and port; default 0.0.0.0:0. */
  readonly address?: string;
  readonly port?: number;
  /** Peer neighbours to keep; default 8. */
  readonly targetDegree?: number;
  readonly bitrateBps?: number;
  readonly playout?: PlayoutOptions;
  readonly scheduler?: SchedulerOptions;
  /** Called with the socket once bound, before anything is sent (e.g. `impairSocket`). */
  readonly onSocket?: (socket: Socket) => void;
  /** Report period, ms; default 1000. */
  readonly reportEveryMs?: number;
  readonly signal?: AbortSignal;
}

/** What {@link LivePeer.stats} reports: the core's counters and the process's. */
export interface LivePeerProcessStats extends CoreStats {
  readonly peerId: string;
  /** Share of received chunk bytes that came from peers (1 - edge share). */
  readonly offload: number;
  /** Start to first chunk played, ms; NaN before. */
  readonly joinMs: number;
  readonly uploadBps: number;
  readonly downloadBps: number;
  readonly firstPlayedSeq: number;
  readonly lastPlayedSeq: number;
  /** Chunks skipped, by sequence number (the first {@link MAX_SKIPPED_LISTED}). */
  readonly skippedSeqs: readonly number[];
  readonly edge: PeerEdgesStats;
  readonly mesh: PeerMeshStats | null;
  /** The punch links to other peers, with how each came up (first path, probes before it). */
  readonly links: readonly PeerMeshLink[];
  readonly outputs: readonly OutputStats[];
  /** Forged senders reported to the tracker. */
  readonly forgedReported: number;
}

/** See the module doc. */
export class LivePeer {
  readonly peerId: string;
  readonly node: LiveArqNode;
  readonly demux: Demux;
  readonly session: PeerSession | undefined;
  readonly outputs: readonly PlayoutOutput[];
  readonly #links: EdgeLinkTable;
  readonly #edges: PeerEdges;
  readonly #mesh: PeerMesh | undefined;
  readonly #rates = new PeerRates();
  readonly #nat: NatClassValue;
  readonly #startedAtMs: number;
  readonly #timer: NodeJS.Timeout;
  readonly #static: readonly SessionEdge[];
  readonly #onEdges = (edges: readonly SessionEdge[]): void =>
    this.#edges.update([...this.#static, ...edges]);
  #first = -1;
  #last = -1;
  readonly #skipped: number[] = [];
  #forgedReported = 0;
  #closed = false;

  private constructor(
    o: LivePeerStartOptions,
    channel: ChannelKey,
    peerId: string,
    demux: Demux,
    session: PeerSession | undefined,
    outputs: PlayoutOutput[],
  ) {
    this.peerId = peerId;
    this.demux = demux;
    this.session = session;
    this.outputs = outputs;
    this.#nat = o.natClass ?? NatClass.OPEN;
    this.#startedAtMs = performance.timeOrigin + performance.now();
    // An application token is proven, never sent; anything else (an edge with its own admit check) goes as is.
    const credential =
      o.edgeCredential ??
      (peekTokenClaims(o.token) === undefined
        ? Buffer.from(o.token)
        : (nonce: number) => admitCredential(o.token, nonce, Date.now()));
    this.node = new LiveArqNode({
      channel,
      role: 'peer',
      peerId: Buffer.from(peerId.padEnd(16, '\0')).subarray(0, 16),
      ...(o.bitrateBps === undefined ? {} : { bitrateBps: o.bitrateBps }),
      ...(o.noUpload === true
        ? { uploadCapBps: 0 }
        : o.uploadCapBps === undefined
          ? {}
          : { uploadCapBps: o.uploadCapBps }),
      maxNeighbours: 2 * (o.targetDegree ?? 8) + 2,
      ...(o.playout === undefined ? {} : { playout: o.playout }),
      ...(o.scheduler === undefined ? {} : { scheduler: o.scheduler }),
    });
    this.#links = new EdgeLinkTable({ demux, onLost: (link) => this.#edges.lost(link) });
    this.#edges = new PeerEdges(this.node, this.#links, credential, peerId);
    this.#static = o.edges ?? [];
    if (session !== undefined) {
      this.#mesh = new PeerMesh({
        peerId,
        node: this.node,
        session,
        nat: this.#nat,
        relay: o.relay !== undefined,
        uploads: this.node.core.uploads,
        ...(o.targetDegree === undefined ? {} : { targetDegree: o.targetDegree }),
      });
      session.on('edges', this.#onEdges);
    }
    this.#edges.update([...this.#static, ...(session?.edges ?? [])]);
    this.node.on('event', (e) => {
      switch (e.type) {
        case 'play':
          if (this.#first < 0) this.#first = e.seq;
          this.#last = e.seq;
          for (const out of this.outputs) out.write(e);
          return;
        case 'skip':
          if (this.#skipped.length < MAX_SKIPPED_LISTED) this.#skipped.push(e.seq);
          return;
        case 'chunk':
          this.#rates.received(e.from, e.bytes);
          return;
        case 'ban':
          this.#mesh?.avoid(e.neighbour);
          if (e.reason === 'forged' && this.session !== undefined) {
            this.session.reportForged(e.neighbour);
            this.#forgedReported++;
          }
          this.#mesh?.replace(e.neighbour);
          return;
        case 'drop':
          if (e.reason === 'liar') this.#mesh?.avoid(e.neighbour);
          this.#mesh?.replace(e.neighbour);
          return;
      }
    });
    this.#timer = setInterval(() => this.#tick(), o.reportEveryMs ?? 1000);
    this.#timer.unref();
  }

  /**
   * Binds the socket, opens the outputs, joins the tracker and starts fetching.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` for a bad cap or degree; what the bind, the
   *   outputs or `join` throw.
   */
  static async start(o: LivePeerStartOptions): Promise<LivePeer> {
    throwIfAborted(o.signal);
    if (o.uploadCapBps !== undefined && !(o.uploadCapBps >= 0))
      throw new InvalidOptionError('uploadCapBps', 'uploadCapBps must be a number >= 0');
    if (o.targetDegree !== undefined && !(Number.isInteger(o.targetDegree) && o.targetDegree >= 0))
      throw new InvalidOptionError('targetDegree', 'targetDegree must be an integer >= 0');
    const claims = peekTokenClaims(o.token);
    const peerId = o.peerId ?? claims?.peerId ?? `p-${randomBytes(6).toString('hex')}`;
    const channelId = o.channel?.id ?? claims?.channelId;
    if (channelId === undefined)
      throw new InvalidOptionError('channel', 'give the channel, or a token that names it');
    const join =
      o.join ??
      (o.tracker === undefined
        ? undefined
        : (demux: Demux, id: string) =>
            TrackerSession.join({
              tracker: o.tracker!,
              demux,
              token: o.token,
              channelId,
              peerId: id,
              role: 'peer',
              ...(o.relay === undefined ? {} : { relay: o.relay }),
              ...(o.natClass === undefined ? {} : { natClass: o.natClass }),
              ...(o.noUpload === true
                ? { uploadCapBps: 0 }
                : o.uploadCapBps === undefined
                  ? {}
                  : { uploadCapBps: o.uploadCapBps }),
              ...(o.signal === undefined ? {} : { signal: o.signal }),
            }));
    const outputs: PlayoutOutput[] = [];
    const socket = await bindUdpSocket({
      family: 'udp4',
      address: o.address ?? '0.0.0.0',
      port: o.port ?? 0,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    });
    o.onSocket?.(socket);
    const demux = new Demux(socket);
    let session: PeerSession | undefined;
    try {
      for (const spec of o.outputs ?? []) outputs.push(await openOutput(spec));
      session = await join?.(demux, peerId);
      const key = o.channel ?? channelFrom(session, channelId);
      return new LivePeer(o, key, peerId, demux, session, outputs);
    } catch (error) {
      await session?.close();
      for (const out of outputs) await out.close();
      demux.detach();
      socket.close();
      throw error;
    }
  }

  /** The HTTP output's URL, if there is one. */
  get httpUrl(): string | undefined {
    for (const out of this.outputs) if (out instanceof HttpOutput) return out.url;
    return undefined;
  }

  /** The report sent to the tracker every second. */
  report(): PeerNodeReport {
    return this.#rates.report(this.node.core.stats(), this.#nat, this.#edges.neighbourId);
  }

  /** Counters. */
  stats(): LivePeerProcessStats {
    const s = this.node.core.stats();
    const total = s.bytesFromEdge + s.bytesFromPeers;
    return {
      ...s,
      peerId: this.peerId,
      offload: total === 0 ? 0 : s.bytesFromPeers / total,
      joinMs: s.startedAtMs - this.#startedAtMs,
      uploadBps: this.#rates.uploadBps,
      downloadBps: this.#rates.downloadBps,
      firstPlayedSeq: this.#first,
      lastPlayedSeq: this.#last,
      skippedSeqs: [...this.#skipped],
      edge: this.#edges.stats(),
      mesh: this.#mesh?.stats() ?? null,
      links: this.#mesh?.links() ?? [],
      outputs: this.outputs.map((out) => out.stats()),
      forgedReported: this.#forgedReported,
    };
  }

  /** Leaves: BYE to the neighbours, closes the links, the session, the outputs and the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.session?.off('edges', this.#onEdges);
    await this.node.close();
    await this.#mesh?.close();
    this.#edges.close();
    await this.#links.close();
    await this.session?.close();
    for (const out of this.outputs) await out.close();
    this.demux.detach();
    await new Promise<void>((resolve) => this.demux.socket.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #tick(): void {
    const s = this.node.core.stats();
    this.#rates.sample(s);
    this.#edges.check();
    this.#mesh?.tick();
    if (this.session !== undefined) {
      try {
        this.session.report(this.#rates.report(s, this.#nat, this.#edges.neighbourId));
      } catch {
        // a closed session: the peer is closing
      }
    }
  }
}

function channelFrom(session: PeerSession | undefined, channelId: Buffer): ChannelKey {
  const publicKey = session?.publicKey ?? null;
  if (publicKey === null)
    throw new InvalidOptionError(
      'channel',
      'the tracker knows no key for this channel yet: start the source first, or give the public key',
    );
  return openChannel(publicKey, channelId);
}

async function openOutput(spec: OutputSpec): Promise<PlayoutOutput> {
  if (spec === 'stdout') return StreamOutput.stdout();
  if ('http' in spec) return HttpOutput.listen(spec.http, spec.host);
  if ('udp' in spec) return UdpOutput.open(spec.udp, spec.ttl);
  return StreamOutput.file(spec.file);
}
