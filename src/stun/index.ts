/**
 * STUN (RFC 8489, RFC 5389 compatible) with RFC 5780 NAT behaviour discovery: codec, client, server.
 *
 * - Codec: {@link decodeStun} (total: a message or a ParseError), {@link isStunPacket} (never throws),
 *   {@link encodeStun} (sizes once; MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT by option). Attributes
 *   are built with `makeXxx(...)` and read with `getXxx(message)` (typed; ParseError when malformed).
 * - Credentials: {@link shortTermKey}, {@link longTermKey}, {@link verifyIntegrity}, {@link verifyFingerprint}.
 * - Client: {@link StunClient} on one socket or a Demux: `request(message, { to, signal })`,
 *   `binding({ to, changeIp, changePort, responsePort, paddingBytes })` → mapped address, OTHER-ADDRESS,
 *   RESPONSE-ORIGIN and the real source of the response. Its sans-I/O core is {@link StunTransactions}.
 * - Server: {@link StunServer} (`StunServer.listen({ listen, alternate? })`, or over given sockets),
 *   driving the sans-I/O {@link StunServerCore}. It also answers RFC 3489 clients (`rfc3489`, default
 *   on), decoded with `decodeStun(data, { allowClassic: true })` (`classic: true`, 16-byte ID).
 *
 * See docs/stun.md.
 * @module
 */
export type { StunAddress } from './address.ts';
export {
  ADDRESS_FAMILY_IPV4,
  ADDRESS_FAMILY_IPV6,
  decodeAddressAttribute,
  getAlternateServer,
  getChangedAddress,
  getMappedAddress,
  getOtherAddress,
  getResponseOrigin,
  getSourceAddress,
  makeAddress,
} from './address.ts';
export type { BindingInfo, BindingRequestOptions } from './binding.ts';
export { makeBindingRequest, readBindingInfo } from './binding.ts';
export type { ChangeRequest } from './change-request.ts';
export { getChangeRequest, makeChangeRequest } from './change-request.ts';
export type {
  StunBindingResponse,
  StunClientOptions,
  StunClientStats,
  StunRequestOptions,
  StunResponse,
} from './client.ts';
export { StunClient } from './client.ts';
export type { StunClassType } from './constants.ts';
export {
  classOfType,
  encodeMessageType,
  isComprehensionRequired,
  methodOfType,
  STUN_ATTRIBUTE_HEADER_BYTES,
  STUN_CLASSIC_TRANSACTION_ID_BYTES,
  STUN_FINGERPRINT_XOR,
  STUN_HEADER_BYTES,
  STUN_MAGIC_COOKIE,
  STUN_REASON_PHRASES,
  STUN_TRANSACTION_ID_BYTES,
  StunAttr,
  StunClass,
  StunMethod,
  StunStatusCode,
} from './constants.ts';
export type { LongTermCredentials } from './credentials.ts';
export {
  computeUserhash,
  getUserhash,
  longTermKey,
  makeUserhash,
  saslPrep,
  shortTermKey,
} from './credentials.ts';
export type {
  StunRequestAnsweredMessage,
  StunRequestDroppedMessage,
  StunRequestDropReason,
  StunResponseDroppedMessage,
  StunResponseDropReason,
  StunTransactionCompletedMessage,
  StunTransactionEndedMessage,
  StunTransactionStartedMessage,
} from './diagnostics.ts';
export { StunDiagnostics } from './diagnostics.ts';
export type { EncodeStunOptions, StunAttributeInit, StunMessageInit } from './encode.ts';
export { encodeStun } from './encode.ts';
export type { StunErrorValue } from './error-code.ts';
export { getErrorCode, makeErrorCode } from './error-code.ts';
export type { StunAuthErrorCode, StunErrorCodeValue } from './errors.ts';
export { StunAuthError, StunErrorCode } from './errors.ts';
export { computeFingerprint, hasValidFingerprint, verifyFingerprint } from './fingerprint.ts';
export type { IntegrityAlgorithm } from './integrity.ts';
export { hasValidIntegrity, verifyIntegrity } from './integrity.ts';
export { formatIp, parseIp } from './ip.ts';
export type { DecodeStunOptions, IsStunPacketOptions, StunAttribute, StunMessage } from './message.ts';
export {
  DEFAULT_MAX_ATTRIBUTES,
  decodeStun,
  getAttribute,
  isStunPacket,
  sameTransactionId,
} from './message.ts';
export { getPaddingLength, makePadding } from './padding.ts';
export type { PasswordAlgorithmEntry } from './password-algorithm.ts';
export {
  getPasswordAlgorithm,
  getPasswordAlgorithms,
  makePasswordAlgorithm,
  makePasswordAlgorithms,
  PasswordAlgorithm,
} from './password-algorithm.ts';
export type { RateLimitOptions } from './rate-limit.ts';
export {
  DEFAULT_BURST,
  DEFAULT_MAX_SOURCES,
  DEFAULT_RATE_PER_SECOND,
  SourceRateLimiter,
} from './rate-limit.ts';
export { getResponsePort, makeResponsePort } from './response-port.ts';
export type {
  StunListenAddress,
  StunServerDriverStats,
  StunServerListenOptions,
  StunServerSocketsOptions,
} from './server.ts';
export { RFC5780_BIND_ATTEMPTS, STUN_DEFAULT_PORT, StunServer } from './server.ts';
export type {
  StunLocalAddress,
  StunServerCoreOptions,
  StunServerReply,
  StunServerStats,
} from './server-core.ts';
export { DEFAULT_AMPLIFICATION_FACTOR, StunServerCore } from './server-core.ts';
export {
  decodeText,
  getAlternateDomain,
  getNonce,
  getRealm,
  getSoftware,
  getUsername,
  MAX_TEXT_BYTES,
  MAX_USERNAME_BYTES,
  makeAlternateDomain,
  makeNonce,
  makeRealm,
  makeSoftware,
  makeText,
  makeUsername,
} from './text.ts';
export type {
  StunDestination,
  StunRetransmitOptions,
  StunTransactionEvent,
  StunTransactionStats,
  StunTransactionsOptions,
} from './transactions.ts';
export {
  DEFAULT_MAX_TRANSACTIONS,
  DEFAULT_RC,
  DEFAULT_RM,
  DEFAULT_RTO_MS,
  StunTransactions,
} from './transactions.ts';
export { getUnknownAttributes, makeUnknownAttributes } from './unknown-attributes.ts';
export { getXorAddress, getXorMappedAddress, makeXorAddress, makeXorMappedAddress } from './xor-address.ts';
