// Shared helpers of the live tests.

/** `packets` MPEG-TS packets: sync byte, PID 0x100, continuity counter, then `fill`. */
export function tsPayload(packets: number, fill: number): Buffer {
  const out = Buffer.alloc(packets * 188, fill);
  for (let p = 0; p < packets; p++) {
    out[p * 188] = 0x47;
    out[p * 188 + 1] = 0x01;
    out[p * 188 + 2] = 0x00;
    out[p * 188 + 3] = 0x10 | (p & 0x0f);
  }
  return out;
}
