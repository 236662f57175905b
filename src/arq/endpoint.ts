/**
 * `ArqEndpoint`: many KCP conversations over one UDP socket, keyed by remote address, port and
 * conv, driven by one timer that sleeps until the earliest conversation needs an update.
 *
 * Two framings (docs/arq.md "Framing"):
 * - muxed — `{ demux }` (default): each datagram is `0x06` + KCP segments, control frames are
 *   `0x07` + … (see control-frame.ts), sharing one socket with STUN, DTLS, TURN and RTP through mux/.
 * - raw — `{ demux, framing: 'raw' }`: the socket carries exactly what the reference KCP sends (the
 *   endpoint takes every byte of the demux), so any KCP peer interoperates; no control frames.
 *
 * Or over one {@link DatagramLink} to one peer — `{ link }` (a punch link, relayed or not): muxed
 * framing, conversations keyed by conv alone, `open(conv)`.
 * @module
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import { ClosedError, InvalidOptionError } from '../errors/index.ts';
import { CoreTimer } from '../internal/core-timer.ts';
import { EndOfTurn } from '../internal/end-of-turn.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { type DatagramLink, frameRange, PortholeFrame } from '../mux/index.ts';
import { KCP_OVERHEAD, KcpCommand } from './constants.ts';
import { ArqControlType, decodeControlFrame, encodeControlFrame } from './control-frame.ts';
import { type ArqSettings, Conversation, type ConversationHost } from './conversation.ts';
import { conversationOpenedChannel, datagramDroppedChannel, publishDrop } from './diagnostics.ts';
import { type ArqEndpointStats, EndpointCounters } from './endpoint-counters.ts';
import {
  ARQ_MAX_CONVERSATIONS,
  ARQ_MAX_CONVERSATIONS_PER_ADDRESS,
  type ArqEndpointOptions,
  resolveSettings,
} from './endpoint-options.ts';
import { ArqError, ArqErrorCode } from './errors.ts';
import { KcpInputResult } from './kcp-input.ts';
import type { ArqMode, ArqStream } from './stream.ts';
import { WakeHeap } from './wake-heap.ts';

const debug = debuglog('porthole:arq');

/** Every first byte: raw framing owns the demux. */
const ALL_BYTES = { first: 0, last: 255 } as const;
/** The one peer of an endpoint on a link (conversations keyed by conv alone). */
const LINK_PEER: RemoteInfo = Object.freeze({ address: 'link', port: 0, family: 'IPv4', size: 0 });

/** A remote endpoint: an IP address and a port. */
export type ArqRemote = Endpoint;

/** Per-conversation settings of {@link ArqEndpoint.open}. */
export interface ArqOpenOptions {
  /** Overrides the endpoint's `mode` for this conversation. */
  readonly mode?: ArqMode;
}

/** Events of an {@link ArqEndpoint}. */
export interface ArqEndpointEvents {
  /** A peer opened a conversation the accept policy admits. */
  conversation: [stream: ArqStream];
}

/** See the module doc. */
export class ArqEndpoint extends EventEmitter<ArqEndpointEvents> implements ConversationHost {
  /** Whether this endpoint uses muxed framing. */
  readonly muxed: boolean;
  readonly #socket: Socket | undefined;
  readonly #link: DatagramLink | undefined;
  readonly #registrations: { remove(): void }[] = [];
  readonly #settings: ArqSettings;
  readonly #accept: ArqEndpointOptions['accept'] & string;
  readonly #maxConversations: number;
  readonly #maxPerAddress: number;
  /** Accepted conversations per remote IP address (the per-source limit). */
  readonly #acceptedByAddress = new Map<string, number>();
  readonly #now: () => number;
  /** address → port → conv → conversation: three lookups, no allocation per datagram. */
  readonly #peers = new Map<string, Map<number, Map<number, Conversation>>>();
  readonly #heap = new WakeHeap<Conversation>();
  readonly #counters = new EndpointCounters();
  #count = 0;
  readonly #timer: CoreTimer;
  /** Conversations whose acks leave at the end of this turn (ackNoDelay). */
  readonly #deferred = new EndOfTurn<Conversation>((c) => c.flushDeferred(this.#now()));
  #closed = false;
  readonly #onRaw = (data: Buffer, from: RemoteInfo): void => this.#dispatch(data, 0, from);
  readonly #onSegment = (data: Buffer, from: RemoteInfo): void => this.#dispatch(data, 1, from);
  readonly #onControl = (data: Buffer, from: RemoteInfo): void => this.#dispatchControl(data, from);
  /**
   * Every stream the endpoint creates has this `'error'` listener, so a peer's RST or a dead link
   * never crashes a process that attached none (docs/arq.md "Errors"); the error still reaches the
   * application's own listeners, `for await`, `finished()` and `pipeline()`.
   */
  readonly #onStreamError = (error: Error): void => {
    this.#counters.streamErrors++;
    debug('stream error: %s', error.message);
  };
  readonly #onLink = (data: Buffer): void => {
    const first = data[0];
    if (first === PortholeFrame.ARQ_SEGMENT) this.#dispatch(data, 1, LINK_PEER);
    else if (first === PortholeFrame.ARQ_CONTROL) this.#dispatchControl(data, LINK_PEER);
    else this.#counters.droppedMalformed++;
  };
  readonly #onSent = (error: Error | null): void => {
    if (error) {
      this.#counters.sendErrors++;
      debug('send failed: %s', error.message);
    }
  };

  /**
   * @throws InvalidOptionError `ERR_INVALID_OPTION` when neither or both of `demux` and `link` are
   *   given, or a setting is out of range; `ERR_MUX_RANGE_TAKEN` when the demux already routes
   *   0x06/0x07 (raw framing: any byte).
   */
  constructor(options: ArqEndpointOptions) {
    super();
    if ((options.link === undefined) === (options.demux === undefined)) {
      throw new InvalidOptionError('demux', 'give exactly one of demux and link');
    }
    const framing = options.framing ?? 'muxed';
    if (framing !== 'muxed' && framing !== 'raw') {
      throw new InvalidOptionError('framing', `framing must be 'muxed' or 'raw', not ${String(framing)}`);
    }
    if (options.link !== undefined && framing === 'raw') {
      throw new InvalidOptionError('framing', 'a link carries muxed framing only');
    }
    this.#settings = resolveSettings(options);
    this.#accept = options.accept ?? 'never';
    this.#maxConversations = options.maxConversations ?? ARQ_MAX_CONVERSATIONS;
    this.#maxPerAddress = options.maxConversationsPerAddress ?? ARQ_MAX_CONVERSATIONS_PER_ADDRESS;
    this.#now = options.now ?? performance.now.bind(performance);
    this.#timer = new CoreTimer(
      this.#now,
      () => this.#heap.peek()?.wakeAt ?? Number.POSITIVE_INFINITY,
      (nowMs) => this.#runTimers(nowMs),
    );
    if (options.link !== undefined) {
      this.muxed = true;
      this.#socket = undefined;
      this.#link = options.link;
      this.#registrations.push(options.link.onDatagram(this.#onLink));
    } else if (framing === 'muxed') {
      const demux = options.demux!;
      this.muxed = true;
      this.#socket = demux.socket;
      this.#link = undefined;
      this.#registrations.push(demux.register(frameRange(PortholeFrame.ARQ_SEGMENT), this.#onSegment));
      try {
        this.#registrations.push(demux.register(frameRange(PortholeFrame.ARQ_CONTROL), this.#onControl));
      } catch (error) {
        this.#registrations[0]!.remove();
        throw error;
      }
    } else {
      const demux = options.demux!;
      this.muxed = false;
      this.#socket = demux.socket;
      this.#link = undefined;
      this.#registrations.push(demux.register(ALL_BYTES, this.#onRaw));
    }
  }

  /** Conversations currently open. */
  get size(): number {
    return this.#count;
  }

  /**
   * Opens conversation `conv` with `remote` (on a demux) and returns its Duplex; over a link, give
   * only `conv`. Nothing is sent until the first write; the peer accepts the conversation when
   * that data arrives.
   * @throws ClosedError `ERR_CLOSED` after close(); ArqError `ERR_ARQ_CONVERSATION_EXISTS`,
   *   `ERR_ARQ_CONVERSATION_LIMIT`; InvalidOptionError `ERR_INVALID_OPTION` for a bad conv or port, a
   *   remote over a link or none on a demux.
   */
  open(remote: ArqRemote, conv: number, options?: ArqOpenOptions): ArqStream;
  open(conv: number, options?: ArqOpenOptions): ArqStream;
  open(first: ArqRemote | number, second?: number | ArqOpenOptions, third: ArqOpenOptions = {}): ArqStream {
    if (this.#closed) throw new ClosedError('ARQ endpoint');
    let remote: ArqRemote;
    let conv: number;
    let options: ArqOpenOptions;
    if (typeof first === 'number') {
      if (this.#link === undefined) {
        throw new InvalidOptionError('remote', 'open(remote, conv): an endpoint on a demux needs the remote');
      }
      remote = LINK_PEER;
      conv = first;
      options = (second as ArqOpenOptions | undefined) ?? {};
    } else {
      if (this.#link !== undefined) {
        throw new InvalidOptionError('remote', 'open(conv): an endpoint on a link has one peer');
      }
      remote = first;
      conv = second as number;
      options = third;
    }
    if (!Number.isInteger(conv) || conv < 0 || conv > 0xffffffff) {
      throw new InvalidOptionError('conv', `conv ${conv} must be an integer within 0-4294967295`);
    }
    if (remote !== LINK_PEER && (!Number.isInteger(remote.port) || remote.port < 1 || remote.port > 65_535)) {
      throw new InvalidOptionError('remote.port', `remote port ${remote.port} must be within 1-65535`);
    }
    if (this.#lookup(remote.address, remote.port, conv) !== undefined) {
      throw new ArqError(
        ArqErrorCode.CONVERSATION_EXISTS,
        `conversation ${conv} with ${remote.address}:${remote.port} is already open`,
      );
    }
    if (this.#count >= this.#maxConversations) {
      throw new ArqError(
        ArqErrorCode.CONVERSATION_LIMIT,
        `endpoint holds ${this.#count} conversations (the limit)`,
      );
    }
    const c = this.#create(remote.address, remote.port, conv, options.mode ?? this.#settings.mode);
    if (conversationOpenedChannel.hasSubscribers) this.#publishOpened(c, 'local');
    return c.stream;
  }

  /** A snapshot of the endpoint's counters. */
  stats(): ArqEndpointStats {
    return this.#counters.snapshot(this.#count, this.#heap.size);
  }

  /**
   * Destroys every conversation (their streams close without an error; muxed framing sends RST; later
   * writes fail with `ERR_STREAM_DESTROYED`), stops the
   * timer and stops reading. The socket or demux stays open: it belongs to the caller. Idempotent;
   * everything happens before the promise is returned (async like every `close()` of porthole).
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const r of this.#registrations) r.remove();
    for (const byPort of [...this.#peers.values()]) {
      for (const byConv of [...byPort.values()]) {
        for (const c of [...byConv.values()]) c.stream.destroy();
      }
    }
    this.#timer.stop();
    this.#deferred.clear();
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- ConversationHost ----

  now(): number {
    return this.#now();
  }

  sendDatagram(data: Buffer, port: number, address: string): void {
    this.#counters.datagramsOut++;
    this.#counters.bytesOut += data.length;
    const link = this.#link;
    if (link === undefined) {
      this.#socket!.send(data, port, address, this.#onSent);
      return;
    }
    try {
      link.send(data);
    } catch (error) {
      this.#counters.sendErrors++;
      debug('link send failed: %s', (error as Error).message);
    }
  }

  reschedule(conversation: Conversation, wakeAt: number): void {
    this.#heap.schedule(conversation, wakeAt);
    this.#timer.arm();
  }

  deferFlush(conversation: Conversation): void {
    this.#deferred.add(conversation);
  }

  removeConversation(conversation: Conversation): void {
    this.#heap.remove(conversation);
    // Nothing left to wake for: an armed timer would only fire idle.
    if (this.#heap.size === 0) this.#timer.armAt(Number.POSITIVE_INFINITY);
    const byPort = this.#peers.get(conversation.address);
    const byConv = byPort?.get(conversation.port);
    if (byConv?.get(conversation.conv) !== conversation) return;
    byConv.delete(conversation.conv);
    this.#count--;
    if (conversation.accepted) {
      const n = this.#acceptedByAddress.get(conversation.address) ?? 1;
      if (n <= 1) this.#acceptedByAddress.delete(conversation.address);
      else this.#acceptedByAddress.set(conversation.address, n - 1);
    }
    if (byConv.size === 0) byPort!.delete(conversation.port);
    if (byPort!.size === 0) this.#peers.delete(conversation.address);
  }

  // ---- internals ----

  #lookup(address: string, port: number, conv: number): Conversation | undefined {
    return this.#peers.get(address)?.get(port)?.get(conv);
  }

  countUnvalidatedBlocked(bytes: number): void {
    this.#counters.unvalidatedBlocked++;
    this.#counters.unvalidatedBlockedBytes += bytes;
  }

  countAddressValidated(): void {
    this.#counters.addressesValidated++;
  }

  #create(address: string, port: number, conv: number, mode: ArqMode, accepted = false): Conversation {
    const c = new Conversation(this, this.#settings, address, port, conv, mode, this.#now(), accepted);
    c.stream.on('error', this.#onStreamError);
    let byPort = this.#peers.get(address);
    if (byPort === undefined) {
      byPort = new Map();
      this.#peers.set(address, byPort);
    }
    let byConv = byPort.get(port);
    if (byConv === undefined) {
      byConv = new Map();
      byPort.set(port, byConv);
    }
    byConv.set(conv, c);
    this.#count++;
    this.#counters.conversationsOpened++;
    c.start();
    return c;
  }

  #dispatch(data: Buffer, offset: number, from: RemoteInfo): void {
    const counters = this.#counters;
    counters.datagramsIn++;
    counters.bytesIn += data.length;
    if (data.length - offset < KCP_OVERHEAD) {
      counters.droppedShort++;
      if (datagramDroppedChannel.hasSubscribers) publishDrop('short', data, from, undefined);
      return;
    }
    const conv = data.readUInt32LE(offset);
    let c = this.#lookup(from.address, from.port, conv);
    if (c === undefined) {
      c = this.#admit(data, offset, from, conv);
      if (c === undefined) return;
    }
    if (c.receive(data, offset, this.#now()) !== KcpInputResult.OK) {
      counters.droppedMalformed++;
      if (datagramDroppedChannel.hasSubscribers) publishDrop('malformed', data, from, conv);
    }
  }

  /** Applies the accept policy to a datagram of an unknown conversation. */
  #admit(data: Buffer, offset: number, from: RemoteInfo, conv: number): Conversation | undefined {
    const counters = this.#counters;
    const known = (this.#peers.get(from.address)?.get(from.port)?.size ?? 0) > 0;
    if (this.#accept === 'never' || (this.#accept === 'known-peers' && !known)) {
      counters.refusedConversations++;
      if (datagramDroppedChannel.hasSubscribers) publishDrop('refused', data, from, conv);
      return undefined;
    }
    if (!carriesFirstSegment(data, offset, conv)) {
      counters.droppedUnknownConv++;
      if (datagramDroppedChannel.hasSubscribers) publishDrop('unknown-conversation', data, from, conv);
      return undefined;
    }
    if (this.#count >= this.#maxConversations) {
      counters.droppedOverLimit++;
      if (datagramDroppedChannel.hasSubscribers) publishDrop('over-limit', data, from, conv);
      return undefined;
    }
    const perAddress = this.#acceptedByAddress.get(from.address) ?? 0;
    if (perAddress >= this.#maxPerAddress) {
      counters.refusedPerAddress++;
      if (datagramDroppedChannel.hasSubscribers) publishDrop('address-limit', data, from, conv);
      return undefined;
    }
    this.#acceptedByAddress.set(from.address, perAddress + 1);
    const c = this.#create(from.address, from.port, conv, this.#settings.mode, true);
    counters.conversationsAccepted++;
    if (conversationOpenedChannel.hasSubscribers) this.#publishOpened(c, 'remote');
    this.emit('conversation', c.stream);
    return c.closed ? undefined : c;
  }

  #dispatchControl(data: Buffer, from: RemoteInfo): void {
    const counters = this.#counters;
    counters.controlIn++;
    let frame: ReturnType<typeof decodeControlFrame>;
    try {
      frame = decodeControlFrame(data);
    } catch {
      counters.droppedControl++;
      if (datagramDroppedChannel.hasSubscribers) publishDrop('control', data, from, undefined);
      return;
    }
    const c = this.#lookup(from.address, from.port, frame.conv);
    if (c !== undefined) {
      c.control(frame.type, frame.sn, this.#now(), data.length);
    } else if (frame.type === ArqControlType.FIN) {
      // Our FIN_ACK was lost after we forgot the conversation: answer statelessly.
      this.sendDatagram(
        encodeControlFrame(ArqControlType.FIN_ACK, frame.conv, frame.sn),
        from.port,
        from.address,
      );
    } else {
      counters.droppedControl++;
      if (datagramDroppedChannel.hasSubscribers) publishDrop('control', data, from, frame.conv);
    }
  }

  #publishOpened(c: Conversation, initiator: 'local' | 'remote'): void {
    conversationOpenedChannel.publish({
      conv: c.conv,
      remote: { address: c.address, port: c.port },
      initiator,
      mode: c.stream.mode,
      conversations: this.#count,
    });
  }

  #runTimers(now: number): void {
    if (this.#closed) return;
    this.#counters.timerWakeups++;
    for (let budget = this.#heap.size; budget > 0; budget--) {
      const c = this.#heap.popDue(now + 1);
      if (c === undefined) break;
      c.tick(now);
    }
    this.#timer.arm();
  }
}

/** Whether the datagram holds the first data segment (PUSH sn 0) of conversation `conv`. */
function carriesFirstSegment(data: Buffer, offset: number, conv: number): boolean {
  let pos = offset;
  while (data.length - pos >= KCP_OVERHEAD) {
    if (data.readUInt32LE(pos) !== conv) return false;
    if (data[pos + 4] === KcpCommand.PUSH && data.readUInt32LE(pos + 12) === 0) return true;
    pos += KCP_OVERHEAD + data.readUInt32LE(pos + 20);
  }
  return false;
}
