import { InvalidOptionError, PortholeError } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { methodOfType, STUN_HEADER_BYTES, STUN_TRANSACTION_ID_BYTES, StunClass } from './constants.ts';
import {
  transactionCancelledChannel,
  transactionCompletedChannel,
  transactionIdHex,
  transactionStartedChannel,
  transactionTimedOutChannel,
} from './diagnostics.ts';
import { StunErrorCode } from './errors.ts';
import type { StunMessage } from './message.ts';

/**
 * The client transaction state machine of RFC 8489 §6.2.1 for UDP, without I/O or clock: the driver
 * calls {@link StunTransactions.start}, feeds responses to {@link StunTransactions.receive}, and calls
 * {@link StunTransactions.poll} at {@link StunTransactions.nextWakeMs} to learn what to retransmit and
 * which transactions timed out.
 *
 * With RTO 500 ms, Rc 7 and Rm 16 a request is sent at 0, 500, 1500, 3500, 7500, 15500 and 31500 ms,
 * and the transaction fails at 39500 ms (31500 + Rm × RTO).
 * @module
 */

/** Initial retransmission timeout in ms. RFC 8489 §6.2.1. */
export const DEFAULT_RTO_MS = 500;
/** Number of transmissions of a request (first send included). RFC 8489 §6.2.1. */
export const DEFAULT_RC = 7;
/** Wait after the last transmission, in multiples of the initial RTO. RFC 8489 §6.2.1. */
export const DEFAULT_RM = 16;
/** Default cap on transactions in flight per {@link StunTransactions}. */
export const DEFAULT_MAX_TRANSACTIONS = 1024;

/** STUN transaction retransmission settings (`rtoMs`, `rc`, `rm`; all optional; RFC 8489 §6.2.1 defaults). */
export interface StunRetransmitOptions {
  /** Initial RTO in ms, > 0. Default {@link DEFAULT_RTO_MS}. */
  readonly rtoMs?: number;
  /** Transmissions in total, ≥ 1. Default {@link DEFAULT_RC}. */
  readonly rc?: number;
  /** Final wait in multiples of the initial RTO, ≥ 0. Default {@link DEFAULT_RM}. */
  readonly rm?: number;
}

/** Settings of a {@link StunTransactions}. */
export interface StunTransactionsOptions extends StunRetransmitOptions {
  /** Most transactions in flight. Default {@link DEFAULT_MAX_TRANSACTIONS}. */
  readonly maxTransactions?: number;
}

/** Where a request goes: the one `{ address, port }` endpoint type of porthole. */
export type StunDestination = Endpoint;

/** Something the driver must do, returned by {@link StunTransactions.poll}. */
export type StunTransactionEvent<T> =
  | {
      readonly type: 'send';
      /** The encoded request, identical on every transmission. */
      readonly data: Buffer;
      readonly to: StunDestination;
      /** 1 for the first transmission, 2 for the first retransmission, … */
      readonly attempt: number;
      readonly context: T;
    }
  | { readonly type: 'timeout'; readonly context: T; readonly attempts: number };

/** Counters of a {@link StunTransactions}. */
export interface StunTransactionStats {
  /** Transactions started. */
  readonly started: number;
  /** Retransmissions (transmissions after the first). */
  readonly retransmits: number;
  /** Responses matched to a transaction. */
  readonly matched: number;
  /** Responses whose transaction ID matches nothing in flight (late, duplicate or forged): dropped. */
  readonly unknownResponses: number;
  /** Requests and indications given to `receive` (never matched): dropped. */
  readonly notResponses: number;
  /** Transactions that got no response. */
  readonly timeouts: number;
  /** Transactions cancelled by the caller. */
  readonly cancelled: number;
  /** Transactions refused because `maxTransactions` were in flight. */
  readonly refused: number;
  /** Transactions in flight now. */
  readonly inFlight: number;
}

interface Transaction<T> {
  readonly key: string;
  readonly data: Buffer;
  readonly to: StunDestination;
  readonly context: T;
  readonly rtoMs: number;
  readonly rc: number;
  readonly rm: number;
  /** Transmissions done. */
  sent: number;
  /** When the next transmission (or the timeout, after the last) is due. */
  dueAt: number;
  /** Interval to the next retransmission after the one due at `dueAt`. */
  intervalMs: number;
}

function validate(
  options: StunRetransmitOptions | undefined,
  base: Required<StunRetransmitOptions>,
): Required<StunRetransmitOptions> {
  const rtoMs = options?.rtoMs ?? base.rtoMs;
  const rc = options?.rc ?? base.rc;
  const rm = options?.rm ?? base.rm;
  if (!(rtoMs > 0) || !Number.isFinite(rtoMs))
    throw new InvalidOptionError('rtoMs', `rtoMs must be > 0, not ${rtoMs}`);
  if (!Number.isInteger(rc) || rc < 1)
    throw new InvalidOptionError('rc', `rc must be an integer ≥ 1, not ${rc}`);
  if (!(rm >= 0) || !Number.isFinite(rm)) throw new InvalidOptionError('rm', `rm must be ≥ 0, not ${rm}`);
  return { rtoMs, rc, rm };
}

/** The common fields of a diagnostic message about `transaction` (built only for a subscriber). */
function ended(transaction: Transaction<unknown>): {
  transactionId: string;
  method: number;
  to: { address: string; port: number };
  attempts: number;
} {
  const { data, to } = transaction;
  return {
    transactionId: transactionIdHex(data),
    method: methodOfType(data.readUInt16BE(0)),
    to: { address: to.address, port: to.port },
    attempts: transaction.sent,
  };
}

/** The key of a transaction ID in the table. */
function keyOf(transactionId: Uint8Array): string {
  return Buffer.from(transactionId.buffer, transactionId.byteOffset, transactionId.byteLength).toString(
    'latin1',
  );
}

/**
 * Client transactions of one socket, matched by transaction ID only (never by address).
 * `T` is the driver's per-transaction context (e.g. the promise to settle).
 */
export class StunTransactions<T> {
  readonly #defaults: Required<StunRetransmitOptions>;
  readonly #maxTransactions: number;
  readonly #table = new Map<string, Transaction<T>>();
  #started = 0;
  #retransmits = 0;
  #matched = 0;
  #unknownResponses = 0;
  #notResponses = 0;
  #timeouts = 0;
  #cancelled = 0;
  #refused = 0;

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` for invalid settings. */
  constructor(options?: StunTransactionsOptions) {
    this.#defaults = validate(options, { rtoMs: DEFAULT_RTO_MS, rc: DEFAULT_RC, rm: DEFAULT_RM });
    const max = options?.maxTransactions ?? DEFAULT_MAX_TRANSACTIONS;
    if (!Number.isInteger(max) || max < 1) {
      throw new InvalidOptionError('maxTransactions', `maxTransactions must be an integer ≥ 1, not ${max}`);
    }
    this.#maxTransactions = max;
  }

  /**
   * Starts a transaction for the encoded request `data` (its transaction ID is bytes 8–19). The first
   * transmission is due at `nowMs`: call {@link poll} to get it.
   * @returns the key that identifies the transaction for {@link cancel}.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` when the ID is in flight;
   *   PortholeError `ERR_STUN_TOO_MANY_TRANSACTIONS` when `maxTransactions` are in flight.
   */
  start(
    data: Buffer,
    to: StunDestination,
    nowMs: number,
    context: T,
    options?: StunRetransmitOptions,
  ): string {
    const { rtoMs, rc, rm } = validate(options, this.#defaults);
    if (data.length < STUN_HEADER_BYTES)
      throw new InvalidOptionError('data', 'the request is not a STUN message');
    const key = keyOf(data.subarray(8, 8 + STUN_TRANSACTION_ID_BYTES));
    if (this.#table.has(key)) {
      throw new InvalidOptionError('transactionId', 'a transaction with this ID is already in flight');
    }
    if (this.#table.size >= this.#maxTransactions) {
      this.#refused++;
      throw new PortholeError(
        StunErrorCode.TOO_MANY_TRANSACTIONS,
        `${this.#maxTransactions} STUN transactions are in flight; wait for some to finish or raise maxTransactions`,
      );
    }
    this.#table.set(key, { key, data, to, context, rtoMs, rc, rm, sent: 0, dueAt: nowMs, intervalMs: rtoMs });
    this.#started++;
    if (transactionStartedChannel.hasSubscribers)
      transactionStartedChannel.publish({
        transactionId: transactionIdHex(data),
        method: methodOfType(data.readUInt16BE(0)),
        to: { address: to.address, port: to.port },
        rtoMs,
        rc,
      });
    return key;
  }

  /**
   * Matches a decoded response to its transaction by ID and ends the transaction.
   * @returns the transaction's context, or undefined when `message` is not a response to a
   *   transaction in flight (counted as `unknownResponses` or `notResponses`).
   */
  receive(message: StunMessage): T | undefined {
    if (message.class !== StunClass.SUCCESS_RESPONSE && message.class !== StunClass.ERROR_RESPONSE) {
      this.#notResponses++;
      return undefined;
    }
    const key = keyOf(message.transactionId);
    const transaction = this.#table.get(key);
    if (transaction === undefined) {
      this.#unknownResponses++;
      return undefined;
    }
    this.#table.delete(key);
    this.#matched++;
    if (transactionCompletedChannel.hasSubscribers)
      transactionCompletedChannel.publish({
        ...ended(transaction),
        outcome: message.class === StunClass.SUCCESS_RESPONSE ? 'success' : 'error',
      });
    return transaction.context;
  }

  /**
   * Whether `transactionId` is in flight. The driver uses it to check a response before trusting it
   * (e.g. its integrity), then calls {@link receive}.
   */
  has(transactionId: Uint8Array): boolean {
    return this.#table.has(keyOf(transactionId));
  }

  /** The context of the transaction in flight with `transactionId`, if any. */
  contextOf(transactionId: Uint8Array): T | undefined {
    return this.#table.get(keyOf(transactionId))?.context;
  }

  /** Ends a transaction without a response (abort, close). Returns whether it was in flight. */
  cancel(key: string): boolean {
    const transaction = this.#table.get(key);
    const removed = this.#table.delete(key);
    if (removed) this.#cancelled++;
    if (transaction !== undefined && transactionCancelledChannel.hasSubscribers)
      transactionCancelledChannel.publish(ended(transaction));
    return removed;
  }

  /**
   * The next thing due at or before `nowMs`: a (re)transmission or a timeout; undefined when nothing
   * is due. Call repeatedly until undefined.
   */
  poll(nowMs: number): StunTransactionEvent<T> | undefined {
    for (const transaction of this.#table.values()) {
      if (transaction.dueAt > nowMs) continue;
      if (transaction.sent < transaction.rc) {
        // 1. Transmit; 2. schedule the next one an interval later and double the interval;
        // 3. after the Rc-th transmission, wait Rm × RTO for the response. RFC 8489 §6.2.1.
        transaction.sent++;
        if (transaction.sent > 1) this.#retransmits++;
        if (transaction.sent < transaction.rc) {
          transaction.dueAt += transaction.intervalMs;
          transaction.intervalMs *= 2;
        } else {
          transaction.dueAt += transaction.rm * transaction.rtoMs;
        }
        return {
          type: 'send',
          data: transaction.data,
          to: transaction.to,
          attempt: transaction.sent,
          context: transaction.context,
        };
      }
      this.#table.delete(transaction.key);
      this.#timeouts++;
      if (transactionTimedOutChannel.hasSubscribers) transactionTimedOutChannel.publish(ended(transaction));
      return { type: 'timeout', context: transaction.context, attempts: transaction.sent };
    }
    return undefined;
  }

  /** When {@link poll} next has something to do (same clock as `nowMs`); `Infinity` when idle. */
  nextWakeMs(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const transaction of this.#table.values()) {
      if (transaction.dueAt < earliest) earliest = transaction.dueAt;
    }
    return earliest;
  }

  /** Contexts of all transactions in flight, which are removed (for close). */
  drain(): T[] {
    const contexts = [...this.#table.values()].map((t) => t.context);
    this.#cancelled += this.#table.size;
    if (transactionCancelledChannel.hasSubscribers)
      for (const t of this.#table.values()) transactionCancelledChannel.publish(ended(t));
    this.#table.clear();
    return contexts;
  }

  /** A snapshot of the counters. */
  stats(): StunTransactionStats {
    return {
      started: this.#started,
      retransmits: this.#retransmits,
      matched: this.#matched,
      unknownResponses: this.#unknownResponses,
      notResponses: this.#notResponses,
      timeouts: this.#timeouts,
      cancelled: this.#cancelled,
      refused: this.#refused,
      inFlight: this.#table.size,
    };
  }
}
