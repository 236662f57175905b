/**
 * Errors of the ARQ layer. Every code is listed in docs/arq.md, "Errors".
 * @module
 */
import { PortholeError } from '../errors/index.ts';

/**
 * Specific codes of the ARQ layer: those of {@link ArqError} and of the ParseErrors of the segment
 * and control-frame decoders. A bad option (mtu, windows, conv, …) is `ERR_INVALID_OPTION`
 * (`ErrorCode.INVALID_OPTION` of porthole/errors) naming it.
 */
export const ArqErrorCode = {
  /** A segment reached the retransmission limit, or the peer was silent past `idleTimeoutMs`. */
  DEAD_LINK: 'ERR_ARQ_DEAD_LINK',
  /** A message-mode write needs 128 or more KCP fragments. */
  MESSAGE_TOO_LARGE: 'ERR_ARQ_MESSAGE_TOO_LARGE',
  /** The peer aborted the conversation (RST control frame). */
  RESET: 'ERR_ARQ_RESET',
  /** `open()` for a remote address, port and conv that already has a conversation. */
  CONVERSATION_EXISTS: 'ERR_ARQ_CONVERSATION_EXISTS',
  /** `open()` while the endpoint holds `maxConversations` conversations. */
  CONVERSATION_LIMIT: 'ERR_ARQ_CONVERSATION_LIMIT',
  /** ParseError: fewer than 24 bytes of KCP segment header at the offset. */
  TRUNCATED: 'ERR_ARQ_TRUNCATED',
  /** ParseError: a KCP `cmd` that is not 81–84. */
  BAD_COMMAND: 'ERR_ARQ_BAD_COMMAND',
  /** ParseError: a KCP `len` beyond the datagram. */
  BAD_LENGTH: 'ERR_ARQ_BAD_LENGTH',
  /** ParseError: an ARQ control frame shorter than 10 bytes. */
  CONTROL_TRUNCATED: 'ERR_ARQ_CONTROL_TRUNCATED',
  /** ParseError: byte 0 is not the ARQ control frame type (0x07). */
  CONTROL_FRAME: 'ERR_ARQ_CONTROL_FRAME',
  /** ParseError: a control type other than FIN, FIN-ACK or RST. */
  CONTROL_TYPE: 'ERR_ARQ_CONTROL_TYPE',
} as const;
/** One of the {@link ArqErrorCode} values. */
export type ArqErrorCodeValue = (typeof ArqErrorCode)[keyof typeof ArqErrorCode];
/** The codes an {@link ArqError} carries (the others are ParseError codes). */
export type ArqErrorCodeType = Exclude<
  ArqErrorCodeValue,
  | typeof ArqErrorCode.TRUNCATED
  | typeof ArqErrorCode.BAD_COMMAND
  | typeof ArqErrorCode.BAD_LENGTH
  | typeof ArqErrorCode.CONTROL_TRUNCATED
  | typeof ArqErrorCode.CONTROL_FRAME
  | typeof ArqErrorCode.CONTROL_TYPE
>;

/** A conversation failed or could not be opened; `code` is one of {@link ArqErrorCode}. */
export class ArqError extends PortholeError {
  declare readonly code: ArqErrorCodeType;

  constructor(code: ArqErrorCodeType, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
