/**
 * The counters of one session (what `stats()` reports).
 * @module
 */

/** Mutable counters of one {@link DtlsSession}; a snapshot goes out through `stats()`. */
export class SessionCounters {
  /** Flight retransmissions on the timer. */
  retransmissions = 0;
  /** Last flights resent because the peer retransmitted its previous flight. */
  flightResends = 0;
  /** Records dropped by the replay window. */
  replaysDropped = 0;
  /** Records that failed authentication (dropped). */
  badRecords = 0;
  /** Datagrams or records that did not parse (dropped). */
  malformed = 0;
  /** Records that came at a time or epoch the state machine does not allow (dropped). */
  unexpectedRecords = 0;
  /** Plaintext alerts after the handshake (ignored). */
  unauthenticatedAlerts = 0;
  /** Warning alerts received (ignored). */
  warningAlerts = 0;
  /** Renegotiation attempts refused. */
  renegotiationsRefused = 0;
  /** Handshake fragments dropped by a reassembly limit. */
  reassemblyDropped = 0;
  /** Application records sent. */
  recordsSent = 0;
  /** Application records received. */
  recordsReceived = 0;
  /** Times the session followed its peer to a new address (connection ID, RFC 9146 §6). */
  addressChanges = 0;
  /** How long the handshake took, ms (0 until it completes). */
  handshakeMs = 0;
}
