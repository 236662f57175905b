import { StunMethod } from '../stun/index.ts';

/**
 * TURN (RFC 8656) wire constants and protocol timers: methods, attribute types, error codes and the
 * lifetimes the client refreshes against.
 * @module
 */

/** TURN methods (12 bits). RFC 8656 §17. */
export const TurnMethod = {
  /** Allocate a relayed transport address. RFC 8656 §7. */
  ALLOCATE: StunMethod.ALLOCATE,
  /** Refresh (or, with LIFETIME 0, delete) an allocation. RFC 8656 §8. */
  REFRESH: StunMethod.REFRESH,
  /** Send indication: data from the client to a peer. RFC 8656 §11. */
  SEND: StunMethod.SEND,
  /** Data indication: data from a peer to the client. RFC 8656 §11. */
  DATA: StunMethod.DATA,
  /** Install or refresh permissions. RFC 8656 §9. */
  CREATE_PERMISSION: StunMethod.CREATE_PERMISSION,
  /** Bind a channel number to a peer. RFC 8656 §12. */
  CHANNEL_BIND: StunMethod.CHANNEL_BIND,
} as const;

/** TURN attribute types. RFC 8656 §18. */
export const TurnAttr = {
  /** RFC 8656 §18.1. */
  CHANNEL_NUMBER: 0x000c,
  /** RFC 8656 §18.2. */
  LIFETIME: 0x000d,
  /** RFC 8656 §18.3. */
  XOR_PEER_ADDRESS: 0x0012,
  /** RFC 8656 §18.4. */
  DATA: 0x0013,
  /** RFC 8656 §18.5. */
  XOR_RELAYED_ADDRESS: 0x0016,
  /** RFC 8656 §18.6. */
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  /** RFC 8656 §18.7. */
  EVEN_PORT: 0x0018,
  /** RFC 8656 §18.8. */
  REQUESTED_TRANSPORT: 0x0019,
  /** RFC 8656 §18.9. */
  DONT_FRAGMENT: 0x001a,
  /** RFC 8656 §18.10. */
  RESERVATION_TOKEN: 0x0022,
} as const;

/**
 * Numeric ERROR-CODE values of TURN error responses (beside STUN's `StunStatusCode`), the
 * values of `TurnError.status`; not porthole's string error codes. RFC 8656 §19.
 */
export const TurnStatusCode = {
  FORBIDDEN: 403,
  ALLOCATION_MISMATCH: 437,
  ADDRESS_FAMILY_NOT_SUPPORTED: 440,
  WRONG_CREDENTIALS: 441,
  UNSUPPORTED_TRANSPORT_PROTOCOL: 442,
  PEER_ADDRESS_FAMILY_MISMATCH: 443,
  ALLOCATION_QUOTA_REACHED: 486,
  INSUFFICIENT_CAPACITY: 508,
} as const;

/** REQUESTED-TRANSPORT value for UDP (IANA protocol number). RFC 8656 §18.8. */
export const TURN_TRANSPORT_UDP = 17;

/** First channel number a client may bind. RFC 8656 §12. */
export const TURN_CHANNEL_MIN = 0x4000;
/** Last channel number a client may bind. RFC 8656 §12. */
export const TURN_CHANNEL_MAX = 0x4fff;

/** Lifetime of a permission on the server in ms. RFC 8656 §9. */
export const TURN_PERMISSION_LIFETIME_MS = 300_000;
/** Lifetime of a channel binding on the server in ms. RFC 8656 §12. */
export const TURN_CHANNEL_LIFETIME_MS = 600_000;
/** Default allocation lifetime a server grants, in seconds. RFC 8656 §3.2 ("10 minutes"). */
export const TURN_DEFAULT_LIFETIME_S = 600;

/** Permissions are refreshed this long after they were installed (< 300 s, RFC 8656 §9). */
export const DEFAULT_PERMISSION_REFRESH_MS = 240_000;
/** Channel bindings are refreshed this long after they were bound (< 600 s, RFC 8656 §12). */
export const DEFAULT_CHANNEL_REFRESH_MS = 480_000;
/** The allocation is refreshed at this fraction of its granted LIFETIME. */
export const DEFAULT_REFRESH_RATIO = 0.8;
/** Default cap on permissions (peer IPs) per allocation. */
export const DEFAULT_MAX_PERMISSIONS = 64;
/** Default cap on channel bindings per allocation (the protocol allows 4096). */
export const DEFAULT_MAX_CHANNELS = 64;
/** How many 438 Stale Nonce answers one request may get before it fails. RFC 8656 §7.2 / RFC 8489 §9.2.5. */
export const MAX_STALE_NONCE_RETRIES = 2;
