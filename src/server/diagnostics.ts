/**
 * The `node:diagnostics_channel` channels of the server layer (`porthole:server:<event>`, see
 * docs/diagnostics.md).
 * @module
 */
import type { RemoteInfo } from 'node:dgram';
import { diagnosticChannel } from '../internal/diagnostics-channel.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import type { DropReasonValue } from './stats.ts';

/** Channel names of the server layer. */
export const ServerDiagnostics = {
  /** A {@link UdpServer} made a session for a new source. Message: {@link ServerSessionOpenedMessage}. */
  SESSION_OPENED: 'porthole:server:session-opened',
  /** A session closed. Message: {@link ServerSessionClosedMessage}. */
  SESSION_CLOSED: 'porthole:server:session-closed',
  /** A server dropped a datagram. Message: {@link ServerDatagramDroppedMessage}. */
  DATAGRAM_DROPPED: 'porthole:server:datagram-dropped',
  /** `UdpServer({ dtls })`: a session's handshake completed or failed. Message: {@link ServerDtlsHandshakeMessage}. */
  DTLS_HANDSHAKE: 'porthole:server:dtls-handshake',
} as const;

/** Why a session closed: `closed` by its user, `idle` for `idleTimeoutMs`, `server-closing` by `UdpServer.close()`. */
export type ServerSessionCloseReason =
  | 'closed'
  | 'idle'
  | 'server-closing'
  | 'dtls-failed'
  | 'dtls-ended'
  | 'backlog-full';

/** Message of {@link ServerDiagnostics.DTLS_HANDSHAKE}. */
export interface ServerDtlsHandshakeMessage {
  readonly remote: Endpoint;
  readonly localPort: number;
  /** Whether it completed. */
  readonly ok: boolean;
  /** The negotiated suite (when ok). */
  readonly cipherSuite: string | undefined;
  /** The error's code (when not ok), e.g. `ERR_DTLS_HANDSHAKE_FAILED`. */
  readonly errorCode: string | undefined;
}

/** Message of {@link ServerDiagnostics.SESSION_OPENED}. */
export interface ServerSessionOpenedMessage {
  readonly remote: Endpoint;
  /** The server's listening port. */
  readonly localPort: number;
  /** Sessions alive, this one included. */
  readonly sessions: number;
}

/** Message of {@link ServerDiagnostics.SESSION_CLOSED}. */
export interface ServerSessionClosedMessage {
  readonly remote: Endpoint;
  readonly localPort: number;
  readonly reason: ServerSessionCloseReason;
  /** Datagrams still queued, unread, at close (counted as `closedUnread` drops). */
  readonly unread: number;
  readonly datagramsIn: number;
  readonly datagramsOut: number;
}

/** Message of {@link ServerDiagnostics.DATAGRAM_DROPPED}. */
export interface ServerDatagramDroppedMessage {
  /** The {@link DropReason} it is counted under. Zero-length datagrams are the mux's (`porthole:mux:datagram-dropped`). */
  readonly reason: DropReasonValue;
  readonly from: Endpoint;
  /** Datagram length in bytes. */
  readonly size: number;
  readonly localPort: number;
}

export const sessionOpenedChannel = diagnosticChannel<ServerSessionOpenedMessage>(
  ServerDiagnostics.SESSION_OPENED,
);
export const sessionClosedChannel = diagnosticChannel<ServerSessionClosedMessage>(
  ServerDiagnostics.SESSION_CLOSED,
);
export const dtlsHandshakeChannel = diagnosticChannel<ServerDtlsHandshakeMessage>(
  ServerDiagnostics.DTLS_HANDSHAKE,
);
export const datagramDroppedChannel = diagnosticChannel<ServerDatagramDroppedMessage>(
  ServerDiagnostics.DATAGRAM_DROPPED,
);

/** Publishes a drop; call only when `datagramDroppedChannel.hasSubscribers`. */
export function publishDrop(
  reason: DropReasonValue,
  from: Pick<RemoteInfo, 'address' | 'port'>,
  size: number,
  localPort: number,
): void {
  datagramDroppedChannel.publish({
    reason,
    from: { address: from.address, port: from.port },
    size,
    localPort,
  });
}
