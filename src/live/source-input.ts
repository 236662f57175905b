/**
 * `TsInput`: where a source's MPEG-TS comes from — an async iterable of Buffers of whole 188-byte
 * packets, with `close()` and `stats()`. Every input feeds its bytes through one
 * {@link TsPacketReader} (sync recovery) into one bounded {@link DatagramQueue} (drop-oldest: the
 * newest media matters most); a failure of the input ends the iteration with that error.
 * @module
 */
import { DatagramQueue, OverflowPolicy } from '../internal/datagram-queue.ts';
import { TsPacketReader, type TsReaderStats } from './mpegts-reader.ts';

/** Runs of packets an input buffers for a slow reader before it drops the oldest. */
export const TS_INPUT_QUEUE_CAPACITY = 1024;

/** Counters of a {@link TsInput}. */
export interface TsInputStats extends TsReaderStats {
  /** What the input is (`testpattern`, `udp`, `rtp`, `file`, `stdin`). */
  readonly kind: string;
  /** Bytes received from the input (before sync recovery). */
  readonly bytesIn: number;
  /** Runs of packets dropped because the reader fell behind. */
  readonly dropped: number;
  /** Datagrams dropped as malformed (RTP: bad header, wrong payload type). */
  readonly malformed: number;
  /** RTP: packets missing by sequence number. */
  readonly lost: number;
}

/** An MPEG-TS input: iterate it (one reader) for Buffers of whole packets; close() stops it. */
export interface TsInput extends AsyncIterable<Buffer> {
  /** What the input is. */
  readonly kind: string;
  /** Stops the input (kills its process, closes its socket or file). Idempotent. */
  close(): Promise<void>;
  stats(): TsInputStats;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The plumbing every input shares: {@link write} bytes, {@link fail} or {@link end}; subclasses
 * release what they hold in {@link stop}.
 */
export abstract class QueuedTsInput implements TsInput {
  abstract readonly kind: string;
  readonly #queue = new DatagramQueue<Buffer>({
    capacity: TS_INPUT_QUEUE_CAPACITY,
    overflow: OverflowPolicy.DROP_OLDEST,
  });
  readonly #reader = new TsPacketReader();
  readonly #onPackets = (packets: Buffer): void => {
    this.#queue.push(packets);
  };
  #error: Error | undefined;
  #closed = false;
  readonly #onClose: (() => void | Promise<void>)[] = [];
  #bytesIn = 0;
  /** Malformed datagrams (subclasses count). */
  protected malformed = 0;
  /** Lost datagrams (subclasses count). */
  protected lost = 0;

  /** Feeds input bytes (any alignment). */
  protected write(data: Uint8Array): void {
    if (this.#queue.ended) return;
    this.#bytesIn += data.length;
    this.#reader.push(data, this.#onPackets);
  }

  /** Forgets a partial packet (a datagram was lost: the next one starts a packet). */
  protected resync(): void {
    this.#reader.reset();
  }

  /** Ends the iteration after what is queued. */
  protected end(): void {
    this.#queue.end();
  }

  /** Ends the iteration with `error` after what is queued. */
  protected fail(error: Error): void {
    if (this.#queue.ended) return;
    this.#error = error;
    this.#queue.end();
  }

  /** Releases the process, socket or file. Called once by {@link close}. */
  protected abstract stop(): Promise<void>;

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for await (const packets of this.#queue) yield packets;
    if (this.#error !== undefined && !this.#closed) throw this.#error;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.end();
    this.#queue.clear();
    await this.stop();
    for (const hook of this.#onClose) await hook();
  }

  /** Runs `hook` after the input closed (e.g. to close the pool its ports came from). */
  onClose(hook: () => void | Promise<void>): void {
    this.#onClose.push(hook);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  stats(): TsInputStats {
    return {
      kind: this.kind,
      bytesIn: this.#bytesIn,
      dropped: this.#queue.dropped,
      malformed: this.malformed,
      lost: this.lost,
      ...this.#reader.stats(),
    };
  }
}
