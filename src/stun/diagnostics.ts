/**
 * The `node:diagnostics_channel` channels of the stun layer (`porthole:stun:<event>`, see
 * docs/diagnostics.md).
 * @module
 */
import { diagnosticChannel } from '../internal/diagnostics-channel.ts';
import type { Endpoint } from '../internal/endpoint.ts';

/** Channel names of the stun layer. */
export const StunDiagnostics = {
  /** A client transaction started (before its first transmission). Message: {@link StunTransactionStartedMessage}. */
  TRANSACTION_STARTED: 'porthole:stun:transaction-started',
  /** A response matched a transaction in flight, which ended. Message: {@link StunTransactionCompletedMessage}. */
  TRANSACTION_COMPLETED: 'porthole:stun:transaction-completed',
  /** A transaction got no response after its last transmission and the final wait. Message: {@link StunTransactionEndedMessage}. */
  TRANSACTION_TIMED_OUT: 'porthole:stun:transaction-timed-out',
  /** A transaction was cancelled (abort, close) before a response. Message: {@link StunTransactionEndedMessage}. */
  TRANSACTION_CANCELLED: 'porthole:stun:transaction-cancelled',
  /** A `StunClient` dropped a response to one of its transactions. Message: {@link StunResponseDroppedMessage}. */
  RESPONSE_DROPPED: 'porthole:stun:response-dropped',
  /** A STUN server produced a response (success or error). Message: {@link StunRequestAnsweredMessage}. */
  REQUEST_ANSWERED: 'porthole:stun:request-answered',
  /** A STUN server dropped a datagram without answering. Message: {@link StunRequestDroppedMessage}. */
  REQUEST_DROPPED: 'porthole:stun:request-dropped',
} as const;

/** Message of {@link StunDiagnostics.TRANSACTION_STARTED}. */
export interface StunTransactionStartedMessage {
  /** The 96-bit transaction ID, hex. */
  readonly transactionId: string;
  /** The STUN method (1 = Binding, 3 = Allocate, …). */
  readonly method: number;
  readonly to: Endpoint;
  /** Initial RTO in ms and transmissions in total (RFC 8489 §6.2.1). */
  readonly rtoMs: number;
  readonly rc: number;
}

/** Message of {@link StunDiagnostics.TRANSACTION_COMPLETED}. */
export interface StunTransactionCompletedMessage {
  readonly transactionId: string;
  readonly method: number;
  readonly to: Endpoint;
  /** Transmissions made before the response came. */
  readonly attempts: number;
  /** `success` or `error` (an error response also completes a transaction). */
  readonly outcome: 'success' | 'error';
}

/** Message of {@link StunDiagnostics.TRANSACTION_TIMED_OUT} and {@link StunDiagnostics.TRANSACTION_CANCELLED}. */
export interface StunTransactionEndedMessage {
  readonly transactionId: string;
  readonly method: number;
  readonly to: Endpoint;
  readonly attempts: number;
}

/** Why a client dropped a response to its own transaction (each counted in `StunClientStats`). */
export type StunResponseDropReason = 'bad-fingerprint' | 'bad-integrity';

/** Message of {@link StunDiagnostics.RESPONSE_DROPPED}. */
export interface StunResponseDroppedMessage {
  readonly reason: StunResponseDropReason;
  readonly transactionId: string;
  readonly from: Endpoint;
  readonly size: number;
}

/** Message of {@link StunDiagnostics.REQUEST_ANSWERED}. */
export interface StunRequestAnsweredMessage {
  readonly transactionId: string;
  readonly method: number;
  readonly from: Endpoint;
  /** Where the response goes (differs from `from` with RESPONSE-PORT). */
  readonly to: Endpoint;
  /** Index of the local socket it leaves from (0 unless CHANGE-REQUEST moved it, RFC 5780). */
  readonly via: number;
  readonly outcome: 'success' | 'error';
  /** The error code of an error response (400, 420), else undefined. */
  readonly errorCode: number | undefined;
  /** An RFC 3489 request (no magic cookie). */
  readonly classic: boolean;
  /** Response length in bytes. */
  readonly size: number;
}

/** Why a STUN server dropped a datagram: the keys of `StunServerStats.dropped`. */
export type StunRequestDropReason =
  | 'notStun'
  | 'malformed'
  | 'notRequest'
  | 'badFingerprint'
  | 'rateLimited'
  | 'amplification'
  | 'badLocal';

/** Message of {@link StunDiagnostics.REQUEST_DROPPED}. */
export interface StunRequestDroppedMessage {
  readonly reason: StunRequestDropReason;
  readonly from: Endpoint;
  /** Datagram length in bytes. */
  readonly size: number;
}

export const transactionStartedChannel = diagnosticChannel<StunTransactionStartedMessage>(
  StunDiagnostics.TRANSACTION_STARTED,
);
export const transactionCompletedChannel = diagnosticChannel<StunTransactionCompletedMessage>(
  StunDiagnostics.TRANSACTION_COMPLETED,
);
export const transactionTimedOutChannel = diagnosticChannel<StunTransactionEndedMessage>(
  StunDiagnostics.TRANSACTION_TIMED_OUT,
);
export const transactionCancelledChannel = diagnosticChannel<StunTransactionEndedMessage>(
  StunDiagnostics.TRANSACTION_CANCELLED,
);
export const responseDroppedChannel = diagnosticChannel<StunResponseDroppedMessage>(
  StunDiagnostics.RESPONSE_DROPPED,
);
export const requestAnsweredChannel = diagnosticChannel<StunRequestAnsweredMessage>(
  StunDiagnostics.REQUEST_ANSWERED,
);
export const requestDroppedChannel = diagnosticChannel<StunRequestDroppedMessage>(
  StunDiagnostics.REQUEST_DROPPED,
);

/** The hex transaction ID of an encoded STUN message (bytes 8–19). */
export function transactionIdHex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset + 8, 12).toString('hex');
}

/** Publishes a client's response drop; call only when `responseDroppedChannel.hasSubscribers`. */
export function publishResponseDrop(reason: StunResponseDropReason, data: Buffer, from: Endpoint): void {
  responseDroppedChannel.publish({
    reason,
    transactionId: transactionIdHex(data),
    from: { address: from.address, port: from.port },
    size: data.length,
  });
}

/** Publishes a server's drop; call only when `requestDroppedChannel.hasSubscribers`. */
export function publishRequestDrop(reason: StunRequestDropReason, data: Buffer, from: Endpoint): void {
  requestDroppedChannel.publish({
    reason,
    from: { address: from.address, port: from.port },
    size: data.length,
  });
}
