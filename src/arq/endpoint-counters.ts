/**
 * Counters of one {@link ArqEndpoint}.
 * @module
 */

/** A snapshot of an endpoint's counters. */
export interface ArqEndpointStats {
  /** Conversations open now. */
  readonly conversations: number;
  /** Conversations waiting for a timer wake-up (the rest are idle and cost nothing). */
  readonly scheduled: number;
  /** Conversations created by `open()` or accepted. */
  readonly conversationsOpened: number;
  /** Conversations accepted from peers. */
  readonly conversationsAccepted: number;
  /** Datagrams of unknown conversations refused by the accept policy. */
  readonly refusedConversations: number;
  /** Datagrams of unknown conversations without their first segment (PUSH sn 0). */
  readonly droppedUnknownConv: number;
  /** Datagrams of unknown conversations refused because `maxConversations` was reached. */
  readonly droppedOverLimit: number;
  /** New conversations refused because their source IP holds `maxConversationsPerAddress` accepted ones. */
  readonly refusedPerAddress: number;
  /** Datagrams not sent to an unvalidated address: its 3× budget was spent (RFC 9000 §8.1). */
  readonly unvalidatedBlocked: number;
  /** Bytes of those datagrams. */
  readonly unvalidatedBlockedBytes: number;
  /** Accepted conversations whose peer proved its address (an ack echoed one of our timestamps). */
  readonly addressesValidated: number;
  /** `'error'` events of this endpoint's streams (each also reaches the application's listeners). */
  readonly streamErrors: number;
  /** Datagrams too short for one KCP header. */
  readonly droppedShort: number;
  /** Datagrams KCP rejected in part or whole (wrong conv inside, bad length, bad command). */
  readonly droppedMalformed: number;
  /** Control frames received. */
  readonly controlIn: number;
  /** Control frames malformed or for unknown conversations. */
  readonly droppedControl: number;
  /** Segment datagrams received (including dropped ones). */
  readonly datagramsIn: number;
  /** Bytes of segment datagrams received. */
  readonly bytesIn: number;
  /** Datagrams sent (segments and control). */
  readonly datagramsOut: number;
  /** Bytes sent. */
  readonly bytesOut: number;
  /** Sends the socket reported as failed. */
  readonly sendErrors: number;
  /** Times the endpoint's single timer fired. */
  readonly timerWakeups: number;
}

/** Mutable counters behind {@link ArqEndpointStats}. */
export class EndpointCounters {
  conversationsOpened = 0;
  conversationsAccepted = 0;
  refusedConversations = 0;
  droppedUnknownConv = 0;
  droppedOverLimit = 0;
  refusedPerAddress = 0;
  unvalidatedBlocked = 0;
  unvalidatedBlockedBytes = 0;
  addressesValidated = 0;
  streamErrors = 0;
  droppedShort = 0;
  droppedMalformed = 0;
  controlIn = 0;
  droppedControl = 0;
  datagramsIn = 0;
  bytesIn = 0;
  datagramsOut = 0;
  bytesOut = 0;
  sendErrors = 0;
  timerWakeups = 0;

  /** A copy with the current conversation counts. */
  snapshot(conversations: number, scheduled: number): ArqEndpointStats {
    return { conversations, scheduled, ...this };
  }
}
