import type { RemoteInfo, Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';
import {
  AbortError,
  ClosedError,
  InvalidOptionError,
  PortholeError,
  TimeoutError,
  throwIfAborted,
} from '../errors/index.ts';
import { CoreTimer } from '../internal/core-timer.ts';
import type { Demux, DemuxRegistration } from '../mux/index.ts';
import type { StunAddress } from './address.ts';
import {
  type BindingInfo,
  type BindingRequestOptions,
  makeBindingRequest,
  readBindingInfo,
} from './binding.ts';
import { StunAttr, StunClass } from './constants.ts';
import { publishResponseDrop, responseDroppedChannel } from './diagnostics.ts';
import { type EncodeStunOptions, encodeStun, type StunMessageInit } from './encode.ts';
import { StunErrorCode } from './errors.ts';
import { hasValidFingerprint } from './fingerprint.ts';
import { hasValidIntegrity } from './integrity.ts';
import { decodeStun, getAttribute, isStunPacket, type StunMessage } from './message.ts';
import {
  type StunDestination,
  type StunRetransmitOptions,
  type StunTransactionStats,
  StunTransactions,
  type StunTransactionsOptions,
} from './transactions.ts';

const debug = debuglog('porthole:stun');

/** Settings of a {@link StunClient}. */
export interface StunClientOptions extends StunTransactionsOptions {
  /**
   * The demux of the socket requests leave from (`demuxOf(socket)` for a bare socket). The client
   * registers a STUN route for the responses to its own transactions, beside any STUN server or
   * TURN client on the same demux.
   */
  readonly demux: Demux;
  /** Monotonic clock in ms (tests). Default `performance.now`. */
  readonly now?: () => number;
}

/** Settings of one request. */
export interface StunRequestOptions extends StunRetransmitOptions {
  /** Where to send the request. */
  readonly to: StunDestination;
  readonly signal?: AbortSignal;
  /**
   * Adds MESSAGE-INTEGRITY with this key and requires a matching one on success responses (RFC 8489
   * §9.1.4, §9.2.5: responses failing the check are discarded as if never received).
   */
  readonly integrityKey?: Uint8Array;
  /** Integrity attributes to add (see `EncodeStunOptions.integrity`). Default `'sha1'`. */
  readonly integrity?: EncodeStunOptions['integrity'];
  /** Appends FINGERPRINT. Default false. */
  readonly fingerprint?: boolean;
}

/** A response matched to its request. */
export interface StunResponse {
  /** The decoded response (success or error class). */
  readonly message: StunMessage;
  /** The address the response actually came from (the UDP source). */
  readonly from: StunAddress;
  /** Transmissions of the request before the response arrived. */
  readonly attempts: number;
  /** Milliseconds from the first transmission to the response. */
  readonly elapsedMs: number;
}

/** A Binding response with the addresses it reports. */
export interface StunBindingResponse extends StunResponse, BindingInfo {}

/** Counters of a {@link StunClient}. */
export interface StunClientStats extends StunTransactionStats {
  /** Datagrams that are not STUN (failed `isStunPacket`): ignored. */
  readonly notStun: number;
  /** STUN-looking datagrams the decoder rejected: dropped. */
  readonly malformed: number;
  /** Responses with a wrong FINGERPRINT: dropped. */
  readonly badFingerprint: number;
  /** Responses failing the MESSAGE-INTEGRITY check: dropped. */
  readonly badIntegrity: number;
  /** Sends the socket reported as failed (the transaction keeps retransmitting). */
  readonly sendErrors: number;
}

interface Pending {
  key: string;
  readonly resolve: (response: StunResponse) => void;
  readonly reject: (error: Error) => void;
  readonly startedAt: number;
  readonly integrityKey: Uint8Array | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  attempts: number;
}

function toAddress(from: RemoteInfo): StunAddress {
  return { family: from.family === 'IPv6' ? 'IPv6' : 'IPv4', address: from.address, port: from.port };
}

/**
 * A STUN client on one UDP socket's {@link Demux} (a STUN route for its own responses, so it
 * shares the socket with a STUN server and a TURN client). Requests are retransmitted per RFC 8489
 * §6.2.1 and matched to responses by transaction ID only. The socket stays owned by the caller;
 * {@link close} only removes the route.
 */
export class StunClient {
  readonly #socket: Socket;
  readonly #core: StunTransactions<Pending>;
  readonly #now: () => number;
  readonly #registration: DemuxRegistration;
  readonly #timer: CoreTimer;
  #closed = false;
  #notStun = 0;
  #malformed = 0;
  #badFingerprint = 0;
  #badIntegrity = 0;
  #sendErrors = 0;

  readonly #onResponse = (data: Buffer, from: RemoteInfo): boolean => this.handleDatagram(data, from);
  readonly #onSocketClose = (): void => {
    void this.close();
  };
  readonly #onSent = (error: Error | null): void => {
    if (error !== null) {
      this.#sendErrors++;
      debug('send failed: %o', error);
    }
  };

  /** @throws InvalidOptionError `ERR_INVALID_OPTION`; `ERR_MUX_RANGE_TAKEN` when the Demux's STUN range is taken. */
  constructor(options: StunClientOptions) {
    this.#core = new StunTransactions<Pending>(options);
    this.#now = options.now ?? (() => performance.now());
    this.#timer = new CoreTimer(
      this.#now,
      () => this.#core.nextWakeMs(),
      () => this.#pump(),
    );
    this.#socket = options.demux.socket;
    this.#registration = options.demux.registerStun({ response: this.#onResponse });
    this.#socket.on('close', this.#onSocketClose);
  }

  /** The socket requests leave from. */
  get socket(): Socket {
    return this.#socket;
  }

  /**
   * Sends `message` (a request) to `options.to` and resolves with the first response whose
   * transaction ID matches — success or error class (read `ERROR-CODE` with `getErrorCode`).
   * @throws (rejects) TimeoutError `ERR_TIMEOUT` after the last retransmission's wait, AbortError
   *   `ERR_ABORTED`, ClosedError `ERR_CLOSED`, PortholeError `ERR_STUN_TOO_MANY_TRANSACTIONS`,
   *   `ERR_STUN_SEND_FAILED`, ConfigError for invalid messages or options.
   */
  request(message: StunMessageInit, options: StunRequestOptions): Promise<StunResponse> {
    try {
      if (this.#closed) throw new ClosedError('STUN client');
      throwIfAborted(options.signal);
      if (message.class !== StunClass.REQUEST) {
        throw new InvalidOptionError('message', 'StunClient.request sends requests only');
      }
      const data = encodeStun(message, {
        ...(options.integrityKey !== undefined ? { integrityKey: options.integrityKey } : {}),
        ...(options.integrity !== undefined ? { integrity: options.integrity } : {}),
        fingerprint: options.fingerprint === true,
      });
      return new Promise<StunResponse>((resolve, reject) => {
        const signal = options.signal;
        const pending: Pending = {
          key: '',
          resolve,
          reject,
          startedAt: this.#now(),
          integrityKey: options.integrityKey,
          signal,
          onAbort: () => {
            if (this.#core.cancel(pending.key)) this.#settle(pending, new AbortError(signal?.reason));
            this.#schedule();
          },
          attempts: 0,
        };
        try {
          pending.key = this.#core.start(data, options.to, pending.startedAt, pending, options);
        } catch (error) {
          reject(error);
          return;
        }
        signal?.addEventListener('abort', pending.onAbort, { once: true });
        this.#pump();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sends a Binding request (with CHANGE-REQUEST, RESPONSE-PORT, PADDING as asked) and resolves with
   * the response and the addresses it reports (XOR-MAPPED-ADDRESS or MAPPED-ADDRESS, OTHER-ADDRESS or
   * CHANGED-ADDRESS, RESPONSE-ORIGIN or SOURCE-ADDRESS) and the address it actually came from.
   * @throws (rejects) as {@link request}, and ParseError when a reported address is malformed.
   */
  async binding(options: StunRequestOptions & BindingRequestOptions): Promise<StunBindingResponse> {
    const response = await this.request(makeBindingRequest(options), options);
    return { ...response, ...readBindingInfo(response.message) };
  }

  /**
   * Offers one received datagram to the client. The client's demux route calls it for the
   * responses arriving on its socket; call it for a response that may have landed on another
   * socket (RFC 5780 discovery). Returns true when it was a response to one of this client's
   * transactions (even if then dropped for a bad FINGERPRINT or integrity), false otherwise (not
   * STUN, malformed, a request/indication, or another transaction ID: left uncounted, for the
   * next route). Never throws.
   */
  handleDatagram(data: Buffer, from: RemoteInfo): boolean {
    if (!isStunPacket(data)) {
      this.#notStun++;
      return false;
    }
    // The transaction ID's last 12 bytes (RFC 8489 §5; RFC 3489's ID ends there too) key the table.
    if (!this.#core.has(data.subarray(8, 20))) return false;
    let message: StunMessage;
    try {
      message = decodeStun(data);
    } catch (error) {
      this.#malformed++;
      debug('malformed STUN datagram from %s:%d: %s', from.address, from.port, (error as Error).message);
      return false;
    }
    const pending = this.#core.contextOf(message.transactionId);
    if (
      pending === undefined ||
      (message.class !== StunClass.SUCCESS_RESPONSE && message.class !== StunClass.ERROR_RESPONSE)
    ) {
      this.#core.receive(message); // counts it as unknown or not a response
      return false;
    }
    if (getAttribute(message, StunAttr.FINGERPRINT) !== undefined && !hasValidFingerprint(message)) {
      this.#badFingerprint++;
      if (responseDroppedChannel.hasSubscribers) publishResponseDrop('bad-fingerprint', data, from);
      return true;
    }
    if (pending.integrityKey !== undefined && !this.#integrityOk(message, pending.integrityKey)) {
      this.#badIntegrity++;
      if (responseDroppedChannel.hasSubscribers) publishResponseDrop('bad-integrity', data, from);
      return true;
    }
    this.#core.receive(message);
    this.#settle(pending, {
      message,
      from: toAddress(from),
      attempts: pending.attempts,
      elapsedMs: this.#now() - pending.startedAt,
    });
    this.#schedule();
    return true;
  }

  /** RFC 8489 §9.1.4: a present integrity attribute must match; success responses must carry one. */
  #integrityOk(message: StunMessage, key: Uint8Array): boolean {
    if (getAttribute(message, StunAttr.MESSAGE_INTEGRITY_SHA256) !== undefined) {
      return hasValidIntegrity(message, key, 'sha256');
    }
    if (getAttribute(message, StunAttr.MESSAGE_INTEGRITY) !== undefined)
      return hasValidIntegrity(message, key, 'sha1');
    return message.class === StunClass.ERROR_RESPONSE;
  }

  #settle(pending: Pending, outcome: StunResponse | Error): void {
    pending.signal?.removeEventListener('abort', pending.onAbort);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  #pump(): void {
    if (this.#closed) return;
    const now = this.#now();
    for (let event = this.#core.poll(now); event !== undefined; event = this.#core.poll(now)) {
      const pending = event.context;
      if (event.type === 'timeout') {
        this.#settle(
          pending,
          new TimeoutError(
            `no STUN response after ${event.attempts} transmissions (${Math.round(now - pending.startedAt)} ms)`,
          ),
        );
        continue;
      }
      pending.attempts = event.attempt;
      try {
        this.#socket.send(event.data, event.to.port, event.to.address, this.#onSent);
      } catch (error) {
        this.#core.cancel(pending.key);
        this.#settle(
          pending,
          new PortholeError(StunErrorCode.SEND_FAILED, 'the STUN request could not be sent', {
            cause: error,
          }),
        );
      }
    }
    this.#schedule();
  }

  #schedule(): void {
    this.#timer.arm();
  }

  /** A snapshot of the counters. */
  stats(): StunClientStats {
    return {
      ...this.#core.stats(),
      notStun: this.#notStun,
      malformed: this.#malformed,
      badFingerprint: this.#badFingerprint,
      badIntegrity: this.#badIntegrity,
      sendErrors: this.#sendErrors,
    };
  }

  /**
   * Rejects every request in flight with ClosedError, stops reading, clears the timer (idempotent).
   * The socket is not closed. Everything happens before the promise is returned; it resolves at
   * once (async like every `close()` of porthole).
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#timer.stop();
    this.#registration.remove();
    this.#socket.off('close', this.#onSocketClose);
    for (const pending of this.#core.drain()) this.#settle(pending, new ClosedError('STUN client'));
    return Promise.resolve();
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    void this.close();
  }

  /** Same as {@link close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
