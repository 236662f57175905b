/**
 * NAT behaviour discovery (RFC 5780 §4.3–§4.6): mapping, filtering, hairpinning, port
 * preservation and binding lifetime, classified as open / NAT1–4 / blocked.
 * @module
 */
export type {
  BindingLifetime,
  FilteringBehaviorType,
  MappingBehaviorType,
  NatBehavior,
  NatClassType,
  NatEndpoint,
} from './behavior.ts';
export { FilteringBehavior, MappingBehavior, NatClass } from './behavior.ts';
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
export type { TurnAllocationStats, TurnCounters } from './turn-stats.ts';
