export type {
  CertificateInput,
  CertificateKeyType,
  DtlsCertificate,
  GenerateCertificateOptions,
  PeerVerification,
} from './certificate.ts';
export { certificateFingerprint, certificatePem, generateCertificate } from './certificate.ts';
export type { AeadKind, CipherSuite, KeyExchangeKind } from './cipher-suites.ts';
export { CIPHER_SUITES } from './cipher-suites.ts';
export type { ClientAuth } from './config.ts';
export type { DtlsConnectionStats, DtlsConnectOptions } from './connection.ts';
export { DtlsConnection } from './connection.ts';
export type { SrtpProfileValue } from './constants.ts';
export { AlertDescription, SrtpProfile } from './constants.ts';
export type {
  DtlsHandshakeMessage,
  DtlsHelloVerifyMessage,
  DtlsSessionClosedMessage,
} from './diagnostics.ts';
export { DtlsDiagnostics } from './diagnostics.ts';
export type { DtlsErrorCodeType, DtlsErrorCodeValue } from './errors.ts';
export { DtlsError, DtlsErrorCode } from './errors.ts';
export type { DtlsHelloVerdict, DtlsHelloVerifierOptions } from './hello-verifier.ts';
export { DtlsHelloVerifier } from './hello-verifier.ts';
export type { DtlsLinkAcceptOptions, DtlsLinkConnectOptions } from './link.ts';
export { connectDtlsLink, DtlsLinkAcceptor } from './link.ts';
export type {
  DtlsClientRoleOptions,
  DtlsCommonOptions,
  DtlsServerRoleOptions,
  GroupName,
} from './options.ts';
export type { DtlsServerOptions, DtlsServerStats } from './server.ts';
export { DtlsServer } from './server.ts';
export type { SessionState } from './session.ts';
