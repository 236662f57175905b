// Parsers of the third-party NAT discovery tools the lab tests compare porthole with:
// coturn's turnutils_natdiscovery and stun-client's `stun`. Not a test file itself.
import type { FilteringBehaviorType, MappingBehaviorType, NatClassType } from '../../src/nat/index.ts';

/** What `turnutils_natdiscovery -m -f` concluded. */
export interface NatDiscoveryVerdict {
  readonly mapping: MappingBehaviorType;
  readonly filtering: FilteringBehaviorType;
}

function behaviour(words: string | undefined): MappingBehaviorType {
  switch (words?.trim().toLowerCase()) {
    case 'endpoint independent':
      return 'endpoint-independent';
    case 'address dependent':
      return 'address-dependent';
    case 'address and port dependent':
      return 'address-and-port-dependent';
    default:
      return 'unknown';
  }
}

/** Reads the "NAT with … Mapping!" / "NAT with … Filtering!" verdicts of turnutils_natdiscovery. */
export function parseNatDiscovery(stdout: string): NatDiscoveryVerdict {
  const mapping = /NAT with (.+?) Mapping!/.exec(stdout)?.[1];
  const filtering = /NAT with (.+?) Filtering!/.exec(stdout)?.[1];
  return { mapping: behaviour(mapping), filtering: behaviour(filtering) };
}

/** What stun-client's `stun` printed on its "Primary:" line, and the class it means. */
export interface StunClientVerdict {
  readonly text: string;
  readonly natClass: NatClassType;
}

/**
 * Reads stun-client's "Primary: …" line (its exit status encodes the same verdict). The RFC 3489
 * words map onto porthole's classes: "Independent Mapping, Independent Filter" is full cone,
 * "… Address Dependent Filter" address-restricted, "… Port Dependent Filter" port-restricted,
 * "Dependent Mapping" symmetric.
 */
export function parseStunClient(stdout: string): StunClientVerdict {
  const text = /^Primary:\s*(.*?)\s*$/m.exec(stdout)?.[1] ?? '';
  let natClass: NatClassType = 'unknown';
  if (/^Open\b/.test(text)) natClass = 'open';
  else if (/Blocked/i.test(text)) natClass = 'blocked';
  else if (/firewall/i.test(text)) natClass = 'firewalled';
  else if (/^Independent Mapping, Independent Filter/.test(text)) natClass = 'full-cone';
  else if (/^Independent Mapping, Address Dependent Filter/.test(text)) natClass = 'address-restricted';
  else if (/^Independent Mapping, Port Dependent Filter/.test(text)) natClass = 'port-restricted';
  else if (/^Dependent Mapping/.test(text)) natClass = 'symmetric';
  return { text, natClass };
}
