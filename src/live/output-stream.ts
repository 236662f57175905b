/**
 * File and stdout outputs: the played MPEG-TS appended to a writable stream. A stream that does
 * not drain (its buffer past 16 MiB) loses chunks, counted, instead of growing without bound.
 * @module
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { OutputStats, PlayedChunk, PlayoutOutput } from './output.ts';

/** A stream's buffer beyond which chunks are dropped, bytes. */
export const OUTPUT_STREAM_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** Writes the played stream to `stream` (owned: closed on close, unless it is stdout). */
export class StreamOutput implements PlayoutOutput {
  readonly #stream: Writable;
  readonly #kind: 'file' | 'stdout';
  readonly #target: string;
  #chunks = 0;
  #bytes = 0;
  #dropped = 0;
  #failed = false;
  #closed = false;

  constructor(stream: Writable, kind: 'file' | 'stdout', target: string) {
    this.#stream = stream;
    this.#kind = kind;
    this.#target = target;
    stream.on('error', () => {
      this.#failed = true;
    });
  }

  /** Appends to (creates or truncates) the file at `path`. */
  static file(path: string): StreamOutput {
    return new StreamOutput(createWriteStream(path), 'file', path);
  }

  /** Writes to the process's stdout. */
  static stdout(): StreamOutput {
    return new StreamOutput(process.stdout, 'stdout', '-');
  }

  write(chunk: PlayedChunk): void {
    if (this.#closed || this.#failed || this.#stream.writableLength > OUTPUT_STREAM_MAX_BUFFERED_BYTES) {
      this.#dropped++;
      return;
    }
    this.#stream.write(chunk.payload);
    this.#chunks++;
    this.#bytes += chunk.payload.length;
  }

  stats(): OutputStats {
    return {
      kind: this.#kind,
      target: this.#target,
      chunksWritten: this.#chunks,
      bytesWritten: this.#bytes,
      dropped: this.#dropped,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#kind === 'stdout' || this.#failed) return;
    await new Promise<void>((resolve) => this.#stream.end(resolve));
  }
}
