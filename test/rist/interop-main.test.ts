// Interop with librist (Debian's ffmpeg 5.1), both directions, Main profile (GRE on one port) in the clear, on loopback: direct
// and through the impairing relay at 5 % and 10 % loss each way (the cases: interop-cases.ts).
import { after, before, describe, it } from 'node:test';
import { checkLeaks } from '../support/leaks.ts';
import { ffmpegRistMissing, makeTestStream, packetHashes, scratchDir } from './ffmpeg.ts';
import { ffmpegToPorthole, portholeToFfmpeg, SECONDS, type Stream } from './interop-cases.ts';

checkLeaks();

describe('interop with librist (ffmpeg), Main profile', { skip: ffmpegRistMissing() }, () => {
  const scratch = scratchDir();
  let stream: Stream;
  before(() => {
    const file = `${scratch.dir}/source.ts`;
    const bytes = makeTestStream(file, SECONDS);
    stream = { dir: scratch.dir, file, bytes, hashes: packetHashes(file) };
  });
  after(() => scratch.remove());

  for (const loss of [0, 0.05, 0.1]) {
    const c = { loss, porthole: { profile: 'main' as const }, salt: 0x3f00 };
    it(`ffmpeg sends, porthole receives (${loss * 100} % loss each way)`, (t) =>
      ffmpegToPorthole(t, stream, c));
    it(`porthole sends, ffmpeg receives (${loss * 100} % loss each way)`, (t) =>
      portholeToFfmpeg(t, stream, c));
  }
});
