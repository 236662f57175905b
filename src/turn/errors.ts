import { PortholeError } from '../errors/index.ts';

/**
 * Typed errors of the TURN client. Every code is listed in docs/turn.md "## Errors".
 * @module
 */

/** Codes of {@link TurnError} and of the ParseErrors of the ChannelData codec. */
export const TurnErrorKind = {
  /** The server rejected our credentials (401 after authenticating, or 441). RFC 8656 §7.2. */
  AUTH_FAILED: 'ERR_TURN_AUTH_FAILED',
  /** The server answered a request with an error response; `status` holds the code. */
  REQUEST_FAILED: 'ERR_TURN_REQUEST_FAILED',
  /** A success response lacked a required attribute, or one was malformed. */
  BAD_RESPONSE: 'ERR_TURN_BAD_RESPONSE',
  /** The allocation expired or the server forgot it (refresh failed, 437). RFC 8656 §8. */
  ALLOCATION_LOST: 'ERR_TURN_ALLOCATION_LOST',
  /** The operation needs an allocation that is not (or no longer) there. */
  NOT_ALLOCATED: 'ERR_TURN_NOT_ALLOCATED',
  /** `maxPermissions` peer IPs already have permissions. */
  TOO_MANY_PERMISSIONS: 'ERR_TURN_TOO_MANY_PERMISSIONS',
  /** `maxChannels` channels are already bound. */
  TOO_MANY_CHANNELS: 'ERR_TURN_TOO_MANY_CHANNELS',
  /** An invalid option or argument (ConfigError). */
  BAD_OPTION: 'ERR_TURN_BAD_OPTION',
  /** ParseError: a ChannelData message shorter than its header or its length field. RFC 8656 §12.4. */
  CHANNEL_TRUNCATED: 'ERR_TURN_CHANNEL_TRUNCATED',
  /** ParseError: a channel number outside 0x4000–0x4FFF. RFC 8656 §12. */
  CHANNEL_BAD_NUMBER: 'ERR_TURN_CHANNEL_BAD_NUMBER',
  /** ParseError: bytes after the data beyond the padding to 4 bytes. RFC 8656 §12.4. */
  CHANNEL_BAD_LENGTH: 'ERR_TURN_CHANNEL_BAD_LENGTH',
} as const;
/** One of the {@link TurnErrorKind} values. */
export type TurnErrorKindType = (typeof TurnErrorKind)[keyof typeof TurnErrorKind];

/** A TURN operation failed. `status` is the server's ERROR-CODE when it answered with one. */
export class TurnError extends PortholeError {
  /** The ERROR-CODE number of the server's error response (e.g. 403, 437, 486), if any. */
  readonly status: number | undefined;

  constructor(code: TurnErrorKindType, message: string, status?: number, options?: ErrorOptions) {
    super(code, message, options);
    this.status = status;
  }
}
