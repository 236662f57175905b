/**
 * The `node:diagnostics_channel` channels of the dtls layer (`porthole:dtls:<event>`, see
 * docs/diagnostics.md).
 * @module
 */
import { diagnosticChannel } from '../internal/diagnostics-channel.ts';
import type { Endpoint } from '../internal/endpoint.ts';

/** Channel names of the dtls layer. */
export const DtlsDiagnostics = {
  /** A handshake completed. Message: {@link DtlsHandshakeMessage}. */
  HANDSHAKE: 'porthole:dtls:handshake',
  /** A session ended (closed or failed). Message: {@link DtlsSessionClosedMessage}. */
  SESSION_CLOSED: 'porthole:dtls:session-closed',
  /** A server sent a HelloVerifyRequest (stateless, nothing kept). Message: {@link DtlsHelloVerifyMessage}. */
  HELLO_VERIFY: 'porthole:dtls:hello-verify',
} as const;

/** Message of {@link DtlsDiagnostics.HANDSHAKE}. */
export interface DtlsHandshakeMessage {
  readonly role: 'client' | 'server';
  readonly remote: Endpoint;
  readonly cipherSuite: string;
  readonly handshakeMs: number;
  readonly retransmissions: number;
}

/** Message of {@link DtlsDiagnostics.SESSION_CLOSED}. */
export interface DtlsSessionClosedMessage {
  readonly role: 'client' | 'server';
  readonly remote: Endpoint;
  /** The error's code when it failed. */
  readonly errorCode: string | undefined;
  /** The alert description sent or received, when one was. */
  readonly alert: number | undefined;
}

/** Message of {@link DtlsDiagnostics.HELLO_VERIFY}. */
export interface DtlsHelloVerifyMessage {
  readonly remote: Endpoint;
  readonly bytes: number;
}

export const handshakeChannel = diagnosticChannel<DtlsHandshakeMessage>(DtlsDiagnostics.HANDSHAKE);
export const sessionClosedChannel = diagnosticChannel<DtlsSessionClosedMessage>(
  DtlsDiagnostics.SESSION_CLOSED,
);
export const helloVerifyChannel = diagnosticChannel<DtlsHelloVerifyMessage>(DtlsDiagnostics.HELLO_VERIFY);
