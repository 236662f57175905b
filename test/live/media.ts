// Real media for the live tests that run without the source process: ffmpeg encodes a test pattern
// (video only, one keyframe every 6 frames at 24 fps = 250 ms) to MPEG-TS; the stream is cut
// before each PAT that precedes a keyframe (ffmpeg writes PAT/PMT before every video keyframe), so
// every chunk starts with PAT, PMT and a random-access point; each chunk is signed at publish time.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CHUNK_FLAG_RANDOM_ACCESS, type ChannelSigner, signChunk } from '../../src/live/index.ts';

const run = promisify(execFile);

/** The test pattern as MPEG-TS, `seconds` long. */
export async function encodeTestPattern(seconds: number): Promise<Buffer> {
  const { stdout } = await run(
    'ffmpeg',
    [
      ...['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=24:duration=${seconds}`],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p'],
      ...['-g', '6', '-keyint_min', '6', '-sc_threshold', '0', '-b:v', '400k', '-f', 'mpegts', '-'],
    ],
    { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
  );
  return stdout;
}

/** Cuts a TS stream before each PAT that precedes a random-access packet. */
export function cutAtKeyframes(ts: Buffer): Buffer[] {
  const cuts: number[] = [];
  let lastPat = -1;
  for (let i = 0; i + 188 <= ts.length; i += 188) {
    const pid = ((ts[i + 1]! & 0x1f) << 8) | ts[i + 2]!;
    if (pid === 0) {
      lastPat = i;
      continue;
    }
    const hasAf = (ts[i + 3]! & 0x20) !== 0 && ts[i + 4]! > 0;
    if (hasAf && (ts[i + 5]! & 0x40) !== 0 && lastPat >= 0) {
      if (cuts.length === 0 || cuts[cuts.length - 1] !== lastPat) cuts.push(lastPat);
      lastPat = -1;
    }
  }
  const chunks: Buffer[] = [];
  for (let c = 0; c < cuts.length; c++) chunks.push(ts.subarray(cuts[c]!, cuts[c + 1] ?? ts.length));
  return chunks;
}

/** Publishes `payloads` as signed chunks, one every `durationMs`, to `sink`, from seq `firstSeq`. */
export function publishChunks(
  channel: ChannelSigner,
  payloads: readonly Buffer[],
  sink: (bytes: Buffer, seq: number) => void,
  durationMs = 250,
  firstSeq = 0,
): { stop(): void; readonly published: number } {
  let i = 0;
  const timer = setInterval(() => {
    if (i >= payloads.length) {
      clearInterval(timer);
      return;
    }
    const seq = firstSeq + i;
    const bytes = signChunk(channel, {
      seq,
      timestampMs: Date.now(),
      durationMs,
      flags: CHUNK_FLAG_RANDOM_ACCESS,
      payload: payloads[i]!,
    });
    i++;
    sink(bytes, seq);
  }, durationMs);
  return {
    stop: () => clearInterval(timer),
    get published() {
      return i;
    },
  };
}
