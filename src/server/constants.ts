/**
 * Defaults of {@link UdpServer} and {@link UdpClient}: every limit is an option; these are the values
 * used when it is not given.
 * @module
 */

/** Sessions created but not yet accepted (taken from the iterator or the `'session'` event). */
export const DEFAULT_BACKLOG = 128;
/** Sessions alive at once, accepted or not. */
export const DEFAULT_MAX_SESSIONS = 10_000;
/** Datagrams waiting in one session until its reader takes them. */
export const DEFAULT_SESSION_QUEUE = 256;
/** A session with no datagram in or out for this long is closed, in milliseconds. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** How long `close()` lets busy sessions finish, in milliseconds. */
export const DEFAULT_GRACE_MS = 5_000;
/** Longest interval between two idle sweeps, in milliseconds (shorter when the idle timeout is short). */
export const MAX_SWEEP_INTERVAL_MS = 1_000;
/** Lifetime of one cookie secret, in milliseconds; a cookie is valid in its period and the next. */
export const DEFAULT_COOKIE_PERIOD_MS = 30_000;
/**
 * How long a connected-mode session waits for its drain marker before the marker is sent again,
 * in milliseconds.
 */
export const HANDOVER_RETRY_MS = 100;
/** Drain markers sent for one handover before the held datagrams are released anyway. */
export const HANDOVER_MAX_MARKERS = 5;
/** Marker retries in all (idle or not) before held datagrams are released anyway. */
export const HANDOVER_MAX_RETRIES = 50;
/** Datagrams the client keeps for its reader. */
export const DEFAULT_CLIENT_QUEUE = 1024;
/** How long {@link connectUdp} tries the cookie handshake, in milliseconds. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
/** Interval between handshake retransmissions, in milliseconds. */
export const DEFAULT_HANDSHAKE_RETRY_MS = 200;
/**
 * At most this many bytes go to an address that has not proven it receives at that address,
 * per byte received from it. The cookie reply is sized so one reply per datagram stays under it.
 * (The same bound as QUIC, RFC 9000 §8.1.)
 */
export const AMPLIFICATION_FACTOR = 3;
