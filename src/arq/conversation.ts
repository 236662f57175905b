/**
 * One conversation of an endpoint: a {@link Kcp} control block, its {@link ArqStream}, the close
 * handshake (docs/arq.md "Close") and dead-link detection. Internal to arq/; the endpoint routes
 * datagrams and timer ticks to it.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { debuglog } from 'node:util';
import { ClosedError } from '../errors/index.ts';
import { PortholeFrame } from '../mux/index.ts';
import { AddressValidation } from './address-validation.ts';
import { ArqControlType, type ArqControlTypeValue, encodeControlFrame } from './control-frame.ts';
import { type ArqDeadCause, conversationClosedChannel, conversationDeadChannel } from './diagnostics.ts';
import { ArqError, ArqErrorCode } from './errors.ts';
import { Kcp } from './kcp.ts';
import { KcpInputResult, type KcpInputResultType } from './kcp-input.ts';
import type { KcpOutputSink } from './kcp-state.ts';
import { type ArqConversationStats, type ArqMode, ArqStream, type ArqStreamController } from './stream.ts';
import type { Wakeable } from './wake-heap.ts';

const debug = debuglog('porthole:arq');

/** Resolved settings shared by the conversations of one endpoint. */
export interface ArqSettings {
  readonly mode: ArqMode;
  readonly nodelay: number;
  readonly intervalMs: number;
  readonly fastResend: number;
  readonly congestionControl: boolean;
  readonly sendWindow: number;
  readonly receiveWindow: number;
  readonly mtu: number;
  readonly deadLinkTransmissions: number;
  readonly idleTimeoutMs: number;
  /** Silence deadline of conversations a peer opened (accepted), ms; 0 off. */
  readonly acceptedIdleTimeoutMs: number;
  readonly flushOnWrite: boolean;
  readonly ackNoDelay: boolean;
  readonly ackRepeat: number;
  readonly maxWaitSegments: number;
  readonly readableHighWaterMark: number;
  readonly writableHighWaterMark: number;
}

/** What a conversation needs from its endpoint. */
export interface ConversationHost {
  /** Muxed framing: datagrams carry a frame byte; control frames exist. */
  readonly muxed: boolean;
  /** The endpoint's clock, ms. */
  now(): number;
  sendDatagram(data: Buffer, port: number, address: string): void;
  reschedule(conversation: Conversation, wakeAt: number): void;
  /** Calls {@link Conversation.flushDeferred} once at the end of this event-loop turn. */
  deferFlush(conversation: Conversation): void;
  removeConversation(conversation: Conversation): void;
  /** A datagram of `bytes` was not sent: the peer's address is not validated and the budget is spent. */
  countUnvalidatedBlocked(bytes: number): void;
  /** An accepted conversation's peer proved its address (its ack echoed one of our timestamps). */
  countAddressValidated(): void;
}

const EMPTY = Buffer.alloc(0);

const FIN_NONE = 0;
const FIN_WAITING_ACKS = 1;
const FIN_SENT = 2;
const FIN_DONE = 3;

/** See the module doc. */
export class Conversation implements KcpOutputSink, Wakeable, ArqStreamController {
  wakeAt = Number.POSITIVE_INFINITY;
  heapIndex = -1;
  readonly conv: number;
  readonly address: string;
  readonly port: number;
  readonly kcp: Kcp;
  readonly stream: ArqStream;
  readonly #host: ConversationHost;
  readonly #settings: ArqSettings;
  readonly #mode: ArqMode;
  #paused = false;
  #writeChunk: Buffer | undefined;
  #writeOffset = 0;
  #writeCallback: ((error?: Error | null) => void) | undefined;
  #finalCallback: ((error?: Error | null) => void) | undefined;
  #finState = FIN_NONE;
  #finSn = 0;
  #finTries = 0;
  #finRetryAt = 0;
  #remoteFinSn = -1;
  #readEnded = false;
  #lastReceiveAt: number;
  #closed = false;
  #messagesIn = 0;
  #messagesOut = 0;
  /** Whether a peer opened this conversation (it was accepted, not opened here). */
  readonly accepted: boolean;
  /** The send budget until the peer proves its address; undefined once it has (or for open()). */
  #validation: AddressValidation | undefined;
  /** Added to the endpoint clock for KCP: random for accepted conversations (address validation). */
  readonly #clockOffset: number;
  readonly #idleTimeoutMs: number;

  constructor(
    host: ConversationHost,
    settings: ArqSettings,
    address: string,
    port: number,
    conv: number,
    mode: ArqMode,
    now: number,
    accepted = false,
  ) {
    this.#host = host;
    this.accepted = accepted;
    this.#validation = accepted ? new AddressValidation() : undefined;
    this.#clockOffset = accepted ? randomBytes(4).readUInt32LE(0) : 0;
    this.#idleTimeoutMs = accepted ? settings.acceptedIdleTimeoutMs : settings.idleTimeoutMs;
    this.#settings = settings;
    this.#mode = mode;
    this.address = address;
    this.port = port;
    this.conv = conv;
    this.#lastReceiveAt = now;
    const kcp = new Kcp(conv, this, { headroomBytes: host.muxed ? 1 : 0 });
    kcp.setMtu(settings.mtu - (host.muxed ? 1 : 0));
    kcp.setNoDelay(settings.nodelay, settings.intervalMs, settings.fastResend, !settings.congestionControl);
    kcp.setWindow(settings.sendWindow, settings.receiveWindow);
    kcp.setDeadLink(settings.deadLinkTransmissions);
    kcp.setAckRepeat(settings.ackRepeat);
    kcp.setStreamMode(mode === 'stream');
    this.kcp = kcp;
    this.stream = new ArqStream({
      conv,
      remoteAddress: address,
      remotePort: port,
      mode,
      controller: this,
      readableHighWaterMark: settings.readableHighWaterMark,
      writableHighWaterMark: settings.writableHighWaterMark,
    });
    kcp.update(this.#u32(now));
  }

  /** Arms the silence deadline, if any (called once the endpoint has indexed the conversation). */
  start(): void {
    this.#schedule(this.#host.now());
  }

  /** Whether the conversation is closed (destroyed or finished). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the peer has proven its address (always, for conversations opened here). */
  get validated(): boolean {
    return this.#validation === undefined;
  }

  onKcpOutput(datagram: Buffer): void {
    const muxed = this.#host.muxed;
    if (muxed) datagram[0] = PortholeFrame.ARQ_SEGMENT;
    const validation = this.#validation;
    if (validation !== undefined) {
      if (!validation.allow(datagram.length)) {
        this.#host.countUnvalidatedBlocked(datagram.length);
        return;
      }
      validation.sentSegments(datagram, muxed ? 1 : 0);
    }
    this.#host.sendDatagram(datagram, this.port, this.address);
  }

  /** One received datagram of this conversation (KCP bytes from `offset`). */
  receive(data: Buffer, offset: number, now: number): KcpInputResultType {
    if (this.#closed) return KcpInputResult.OK;
    this.#lastReceiveAt = now;
    if (this.#validation?.received(data, offset) === true) {
      this.#validation = undefined;
      this.#host.countAddressValidated();
    }
    const kcp = this.kcp;
    kcp.advanceClock(this.#u32(now));
    const result = kcp.input(data, offset);
    this.#deliver();
    // ackNoDelay: the acks leave at the end of this turn, together with those of every other
    // datagram of this conversation read in the same turn (a burst is acknowledged in one datagram).
    if (this.#settings.ackNoDelay && kcp.needsUpdate()) this.#host.deferFlush(this);
    this.#afterProgress(now);
    return result;
  }

  /** The end of the turn after {@link receive} (ackNoDelay): flushes the acks and what they freed. */
  flushDeferred(now: number): void {
    if (this.#closed) return;
    const kcp = this.kcp;
    if (!kcp.needsUpdate()) return;
    kcp.advanceClock(this.#u32(now));
    kcp.flush();
    this.#afterProgress(now);
  }

  /** A control frame for this conversation (muxed framing). */
  control(type: ArqControlTypeValue, sn: number, now: number, bytes: number): void {
    if (this.#closed) return;
    this.#lastReceiveAt = now;
    this.#validation?.received(EMPTY, -1, bytes);
    if (type === ArqControlType.FIN) {
      this.#remoteFinSn = sn;
      this.#sendControl(ArqControlType.FIN_ACK, sn);
      this.#deliver();
    } else if (type === ArqControlType.FIN_ACK) {
      if (this.#finState === FIN_SENT && sn === this.#finSn) this.#finish(null);
    } else {
      this.stream.destroy(
        new ArqError(ArqErrorCode.RESET, `conversation ${this.conv} was reset by the peer`),
      );
      return;
    }
    this.#schedule(now);
  }

  /** The scheduler's wake-up: update KCP, detect a dead link, retry FIN. */
  tick(now: number): void {
    if (this.#closed) return;
    const kcp = this.kcp;
    kcp.update(this.#u32(now));
    if (kcp.state === -1) {
      this.#die(
        'retransmissions',
        `a segment was sent ${this.#settings.deadLinkTransmissions} times without acknowledgement`,
      );
      return;
    }
    const idle = this.#idleTimeoutMs;
    if (idle > 0 && now - this.#lastReceiveAt >= idle) {
      this.#die('silence', `nothing was received for ${idle} ms`);
      return;
    }
    if (this.#finState === FIN_SENT && now >= this.#finRetryAt) {
      if (this.#finTries >= this.#settings.deadLinkTransmissions) {
        if (conversationDeadChannel.hasSubscribers) this.#publishDead('fin-unacknowledged');
        this.#finish(
          new ArqError(ArqErrorCode.DEAD_LINK, `FIN of conversation ${this.conv} was never acknowledged`),
        );
      } else {
        this.#finTries++;
        this.#finRetryAt = now + kcp.rto;
        this.#sendControl(ArqControlType.FIN, this.#finSn);
      }
    }
    this.#afterProgress(now);
  }

  // ---- ArqStreamController ----

  write(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.#closed) {
      callback(new ClosedError('ARQ conversation'));
      return;
    }
    const kcp = this.kcp;
    if (this.#mode === 'message' && chunk.length > kcp.maxMessageBytes) {
      callback(
        new ArqError(
          ArqErrorCode.MESSAGE_TOO_LARGE,
          `message of ${chunk.length} bytes exceeds the ${kcp.maxMessageBytes}-byte limit (127 fragments)`,
        ),
      );
      return;
    }
    this.#messagesOut++;
    this.#writeChunk = chunk;
    this.#writeOffset = 0;
    this.#writeCallback = callback;
    const now = this.#host.now();
    this.#pumpWrite(now);
    this.#schedule(now);
  }

  final(callback: (error?: Error | null) => void): void {
    this.#finalCallback = callback;
    this.#finState = FIN_WAITING_ACKS;
    this.#afterProgress(this.#host.now());
  }

  read(): void {
    if (!this.#paused || this.#closed) return;
    this.#paused = false;
    this.#deliver();
    if (this.kcp.needsUpdate()) this.#schedule(this.#host.now());
  }

  destroy(error: Error | null): void {
    if (this.#closed) return;
    this.#closed = true;
    const clean = this.#readEnded && this.#finState === FIN_DONE;
    if (!clean) {
      debug('conversation %d with %s:%d destroyed: %s', this.conv, this.address, this.port, error?.message);
      this.#sendControl(ArqControlType.RST, 0);
    }
    this.#writeChunk = undefined;
    this.#writeCallback = undefined;
    this.#finalCallback = undefined;
    this.#host.removeConversation(this);
    if (conversationClosedChannel.hasSubscribers) this.#publishClosed(clean, error);
  }

  #publishDead(cause: ArqDeadCause): void {
    conversationDeadChannel.publish({
      conv: this.conv,
      remote: { address: this.address, port: this.port },
      cause,
    });
  }

  #publishClosed(clean: boolean, error: Error | null): void {
    const code = (error as { code?: unknown } | null)?.code;
    const errorCode = typeof code === 'string' ? code : undefined;
    const stats = this.kcp.stats();
    conversationClosedChannel.publish({
      conv: this.conv,
      remote: { address: this.address, port: this.port },
      reason: clean
        ? 'finished'
        : errorCode === ArqErrorCode.RESET
          ? 'reset'
          : errorCode === ArqErrorCode.DEAD_LINK
            ? 'dead'
            : 'destroyed',
      errorCode,
      messagesIn: this.#messagesIn,
      messagesOut: this.#messagesOut,
      retransmits: stats.timeoutRetransmits + stats.fastRetransmits,
    });
  }

  stats(): ArqConversationStats {
    const kcp = this.kcp;
    return {
      ...kcp.stats(),
      messagesIn: this.#messagesIn,
      messagesOut: this.#messagesOut,
      rtoMs: kcp.rto,
      srttMs: kcp.srtt,
      waitSnd: kcp.waitSnd(),
    };
  }

  // ---- internals ----

  #deliver(): void {
    if (this.#readEnded) return;
    const kcp = this.kcp;
    while (!this.#paused) {
      const message = kcp.recv();
      if (message === undefined) break;
      this.#messagesIn++;
      if (!this.stream.push(message)) this.#paused = true;
    }
    if (this.#remoteFinSn >= 0 && kcp.rcvNxt === this.#remoteFinSn && kcp.peekSize() < 0) {
      this.#readEnded = true;
      this.stream.push(null);
    }
  }

  #afterProgress(now: number): void {
    const kcp = this.kcp;
    if (this.#writeCallback !== undefined && kcp.waitSnd() < this.#settings.maxWaitSegments)
      this.#pumpWrite(now);
    if (this.#finState === FIN_WAITING_ACKS && kcp.waitSnd() === 0) {
      if (this.#host.muxed) {
        this.#finState = FIN_SENT;
        this.#finSn = kcp.sndNxt;
        this.#finTries = 1;
        this.#finRetryAt = now + kcp.rto;
        this.#sendControl(ArqControlType.FIN, this.#finSn);
      } else {
        this.#finish(null);
      }
    }
    this.#schedule(now);
  }

  /**
   * Queues the pending write into KCP: a message at once, a stream chunk in pieces of 64 segments
   * while below `maxWaitSegments`; calls the write back once all of it is queued and the queue is
   * below the mark.
   */
  #pumpWrite(now: number): void {
    const chunk = this.#writeChunk;
    if (chunk === undefined) return;
    const kcp = this.kcp;
    const limit = this.#settings.maxWaitSegments;
    if (this.#mode === 'message') {
      if (this.#writeOffset === 0) kcp.send(chunk);
      this.#writeOffset = chunk.length;
    } else {
      const piece = 64 * kcp.mss;
      while (this.#writeOffset < chunk.length && (this.#writeOffset === 0 || kcp.waitSnd() < limit)) {
        const end = Math.min(chunk.length, this.#writeOffset + piece);
        kcp.send(chunk.subarray(this.#writeOffset, end));
        this.#writeOffset = end;
      }
    }
    if (this.#settings.flushOnWrite) {
      kcp.advanceClock(this.#u32(now));
      kcp.flush();
    }
    if (this.#writeOffset >= chunk.length && kcp.waitSnd() < limit) {
      const callback = this.#writeCallback!;
      this.#writeChunk = undefined;
      this.#writeCallback = undefined;
      callback();
    }
  }

  #finish(error: ArqError | null): void {
    this.#finState = FIN_DONE;
    const callback = this.#finalCallback;
    this.#finalCallback = undefined;
    callback?.(error);
  }

  #die(cause: ArqDeadCause, reason: string): void {
    if (conversationDeadChannel.hasSubscribers) this.#publishDead(cause);
    this.stream.destroy(new ArqError(ArqErrorCode.DEAD_LINK, `conversation ${this.conv} is dead: ${reason}`));
  }

  #sendControl(type: ArqControlTypeValue, sn: number): void {
    if (!this.#host.muxed) return;
    const frame = encodeControlFrame(type, this.conv, sn);
    if (this.#validation?.allow(frame.length) === false) {
      this.#host.countUnvalidatedBlocked(frame.length);
      return;
    }
    this.#host.sendDatagram(frame, this.port, this.address);
  }

  /** The endpoint clock as this conversation's u32 KCP clock (offset: see {@link AddressValidation}). */
  #u32(nowMs: number): number {
    return (Math.floor(nowMs) + this.#clockOffset) >>> 0;
  }

  /** Sleeps until the earliest of: KCP's `check()`, the FIN retry, the silence deadline. */
  #schedule(now: number): void {
    if (this.#closed) return;
    let at = Number.POSITIVE_INFINITY;
    const kcp = this.kcp;
    if (kcp.needsUpdate()) {
      const current = this.#u32(now);
      at = now + Math.max(0, (kcp.check(current) - current) | 0);
    }
    if (this.#finState === FIN_SENT) at = Math.min(at, this.#finRetryAt);
    const idle = this.#idleTimeoutMs;
    if (idle > 0) at = Math.min(at, this.#lastReceiveAt + idle);
    this.#host.reschedule(this, at);
  }
}

/** The endpoint clock (ms, float) as KCP's u32 millisecond clock. */
export function toU32(nowMs: number): number {
  return Math.floor(nowMs) >>> 0;
}
