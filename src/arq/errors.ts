/**
 * Errors of the ARQ layer. Every code is listed in docs/arq.md, "Errors".
 * @module
 */
import { PortholeError } from '../errors/index.ts';

/** Stable codes of {@link ArqError}. */
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
} as const;
/** One of the {@link ArqErrorCode} values. */
export type ArqErrorCodeType = (typeof ArqErrorCode)[keyof typeof ArqErrorCode];

/** A conversation failed or could not be opened; `code` is one of {@link ArqErrorCode}. */
export class ArqError extends PortholeError {
  declare readonly code: ArqErrorCodeType;

  constructor(code: ArqErrorCodeType, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
