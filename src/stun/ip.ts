import { InvalidOptionError } from '../errors/index.ts';

/**
 * Text ↔ bytes for IP addresses, without allocation beyond the result. Used by the address
 * attributes (RFC 8489 §14.1, §14.2).
 * @module
 */

/**
 * The 4 or 16 bytes of an IPv4 or IPv6 address in text form. An IPv6 zone (`%eth0`) is ignored.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` when `address` is not an IP address.
 */
export function parseIp(address: string): Buffer {
  const v4 = parseIpv4(address);
  if (v4 !== undefined) return v4;
  const v6 = parseIpv6(address);
  if (v6 !== undefined) return v6;
  throw new InvalidOptionError('address', `"${address}" is not an IPv4 or IPv6 address`);
}

function parseIpv4(text: string): Buffer | undefined {
  const out = Buffer.allocUnsafe(4);
  let part = 0;
  let digits = 0;
  let index = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || index > 3) return undefined;
      out[index++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return undefined; // no leading zeros
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return index === 4 ? out : undefined;
}

function parseIpv6(input: string): Buffer | undefined {
  const zone = input.indexOf('%');
  const text = zone >= 0 ? input.slice(0, zone) : input;
  if (text.length < 2 || text.length > 45) return undefined;
  const out = Buffer.alloc(16);
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return undefined;
  const head = gap >= 0 ? text.slice(0, gap) : text;
  const tail = gap >= 0 ? text.slice(gap + 2) : '';
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const words: number[] = [];
  const tailWords: number[] = [];
  if (!parseGroups(headGroups, words, tailGroups.length === 0 && gap < 0)) return undefined;
  if (!parseGroups(tailGroups, tailWords, true)) return undefined;
  const total = words.length + tailWords.length;
  if (gap < 0 ? total !== 8 : total > 7) return undefined;
  for (let i = 0; i < words.length; i++) out.writeUInt16BE(words[i]!, i * 2);
  const start = 8 - tailWords.length;
  for (let i = 0; i < tailWords.length; i++) out.writeUInt16BE(tailWords[i]!, (start + i) * 2);
  return out;
}

function parseGroups(groups: readonly string[], words: number[], ipv4Allowed: boolean): boolean {
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!;
    if (ipv4Allowed && i === groups.length - 1 && group.includes('.')) {
      const v4 = parseIpv4(group);
      if (v4 === undefined) return false;
      words.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
      continue;
    }
    if (group.length === 0 || group.length > 4 || !/^[0-9a-fA-F]+$/.test(group)) return false;
    words.push(Number.parseInt(group, 16));
  }
  return true;
}

/** The text form of 4 (dotted quad) or 16 (RFC 5952 canonical) address bytes. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  // RFC 5952 §4.2: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    words
      .slice(from, to)
      .map((w) => w.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
