/**
 * Brokered hole punching: {@link Broker} (the tracker's punching role), {@link PunchPeer} →
 * {@link PunchLink}, their sans-I/O cores ({@link BrokerCore}, {@link BrokerClientCore},
 * {@link AgentCore}), port prediction ({@link planPrediction}) and the TURN relay provider.
 * See docs/punch.md.
 * @module
 */

export type { AgentAction, AgentStats, PathKind } from './agent-core.ts';
export { AgentCore, MAX_REMOTE_CANDIDATES, PUNCH_CLOSE_COPIES } from './agent-core.ts';
export type { AgentCoreOptions, PrivateCandidatePolicy, PunchTuning } from './agent-options.ts';
export {
  DEFAULT_KEEPALIVE_TRIES,
  DEFAULT_LINK_KEEPALIVE_MS,
  DEFAULT_MAX_SILENT_PROBES,
  DEFAULT_PUNCH_PACE_MS,
  DEFAULT_PUNCH_RECHECK_MS,
  DEFAULT_PUNCH_TIMEOUT_MS,
} from './agent-options.ts';
export type { BrokerListenOptions, BrokerOptions } from './broker.ts';
export { Broker } from './broker.ts';
export type {
  BrokerClientCoreOptions,
  BrokerClientEvent,
  BrokerClientStats,
  Introduction,
} from './broker-client-core.ts';
export { BrokerClientCore, DEFAULT_BROKER_KEEPALIVE_MS } from './broker-client-core.ts';
export type {
  BrokerAuthenticator,
  BrokerCoreOptions,
  BrokerPeerInfo,
  BrokerStats,
  ExternalBrokerDirectory,
  Transmit,
} from './broker-core.ts';
export {
  BrokerCore,
  DEFAULT_BROKER_MAX_PEERS,
  DEFAULT_BROKER_MAX_PENDING,
  DEFAULT_PEER_TIMEOUT_MS,
} from './broker-core.ts';
export type { BrokerFrame, BrokerMessageType, BrokerStatusType, LinkRoleType } from './broker-wire.ts';
export {
  BROKER_WIRE_VERSION,
  BrokerMessage,
  BrokerStatus,
  decodeBrokerFrame,
  encodeBrokerFrame,
  isPeerId,
  LinkRole,
  MAX_PEER_ID_BYTES,
  MAX_TOKEN_BYTES,
  PUNCH_SECRET_BYTES,
  PUNCH_WIRE_VERSION,
} from './broker-wire.ts';
export type { Candidate, CandidateKindType } from './candidates.ts';
export { CandidateKind, candidatePreference, endpointKey } from './candidates.ts';
export type {
  PunchBrokerIntroductionMessage,
  PunchBrokerRegistrationMessage,
  PunchFailedMessage,
  PunchIntroducedMessage,
  PunchPathChangedMessage,
  PunchPathKind,
  PunchRegisteredMessage,
} from './diagnostics.ts';
export { PunchDiagnostics } from './diagnostics.ts';
export type { PunchEncryptionOptions } from './encrypt.ts';
export { encryptLink } from './encrypt.ts';
export type { PunchErrorCodeValue } from './error-codes.ts';
export { PunchErrorCode } from './error-codes.ts';
export { PunchFailedError } from './errors.ts';
export { FINGERPRINT_BYTES, fingerprintDigest, formatFingerprint } from './fingerprint.ts';
export type { PunchLinkCloseReason, PunchLinkEvents, RelayChannel, RelayProvider } from './link.ts';
export { DEFAULT_LINK_QUEUE, DEFAULT_RELAY_RETRY_DIRECT_MS, PunchLink } from './link.ts';
export type { PunchLinkStats } from './link-stats.ts';
export type { DialPeerOptions, PunchPeerOptions } from './peer.ts';
export {
  DEFAULT_INTRODUCTION_TIMEOUT_MS,
  DEFAULT_MAX_UNACCEPTED,
  DEFAULT_SYMMETRIC_PAIR_TIMEOUT_MS,
  dialPeer,
  MAX_PENDING_DIALS,
  PunchPeer,
} from './peer.ts';
export type { PredictionOptions, PredictionPlan, PredictionPortRange } from './prediction.ts';
export {
  DEFAULT_PREDICTION_FALLBACK_MS,
  DEFAULT_PREDICTION_PACE_MS,
  DEFAULT_PREDICTION_PORT_RANGE,
  DEFAULT_PREDICTION_PROBES,
  DEFAULT_PREDICTION_SOCKETS,
  planPrediction,
  predictionSuccessProbability,
  RandomPortSampler,
} from './prediction.ts';
export type { BrokerRetransmitOptions } from './retransmit.ts';
export type { PunchPortPool } from './sockets.ts';
export type { TurnRelayOptions, TurnRelayStats } from './turn-relay.ts';
export { DEFAULT_MAX_RELAY_CHANNELS, TurnRelayProvider } from './turn-relay.ts';
export type { PunchCheck, PunchClose, PunchFrame } from './wire.ts';
export {
  decodePunch,
  encodePunch,
  encodePunchClose,
  encodePunchDataHeader,
  PUNCH_CLOSE_BYTES,
  PUNCH_DATA_HEADER_BYTES,
  PUNCH_MAC_BYTES,
  PunchFlag,
  PunchMessage,
  verifyPunch,
} from './wire.ts';
