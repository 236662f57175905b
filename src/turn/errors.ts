import { PortholeError } from '../errors/index.ts';

/**
 * Typed errors of the TURN client. Every code is listed in docs/turn.md "## Errors".
 * @module
 */

/**
 * Specific codes of the TURN layer: those of {@link TurnError} and of the ParseErrors of the
 * ChannelData codec. (The numeric ERROR-CODE values of TURN responses are `TurnStatusCode`.)
 */
export const TurnErrorCode = {
  /** The server rejected our credentials (401 after authenticating, or 441). RFC 8656 §7.2. */
  AUTH_FAILED: 'ERR_TURN_AUTH_FAILED',
  /** The server answered a request with an error response; `status` holds the code. */
  REQUEST_FAILED: 'ERR_TURN_REQUEST_FAILED',
  /** A success response lacked a required attribute, or one was malformed. */
  BAD_RESPONSE: 'ERR_TURN_BAD_RESPONSE',
  /**
   * The allocation expired or the server forgot it (refresh failed, 437), and every later call on
   * it. RFC 8656 §8.
   */
  ALLOCATION_LOST: 'ERR_TURN_ALLOCATION_LOST',
  /** `maxPermissions` peer IPs already have permissions. */
  TOO_MANY_PERMISSIONS: 'ERR_TURN_TOO_MANY_PERMISSIONS',
  /** `maxChannels` channels are already bound. */
  TOO_MANY_CHANNELS: 'ERR_TURN_TOO_MANY_CHANNELS',
  /** ParseError: a ChannelData message shorter than its header or its length field. RFC 8656 §12.4. */
  CHANNEL_TRUNCATED: 'ERR_TURN_CHANNEL_TRUNCATED',
  /** ParseError: a channel number outside 0x4000–0x4FFF. RFC 8656 §12. */
  CHANNEL_BAD_NUMBER: 'ERR_TURN_CHANNEL_BAD_NUMBER',
  /** ParseError: bytes after the data beyond the padding to 4 bytes. RFC 8656 §12.4. */
  CHANNEL_BAD_LENGTH: 'ERR_TURN_CHANNEL_BAD_LENGTH',
} as const;
/** One of the {@link TurnErrorCode} values. */
export type TurnErrorCodeValue = (typeof TurnErrorCode)[keyof typeof TurnErrorCode];

/** A TURN operation failed. `status` is the server's ERROR-CODE when it answered with one. */
export class TurnError extends PortholeError {
  /** The ERROR-CODE number of the server's error response (e.g. 403, 437, 486), if any. */
  readonly status: number | undefined;

  constructor(code: TurnErrorCodeValue, message: string, status?: number, options?: ErrorOptions) {
    super(code, message, options);
    this.status = status;
  }
}
