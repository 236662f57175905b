/**
 * What a {@link UdpServer} counts. Every datagram the server reads ends up in exactly one place:
 * delivered to a session, used by the server itself (handshake, markers), or dropped under one of
 * the {@link DropReason}s — never silently.
 * @module
 */

/** Why a datagram was dropped. */
export const DropReason = {
  /** No session for the source, and the backlog of un-accepted sessions is full. */
  BACKLOG_FULL: 'backlogFull',
  /** No session for the source, and `maxSessions` sessions exist. */
  MAX_SESSIONS: 'maxSessions',
  /** The session's queue was full (its reader is too slow). */
  SESSION_QUEUE_FULL: 'sessionQueueFull',
  /** The session closed with the datagram still unread. */
  CLOSED_UNREAD: 'closedUnread',
  /** `acceptFilter` refused the source. */
  FILTERED: 'filtered',
  /** Cookies are on and the source has not echoed one: no session, no reply. */
  UNVERIFIED: 'unverified',
  /** A cookie echo whose MAC or period did not check out. */
  COOKIE_INVALID: 'cookieInvalid',
  /** A server frame (0x08) that does not parse, or a kind the server does not take. */
  MALFORMED: 'malformed',
  /** A zero-length datagram (nothing to route by). */
  EMPTY: 'empty',
  /** A datagram from a new source while the server is closing. */
  CLOSING: 'closing',
  /** A handover drain marker that is not this server's (another process of a reuse-port group). */
  FOREIGN_MARKER: 'foreignMarker',
  /** A datagram on a session socket that the listener could not have received (other address family). */
  STRAY: 'stray',
} as const;
/** One of the {@link DropReason} values. */
export type DropReasonValue = (typeof DropReason)[keyof typeof DropReason];

/** The drop counters, one per {@link DropReason}. */
export type DropCounts = { -readonly [K in DropReasonValue]: number };

/** A snapshot of a server's counters. */
export interface UdpServerStats {
  /** The mode the server runs in (after any fallback). */
  readonly mode: 'shared' | 'connected';
  /** Sessions alive now (accepted or in the backlog). */
  readonly sessions: number;
  /** Sessions waiting to be accepted. */
  readonly backlog: number;
  /** Sessions created since start. */
  readonly sessionsCreated: number;
  /** Sessions closed because they were idle for `idleTimeoutMs`. */
  readonly sessionsExpired: number;
  /** Datagrams the server read from its sockets (all of them, whatever became of them). */
  readonly datagramsIn: number;
  /** Bytes of those datagrams. */
  readonly bytesIn: number;
  /** Datagrams handed to a session (queued or given to its receiver). */
  readonly delivered: number;
  /** Datagrams used by the server itself: handshake frames and drain markers. */
  readonly control: number;
  /** Datagrams sent by sessions and by the server. */
  readonly datagramsOut: number;
  /** Bytes sent. */
  readonly bytesOut: number;
  /** Sends that failed (the error went to the session as `'unreachable'` or was counted here). */
  readonly sendErrors: number;
  /** Cookie frames sent to unverified sources. */
  readonly cookiesSent: number;
  /** Cookie echoes that verified and made a session. */
  readonly cookiesVerified: number;
  /** Connected mode: datagrams of another source that reached a session socket, handed back to accept. */
  readonly handedBack: number;
  /** Connected mode: datagrams held on a session socket until the listener's backlog was drained. */
  readonly held: number;
  /** Connected mode: handovers released after the last marker timed out. */
  readonly handoverTimeouts: number;
  /** Connected mode: sessions served through the listener because their connected socket failed. */
  readonly connectFallbacks: number;
  /** ICMP unreachable errors reported to sessions. */
  readonly unreachable: number;
  /** Bytes received from sources without a session that got no session (cookie requests, drops). */
  readonly unverifiedBytesIn: number;
  /** Bytes sent to sources without a session (cookies, HelloVerifyRequests): never above `unverifiedBytesIn`. */
  readonly unverifiedBytesOut: number;
  /** `dtls`: handshakes completed (sessions handed out). */
  readonly dtlsHandshakes: number;
  /** `dtls`: handshakes that failed or timed out (their sessions closed). */
  readonly dtlsHandshakeFailures: number;
  /** `dtls`: decrypted records dropped because a session's queue was full. */
  readonly dtlsRecordsDropped: number;
  /** `dtls`: handshaken sessions closed because the backlog was full. */
  readonly dtlsBacklogDropped: number;
  /** Drops by reason. */
  readonly drops: Readonly<DropCounts>;
}

/** Fresh zeroed drop counters. */
export function createDropCounts(): DropCounts {
  return {
    backlogFull: 0,
    maxSessions: 0,
    sessionQueueFull: 0,
    closedUnread: 0,
    filtered: 0,
    unverified: 0,
    cookieInvalid: 0,
    malformed: 0,
    empty: 0,
    closing: 0,
    foreignMarker: 0,
    stray: 0,
  };
}

/** Sum of all drop counters. */
export function totalDrops(drops: Readonly<DropCounts>): number {
  let sum = 0;
  for (const value of Object.values(drops)) sum += value;
  return sum;
}
