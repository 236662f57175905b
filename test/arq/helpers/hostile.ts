// Generators of hostile KCP datagrams for fuzz tests: garbage, truncated headers, wrong conv,
// lengths beyond the datagram, sn far outside the window, ACK floods, stacked segments.
import { KCP_OVERHEAD } from '../../../src/arq/index.ts';
import type { Prng } from '../../support/prng.ts';

const SN_PICKS = [0, 1, 2, 127, 128, 129, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function pickSn(prng: Prng): number {
  return prng.next() < 0.5 ? SN_PICKS[prng.int(SN_PICKS.length)]! : prng.int(0x100000000);
}

/** Writes one plausible-but-hostile segment at `at`; returns the end. */
function writeSegment(prng: Prng, out: Buffer, at: number, conv: number): number {
  const dataLen = prng.next() < 0.7 ? prng.int(40) : 0;
  out.writeUInt32LE(prng.next() < 0.9 ? conv : prng.int(0x100000000), at);
  const r = prng.next();
  out[at + 4] = r < 0.85 ? 81 + prng.int(4) : prng.int(256);
  out[at + 5] = prng.next() < 0.8 ? prng.int(3) : prng.int(256);
  out.writeUInt16LE(prng.next() < 0.2 ? 0 : prng.int(0x10000), at + 6);
  out.writeUInt32LE(prng.int(0x100000000), at + 8);
  out.writeUInt32LE(pickSn(prng), at + 12);
  out.writeUInt32LE(pickSn(prng), at + 16);
  const lie = prng.next();
  const len = lie < 0.1 ? prng.int(0x100000000) : lie < 0.2 ? dataLen + 1 + prng.int(100) : dataLen;
  out.writeUInt32LE(len >>> 0, at + 20);
  for (let i = 0; i < dataLen; i++) out[at + KCP_OVERHEAD + i] = prng.int(256);
  return at + KCP_OVERHEAD + dataLen;
}

/**
 * One hostile datagram for conversation `conv` with `headroom` bytes first (`frame` written
 * there when given). The returned Buffer is a view of `scratch` (valid until the next call).
 */
export function hostileDatagram(prng: Prng, scratch: Buffer, conv: number, headroom = 0, frame = 0): Buffer {
  const kind = prng.next();
  let end = headroom;
  if (kind < 0.15) {
    end += prng.int(60);
    for (let i = headroom; i < end; i++) scratch[i] = prng.int(256);
  } else if (kind < 0.25) {
    end = writeSegment(prng, scratch, headroom, conv);
    end = headroom + prng.int(Math.max(1, end - headroom));
  } else {
    const count = 1 + prng.int(4);
    for (let s = 0; s < count && end + KCP_OVERHEAD + 40 <= scratch.length; s++) {
      end = writeSegment(prng, scratch, end, conv);
    }
  }
  if (headroom > 0) scratch[0] = frame;
  return scratch.subarray(0, end);
}
