/**
 * `IngestServer`: the edge's end of the ingest. On the edge's Demux it accepts publishers (a
 * source, or another edge), one ARQ conversation each (ingest-protocol.ts), and emits every chunk
 * that decodes and verifies against the channel key — nothing else. Bounded: at most `maxSources`
 * publishers; a publisher that sends a forged chunk is reset at once; every drop is counted.
 * @module
 */
import type { RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { ArqEndpoint, type ArqStream, KCP_OVERHEAD, KcpCommand } from '../arq/index.ts';
import { InvalidOptionError, ParseError } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { type DatagramLinkRegistration, type Demux, PortholeFrame } from '../mux/index.ts';
import type { ChannelKey } from './channel.ts';
import { type Chunk, decodeChunk, verifyChunk } from './chunk.ts';
import { ingestDropChannel, publishIngestDrop } from './diagnostics.ts';
import { INGEST_HEADER_BYTES, INGEST_TO_SERVER, ingestRouter } from './ingest-link.ts';
import {
  INGEST_ARQ,
  INGEST_HEARTBEAT,
  INGEST_HEARTBEAT_MS,
  INGEST_IDLE_TIMEOUT_MS,
  INGEST_MAX_MESSAGE_BYTES,
  isIngestConv,
} from './ingest-protocol.ts';
import { validateInteger } from './source-options.ts';

/** Default most publishers at once. */
export const INGEST_MAX_SOURCES_DEFAULT = 8;

/** Settings of an {@link IngestServer}. */
export interface IngestServerOptions {
  /** The edge's demux (the server takes frame 0x09, direction 1). */
  readonly demux: Demux;
  /** The channel to accept, or a lookup by channel id (undefined: not served here). */
  readonly channel: ChannelKey | ((channelId: Buffer) => ChannelKey | undefined);
  /** Most publishers at once, 1–1024. Default {@link INGEST_MAX_SOURCES_DEFAULT}. */
  readonly maxSources?: number;
  /** Silence that ends a publisher's conversation, ms, 500–600,000. Default 3000. */
  readonly idleTimeoutMs?: number;
}

/** Counters of an {@link IngestServer}. */
export interface IngestServerStats {
  /** Publishers connected now. */
  readonly sources: number;
  /** Publisher conversations accepted since the start. */
  readonly accepted: number;
  /** New publishers refused because `maxSources` were connected. */
  readonly refusedSources: number;
  /** Datagrams from unknown remotes that did not open an ingest conversation. */
  readonly strangerDrops: number;
  /** Verified chunks emitted. */
  readonly chunks: number;
  /** Bytes of the verified chunks. */
  readonly bytes: number;
  /** Chunks that failed verification (wrong channel, hash, signature): dropped, publisher reset. */
  readonly forged: number;
  /** Messages that are no chunk (ParseError) or too large: dropped. */
  readonly malformed: number;
  /** Publishers reset for a forged chunk. */
  readonly resets: number;
}

/** Events of an {@link IngestServer}. */
export interface IngestServerEvents {
  /** A chunk that decoded and verified: `bytes` is the whole chunk, as received. */
  chunk: [bytes: Buffer, chunk: Chunk, from: Endpoint];
  /** A publisher connected (`up`) or went away. */
  source: [from: Endpoint, up: boolean];
}

interface Source {
  readonly from: Endpoint;
  readonly endpoint: ArqEndpoint;
  stream: ArqStream | undefined;
}

/** See the module doc. */
export class IngestServer extends EventEmitter<IngestServerEvents> {
  readonly #demux: Demux;
  readonly #lookup: (channelId: Buffer) => ChannelKey | undefined;
  readonly #maxSources: number;
  readonly #idleMs: number;
  readonly #sources = new Map<string, Source>();
  readonly #strangers: DatagramLinkRegistration;
  readonly #timer: NodeJS.Timeout;
  #closed = false;
  #accepted = 0;
  #refused = 0;
  #strangerDrops = 0;
  #chunks = 0;
  #bytes = 0;
  #forged = 0;
  #malformed = 0;
  #resets = 0;

  /**
   * @throws InvalidOptionError `ERR_INVALID_OPTION` for a bad option; InvalidStateError
   *   `ERR_INVALID_STATE` when an ingest server already runs on this demux; ConfigError
   *   `ERR_MUX_RANGE_TAKEN` when another layer holds frame 0x09.
   */
  constructor(options: IngestServerOptions) {
    super();
    if (options.demux === undefined) throw new InvalidOptionError('demux', 'demux: required');
    const channel = options.channel;
    if (typeof channel === 'function') this.#lookup = channel;
    else if (channel !== undefined && Buffer.isBuffer(channel.id))
      this.#lookup = (id) => (id.equals(channel.id) ? channel : undefined);
    else throw new InvalidOptionError('channel', 'channel: a ChannelKey or a lookup function');
    this.#maxSources = validateInteger('maxSources', options.maxSources, INGEST_MAX_SOURCES_DEFAULT, 1, 1024);
    this.#idleMs = validateInteger(
      'idleTimeoutMs',
      options.idleTimeoutMs,
      INGEST_IDLE_TIMEOUT_MS,
      500,
      600_000,
    );
    this.#demux = options.demux;
    this.#strangers = ingestRouter(this.#demux).strangers(INGEST_TO_SERVER, (data, from) =>
      this.#stranger(data, from),
    );
    this.#timer = setInterval(() => this.#heartbeat(), INGEST_HEARTBEAT_MS);
    this.#timer.unref();
  }

  /** A snapshot of the counters. */
  stats(): IngestServerStats {
    return {
      sources: this.#sources.size,
      accepted: this.#accepted,
      refusedSources: this.#refused,
      strangerDrops: this.#strangerDrops,
      chunks: this.#chunks,
      bytes: this.#bytes,
      forged: this.#forged,
      malformed: this.#malformed,
      resets: this.#resets,
    };
  }

  /** The publishers connected now. */
  sources(): Endpoint[] {
    return [...this.#sources.values()].map((s) => s.from);
  }

  /** Resets every publisher and stops taking frames. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#strangers.remove();
    for (const source of [...this.#sources.values()]) await this.#drop(source);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A datagram from a remote without a link: a publisher's first segment opens one. */
  #stranger(data: Buffer, from: RemoteInfo): void {
    if (this.#closed || !opensIngestConversation(data, INGEST_HEADER_BYTES)) {
      this.#strangerDrops++;
      if (ingestDropChannel.hasSubscribers) publishIngestDrop('stranger', from);
      return;
    }
    if (this.#sources.size >= this.#maxSources) {
      this.#refused++;
      if (ingestDropChannel.hasSubscribers) publishIngestDrop('refused-source', from);
      return;
    }
    const remote: Endpoint = { address: from.address, port: from.port };
    const link = ingestRouter(this.#demux).link(INGEST_TO_SERVER, remote);
    const endpoint = new ArqEndpoint({
      link,
      ...INGEST_ARQ,
      accept: 'any',
      maxConversations: 2,
      acceptedIdleTimeoutMs: this.#idleMs,
    });
    const source: Source = { from: remote, endpoint, stream: undefined };
    this.#sources.set(key(remote), source);
    endpoint.on('conversation', (stream) => this.#conversation(source, stream));
    this.emit('source', remote, true);
    // The link is registered now: hand it the datagram that opened it.
    this.#demux.inject(data, from);
  }

  #conversation(source: Source, stream: ArqStream): void {
    if (!isIngestConv(stream.conv)) {
      stream.destroy();
      return;
    }
    this.#accepted++;
    const old = source.stream;
    source.stream = stream;
    old?.destroy();
    stream.on('error', () => {});
    stream.on('close', () => {
      if (source.stream === stream) void this.#drop(source);
    });
    stream.on('data', (message: Buffer) => this.#message(source, stream, message));
    stream.write(INGEST_HEARTBEAT);
  }

  #message(source: Source, stream: ArqStream, message: Buffer): void {
    if (message.length === 1 && message[0] === INGEST_HEARTBEAT[0]) return;
    if (message.length > INGEST_MAX_MESSAGE_BYTES) {
      this.#malformed++;
      if (ingestDropChannel.hasSubscribers) publishIngestDrop('malformed', source.from);
      return;
    }
    let chunk: Chunk;
    try {
      chunk = decodeChunk(message);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.#malformed++;
      if (ingestDropChannel.hasSubscribers) publishIngestDrop('malformed', source.from);
      return;
    }
    const channel = this.#lookup(chunk.channelId);
    if (channel === undefined || verifyChunk(chunk, channel) !== null) {
      this.#forged++;
      this.#resets++;
      if (ingestDropChannel.hasSubscribers) publishIngestDrop('forged', source.from);
      if (source.stream === stream) source.stream = undefined;
      stream.destroy();
      void this.#drop(source);
      return;
    }
    this.#chunks++;
    this.#bytes += message.length;
    this.emit('chunk', message, chunk, source.from);
  }

  #heartbeat(): void {
    for (const source of this.#sources.values()) {
      const stream = source.stream;
      if (stream !== undefined && !stream.destroyed && stream.writableLength === 0)
        stream.write(INGEST_HEARTBEAT);
    }
  }

  async #drop(source: Source): Promise<void> {
    const k = key(source.from);
    if (this.#sources.get(k) !== source) return;
    this.#sources.delete(k);
    source.stream?.destroy();
    await source.endpoint.close();
    this.emit('source', source.from, false);
  }
}

function key(e: Endpoint): string {
  return `${e.address}|${e.port}`;
}

/** Whether an ingest datagram (after `offset` header bytes) holds the first segment (PUSH sn 0) of an ingest conversation. */
export function opensIngestConversation(data: Buffer, offset: number): boolean {
  // muxed framing: 0x06 then KCP segments (conv u32 LE, cmd u8, frg, wnd u16, ts u32, sn u32, una u32, len u32).
  if (data[offset] !== PortholeFrame.ARQ_SEGMENT) return false;
  let pos = offset + 1;
  while (data.length - pos >= KCP_OVERHEAD) {
    const conv = data.readUInt32LE(pos);
    if (!isIngestConv(conv)) return false;
    if (data[pos + 4] === KcpCommand.PUSH && data.readUInt32LE(pos + 12) === 0) return true;
    pos += KCP_OVERHEAD + data.readUInt32LE(pos + 20);
  }
  return false;
}
