/**
 * NAT behaviour discovery (RFC 5780 §4.3–§4.6): mapping, filtering, hairpinning, port
 * preservation and binding lifetime, classified as open / NAT1–4 / blocked. See docs/nat.md.
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
export type { NatErrorCodeValue } from './errors.ts';
export { NatErrorCode } from './errors.ts';
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
