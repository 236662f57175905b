import { InvalidOptionError } from '../errors/index.ts';

/** An inclusive range of UDP ports. */
export interface PortRange {
  /** Lowest port, 1–65535. */
  readonly first: number;
  /** Highest port (inclusive), ≥ `first`, ≤ 65535. */
  readonly last: number;
}

/** Highest UDP port number. */
export const MAX_PORT = 65535;

/**
 * Reads `'40000-40999'`, `'5004'` or `{ first, last }` into a checked {@link PortRange}.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` for an empty, reversed or out-of-bounds range.
 */
export function parsePortRange(range: string | PortRange): PortRange {
  let first: number;
  let last: number;
  if (typeof range !== 'string' && (typeof range !== 'object' || range === null)) {
    const got = typeof range === 'number' ? `the number ${range}; write "${range}"` : String(range);
    throw new InvalidOptionError(
      'range',
      `range is required: a string such as "40000-40999" or "5004", or { first, last }; got ${got}`,
    );
  }
  if (typeof range === 'string') {
    const match = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(range);
    if (match === null) {
      throw new InvalidOptionError('range', `port range "${range}" must look like 40000-40999 or 5004`);
    }
    first = Number(match[1]);
    last = match[2] === undefined ? first : Number(match[2]);
  } else {
    first = range.first;
    last = range.last;
  }
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last > MAX_PORT) {
    throw new InvalidOptionError('range', `port range ${first}-${last} must lie within 1-${MAX_PORT}`);
  }
  if (first > last) {
    throw new InvalidOptionError('range', `port range ${first}-${last} is reversed; write ${last}-${first}`);
  }
  return { first, last };
}

/** `first-last` as text. */
export function formatPortRange(range: PortRange): string {
  return range.first === range.last ? String(range.first) : `${range.first}-${range.last}`;
}

/**
 * Splits `range` into `count` disjoint sub-ranges of near-equal size for `count` worker processes,
 * each starting on an even port where the range allows so that no even/odd pair straddles two workers.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` when `count` is not a positive integer or exceeds the
 *   number of ports (or pairs) in the range.
 */
export function partitionPortRange(range: PortRange, count: number): PortRange[] {
  const size = range.last - range.first + 1;
  if (!Number.isInteger(count) || count < 1 || count > size) {
    throw new InvalidOptionError(
      'count',
      `cannot split ${formatPortRange(range)} (${size} ports) into ${count} parts`,
    );
  }
  // Cut on even boundaries (a pair is P even + P+1) when every part still gets at least one pair.
  const pairAligned = size >= 2 * count + 1;
  const step = pairAligned ? 2 : 1;
  const units = Math.floor(size / step);
  const parts: PortRange[] = [];
  let start = range.first;
  for (let i = 0; i < count; i++) {
    const share = Math.floor(((i + 1) * units) / count) - Math.floor((i * units) / count);
    let end = i === count - 1 ? range.last : start + share * step - 1;
    if (pairAligned && i < count - 1 && end % 2 === 0) end -= 1; // end on an odd port
    parts.push({ first: start, last: end });
    start = end + 1;
  }
  return parts;
}
