import { readFileSync } from 'node:fs';
import { formatPortRange, type PortRange, parsePortRange } from './range.ts';

/** Linux's ephemeral range: ports the kernel hands to sockets bound to port 0 (and to connect()). */
const EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';
/** Ports excluded from the ephemeral range by the administrator. */
const RESERVED_PORTS_FILE = '/proc/sys/net/ipv4/ip_local_reserved_ports';

/** What the kernel says about automatic port assignment. Both are undefined/empty off Linux. */
export interface KernelPortRanges {
  readonly ephemeral: PortRange | undefined;
  readonly reserved: readonly PortRange[];
}

/** The part of a range the kernel may hand to other sockets at any time. */
export interface EphemeralOverlap {
  /** The overlapping ports, as one range. */
  readonly overlap: PortRange;
  /** How many of them are not listed in `ip_local_reserved_ports`. */
  readonly unreserved: number;
  /** The kernel's ephemeral range. */
  readonly ephemeral: PortRange;
}

/** Reads the kernel's ephemeral and reserved port ranges; empty when the files do not exist. */
export function readKernelPortRanges(read: (path: string) => string = readText): KernelPortRanges {
  let ephemeral: PortRange | undefined;
  const reserved: PortRange[] = [];
  try {
    const [low, high] = read(EPHEMERAL_RANGE_FILE).trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined) ephemeral = parsePortRange({ first: low, last: high });
  } catch {
    return { ephemeral: undefined, reserved };
  }
  try {
    for (const part of read(RESERVED_PORTS_FILE).trim().split(',')) {
      if (part !== '') reserved.push(parsePortRange(part));
    }
  } catch {
    // Unreadable or absent: nothing is reserved.
  }
  return { ephemeral, reserved };
}

/** The overlap of `range` with the kernel's ephemeral range, or undefined when they are disjoint. */
export function findEphemeralOverlap(
  range: PortRange,
  kernel: KernelPortRanges,
): EphemeralOverlap | undefined {
  const ephemeral = kernel.ephemeral;
  if (ephemeral === undefined) return undefined;
  const first = Math.max(range.first, ephemeral.first);
  const last = Math.min(range.last, ephemeral.last);
  if (first > last) return undefined;
  let unreserved = last - first + 1;
  for (const r of kernel.reserved) {
    const a = Math.max(first, r.first);
    const b = Math.min(last, r.last);
    if (a <= b) unreserved -= b - a + 1;
  }
  return { overlap: { first, last }, unreserved, ephemeral };
}

/** The advice printed when a range overlaps the ephemeral range. */
export function describeEphemeralOverlap(range: PortRange, found: EphemeralOverlap): string {
  const overlap = formatPortRange(found.overlap);
  return (
    `UDP port range ${formatPortRange(range)} overlaps the kernel's ephemeral range ` +
    `${formatPortRange(found.ephemeral)} (${found.unreserved} ports of ${overlap} unreserved): the kernel may give ` +
    `them to other sockets at any time. Reserve them with ` +
    `"sysctl -w net.ipv4.ip_local_reserved_ports=${overlap}" or move the range below ${found.ephemeral.first}.`
  );
}

const warned = new Set<string>();

/** Emits one process warning per distinct range that overlaps unreserved ephemeral ports (Linux). */
export function warnOnceIfEphemeral(
  range: PortRange,
  kernel: KernelPortRanges = readKernelPortRanges(),
): void {
  const key = formatPortRange(range);
  if (warned.has(key)) return;
  const found = findEphemeralOverlap(range, kernel);
  if (found === undefined || found.unreserved === 0) return;
  warned.add(key);
  process.emitWarning(describeEphemeralOverlap(range, found), { code: 'PORTHOLE_EPHEMERAL_OVERLAP' });
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
