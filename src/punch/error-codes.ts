/**
 * The code table of punch, in a file of its own so that the wire codecs import it without
 * importing the error classes (and, through them, the link's stats).
 * @module
 */

/**
 * Specific codes of hole punching (docs/errors.md, section punch). Bad options are
 * `ERR_INVALID_OPTION`, a call in the wrong state `ERR_INVALID_STATE` (`ErrorCode` of
 * porthole/errors).
 */
export const PunchErrorCode = {
  /** {@link PunchFailedError}: no path before the punch deadline, and no relay (or it failed too). */
  FAILED: 'ERR_PUNCH_FAILED',
  /** The broker did not answer a registration or request after every retransmission (or refused the token). */
  BROKER_UNREACHABLE: 'ERR_PUNCH_BROKER_UNREACHABLE',
  /** The broker has no registered peer of that id. */
  PEER_UNKNOWN: 'ERR_PUNCH_PEER_UNKNOWN',
  /** The broker is at `maxPeers` or `maxPending`. */
  BROKER_BUSY: 'ERR_PUNCH_BROKER_BUSY',
  /** `TurnRelayProvider.open`: the other peer announced no relay candidate. */
  RELAY_NO_CANDIDATE: 'ERR_PUNCH_RELAY_NO_CANDIDATE',
  /** `TurnRelayProvider.open`: `maxChannels` links are already on the relay. */
  RELAY_FULL: 'ERR_PUNCH_RELAY_FULL',
  /** ParseError: a broker or punch frame ends inside a field. */
  FRAME_TRUNCATED: 'ERR_PUNCH_FRAME_TRUNCATED',
  /** ParseError: not a broker or punch frame, or an unknown message type. */
  FRAME_TYPE: 'ERR_PUNCH_FRAME_TYPE',
  /** ParseError: a version byte other than the frame's (`BROKER_WIRE_VERSION` 2, `PUNCH_WIRE_VERSION` 1). */
  FRAME_VERSION: 'ERR_PUNCH_FRAME_VERSION',
  /** ParseError: reserved bytes not zero, unknown flags, role, status or NAT class, token too long. */
  FRAME_BAD_FIELD: 'ERR_PUNCH_FRAME_BAD_FIELD',
  /** ParseError: a peer id empty, over 64 bytes or not visible ASCII. */
  FRAME_BAD_ID: 'ERR_PUNCH_FRAME_BAD_ID',
  /** ParseError: an address family not 4/6, or port 0. */
  FRAME_BAD_ADDRESS: 'ERR_PUNCH_FRAME_BAD_ADDRESS',
  /** ParseError: an unknown candidate kind, or more candidates than allowed. */
  FRAME_BAD_CANDIDATE: 'ERR_PUNCH_FRAME_BAD_CANDIDATE',
  /** ParseError: bytes after the end of a frame. */
  FRAME_TRAILING: 'ERR_PUNCH_FRAME_TRAILING',
} as const;
/** One of the {@link PunchErrorCode} values. */
export type PunchErrorCodeValue = (typeof PunchErrorCode)[keyof typeof PunchErrorCode];
