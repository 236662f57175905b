/**
 * The words of NAT behaviour discovery: mapping and filtering behaviours (RFC 4787 §4.1, §5,
 * measured as in RFC 5780 §4.3, §4.4) and the classic NAT classes they map to.
 * @module
 */
import type { Endpoint } from '../internal/endpoint.ts';

/** A UDP transport address (IP address in text form, port). */
export type NatEndpoint = Endpoint;

/** How a NAT maps one internal endpoint to external ones. RFC 4787 §4.1, RFC 5780 §4.3. */
export const MappingBehavior = {
  /** One external endpoint for every destination (EIM). */
  ENDPOINT_INDEPENDENT: 'endpoint-independent',
  /** A new external endpoint per destination IP (ADM). */
  ADDRESS_DEPENDENT: 'address-dependent',
  /** A new external endpoint per destination IP and port (APDM). */
  ADDRESS_AND_PORT_DEPENDENT: 'address-and-port-dependent',
  /** Not measured: the server gave no OTHER-ADDRESS, or its alternate address did not answer. */
  UNKNOWN: 'unknown',
} as const;
/** One of the {@link MappingBehavior} values. */
export type MappingBehaviorType = (typeof MappingBehavior)[keyof typeof MappingBehavior];

/** Which inbound datagrams a mapping lets through. RFC 4787 §5, RFC 5780 §4.4. */
export const FilteringBehavior = {
  /** From anywhere (EIF). */
  ENDPOINT_INDEPENDENT: 'endpoint-independent',
  /** Only from IP addresses the internal endpoint has sent to (ADF). */
  ADDRESS_DEPENDENT: 'address-dependent',
  /** Only from IP address and port pairs the internal endpoint has sent to (APDF). */
  ADDRESS_AND_PORT_DEPENDENT: 'address-and-port-dependent',
  /** Not measured: the server gave no OTHER-ADDRESS, or the first request of the test failed. */
  UNKNOWN: 'unknown',
} as const;
/** One of the {@link FilteringBehavior} values. */
export type FilteringBehaviorType = (typeof FilteringBehavior)[keyof typeof FilteringBehavior];

/** The overall class of the path to the internet. */
export const NatClass = {
  /** No NAT and no filtering: the local address is the public one. */
  OPEN: 'open',
  /** No NAT, but a firewall filters inbound UDP (address- or port-dependent). */
  FIREWALLED: 'firewalled',
  /** NAT1: EIM + EIF. */
  FULL_CONE: 'full-cone',
  /** NAT2: EIM + ADF. */
  ADDRESS_RESTRICTED: 'address-restricted',
  /** NAT3: EIM + APDF. */
  PORT_RESTRICTED: 'port-restricted',
  /** NAT4: an endpoint-dependent mapping (ADM or APDM), whatever the filtering. */
  SYMMETRIC: 'symmetric',
  /** The server never answered: UDP to it is blocked (or the server is down). */
  BLOCKED: 'blocked',
  /** A NAT or firewall whose behaviour could not be measured (see `notes`). */
  UNKNOWN: 'unknown',
} as const;
/** One of the {@link NatClass} values. */
export type NatClassType = (typeof NatClass)[keyof typeof NatClass];

/** What the binding lifetime probe found (RFC 5780 §4.6), in seconds. */
export interface BindingLifetime {
  /** The longest idle time after which the binding was seen alive (0 when never). */
  readonly aliveS: number;
  /** The shortest idle time after which it was seen gone, or null when it outlived `maxS`. */
  readonly expiredS: number | null;
}

/** The result of {@link discoverNat}: machine-readable fields plus a sentence. */
export interface NatBehavior {
  readonly natClass: NatClassType;
  readonly mapping: MappingBehaviorType;
  readonly filtering: FilteringBehaviorType;
  /** Whether a datagram sent to our own mapped address came back to us; null when not tested. RFC 5780 §4.5. */
  readonly hairpinning: boolean | null;
  /** Whether the NAT kept the local port as the external port; null when unknown. */
  readonly portPreservation: boolean | null;
  /** Whether the mapped address differs from the local one (a NAT is present); null when blocked. */
  readonly natDetected: boolean | null;
  /** The server-reflexive address of the first socket (test I), or null when blocked. */
  readonly mappedAddress: NatEndpoint | null;
  /** The local port of the first socket. */
  readonly localPort: number;
  /** The server's primary address and its OTHER-ADDRESS (null when it sent none). */
  readonly server: { readonly primary: NatEndpoint; readonly other: NatEndpoint | null };
  /** The binding lifetime, when probed and supported; null otherwise. */
  readonly bindingLifetime: BindingLifetime | null;
  /** Why some field is unknown, in words (empty when everything was measured). */
  readonly notes: readonly string[];
  /** One clear sentence: see {@link describeNat}. */
  readonly sentence: string;
}
