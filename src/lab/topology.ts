import { randomBytes } from 'node:crypto';
import { InvalidOptionError } from '../errors/index.ts';

/**
 * The NAT behaviours the lab can build, by short name. Index `i` fixes the addresses: the NAT's
 * WAN is 172.31.0.1i on the internet bridge, its LAN 10.0.i.1/24, its host 10.0.i.2.
 */
export const LabNatType = {
  /** NAT1 full cone: endpoint-independent mapping and filtering. */
  fc: { index: 1, title: 'NAT1 full cone' },
  /** NAT2 address-restricted cone: EIM, address-dependent filtering. */
  ar: { index: 2, title: 'NAT2 address-restricted cone' },
  /** NAT3 port-restricted cone: EIM, address-and-port-dependent filtering (plain masquerade). */
  pr: { index: 3, title: 'NAT3 port-restricted cone' },
  /** NAT4 symmetric: endpoint-dependent mapping (masquerade random), APDF. */
  sym: { index: 4, title: 'NAT4 symmetric' },
  /** A second full-cone NAT (same ruleset as `fc`), for fc ↔ fc tests. */
  fc2: { index: 5, title: 'NAT1 full cone (second)' },
  /** A second address-restricted NAT (same ruleset as `ar`). */
  ar2: { index: 6, title: 'NAT2 address-restricted cone (second)' },
  /** A second port-restricted NAT (same ruleset as `pr`). */
  pr2: { index: 7, title: 'NAT3 port-restricted cone (second)' },
  /** A second symmetric NAT (same ruleset as `sym`). */
  sym2: { index: 8, title: 'NAT4 symmetric (second)' },
} as const;

/** Short name of a lab NAT: `fc`, `ar`, `pr` or `sym`. */
export type NatType = keyof typeof LabNatType;

/** The four lab NAT behaviours, in NAT1…NAT4 order (the default of a lab). */
export const NAT_TYPES: readonly NatType[] = ['fc', 'ar', 'pr', 'sym'];

/** The behaviour a NAT type builds: `fc2` → `fc`, …; the four base types map to themselves. */
export function baseNatType(type: NatType): 'fc' | 'ar' | 'pr' | 'sym' {
  switch (type) {
    case 'fc2':
      return 'fc';
    case 'ar2':
      return 'ar';
    case 'pr2':
      return 'pr';
    case 'sym2':
      return 'sym';
    default:
      return type;
  }
}

/**
 * One namespace of a lab: `inet` (the internet bridge), `nat-<type>` (a NAT box), `h-<type>` (the
 * host behind it) or `h-open` (a host on the bridge with no NAT, when the lab has one).
 */
export type LabNode = 'inet' | 'h-open' | `nat-${NatType}` | `h-${NatType}`;

/** Addresses of the internet namespace. */
export const INTERNET_ADDRESSES = {
  /** First STUN address (RFC 5780 primary). */
  stunPrimary: '172.31.0.1',
  /** Second STUN address (RFC 5780 alternate). */
  stunAlternate: '172.31.0.2',
  /** A third address for a rendezvous, TURN or "stranger" server. */
  rendezvous: '172.31.0.3',
} as const;

/** Address of the `h-open` host, straight on the bridge. */
export const OPEN_HOST_ADDRESS = '172.31.0.100';

/** Prefix length of the internet bridge and of every NAT LAN. */
export const LAB_PREFIX_LENGTH = 24;

/** The WAN address of a NAT type on the internet bridge. */
export function natWanAddress(type: NatType): string {
  return `172.31.0.1${LabNatType[type].index}`;
}

/** The LAN address of a NAT box (the host's default gateway). */
export function natLanAddress(type: NatType): string {
  return `10.0.${LabNatType[type].index}.1`;
}

/** The address of the host behind a NAT type. */
export function hostAddress(type: NatType): string {
  return `10.0.${LabNatType[type].index}.2`;
}

/** Whether `value` names a lab NAT type. */
export function isNatType(value: string): value is NatType {
  return Object.hasOwn(LabNatType, value);
}

/** Whether `value` names a lab node (it may still be absent from a given lab). */
export function isLabNode(value: string): value is LabNode {
  if (value === 'inet' || value === 'h-open') return true;
  const m = /^(nat|h)-(\w+)$/.exec(value);
  return m !== null && isNatType(m[2]!);
}

/**
 * Namespaces of labs made with a generated prefix are named `phl<pid>-<rand>-<node>`, the pid in
 * base 36, so that a cleanup can tell the labs of dead processes from those of live ones.
 */
const GENERATED_PREFIX = /^phl([0-9a-z]+)-([0-9a-z]{4})$/;

/** A user prefix: a lower-case letter, then letters, digits or `-`, at most 24 characters. */
const USER_PREFIX = /^[a-z][a-z0-9-]{0,23}$/;

/** A fresh prefix unique to this process and call: `phl<pid36>-<4 random chars>`. */
export function generatePrefix(): string {
  const random = randomBytes(4).readUInt32BE(0).toString(36).padStart(4, '0').slice(-4);
  return `phl${process.pid.toString(36)}-${random}`;
}

/** Checks a user-chosen prefix; throws InvalidOptionError `ERR_INVALID_OPTION`. */
export function validatePrefix(prefix: string): string {
  if (!USER_PREFIX.test(prefix)) {
    throw new InvalidOptionError(
      'prefix',
      `lab prefix "${prefix}" must be a lower-case letter followed by at most 23 letters, digits or "-"`,
    );
  }
  return prefix;
}

/** The namespace name of `node` in the lab with `prefix`. */
export function namespaceName(prefix: string, node: LabNode): string {
  return `${prefix}-${node}`;
}

/**
 * The pid that made a namespace with a generated prefix, or undefined when the name is not of
 * the generated scheme.
 */
export function creatorPid(namespace: string): number | undefined {
  const dash = namespace.indexOf('-', namespace.indexOf('-') + 1);
  if (dash < 0) return undefined;
  const m = GENERATED_PREFIX.exec(namespace.slice(0, dash));
  if (m === null) return undefined;
  const pid = Number.parseInt(m[1]!, 36);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}
