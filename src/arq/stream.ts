/**
 * `ArqStream`: the Node Duplex of one conversation. Writes go into KCP's send queue and their
 * callbacks are held while the queue is full, so `write()` returns false and `'drain'` follows
 * once the peer acknowledges; reads stop taking messages from KCP while the consumer is paused,
 * so the receive window closes and the peer stalls (real backpressure end to end).
 * @module
 */
import { Duplex } from 'node:stream';
import type { KcpStats } from './kcp-counters.ts';

/** `message`: each write is one message and each read one whole message (object mode on the
 * readable side). `stream`: bytes, boundaries not kept (KCP stream mode). */
export type ArqMode = 'message' | 'stream';

/** Counters and state of one conversation, as {@link ArqStream.stats} returns them. */
export interface ArqConversationStats extends KcpStats {
  /** Messages (or stream chunks) written by the application. */
  readonly messagesOut: number;
  /** Messages (or stream chunks) delivered to the application. */
  readonly messagesIn: number;
  /** Current retransmission timeout, ms. */
  readonly rtoMs: number;
  /** Smoothed round-trip time, ms (0 before the first sample). */
  readonly srttMs: number;
  /** Segments queued or in flight. */
  readonly waitSnd: number;
}

/** What an {@link ArqStream} delegates to (the conversation behind it). */
export interface ArqStreamController {
  write(chunk: Buffer, callback: (error?: Error | null) => void): void;
  final(callback: (error?: Error | null) => void): void;
  read(): void;
  destroy(error: Error | null): void;
  stats(): ArqConversationStats;
}

/** Construction data of an {@link ArqStream}. */
export interface ArqStreamInit {
  readonly conv: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly mode: ArqMode;
  readonly controller: ArqStreamController;
  /** Readable high-water mark: messages in message mode, bytes in stream mode. */
  readonly readableHighWaterMark: number;
  /** Writable high-water mark in bytes. */
  readonly writableHighWaterMark: number;
}

/**
 * One KCP conversation as a Duplex. Created by `ArqEndpoint.open()` or emitted by its
 * `'conversation'` event. `end()` closes gracefully (FIN, see docs/arq.md "Close"); `destroy()`
 * aborts (RST). Errors: `ERR_ARQ_DEAD_LINK`, `ERR_ARQ_RESET`, `ERR_ARQ_MESSAGE_TOO_LARGE`, `ERR_CLOSED`.
 */
export class ArqStream extends Duplex {
  /** Conversation id. */
  readonly conv: number;
  /** Peer address. */
  readonly remoteAddress: string;
  /** Peer port. */
  readonly remotePort: number;
  /** Message or stream mode. */
  readonly mode: ArqMode;
  readonly #controller: ArqStreamController;

  constructor(init: ArqStreamInit) {
    super({
      allowHalfOpen: true,
      readableObjectMode: init.mode === 'message',
      readableHighWaterMark: init.readableHighWaterMark,
      writableHighWaterMark: init.writableHighWaterMark,
      decodeStrings: true,
    });
    this.conv = init.conv;
    this.remoteAddress = init.remoteAddress;
    this.remotePort = init.remotePort;
    this.mode = init.mode;
    this.#controller = init.controller;
  }

  /** A snapshot of this conversation's counters. */
  stats(): ArqConversationStats {
    return this.#controller.stats();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#controller.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#controller.final(callback);
  }

  override _read(): void {
    this.#controller.read();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#controller.destroy(error);
    callback(error);
  }
}
