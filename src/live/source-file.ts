/**
 * MPEG-TS from a file (looped, paced in real time by its PCR) or from a readable stream such as
 * stdin (taken as fast as it comes: the writer paces it).
 *
 * Pacing: the first PCR seen anchors media time to the wall clock; a run of packets whose PCR is
 * ahead of the wall clock waits until it is due. A PCR step backwards or of more than 5 s (the
 * loop back to the start, an edit) re-anchors; the chunker flags the discontinuity.
 * @module
 */
import { type FileHandle, open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { PortholeError } from '../errors/index.ts';
import { LiveSourceErrorCode } from './errors.ts';
import { createTsPacketInfo, readTsPacket } from './mpegts-packet.ts';
import { TsPacketReader } from './mpegts-reader.ts';
import { QueuedTsInput } from './source-input.ts';

/** Bytes read from the file at a time (348 packets). */
const READ_BYTES = 188 * 348;
/** Bytes paced at a time: 7 packets, a UDP datagram's worth. */
const PACE_BYTES = 188 * 7;
/** A PCR step beyond this (or backwards) re-anchors the pacing, ms. */
const PCR_JUMP_MS = 5000;
/** Longest single wait of the pacing, ms (a wait is re-checked, so close() is never held long). */
const MAX_WAIT_MS = 1000;

/** Settings of {@link FileTsInput}. */
export interface FileInputOptions {
  /** Path of the MPEG-TS file. */
  readonly path: string;
  /** Start again at the end. Default true. */
  readonly loop?: boolean;
  /** Pace by the PCR (real time). Default true; false reads as fast as the reader takes it. */
  readonly realTime?: boolean;
}

/** A file as a {@link TsInput}; see the module doc. */
export class FileTsInput extends QueuedTsInput {
  readonly kind = 'file';
  readonly #options: FileInputOptions;
  readonly #abort = new AbortController();
  readonly #done: Promise<void>;
  readonly #info = createTsPacketInfo();
  readonly #pacer = new TsPacketReader();
  #anchorPcr = -1;
  #anchorMs = 0;
  #lastPcr = -1;
  /** Times the file started again. */
  loops = 0;

  constructor(options: FileInputOptions) {
    super();
    this.#options = options;
    this.#done = this.#run().catch((error: unknown) => {
      this.fail(
        new PortholeError(LiveSourceErrorCode.INPUT_FAILED, `${options.path}: ${(error as Error).message}`),
      );
    });
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let file: FileHandle | undefined;
    try {
      file = await open(this.#options.path, 'r');
      const buf = Buffer.allocUnsafe(READ_BYTES);
      let position = 0;
      while (!signal.aborted) {
        const { bytesRead } = await file.read(buf, 0, buf.length, position);
        if (bytesRead === 0) {
          if (position === 0 || this.#options.loop === false) break;
          position = 0;
          this.loops++;
          this.#pacer.reset();
          continue;
        }
        position += bytesRead;
        const runs: Buffer[] = [];
        this.#pacer.push(Buffer.from(buf.subarray(0, bytesRead)), (run) => runs.push(run));
        for (const run of runs) {
          for (let at = 0; at < run.length && !signal.aborted; at += PACE_BYTES) {
            const slice = run.subarray(at, at + PACE_BYTES);
            if (this.#options.realTime !== false) await this.#pace(slice, signal);
            if (!signal.aborted) this.write(slice);
          }
        }
      }
      this.end();
    } finally {
      await file?.close();
    }
  }

  /** Waits until the last PCR of `run` is due. */
  async #pace(run: Buffer, signal: AbortSignal): Promise<void> {
    let pcr = -1;
    for (let at = 0; at + 188 <= run.length; at += 188) {
      try {
        readTsPacket(run, at, this.#info);
        if (this.#info.pcr >= 0) pcr = this.#info.pcr;
      } catch {
        // A malformed packet: the chunker counts it; pacing skips it.
      }
    }
    if (pcr < 0) return;
    const last = this.#lastPcr;
    this.#lastPcr = pcr;
    if (this.#anchorPcr < 0 || pcr < last || (pcr - last) / 27_000 > PCR_JUMP_MS) {
      this.#anchorPcr = pcr;
      this.#anchorMs = performance.now();
      return;
    }
    for (;;) {
      const waitMs = this.#anchorMs + (pcr - this.#anchorPcr) / 27_000 - performance.now();
      if (waitMs <= 0 || signal.aborted) return;
      await sleep(Math.min(waitMs, MAX_WAIT_MS), signal);
    }
  }

  protected async stop(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }
}

/** A readable stream (stdin, a pipe) as a {@link TsInput}: its end ends the input. */
export class StreamTsInput extends QueuedTsInput {
  readonly kind: string;
  readonly #stream: Readable;
  readonly #onData = (data: Buffer): void => this.write(data);
  readonly #onEnd = (): void => this.end();
  readonly #onError = (error: Error): void =>
    this.fail(new PortholeError(LiveSourceErrorCode.INPUT_FAILED, `${this.kind}: ${error.message}`));

  /** Reads `stream` (default `process.stdin`, kind `stdin`). */
  constructor(stream: Readable = process.stdin, kind = 'stdin') {
    super();
    this.kind = kind;
    this.#stream = stream;
    stream.on('data', this.#onData);
    stream.once('end', this.#onEnd);
    stream.once('error', this.#onError);
  }

  protected async stop(): Promise<void> {
    this.#stream.off('data', this.#onData);
    this.#stream.off('end', this.#onEnd);
    this.#stream.off('error', this.#onError);
    this.#stream.pause();
    if (this.#stream !== process.stdin) this.#stream.destroy();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
