// The one input mutator of the fuzzers: a valid input copied into a scratch buffer, sometimes cut
// short or extended with random bytes, then 1–3 byte changes (a random byte or one flipped bit),
// most of them in the first `headBytes` bytes, where the headers are.

/** A mutation of `base` in `scratch` (which must be ≥ base.length + 16 bytes), as a view of it. */
export function mutateInput(random: () => number, base: Buffer, scratch: Buffer, headBytes = 64): Buffer {
  base.copy(scratch, 0);
  const r = random();
  let length = base.length;
  if (r < 0.15) length = Math.floor(random() * base.length);
  else if (r < 0.25) {
    length = Math.min(scratch.length, base.length + 1 + Math.floor(random() * 16));
    for (let i = base.length; i < length; i++) scratch[i] = Math.floor(random() * 256);
  }
  const flips = 1 + Math.floor(random() * 3);
  for (let f = 0; f < flips && length > 0; f++) {
    const at =
      random() < 0.6 ? Math.floor(random() * Math.min(headBytes, length)) : Math.floor(random() * length);
    if (random() < 0.5) scratch[at] = Math.floor(random() * 256);
    else scratch[at] = (scratch[at] as number) ^ (1 << Math.floor(random() * 8));
  }
  return scratch.subarray(0, length);
}
