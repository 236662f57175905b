/**
 * `ChunkPublisher`: the source's end of the ingest (also an edge's, to republish to another edge).
 * Per edge one ARQ conversation (ingest-protocol.ts) and a bounded queue: when an edge is slow the
 * oldest waiting chunk is dropped and counted; when it goes silent (restarted, unreachable) the
 * conversation ends and a new one is opened after `reconnectDelayMs`, the queue kept.
 * @module
 */
import { isIP } from 'node:net';
import { ArqEndpoint, type ArqStream } from '../arq/index.ts';
import { InvalidOptionError } from '../errors/index.ts';
import { DatagramQueue, OverflowPolicy } from '../internal/datagram-queue.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { parseHostPort } from '../internal/host-port.ts';
import type { Demux } from '../mux/index.ts';
import { peekChunkSeq } from './chunk.ts';
import { publisherDropChannel, publishPublisherDrop } from './diagnostics.ts';
import { INGEST_TO_PUBLISHER, ingestRouter } from './ingest-link.ts';
import {
  INGEST_ARQ,
  INGEST_HEARTBEAT,
  INGEST_HEARTBEAT_MS,
  INGEST_IDLE_TIMEOUT_MS,
  INGEST_MAX_MESSAGE_BYTES,
  newIngestConv,
} from './ingest-protocol.ts';
import { validateInteger } from './source-options.ts';

/** Default chunks queued per edge (4 s at 250 ms). */
export const PUBLISHER_QUEUE_DEFAULT_CHUNKS = 16;
/** Chunks handed to ARQ per edge before its write callbacks return (the rest wait in the queue). */
const MAX_IN_FLIGHT = 2;

/** An edge as `host:port` or an endpoint. */
export type EdgeAddress = Endpoint | string;

/** Settings of a {@link ChunkPublisher}. */
export interface ChunkPublisherOptions {
  /** The socket's demux (the publisher takes frame 0x09, direction 2). */
  readonly demux: Demux;
  /** Edges to publish to. Default none ({@link ChunkPublisher.setEdges}). */
  readonly edges?: readonly EdgeAddress[];
  /** Chunks queued per edge, 1–4096. Default {@link PUBLISHER_QUEUE_DEFAULT_CHUNKS}. */
  readonly maxQueuedChunks?: number;
  /** Silence from an edge that ends its conversation, ms, 500–600,000. Default 3000. */
  readonly idleTimeoutMs?: number;
  /** Wait before reconnecting to an edge, ms, 0–60,000. Default 500. */
  readonly reconnectDelayMs?: number;
}

/** Counters of one edge of a {@link ChunkPublisher}. */
export interface PublisherEdgeStats {
  readonly edge: Endpoint;
  /** Whether the edge answered on the current conversation. */
  readonly up: boolean;
  /** Chunks handed to ARQ for this edge. */
  readonly sent: number;
  readonly bytes: number;
  /** Chunks dropped (oldest first) because the edge was slow or away. */
  readonly dropped: number;
  /** Chunks waiting. */
  readonly queued: number;
  /** Conversations opened after the first. */
  readonly reconnects: number;
}

/** Counters of a {@link ChunkPublisher}. */
export interface ChunkPublisherStats {
  /** Chunks given to {@link ChunkPublisher.publish}. */
  readonly published: number;
  /** Chunks refused as too large for one ingest message. */
  readonly oversize: number;
  readonly edges: readonly PublisherEdgeStats[];
}

interface Edge {
  readonly address: Endpoint;
  readonly key: string;
  readonly queue: DatagramQueue<Buffer>;
  endpoint: ArqEndpoint | undefined;
  stream: ArqStream | undefined;
  up: boolean;
  inFlight: number;
  dropped: number;
  sent: number;
  bytes: number;
  reconnects: number;
  opened: number;
  timer: NodeJS.Timeout | undefined;
}

/** See the module doc. */
export class ChunkPublisher {
  readonly #demux: Demux;
  readonly #capacity: number;
  readonly #idleMs: number;
  readonly #reconnectMs: number;
  readonly #edges = new Map<string, Edge>();
  readonly #heartbeat: NodeJS.Timeout;
  #published = 0;
  #oversize = 0;
  #closed = false;

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` for a bad option or edge address. */
  constructor(options: ChunkPublisherOptions) {
    if (options.demux === undefined) throw new InvalidOptionError('demux', 'demux: required');
    this.#demux = options.demux;
    this.#capacity = validateInteger(
      'maxQueuedChunks',
      options.maxQueuedChunks,
      PUBLISHER_QUEUE_DEFAULT_CHUNKS,
      1,
      4096,
    );
    this.#idleMs = validateInteger(
      'idleTimeoutMs',
      options.idleTimeoutMs,
      INGEST_IDLE_TIMEOUT_MS,
      500,
      600_000,
    );
    this.#reconnectMs = validateInteger('reconnectDelayMs', options.reconnectDelayMs, 500, 0, 60_000);
    this.#heartbeat = setInterval(() => this.#beat(), INGEST_HEARTBEAT_MS);
    this.#heartbeat.unref();
    this.setEdges(options.edges ?? []);
  }

  /**
   * Publishes to exactly these edges from now on: new ones are connected, missing ones closed
   * (their queues dropped), the others kept as they are.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` for an address that is not `host:port`.
   */
  setEdges(edges: readonly EdgeAddress[]): void {
    const wanted = new Map<string, Endpoint>();
    edges.forEach((e, i) => {
      const endpoint = toEndpoint(e, `edges[${i}]`);
      wanted.set(edgeKey(endpoint), endpoint);
    });
    if (this.#closed) return;
    for (const [k, edge] of this.#edges) if (!wanted.has(k)) this.#remove(edge);
    for (const [k, address] of wanted) {
      if (this.#edges.has(k)) continue;
      const edge: Edge = {
        address,
        key: k,
        queue: new DatagramQueue<Buffer>({ capacity: this.#capacity, overflow: OverflowPolicy.DROP_OLDEST }),
        endpoint: undefined,
        stream: undefined,
        up: false,
        inFlight: 0,
        dropped: 0,
        sent: 0,
        bytes: 0,
        reconnects: 0,
        opened: 0,
        timer: undefined,
      };
      this.#edges.set(k, edge);
      this.#connect(edge);
    }
  }

  /** The edges published to now. */
  edges(): Endpoint[] {
    return [...this.#edges.values()].map((e) => e.address);
  }

  /**
   * Queues one signed chunk for every edge (shared, never copied). Returns false when it is too
   * large for one ingest message (see `INGEST_MAX_PAYLOAD_BYTES`) or the publisher is closed.
   */
  publish(chunk: Buffer): boolean {
    if (this.#closed) return false;
    if (chunk.length > INGEST_MAX_MESSAGE_BYTES || chunk.length <= 1) {
      this.#oversize++;
      return false;
    }
    this.#published++;
    for (const edge of this.#edges.values()) {
      if (edge.queue.size === edge.queue.capacity) {
        // Full: the oldest waiting chunk makes room (live media: the newest matters most).
        const oldest = edge.queue.shift()!;
        edge.dropped++;
        if (publisherDropChannel.hasSubscribers) publishPublisherDrop(edge.address, peekChunkSeq(oldest));
      }
      edge.queue.push(chunk);
      this.#pump(edge);
    }
    return true;
  }

  /**
   * Resolves true once every edge has taken every chunk (queue empty, nothing waiting in ARQ),
   * false after `timeoutMs` (default 2000; an edge that is away runs it out) — e.g. before closing
   * after the input ended.
   */
  async drain(options: { readonly timeoutMs?: number } = {}): Promise<boolean> {
    const deadline = performance.now() + (options.timeoutMs ?? 2000);
    const drained = (): boolean =>
      [...this.#edges.values()].every(
        (e) => e.queue.size === 0 && e.inFlight === 0 && (e.stream?.stats().waitSnd ?? 0) === 0,
      );
    while (!this.#closed && !drained()) {
      if (performance.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return !this.#closed;
  }

  /** A snapshot of the counters. */
  stats(): ChunkPublisherStats {
    return {
      published: this.#published,
      oversize: this.#oversize,
      edges: [...this.#edges.values()].map((e) => ({
        edge: e.address,
        up: e.up,
        sent: e.sent,
        bytes: e.bytes,
        dropped: e.dropped,
        queued: e.queue.size,
        reconnects: e.reconnects,
      })),
    };
  }

  /** Closes every conversation. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const closing: Promise<void>[] = [];
    for (const edge of this.#edges.values()) closing.push(this.#remove(edge));
    await Promise.all(closing);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #connect(edge: Edge): void {
    edge.timer = undefined;
    if (this.#closed || this.#edges.get(edge.key) !== edge) return;
    if (edge.opened++ > 0) edge.reconnects++;
    const link = ingestRouter(this.#demux).link(INGEST_TO_PUBLISHER, edge.address);
    const endpoint = new ArqEndpoint({ link, ...INGEST_ARQ, accept: 'never', idleTimeoutMs: this.#idleMs });
    const stream = endpoint.open(newIngestConv());
    edge.endpoint = endpoint;
    edge.stream = stream;
    edge.up = false;
    edge.inFlight = 0;
    stream.on('error', () => {});
    stream.on('close', () => this.#lost(edge, stream));
    stream.on('data', () => {
      if (edge.stream === stream) {
        const wasUp = edge.up;
        edge.up = true;
        if (!wasUp) this.#pump(edge);
      }
    });
    stream.write(INGEST_HEARTBEAT);
    this.#pump(edge);
  }

  #lost(edge: Edge, stream: ArqStream): void {
    if (edge.stream !== stream) return;
    const endpoint = edge.endpoint;
    edge.stream = undefined;
    edge.endpoint = undefined;
    edge.up = false;
    edge.inFlight = 0;
    void endpoint?.close();
    if (this.#closed || this.#edges.get(edge.key) !== edge) return;
    edge.timer = setTimeout(() => this.#connect(edge), this.#reconnectMs);
    edge.timer.unref();
  }

  /** Hands queued chunks to ARQ while the edge answers and fewer than {@link MAX_IN_FLIGHT} wait there. */
  #pump(edge: Edge): void {
    const stream = edge.stream;
    if (stream === undefined || !edge.up) return;
    while (edge.inFlight < MAX_IN_FLIGHT && edge.queue.size > 0) {
      const chunk = edge.queue.shift()!;
      edge.inFlight++;
      stream.write(chunk, (error) => {
        if (edge.stream !== stream) return;
        edge.inFlight--;
        if (error == null) {
          edge.sent++;
          edge.bytes += chunk.length;
        }
        this.#pump(edge);
      });
    }
  }

  #beat(): void {
    for (const edge of this.#edges.values()) {
      const stream = edge.stream;
      if (stream !== undefined && !stream.destroyed && edge.inFlight === 0) stream.write(INGEST_HEARTBEAT);
    }
  }

  async #remove(edge: Edge): Promise<void> {
    this.#edges.delete(edge.key);
    clearTimeout(edge.timer);
    edge.queue.clear();
    edge.queue.end();
    const endpoint = edge.endpoint;
    edge.stream = undefined;
    edge.endpoint = undefined;
    await endpoint?.close();
  }
}

/** An edge address as an endpoint: an IP address (host names are resolved by the caller) and a port. */
function toEndpoint(e: EdgeAddress, option: string): Endpoint {
  let address: string;
  let port: number | undefined;
  if (typeof e === 'string') {
    const parsed = parseHostPort(e, { option });
    address = parsed.host;
    port = parsed.port;
  } else {
    address = e.address;
    port = e.port;
  }
  if (isIP(address) === 0) throw new InvalidOptionError(option, `${option}: ${address} is not an IP address`);
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InvalidOptionError(option, `${option}: needs a port of 1-65535`);
  }
  return { address, port };
}

function edgeKey(e: Endpoint): string {
  return `${e.address}|${e.port}`;
}
