import { formatEndpoint } from '../internal/endpoint.ts';
import {
  FilteringBehavior,
  type FilteringBehaviorType,
  MappingBehavior,
  type MappingBehaviorType,
  type NatBehavior,
  NatClass,
  type NatClassType,
} from './behavior.ts';

/**
 * The NAT class of measured behaviours (RFC 4787 terms mapped to the classic cone names):
 * any endpoint-dependent mapping is symmetric; with an endpoint-independent mapping the filtering
 * picks full cone (EIF), address-restricted (ADF) or port-restricted (APDF). Without a NAT the
 * path is open (EIF) or firewalled (ADF / APDF).
 */
export function classifyNat(
  natDetected: boolean | null,
  mapping: MappingBehaviorType,
  filtering: FilteringBehaviorType,
): NatClassType {
  if (natDetected === null) return NatClass.BLOCKED;
  if (!natDetected) {
    if (filtering === FilteringBehavior.ENDPOINT_INDEPENDENT) return NatClass.OPEN;
    if (filtering === FilteringBehavior.UNKNOWN) return NatClass.UNKNOWN;
    return NatClass.FIREWALLED;
  }
  if (
    mapping === MappingBehavior.ADDRESS_DEPENDENT ||
    mapping === MappingBehavior.ADDRESS_AND_PORT_DEPENDENT
  ) {
    return NatClass.SYMMETRIC;
  }
  if (mapping === MappingBehavior.UNKNOWN) return NatClass.UNKNOWN;
  switch (filtering) {
    case FilteringBehavior.ENDPOINT_INDEPENDENT:
      return NatClass.FULL_CONE;
    case FilteringBehavior.ADDRESS_DEPENDENT:
      return NatClass.ADDRESS_RESTRICTED;
    case FilteringBehavior.ADDRESS_AND_PORT_DEPENDENT:
      return NatClass.PORT_RESTRICTED;
    default:
      return NatClass.UNKNOWN;
  }
}

const CLASS_WORDS: Readonly<Record<NatClassType, string>> = {
  open: 'You are on the open internet: no NAT and no UDP filtering',
  firewalled: 'You have a public address but a firewall filters inbound UDP',
  'full-cone': 'You are behind a full-cone NAT (NAT1)',
  'address-restricted': 'You are behind an address-restricted cone NAT (NAT2)',
  'port-restricted': 'You are behind a port-restricted cone NAT (NAT3)',
  symmetric: 'You are behind a symmetric NAT (NAT4)',
  blocked: 'UDP is blocked: the STUN server never answered',
  unknown: 'You are behind a NAT or firewall whose behaviour could not be fully measured',
};

const BEHAVIOR_WORDS: Readonly<Record<MappingBehaviorType, string>> = {
  'endpoint-independent': 'endpoint-independent',
  'address-dependent': 'address-dependent',
  'address-and-port-dependent': 'address-and-port-dependent',
  unknown: 'unknown',
};

/**
 * One clear sentence for a discovery result, e.g. "You are behind a port-restricted cone NAT
 * (NAT3): mapping endpoint-independent, filtering address-and-port-dependent, public address
 * 198.51.100.7:40000 (port preserved), no hairpinning."
 */
export function describeNat(result: Omit<NatBehavior, 'sentence'>): string {
  const head = CLASS_WORDS[result.natClass];
  if (result.natClass === NatClass.BLOCKED) return `${head}.`;
  const parts = [
    `mapping ${BEHAVIOR_WORDS[result.mapping]}`,
    `filtering ${BEHAVIOR_WORDS[result.filtering]}`,
  ];
  if (result.mappedAddress !== null) {
    const preserved =
      result.portPreservation === null
        ? ''
        : result.portPreservation
          ? ' (port preserved)'
          : ' (port changed)';
    parts.push(`public address ${formatEndpoint(result.mappedAddress)}${preserved}`);
  }
  if (result.hairpinning !== null) parts.push(result.hairpinning ? 'hairpinning works' : 'no hairpinning');
  if (result.bindingLifetime !== null) {
    const { aliveS, expiredS } = result.bindingLifetime;
    parts.push(
      expiredS === null
        ? `bindings live at least ${aliveS} s idle`
        : `bindings expire after ${aliveS}–${expiredS} s idle`,
    );
  }
  return `${head}: ${parts.join(', ')}.`;
}

export { formatEndpoint };
