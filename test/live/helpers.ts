// Shared helpers of the live tests.
import { type ChannelSigner, type LiveArqNode, signChunk } from '../../src/live/index.ts';

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

/**
 * Feeds `edge` a signed 50 ms chunk of `packets` TS packets every 50 ms (seq 0, 1, …; every fourth
 * a random-access point), calling `after` once each is ingested. clearInterval() stops it.
 */
export function feedChunks(
  edge: LiveArqNode,
  channel: ChannelSigner,
  packets: number,
  after?: () => void,
): NodeJS.Timeout {
  let seq = 0;
  return setInterval(() => {
    const s = seq++;
    edge.ingest(
      signChunk(channel, {
        seq: s,
        timestampMs: Date.now(),
        durationMs: 50,
        flags: s % 4 === 0 ? 1 : 0,
        payload: tsPayload(packets, s & 0xff),
      }),
    );
    after?.();
  }, 50);
}
