/**
 * Codes of the transport layer (docs/transport.md, "Errors"). A bad option, port, host, family,
 * group, source, interface or endpoint is `ERR_INVALID_OPTION` (`ErrorCode.INVALID_OPTION` of
 * porthole/errors) naming it; `rebind()` of a transport that cannot rebind is `ERR_INVALID_STATE`.
 * @module
 */

/** Specific codes of the transport layer. */
export const TransportErrorCode = {
  /** A send without a destination before any peer is known. */
  NO_PEER: 'ERR_TRANSPORT_NO_PEER',
  /** No free even/odd pair in `pairProbeAttempts` OS probes. */
  PAIR_UNAVAILABLE: 'ERR_TRANSPORT_PAIR_UNAVAILABLE',
  /** The kernel refused a multicast join or option; `cause` has the errno. */
  MULTICAST_FAILED: 'ERR_TRANSPORT_MULTICAST_FAILED',
} as const;
/** One of the {@link TransportErrorCode} values. */
export type TransportErrorCodeValue = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];
