/**
 * Errors of the DTLS layer. Every code is listed in docs/dtls.md, "Errors".
 * @module
 */
import { PortholeError } from '../errors/index.ts';

/**
 * Specific codes of the DTLS layer. A bad option is `ERR_INVALID_OPTION` naming it; a call in the
 * wrong state `ERR_INVALID_STATE`.
 */
export const DtlsErrorCode = {
  /** The handshake failed: the peer refused us or we refused the peer; `alert` names why. */
  HANDSHAKE_FAILED: 'ERR_DTLS_HANDSHAKE_FAILED',
  /** The peer's certificate did not match a pinned fingerprint, the CAs, or the verify callback. */
  CERTIFICATE_REJECTED: 'ERR_DTLS_CERTIFICATE_REJECTED',
  /** The handshake did not complete within `handshakeTimeoutMs`. */
  HANDSHAKE_TIMEOUT: 'ERR_DTLS_HANDSHAKE_TIMEOUT',
  /** The peer sent an authenticated fatal alert after the handshake. */
  PEER_ALERT: 'ERR_DTLS_PEER_ALERT',
  /** More records failed authentication than `maxBadRecords` allows. */
  TOO_MANY_BAD_RECORDS: 'ERR_DTLS_TOO_MANY_BAD_RECORDS',
  /** ParseError: a record header or length runs past the datagram. */
  BAD_RECORD: 'ERR_DTLS_BAD_RECORD',
  /** ParseError: a handshake message or one of its fields is malformed. */
  BAD_HANDSHAKE: 'ERR_DTLS_BAD_HANDSHAKE',
} as const;
/** One of the {@link DtlsErrorCode} values. */
export type DtlsErrorCodeValue = (typeof DtlsErrorCode)[keyof typeof DtlsErrorCode];
/** The codes a {@link DtlsError} carries (the others are ParseError codes). */
export type DtlsErrorCodeType = Exclude<
  DtlsErrorCodeValue,
  typeof DtlsErrorCode.BAD_RECORD | typeof DtlsErrorCode.BAD_HANDSHAKE
>;

/** A DTLS session failed; `alert` is the TLS alert description sent or received, when one was. */
export class DtlsError extends PortholeError {
  declare readonly code: DtlsErrorCodeType;
  /** The alert description (RFC 5246 §7.2) sent or received, if any. */
  readonly alert: number | undefined;

  constructor(code: DtlsErrorCodeType, message: string, alert?: number, options?: ErrorOptions) {
    super(code, message, options);
    this.alert = alert;
  }
}
