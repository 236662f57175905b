import type { StunTransactionStats } from '../stun/index.ts';

/**
 * Counters of a TURN allocation (sans-I/O core) and of its driver.
 * @module
 */

/** Counters kept by the allocation core. */
export interface TurnCounters {
  /** ChannelData messages delivered to `onData`. */
  channelDataReceived: number;
  /** Data indications delivered to `onData`. */
  indicationsReceived: number;
  /** ChannelData messages built by `encodeSend`. */
  sentChannelData: number;
  /** Send indications built by `encodeSend`. */
  sentIndications: number;
  /** Successful scheduled allocation refreshes. */
  refreshes: number;
  /** 438 Stale Nonce answers retried with the new nonce. */
  staleNonces: number;
  /** Requests that got no answer. */
  timeouts: number;
  /** Dropped: datagrams not from the TURN server. */
  notFromServer: number;
  /** Dropped: malformed ChannelData, STUN, or Data indications without XOR-PEER-ADDRESS/DATA. */
  malformed: number;
  /** Dropped: ChannelData on a channel we did not bind. */
  unknownChannel: number;
  /** Dropped: responses with a wrong FINGERPRINT. */
  badFingerprint: number;
  /** Dropped: success responses without a valid MESSAGE-INTEGRITY. RFC 8489 §9.2.5. */
  badIntegrity: number;
  /** Dropped: indications other than Data. */
  unexpected: number;
  /** createPermission calls refused at `maxPermissions`. */
  permissionsRefused: number;
  /** bindChannel calls refused at `maxChannels`. */
  channelsRefused: number;
}

/** A snapshot of a TURN allocation's state and counters. */
export interface TurnAllocationStats extends Readonly<TurnCounters> {
  readonly state: string;
  /** Permissions held (installed or being installed). */
  readonly permissions: number;
  /** Channels bound (confirmed or being bound). */
  readonly channels: number;
  /** The STUN transaction counters (requests, retransmits, timeouts). */
  readonly transactions: StunTransactionStats;
}

/** All counters at zero. */
export function emptyTurnCounters(): TurnCounters {
  return {
    channelDataReceived: 0,
    indicationsReceived: 0,
    sentChannelData: 0,
    sentIndications: 0,
    refreshes: 0,
    staleNonces: 0,
    timeouts: 0,
    notFromServer: 0,
    malformed: 0,
    unknownChannel: 0,
    badFingerprint: 0,
    badIntegrity: 0,
    unexpected: 0,
    permissionsRefused: 0,
    channelsRefused: 0,
  };
}
