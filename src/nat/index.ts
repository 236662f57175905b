/**
 * NAT behaviour discovery (RFC 5780 §4.3–§4.6): mapping, filtering, hairpinning, port
 * preservation and binding lifetime, classified as open / NAT1–4 / blocked.
 *
 * Hole punching: {@link Broker} (the tracker's punching role), {@link PunchPeer} / {@link connect}
 * → {@link PunchLink}, their sans-I/O cores ({@link BrokerCore}, {@link BrokerClientCore},
 * {@link AgentCore}) and port prediction ({@link planPrediction}). See docs/nat.md.
 * @module
 */

export type { AgentAction, AgentCoreOptions, AgentStats, PathKind } from './agent-core.ts';
export {
  AgentCore,
  DEFAULT_KEEPALIVE_TRIES,
  DEFAULT_LINK_KEEPALIVE_MS,
  DEFAULT_PUNCH_PACE_MS,
  DEFAULT_PUNCH_RECHECK_MS,
  DEFAULT_PUNCH_TIMEOUT_MS,
  MAX_REMOTE_CANDIDATES,
} from './agent-core.ts';
export type {
  BindingLifetime,
  FilteringBehaviorType,
  MappingBehaviorType,
  NatBehavior,
  NatClassType,
  NatEndpoint,
} from './behavior.ts';
export { FilteringBehavior, MappingBehavior, NatClass } from './behavior.ts';
export type { BrokerListenOptions } from './broker.ts';
export { Broker } from './broker.ts';
export type {
  BrokerClientCoreOptions,
  BrokerClientEvent,
  BrokerClientStats,
  Introduction,
} from './broker-client-core.ts';
export { BrokerClientCore, DEFAULT_BROKER_KEEPALIVE_MS } from './broker-client-core.ts';
export type { BrokerAuthenticator, BrokerCoreOptions, BrokerStats, Transmit } from './broker-core.ts';
export {
  BrokerCore,
  DEFAULT_BROKER_MAX_PEERS,
  DEFAULT_BROKER_MAX_PENDING,
  DEFAULT_PEER_TIMEOUT_MS,
} from './broker-core.ts';
export type { BrokerFrame, BrokerMessageType, BrokerStatusType, LinkRoleType } from './broker-wire.ts';
export {
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
export { classifyNat, describeNat, formatEndpoint } from './classify.ts';
export type { DetectNatOptions } from './detect.ts';
export { DEFAULT_STUN_PORT, detectNat, parseServerAddress } from './detect.ts';
export type { DiscoverNatOptions, LifetimeProbeOptions } from './discover.ts';
export { discoverNat } from './discover.ts';
export type { ProbeBindingLifetimeOptions } from './lifetime.ts';
export {
  DEFAULT_LIFETIME_MAX_S,
  DEFAULT_LIFETIME_PRECISION_S,
  MAX_LIFETIME_TRIALS,
  probeBindingLifetime,
} from './lifetime.ts';
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
export { PunchFailedError } from './punch-errors.ts';
export type { PunchLinkStats, RelayChannel, RelayProvider } from './punch-link.ts';
export { DEFAULT_LINK_QUEUE, DEFAULT_RELAY_RETRY_DIRECT_MS, PunchLink } from './punch-link.ts';
export type { ConnectOptions, PunchPeerOptions } from './punch-peer.ts';
export {
  connect,
  DEFAULT_INTRODUCTION_TIMEOUT_MS,
  DEFAULT_MAX_UNACCEPTED,
  DEFAULT_SYMMETRIC_PAIR_TIMEOUT_MS,
  PunchPeer,
} from './punch-peer.ts';
export type { RetransmitOptions } from './punch-retransmit.ts';
export type { PunchPortPool } from './punch-sockets.ts';
export type { PunchCheck, PunchFrame } from './punch-wire.ts';
export {
  decodePunch,
  encodePunch,
  encodePunchDataHeader,
  PUNCH_DATA_HEADER_BYTES,
  PUNCH_MAC_BYTES,
  PunchFlag,
  PunchMessage,
  verifyPunch,
} from './punch-wire.ts';
export type { StunDiscoveryTransportOptions, StunDiscoveryTransportStats } from './stun-transport.ts';
export {
  DEFAULT_DISCOVERY_RETRANSMIT,
  DEFAULT_MAX_DISCOVERY_SOCKETS,
  StunDiscoveryTransport,
} from './stun-transport.ts';
export type { BindingProbe, BindingResult, DiscoveryTransport } from './transport.ts';
// TURN client (RFC 8656): attributes, ChannelData codec, sans-I/O allocation, driver.
export { TurnAllocation } from './turn-allocation.ts';
export {
  getChannelNumber,
  getData,
  getEvenPort,
  getLifetime,
  getRequestedAddressFamily,
  getRequestedTransport,
  getReservationToken,
  getXorPeerAddress,
  getXorRelayedAddress,
  hasDontFragment,
  makeChannelNumber,
  makeData,
  makeDontFragment,
  makeEvenPort,
  makeLifetime,
  makeRequestedAddressFamily,
  makeRequestedTransport,
  makeReservationToken,
  makeXorPeerAddress,
  makeXorRelayedAddress,
} from './turn-attributes.ts';
export type { ChannelData } from './turn-channel-data.ts';
export {
  CHANNEL_DATA_HEADER_BYTES,
  CHANNEL_DATA_MAX_BYTES,
  checkChannelData,
  decodeChannelData,
  encodeChannelData,
  isChannelData,
} from './turn-channel-data.ts';
export type { TurnClientOptions, TurnClientStats, TurnDatagram } from './turn-client.ts';
export { DEFAULT_TURN_QUEUE, TurnClient } from './turn-client.ts';
export {
  DEFAULT_CHANNEL_REFRESH_MS,
  DEFAULT_MAX_CHANNELS,
  DEFAULT_MAX_PERMISSIONS,
  DEFAULT_PERMISSION_REFRESH_MS,
  DEFAULT_REFRESH_RATIO,
  MAX_STALE_NONCE_RETRIES,
  TURN_CHANNEL_LIFETIME_MS,
  TURN_CHANNEL_MAX,
  TURN_CHANNEL_MIN,
  TURN_DEFAULT_LIFETIME_S,
  TURN_PERMISSION_LIFETIME_MS,
  TURN_TRANSPORT_UDP,
  TurnAttr,
  TurnErrorCode,
  TurnMethod,
} from './turn-constants.ts';
export type { TurnErrorKindType } from './turn-errors.ts';
export { TurnError, TurnErrorKind } from './turn-errors.ts';
export type {
  TurnAllocationOptions,
  TurnEvent,
  TurnPeer,
  TurnPollResult,
  TurnStateType,
} from './turn-options.ts';
export { DEFAULT_CLOSE_RETRANSMIT } from './turn-options.ts';
export type { TurnRelayOptions, TurnRelayStats } from './turn-relay.ts';
export { DEFAULT_MAX_RELAY_CHANNELS, TurnRelayProvider } from './turn-relay.ts';
export type { TurnAllocationStats, TurnCounters } from './turn-stats.ts';
