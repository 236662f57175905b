import { baseNatType, type NatType } from './topology.ts';

/** Interface names inside a NAT namespace. */
export const NAT_WAN_IF = 'wan';
export const NAT_LAN_IF = 'lan';

/** Lifetime of the learned mappings and permissions of the fc and ar rulesets, in seconds. */
export const NAT_TABLE_TIMEOUT_S = 300;

/** Name of the nftables table every lab ruleset lives in. */
export const NAT_TABLE = 'nl';

/**
 * Full-cone DNAT: outbound UDP records external port -> internal ip.port (learned from conntrack
 * after SNAT); inbound UDP to a recorded external port is DNATed back, whoever sends it.
 */
const FULL_CONE_MAP = `  map fcmap { type inet_service : ipv4_addr . inet_service; flags dynamic,timeout; timeout ${NAT_TABLE_TIMEOUT_S}s; }`;
const FULL_CONE_PRE = `  chain pre { type nat hook prerouting priority dstnat; policy accept;
    iifname "${NAT_WAN_IF}" meta l4proto udp dnat ip to udp dport map @fcmap
  }`;
const MASQUERADE = (
  random: boolean,
): string => `  chain post { type nat hook postrouting priority srcnat; policy accept;
    oifname "${NAT_WAN_IF}" masquerade${random ? ' random' : ''}
  }`;
const FULL_CONE_LEARN = `  chain learn { type filter hook postrouting priority srcnat + 10; policy accept;
    oifname "${NAT_WAN_IF}" meta l4proto udp ct direction original update @fcmap { ct reply proto-dst : ct original ip saddr . ct original proto-src }
  }`;
/** Inbound UDP to the NAT itself is dropped silently (no ICMP port unreachable). */
const INPUT_DROP = `  chain input_f { type filter hook input priority filter; policy accept;
    iifname "${NAT_WAN_IF}" meta l4proto udp drop
  }`;

/**
 * The nftables ruleset of one NAT type (loaded with `nft -f -` inside the NAT namespace).
 * Chains are not named `fwd` or `in`: both are nft keywords. The address-restricted permission
 * set is keyed on the internal endpoint (remote ip . internal ip . internal port), so one
 * internal socket's traffic never opens the filter of another (RFC 4787 §5).
 */
export function natRuleset(type: NatType): string {
  switch (baseNatType(type)) {
    case 'fc':
      return `# NAT1 full cone: EIM + endpoint-independent filtering.
table ip ${NAT_TABLE} {
${FULL_CONE_MAP}
${FULL_CONE_PRE}
${MASQUERADE(false)}
${FULL_CONE_LEARN}
  chain forward_f { type filter hook forward priority filter; policy drop;
    iifname "${NAT_LAN_IF}" oifname "${NAT_WAN_IF}" accept
    iifname "${NAT_WAN_IF}" ct state established,related accept
    iifname "${NAT_WAN_IF}" oifname "${NAT_LAN_IF}" ct status dnat accept
  }
${INPUT_DROP}
}
`;
    case 'ar':
      return `# NAT2 address-restricted cone: EIM, inbound only from a remote IP the internal endpoint sent to.
table ip ${NAT_TABLE} {
${FULL_CONE_MAP}
  set contacted { type ipv4_addr . ipv4_addr . inet_service; flags dynamic,timeout; timeout ${NAT_TABLE_TIMEOUT_S}s; }
${FULL_CONE_PRE}
${MASQUERADE(false)}
${FULL_CONE_LEARN}
  chain forward_f { type filter hook forward priority filter; policy drop;
    iifname "${NAT_LAN_IF}" oifname "${NAT_WAN_IF}" meta l4proto udp update @contacted { ip daddr . ip saddr . udp sport }
    iifname "${NAT_LAN_IF}" oifname "${NAT_WAN_IF}" accept
    iifname "${NAT_WAN_IF}" ct state established,related accept
    iifname "${NAT_WAN_IF}" oifname "${NAT_LAN_IF}" meta l4proto udp ct status dnat ip saddr . ip daddr . udp dport @contacted accept
  }
${INPUT_DROP}
}
`;
    case 'pr':
      return `# NAT3 port-restricted cone: plain masquerade (EIM by port preservation, APDF by conntrack).
table ip ${NAT_TABLE} {
${MASQUERADE(false)}
  chain forward_f { type filter hook forward priority filter; policy drop;
    iifname "${NAT_LAN_IF}" oifname "${NAT_WAN_IF}" accept
    iifname "${NAT_WAN_IF}" ct state established,related accept
  }
${INPUT_DROP}
}
`;
    case 'sym':
      return `# NAT4 symmetric: masquerade random (a new random port per 5-tuple: EDM), APDF.
table ip ${NAT_TABLE} {
${MASQUERADE(true)}
  chain forward_f { type filter hook forward priority filter; policy drop;
    iifname "${NAT_LAN_IF}" oifname "${NAT_WAN_IF}" accept
    iifname "${NAT_WAN_IF}" ct state established,related accept
  }
${INPUT_DROP}
}
`;
  }
}

/** nft commands that forget every learned mapping and permission of a ruleset (fc, ar). */
export function natStateFlushCommands(type: NatType): string {
  switch (baseNatType(type)) {
    case 'fc':
      return `flush map ip ${NAT_TABLE} fcmap\n`;
    case 'ar':
      return `flush map ip ${NAT_TABLE} fcmap\nflush set ip ${NAT_TABLE} contacted\n`;
    default:
      return '';
  }
}
