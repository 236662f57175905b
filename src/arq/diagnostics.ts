/**
 * The `node:diagnostics_channel` channels of the arq layer (`porthole:arq:<event>`, see
 * docs/diagnostics.md).
 * @module
 */
import type { RemoteInfo } from 'node:dgram';
import { diagnosticChannel } from '../internal/diagnostics-channel.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import type { ArqMode } from './stream.ts';

/** Channel names of the arq layer. */
export const ArqDiagnostics = {
  /** An `ArqEndpoint` opened or accepted a conversation. Message: {@link ArqConversationOpenedMessage}. */
  CONVERSATION_OPENED: 'porthole:arq:conversation-opened',
  /** A conversation ended and its endpoint forgot it. Message: {@link ArqConversationClosedMessage}. */
  CONVERSATION_CLOSED: 'porthole:arq:conversation-closed',
  /** A conversation's link was found dead (it is then closed with `ERR_ARQ_DEAD_LINK`). Message: {@link ArqConversationDeadMessage}. */
  CONVERSATION_DEAD: 'porthole:arq:conversation-dead',
  /** An endpoint dropped a datagram. Message: {@link ArqDatagramDroppedMessage}. */
  DATAGRAM_DROPPED: 'porthole:arq:datagram-dropped',
} as const;

/** Message of {@link ArqDiagnostics.CONVERSATION_OPENED}. */
export interface ArqConversationOpenedMessage {
  readonly conv: number;
  readonly remote: Endpoint;
  /** `local`: by `open()`; `remote`: accepted from the peer's first segment. */
  readonly initiator: 'local' | 'remote';
  readonly mode: ArqMode;
  /** Conversations open on the endpoint, this one included. */
  readonly conversations: number;
}

/**
 * Why a conversation closed: `finished` (both sides ended cleanly, FIN handshake done), `reset` (the
 * peer sent RST), `dead` (see {@link ArqDiagnostics.CONVERSATION_DEAD}), `destroyed` (destroyed locally,
 * by its user, an error, or `ArqEndpoint.close()`).
 */
export type ArqCloseReason = 'finished' | 'reset' | 'dead' | 'destroyed';

/** Message of {@link ArqDiagnostics.CONVERSATION_CLOSED}. */
export interface ArqConversationClosedMessage {
  readonly conv: number;
  readonly remote: Endpoint;
  readonly reason: ArqCloseReason;
  /** The `code` of the error the stream was destroyed with, if any. */
  readonly errorCode: string | undefined;
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** Segments retransmitted over the conversation's life. */
  readonly retransmits: number;
}

/** What made a link dead. */
export type ArqDeadCause = 'retransmissions' | 'silence' | 'fin-unacknowledged';

/** Message of {@link ArqDiagnostics.CONVERSATION_DEAD}. */
export interface ArqConversationDeadMessage {
  readonly conv: number;
  readonly remote: Endpoint;
  /**
   * `retransmissions`: a segment was sent `deadLinkTransmissions` times unacknowledged;
   * `silence`: nothing received for `idleTimeoutMs`; `fin-unacknowledged`: the FIN was retried
   * `deadLinkTransmissions` times.
   */
  readonly cause: ArqDeadCause;
}

/** Why an endpoint dropped a datagram (each has a counter in `ArqEndpointStats`). */
export type ArqDropReason =
  | 'short'
  | 'malformed'
  | 'refused'
  | 'unknown-conversation'
  | 'over-limit'
  | 'address-limit'
  | 'control';

/** Message of {@link ArqDiagnostics.DATAGRAM_DROPPED}. */
export interface ArqDatagramDroppedMessage {
  /**
   * `short`: under one KCP header; `malformed`: KCP rejected it (in part or whole); `refused`: the
   * accept policy refused a new conversation; `unknown-conversation`: a new conversation without
   * its first segment; `over-limit`: `maxConversations` reached; `address-limit`: its source IP
   * holds `maxConversationsPerAddress` accepted conversations; `control`: a malformed control
   * frame or one for an unknown conversation.
   */
  readonly reason: ArqDropReason;
  readonly from: Endpoint;
  /** Datagram length in bytes. */
  readonly size: number;
  /** The conversation id read from it (undefined when too short to carry one). */
  readonly conv: number | undefined;
}

export const conversationOpenedChannel = diagnosticChannel<ArqConversationOpenedMessage>(
  ArqDiagnostics.CONVERSATION_OPENED,
);
export const conversationClosedChannel = diagnosticChannel<ArqConversationClosedMessage>(
  ArqDiagnostics.CONVERSATION_CLOSED,
);
export const conversationDeadChannel = diagnosticChannel<ArqConversationDeadMessage>(
  ArqDiagnostics.CONVERSATION_DEAD,
);
export const datagramDroppedChannel = diagnosticChannel<ArqDatagramDroppedMessage>(
  ArqDiagnostics.DATAGRAM_DROPPED,
);

/** Publishes a drop; call only when `datagramDroppedChannel.hasSubscribers`. */
export function publishDrop(
  reason: ArqDropReason,
  data: Buffer,
  from: RemoteInfo,
  conv: number | undefined,
): void {
  datagramDroppedChannel.publish({
    reason,
    from: { address: from.address, port: from.port },
    size: data.length,
    conv,
  });
}
