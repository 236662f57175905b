/**
 * `LiveSource`: a channel's source process — an input (`TsInput`) cut into signed chunks at
 * random-access points (`TsChunker`) and published to the edges (`ChunkPublisher`). The input is
 * restarted when it ends or fails (when it was given as a factory), and the first chunk after a
 * restart carries the discontinuity flag. The edges are a static list, replaced by `setEdges`, or
 * follow an edge directory (a tracker session) through its `'edges'` event.
 * @module
 */
import type { Socket } from 'node:dgram';
import { InvalidOptionError } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { type Demux, demuxOf } from '../mux/index.ts';
import { bindUdpSocket } from '../ports/index.ts';
import type { ChannelSigner } from './channel.ts';
import { CHUNK_PAYLOAD_OFFSET } from './chunk.ts';
import { INGEST_MAX_PAYLOAD_BYTES } from './ingest-protocol.ts';
import { ChunkPublisher, type EdgeAddress, type PublisherEdgeStats } from './ingest-publisher.ts';
import { TsChunker, type TsChunkerStats } from './source-chunker.ts';
import type { TsInput, TsInputStats } from './source-input.ts';
import { loadChannelKey } from './source-key.ts';
import { validateInteger } from './source-options.ts';

/** Default wait before an input that ended or failed is started again, ms. */
export const SOURCE_RESTART_DELAY_DEFAULT_MS = 1000;
/** Offset of the duration field in a chunk (see chunk.ts). */
const CHUNK_DURATION_OFFSET = 48;
/** Chunks the bitrate figure averages over. */
const BITRATE_WINDOW_CHUNKS = 16;

/** Something that knows a channel's edges and says when they change (a tracker session). */
export interface EdgeDirectory {
  readonly edges: readonly { readonly endpoint: Endpoint }[];
  on(event: 'edges', listener: (...args: never[]) => void): unknown;
  off(event: 'edges', listener: (...args: never[]) => void): unknown;
}

/** Settings of {@link LiveSource.start}. */
export interface LiveSourceOptions {
  /** The channel key (see `loadChannelKey`); or give `keyFile`. */
  readonly channel?: ChannelSigner;
  /** Or the channel key file (PEM PKCS#8 Ed25519), created when it does not exist. */
  readonly keyFile?: string;
  /** The input, or a factory called at the start and after each end or failure (restarts). */
  readonly input: TsInput | (() => TsInput | Promise<TsInput>);
  /** Edges to publish to (IP:port); see also `edgeDirectory`. */
  readonly edges?: readonly EdgeAddress[];
  /** Follow this directory's edges (a TrackerSession) in addition to `edges`. */
  readonly edgeDirectory?: EdgeDirectory;
  /** The demux of a socket to publish on; default a socket of its own bound to `address`:`port`. */
  readonly demux?: Demux;
  /** Local address of the own socket. Default `0.0.0.0`. */
  readonly address?: string;
  /** Local port of the own socket. Default 0 (any). */
  readonly port?: number;
  /** Target chunk duration, ms. Default 250. */
  readonly chunkDurationMs?: number;
  /** Largest chunk payload, bytes. Default `INGEST_MAX_PAYLOAD_BYTES` (one ingest message). */
  readonly maxPayloadBytes?: number;
  /** Sequence number of the first chunk (default from the wall clock, see `TsChunker`). */
  readonly firstSeq?: number;
  /** Wait before restarting the input, ms, 0–60,000. Default 1000. */
  readonly restartDelayMs?: number;
  /** Chunks queued per edge. Default 16. */
  readonly maxQueuedChunks?: number;
  /** Wall clock, Unix ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Each signed chunk as it is published (tests compare what peers play with it). */
  readonly onChunk?: (bytes: Buffer) => void;
}

/** Counters of a {@link LiveSource}. */
export interface LiveSourceStats {
  readonly chunks: number;
  readonly bytes: number;
  /** Payload bitrate over the last 16 chunks, bit/s (media time). */
  readonly bitrateBps: number;
  /** Chunks that start at a random-access point. */
  readonly randomAccess: number;
  readonly discontinuities: number;
  /** Times the input was started again. */
  readonly inputRestarts: number;
  /** The last input failure, if any. */
  readonly lastInputError: string | undefined;
  readonly chunker: TsChunkerStats;
  readonly input: TsInputStats | undefined;
  /** Per edge: sent, dropped, queued, reconnects. */
  readonly edges: readonly PublisherEdgeStats[];
}

/** See the module doc. */
export class LiveSource {
  readonly channel: ChannelSigner;
  readonly #publisher: ChunkPublisher;
  readonly #chunker: TsChunker;
  readonly #factory: (() => TsInput | Promise<TsInput>) | undefined;
  readonly #now: () => number;
  readonly #onChunk: ((bytes: Buffer) => void) | undefined;
  readonly #restartMs: number;
  readonly #socket: Socket | undefined;
  #staticEdges: readonly EdgeAddress[];
  readonly #directory: EdgeDirectory | undefined;
  readonly #onEdges = (): void => this.#applyEdges();
  readonly #recent: { bytes: number; ms: number }[] = [];
  #input: TsInput | undefined;
  #restarts = 0;
  #lastError: string | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  readonly #done: Promise<void>;

  private constructor(
    options: LiveSourceOptions & { readonly channel: ChannelSigner },
    demux: Demux,
    socket: Socket | undefined,
    input: TsInput,
  ) {
    this.channel = options.channel;
    this.#socket = socket;
    this.#now = options.now ?? Date.now;
    this.#onChunk = options.onChunk;
    this.#restartMs = validateInteger(
      'restartDelayMs',
      options.restartDelayMs,
      SOURCE_RESTART_DELAY_DEFAULT_MS,
      0,
      60_000,
    );
    this.#factory = typeof options.input === 'function' ? options.input : undefined;
    this.#chunker = new TsChunker({
      channel: options.channel,
      maxPayloadBytes: options.maxPayloadBytes ?? INGEST_MAX_PAYLOAD_BYTES,
      ...(options.chunkDurationMs === undefined ? {} : { chunkDurationMs: options.chunkDurationMs }),
      ...(options.firstSeq === undefined ? {} : { firstSeq: options.firstSeq }),
    });
    this.#staticEdges = options.edges ?? [];
    this.#directory = options.edgeDirectory;
    this.#publisher = new ChunkPublisher({
      demux,
      edges: this.#edgeList(),
      ...(options.maxQueuedChunks === undefined ? {} : { maxQueuedChunks: options.maxQueuedChunks }),
    });
    this.#directory?.on('edges', this.#onEdges);
    this.#input = input;
    this.#done = this.#run();
  }

  /**
   * Validates the options, binds the socket (unless a demux is given), starts the input and
   * starts publishing.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` for a bad option; a PortBindError when the
   *   socket cannot bind; what the input factory throws (e.g. `ERR_LIVE_FFMPEG_MISSING`).
   */
  static async start(given: LiveSourceOptions): Promise<LiveSource> {
    if ((given?.channel === undefined) === (given?.keyFile === undefined)) {
      throw new InvalidOptionError('channel', 'channel: give exactly one of channel and keyFile');
    }
    const channel = given.channel ?? (await loadChannelKey(given.keyFile!, { create: true })).channel;
    if (channel.privateKey === undefined) {
      throw new InvalidOptionError('channel', 'channel: a channel key that can sign (see loadChannelKey)');
    }
    const options = { ...given, channel };
    if (options.input === undefined) throw new InvalidOptionError('input', 'input: required');
    // Validate what the constructors would reject before anything binds.
    new TsChunker({
      channel: options.channel,
      ...(options.chunkDurationMs === undefined ? {} : { chunkDurationMs: options.chunkDurationMs }),
      maxPayloadBytes: options.maxPayloadBytes ?? INGEST_MAX_PAYLOAD_BYTES,
    });
    validateInteger('restartDelayMs', options.restartDelayMs, 0, 0, 60_000);
    let socket: Socket | undefined;
    let demux = options.demux;
    if (demux === undefined) {
      socket = await bindUdpSocket({
        family: 'udp4',
        address: options.address ?? '0.0.0.0',
        port: options.port ?? 0,
      });
      demux = demuxOf(socket);
    }
    let input: TsInput;
    try {
      input = typeof options.input === 'function' ? await options.input() : options.input;
      return new LiveSource(options, demux, socket, input);
    } catch (error) {
      socket?.close();
      throw error;
    }
  }

  /** The local address of the publishing socket (its own, or the given demux's). */
  address(): Endpoint | undefined {
    const a = this.#socket?.address();
    return a === undefined ? undefined : { address: a.address, port: a.port };
  }

  /** Publishes to these static edges (plus the directory's) from now on. */
  setEdges(edges: readonly EdgeAddress[]): void {
    this.#staticEdges = edges;
    this.#publisher.setEdges(this.#edgeList());
  }

  /** Resolves when the source stops (input ended for good, or closed). */
  get done(): Promise<void> {
    return this.#done;
  }

  stats(): LiveSourceStats {
    const c = this.#chunker.stats();
    let bytes = 0;
    let ms = 0;
    for (const r of this.#recent) {
      bytes += r.bytes;
      ms += r.ms;
    }
    return {
      chunks: c.chunks,
      bytes: c.bytes,
      bitrateBps: ms === 0 ? 0 : Math.round((bytes * 8 * 1000) / ms),
      randomAccess: c.randomAccess,
      discontinuities: c.discontinuities,
      inputRestarts: this.#restarts,
      lastInputError: this.#lastError,
      chunker: c,
      input: this.#input?.stats(),
      edges: this.#publisher.stats().edges,
    };
  }

  /** Stops the input, the publisher and the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#directory?.off('edges', this.#onEdges);
    this.#wake?.();
    await this.#input?.close();
    await this.#done;
    await this.#publisher.close();
    if (this.#socket !== undefined)
      await new Promise<void>((resolve) => this.#socket!.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #directoryEdges(): Endpoint[] {
    return this.#directory === undefined ? [] : this.#directory.edges.map((e) => e.endpoint);
  }

  #edgeList(): EdgeAddress[] {
    return [...this.#staticEdges, ...this.#directoryEdges()];
  }

  #applyEdges(): void {
    if (!this.#closed) this.#publisher.setEdges(this.#edgeList());
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const input = this.#input!;
      try {
        for await (const packets of input) {
          this.#chunker.push(packets, this.#now());
          this.#forward();
          if (this.#closed) break;
        }
      } catch (error) {
        this.#lastError = (error as Error).message;
      }
      this.#chunker.flush(this.#now());
      this.#forward();
      if (this.#closed) return;
      if (this.#factory === undefined) {
        // The input ended for good: let the edges take what is queued before `done` resolves.
        await this.#publisher.drain();
        return;
      }
      await input.close();
      this.#chunker.markDiscontinuity();
      let next: TsInput | undefined;
      while (next === undefined && !this.#closed) {
        await this.#sleep(this.#restartMs);
        if (this.#closed) return;
        try {
          next = await this.#factory();
        } catch (error) {
          this.#lastError = (error as Error).message;
        }
      }
      if (next === undefined) return;
      if (this.#closed) {
        await next.close();
        return;
      }
      this.#restarts++;
      this.#input = next;
    }
  }

  #forward(): void {
    for (const chunk of this.#chunker.takeChunks()) {
      this.#publisher.publish(chunk);
      this.#onChunk?.(chunk);
      this.#recent.push({
        bytes: chunk.length - CHUNK_PAYLOAD_OFFSET,
        ms: chunk.readUInt32BE(CHUNK_DURATION_OFFSET),
      });
      if (this.#recent.length > BITRATE_WINDOW_CHUNKS) this.#recent.shift();
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
