// The RIST ingest of the live source (src/live/ingest-rist.ts): ffmpeg (librist) sends a test
// stream through the impairing relay at 5 % loss each way; the TsInput yields whole 188-byte
// packets holding the same video packets as the file, with nothing lost. The spec parser.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors/index.ts';
import { openRistInput, parseRistInputSpec } from '../../src/live/index.ts';
import { MediaTransport } from '../../src/transport/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { testSeed } from '../support/prng.ts';
import { waitFor } from '../support/wait.ts';
import {
  ffmpegRistMissing,
  ffmpegSend,
  makeTestStream,
  packetHashes,
  scratchDir,
  writeFile,
} from './ffmpeg.ts';
import { ImpairRelay } from './impair-relay.ts';

checkLeaks();

describe('RIST ingest (TsInput)', () => {
  it('parses rist:// specs', () => {
    assert.deepEqual(parseRistInputSpec('rist://@:5004'), { kind: 'rist', address: '0.0.0.0', port: 5004 });
    assert.deepEqual(parseRistInputSpec('rist://127.0.0.1:6000'), {
      kind: 'rist',
      address: '127.0.0.1',
      port: 6000,
    });
    assert.equal(parseRistInputSpec('udp://@:5004'), undefined);
    for (const bad of ['rist://@:5005', 'rist://host:5004', 'rist://@:']) {
      assert.throws(() => parseRistInputSpec(bad), { code: ErrorCode.INVALID_OPTION });
    }
  });

  describe('from ffmpeg', { skip: ffmpegRistMissing() }, () => {
    const scratch = scratchDir();
    let source = '';
    before(() => {
      source = `${scratch.dir}/source.ts`;
      makeTestStream(source, 2);
    });
    after(() => scratch.remove());

    it('yields whole TS packets, recovered through 5 % loss', async () => {
      const pair = await MediaTransport.listenEphemeralPair('127.0.0.1');
      const port = pair.ports.media;
      await pair.close();
      await using input = await openRistInput({ address: '127.0.0.1', port, latencyMs: 1000 });
      const relay = await ImpairRelay.open(port, {
        forwardLoss: 0.05,
        backwardLoss: 0.05,
        delayMs: 10,
        seed: testSeed(0x16e5),
      });
      const chunks: Buffer[] = [];
      const reading = (async () => {
        for await (const packets of input) chunks.push(Buffer.from(packets));
      })();
      try {
        const ffmpeg = ffmpegSend(source, relay.port, ['-stream_loop', '1']);
        await ffmpeg.exited;
        await waitFor(() => input.ristStats().received > 0 && input.ristStats().bufferPackets === 0, {
          what: 'the receiver to release its buffer',
          detail: () => input.ristStats(),
        });
      } finally {
        await relay.close();
      }
      await input.close();
      await reading;
      const all = Buffer.concat(chunks);
      assert.equal(all.length % 188, 0);
      for (let at = 0; at < all.length; at += 188) assert.equal(all[at], 0x47);
      const expected = packetHashes(source);
      const got = packetHashes(writeFile(scratch.dir, 'ingested.ts', all));
      assert.deepEqual(got.slice(0, expected.length - 1), expected.slice(0, expected.length - 1));
      const rist = input.ristStats();
      assert.ok(rist.lost > 0 && rist.recovered > 0, JSON.stringify(rist));
      assert.equal(input.stats().kind, 'rist');
    });
  });
});
