import type { RemoteInfo, Socket } from 'node:dgram';
import { debuglog } from 'node:util';
import { ClosedError, InvalidOptionError, PortholeError } from '../errors/index.ts';
import { DatagramQueue } from '../internal/datagram-queue.ts';
import type { Demux } from '../mux/index.ts';
import { datagramDroppedChannel, peerLearnedChannel, publishDrop } from './diagnostics.ts';
import { TransportErrorCode } from './errors.ts';
import type { Endpoint, ReceivedDatagram, StreamHandler } from './options.ts';
import { LatchVerdict, type Peer, type PeerLatch } from './peer-latch.ts';
import { checkEndpoint } from './validate.ts';

const debug = debuglog('porthole:transport');

/** Which stream of a transport. */
export type StreamKind = 'media' | 'rtcp';

/** Drops of one stream, by reason. */
export interface StreamDrops {
  /** Source rejected by the latch policy (`strict`, or `follow` before the silence). */
  readonly unexpectedSource: number;
  /** Dropped (oldest first) because an async iterator fell `queueCapacity` behind. */
  readonly queueFull: number;
  /** Too short to tell RTP from RTCP on a single socket (RFC 5761 §4). */
  readonly malformed: number;
}

/** Counters of one stream. On a pair each stream is one socket; on a single socket they share it. */
export interface StreamStats {
  readonly datagramsIn: number;
  readonly bytesIn: number;
  readonly datagramsOut: number;
  readonly bytesOut: number;
  /** Send failures reported by the socket (the datagram was lost). */
  readonly sendErrors: number;
  /** Times `follow` moved the peer to a new source. */
  readonly peerChanges: number;
  readonly drops: StreamDrops;
}

/** Options of one async iterator. */
export interface DatagramsOptions {
  /** Queue capacity in datagrams (drop-oldest). Default the transport's `queueCapacity`. */
  readonly capacity?: number;
  /** Ends the iteration when it fires. */
  readonly signal?: AbortSignal;
}

/**
 * One direction-agnostic stream of a {@link MediaTransport}: media (RTP) or RTCP. Receives through
 * its socket's {@link Demux} (register more protocols on `demux`), and sends to a given or the
 * learned peer.
 */
export class TransportStream implements AsyncIterable<ReceivedDatagram> {
  readonly kind: StreamKind;
  /** The demux of this stream's socket; the same object for both streams of a single socket. */
  readonly demux: Demux;
  readonly #latch: PeerLatch;
  readonly #queueCapacity: number;
  readonly #queues: DatagramQueue<ReceivedDatagram>[] = [];
  #partner: TransportStream | undefined;
  #partnerOffset = 0;
  #handler: StreamHandler | undefined;
  #portOf: Socket | undefined;
  #port = 0;
  #closed = false;
  #datagramsIn = 0;
  #bytesIn = 0;
  #datagramsOut = 0;
  #bytesOut = 0;
  #sendErrors = 0;
  #unexpectedSource = 0;
  #malformed = 0;
  /** The latch's `changes` at the last learn (tells a first learn from a replacement). */
  #learnedChanges = 0;
  #queueDropsOfEnded = 0;
  /** A reader stopped (break, return, its signal): its queue is no longer fed, what it held is discarded. */
  #removeQueue(queue: DatagramQueue<ReceivedDatagram>): void {
    const i = this.#queues.indexOf(queue);
    if (i < 0) return;
    this.#queues.splice(i, 1);
    this.#queueDropsOfEnded += queue.dropped;
    queue.clear();
    queue.end();
  }

  /** @internal Streams are made by {@link MediaTransport}. */
  constructor(kind: StreamKind, demux: Demux, latch: PeerLatch, queueCapacity: number) {
    this.kind = kind;
    this.demux = demux;
    this.#latch = latch;
    this.#queueCapacity = queueCapacity;
  }

  /** The socket this stream reads and sends on (changes on `rebind()`). */
  get socket(): Socket {
    return this.demux.socket;
  }

  /** The local port (the last one known once the socket is closed). */
  get port(): number {
    const socket = this.demux.socket;
    if (socket !== this.#portOf) {
      try {
        this.#port = socket.address().port;
        this.#portOf = socket;
      } catch {
        // Closed before its port was read: keep the last known one.
      }
    }
    return this.#port;
  }

  /** The remote endpoint: configured, learned, or inferred from the other stream of a pair. */
  get peer(): Peer | undefined {
    return this.#latch.peer;
  }

  /**
   * Sets the remote endpoint (and, with inference, the other stream's unless it has its own).
   * @throws InvalidOptionError `ERR_INVALID_OPTION`.
   */
  setPeer(endpoint: Endpoint): void {
    checkEndpoint(endpoint, `${this.kind} peer`);
    this.#latch.configure(endpoint.address, endpoint.port);
    this.#inferPartner(endpoint.address, endpoint.port);
  }

  /** Sets (or with undefined removes) the callback that sees every accepted datagram. */
  setHandler(handler: StreamHandler | undefined): void {
    this.#handler = handler;
  }

  /**
   * A new async iterator of accepted datagrams, from now on; each reader has its own bounded
   * queue. Ends when the transport closes (after the queued datagrams) or `signal` fires.
   */
  datagrams(options: DatagramsOptions = {}): AsyncIterableIterator<ReceivedDatagram> {
    const capacity = options.capacity ?? this.#queueCapacity;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new InvalidOptionError('capacity', `capacity must be a whole number ≥ 1, got ${capacity}`);
    }
    const queue = new DatagramQueue<ReceivedDatagram>({ capacity, overflow: 'drop-oldest' });
    if (this.#closed) queue.end();
    else this.#queues.push(queue);
    return queue.reader({
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onReturn: () => this.#removeQueue(queue),
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<ReceivedDatagram> {
    return this.datagrams();
  }

  /**
   * Sends one datagram to `to`, or to the peer. Fire and forget: a failure the kernel reports
   * later is counted in `sendErrors`. `data` is not copied and dgram sends it on a later tick:
   * do not modify it in the same tick.
   * @throws ClosedError `ERR_CLOSED` after close; PortholeError `ERR_TRANSPORT_NO_PEER` without
   *   `to` and without a peer; InvalidOptionError `ERR_INVALID_OPTION` for a bad port.
   */
  send(data: Uint8Array, to?: Endpoint): void {
    if (this.#closed) throw new ClosedError('media transport');
    let port: number;
    let address: string | undefined;
    if (to === undefined) {
      address = this.#latch.address;
      port = this.#latch.port;
      if (address === undefined) {
        throw new PortholeError(
          TransportErrorCode.NO_PEER,
          `no ${this.kind} peer yet: pass a destination, set remote.${this.kind} or wait for a datagram`,
        );
      }
    } else {
      address = to.address;
      port = to.port;
      if (!((port | 0) === port && port > 0 && port < 65536)) {
        throw new InvalidOptionError('to', `destination port must be 1–65535, got ${port}`);
      }
    }
    this.#datagramsOut++;
    this.#bytesOut += data.length;
    this.demux.socket.send(data, port, address);
  }

  stats(): StreamStats {
    let queueFull = this.#queueDropsOfEnded;
    for (const q of this.#queues) queueFull += q.dropped;
    return {
      datagramsIn: this.#datagramsIn,
      bytesIn: this.#bytesIn,
      datagramsOut: this.#datagramsOut,
      bytesOut: this.#bytesOut,
      sendErrors: this.#sendErrors,
      peerChanges: this.#latch.changes,
      drops: { unexpectedSource: this.#unexpectedSource, queueFull, malformed: this.#malformed },
    };
  }

  /**
   * @internal Links the other stream of the transport for Simple-profile inference: a source
   * learned here makes `partner`'s peer (same address, port + `offset`) unless it has its own.
   */
  link(partner: TransportStream | undefined, offset: number): void {
    this.#partner = partner;
    this.#partnerOffset = offset;
  }

  /** @internal The demux handler of this stream (also called by the single-socket splitter). */
  readonly receive = (data: Buffer, from: RemoteInfo): void => {
    const verdict = this.#latch.accept(from.address, from.port);
    if (verdict === LatchVerdict.DROP) {
      this.#unexpectedSource++;
      if (datagramDroppedChannel.hasSubscribers)
        publishDrop(this.kind, 'unexpected-source', data, from, this.port);
      return;
    }
    if (verdict === LatchVerdict.LEARN) {
      debug('%s peer %s:%d learned', this.kind, from.address, from.port);
      this.#inferPartner(from.address, from.port);
      if (peerLearnedChannel.hasSubscribers)
        peerLearnedChannel.publish({
          stream: this.kind,
          peer: { address: from.address, port: from.port },
          replaced: this.#latch.changes > this.#learnedChanges,
          localPort: this.port,
        });
      this.#learnedChanges = this.#latch.changes;
    }
    this.#datagramsIn++;
    this.#bytesIn += data.length;
    const queues = this.#queues;
    if (queues.length > 0) {
      const item: ReceivedDatagram = { data, from };
      if (datagramDroppedChannel.hasSubscribers) this.#pushObserved(item);
      else for (let i = 0; i < queues.length; i++) queues[i]!.push(item);
    }
    const handler = this.#handler;
    if (handler !== undefined) handler(data, from);
  };

  /** @internal Counts a datagram the splitter could not classify. */
  countMalformed(data: Buffer, from: RemoteInfo): void {
    this.#malformed++;
    if (datagramDroppedChannel.hasSubscribers) publishDrop(this.kind, 'malformed', data, from, this.port);
  }

  /** Queues `item` and publishes each queue that had to evict for it (only with a subscriber). */
  #pushObserved(item: ReceivedDatagram): void {
    const queues = this.#queues;
    let evicted = 0;
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i]!;
      const before = q.dropped;
      q.push(item);
      if (q.dropped !== before) evicted++;
    }
    for (let i = 0; i < evicted; i++) publishDrop(this.kind, 'queue-full', item.data, item.from, this.port);
  }

  /** @internal Counts a send failure the socket reported. */
  readonly onSocketError = (error: Error): void => {
    this.#sendErrors++;
    debug('%s socket error: %o', this.kind, error);
  };

  /** @internal Ends every iterator and refuses sends. */
  end(): void {
    this.#closed = true;
    for (const q of this.#queues) {
      q.end();
      this.#queueDropsOfEnded += q.dropped;
    }
    this.#queues.length = 0;
  }

  /** Simple-profile inference: the partner stream's peer is this one's port + offset, unless it has its own. */
  #inferPartner(address: string, port: number): void {
    const partner = this.#partner;
    if (partner === undefined) return;
    const partnerPort = port + this.#partnerOffset;
    if (partnerPort >= 1 && partnerPort <= 65535) partner.#latch.infer(address, partnerPort);
  }
}
