// Interop with librist (Debian's ffmpeg 5.1), both directions, Simple profile, on loopback: direct
// and through the impairing relay at 5 % and 10 % loss each way (10 ms each way).
// - ffmpeg → porthole: ffmpeg sends the test file twice (-stream_loop 1, so it is still sending
//   and answering NACKs while the first copy is checked); at 0 % and 5 % the received MPEG-TS holds the same
//   video packets as the file, twice, and decodes cleanly; nothing is lost before the tail.
// - porthole → ffmpeg: librist's receiver outputs the sent video packets in order, none missing
//   (its probe may swallow the first; its demuxer holds the last ones until more data comes).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RistReceiver, RistSender } from '../../src/rist/index.ts';
import { MediaTransport } from '../../src/transport/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { testSeed } from '../support/prng.ts';
import { waitFor } from '../support/wait.ts';
import {
  decodeErrors,
  ffmpegReceive,
  ffmpegRistMissing,
  ffmpegSend,
  hashesOf,
  indexOfRun,
  makeTestStream,
  nullPackets,
  packetHashes,
  portTaken,
  scratchDir,
  sendPaced,
  writeFile,
} from './ffmpeg.ts';
import { ImpairRelay } from './impair-relay.ts';

checkLeaks();
const missing = ffmpegRistMissing();
const SECONDS = 2;

/** An even port whose pair is free now on 127.0.0.1. */
async function freePair(): Promise<number> {
  const t = await MediaTransport.listenEphemeralPair('127.0.0.1');
  const port = t.ports.media;
  await t.close();
  return port;
}

function relayFor(port: number, loss: number, salt: number): Promise<ImpairRelay> | undefined {
  if (loss === 0) return undefined;
  return ImpairRelay.open(port, { forwardLoss: loss, backwardLoss: loss, delayMs: 10, seed: testSeed(salt) });
}

describe('interop with librist (ffmpeg)', { skip: missing }, () => {
  const scratch = scratchDir();
  let source = '';
  let sourceBytes: Buffer = Buffer.alloc(0);
  let expected: string[] = [];
  before(() => {
    source = `${scratch.dir}/source.ts`;
    sourceBytes = makeTestStream(source, SECONDS);
    expected = packetHashes(source);
  });
  after(() => scratch.remove());

  for (const loss of [0, 0.05, 0.1]) {
    it(`ffmpeg sends, porthole receives (${loss * 100} % loss each way)`, async (t) => {
      await using receiver = await RistReceiver.listen('127.0.0.1', await freePair(), { latencyMs: 1000 });
      const relay = await relayFor(receiver.ports.media, loss, 0x1f00 + loss * 100);
      const chunks: Buffer[] = [];
      const holesAt: number[] = [];
      const reading = (async () => {
        for await (const item of receiver) {
          if (item.type === 'data') chunks.push(Buffer.from(item.payload));
          else holesAt.push(chunks.length);
        }
      })();
      const ffmpeg = ffmpegSend(source, relay?.port ?? receiver.ports.media, ['-stream_loop', '1']);
      await ffmpeg.exited;
      await waitFor(() => receiver.stats().received > 0 && receiver.stats().bufferPackets === 0, {
        what: 'the receiver to release its buffer',
        detail: () => receiver.stats(),
      });
      await receiver.close();
      await reading;
      await relay?.close();
      const stats = receiver.stats();
      t.diagnostic(
        `lost ${stats.lost}, recovered ${stats.recovered}, unrecovered ${stats.unrecovered} (tail), ` +
          `requested ${stats.retransmitsRequested}, rtt ${stats.rttMs.toFixed(1)} ms`,
      );
      const received = writeFile(scratch.dir, `from-ffmpeg-${loss}.ts`, Buffer.concat(chunks));
      if (loss >= 0.1) {
        // The bar at 10 %: report what remains; most of it is recovered.
        assert.ok(stats.recovered >= stats.lost * 0.8, JSON.stringify(stats));
        return;
      }
      // Nothing lost before the last 10 % (ffmpeg exits at the end and answers no more NACKs).
      assert.deepEqual(
        holesAt.filter((at) => at < chunks.length * 0.9),
        [],
        JSON.stringify(stats),
      );
      const got = packetHashes(received);
      // ffmpeg's loop rewrites the packets at the seam; everything else is the file's, in order.
      const n = expected.length;
      assert.deepEqual(got.slice(0, n - 1), expected.slice(0, n - 1));
      assert.deepEqual(got.slice(n + 1, 2 * n - 10), expected.slice(1, n - 10));
      if (holesAt.length === 0) assert.equal(decodeErrors(received), '');
      if (loss > 0) assert.ok(stats.lost > 0 && stats.recovered > 0, JSON.stringify(stats));
    });

    it(`porthole sends, ffmpeg receives (${loss * 100} % loss each way)`, async (t) => {
      const port = await freePair();
      const ffmpeg = ffmpegReceive(port, { bufferMs: 1000 });
      try {
        const relay = await relayFor(port, loss, 0x2f00 + loss * 100);
        await waitFor(() => portTaken(port + 1), { what: 'librist to bind its pair' });
        await using sender = await RistSender.connect('127.0.0.1', relay?.port ?? port);
        await sendPaced(sender, Buffer.concat([sourceBytes, nullPackets(1.5)]), SECONDS * 1000 + 1500);
        const enough = expected.length - 15;
        await waitFor(() => hashesOf(Buffer.concat(ffmpeg.stdout).toString()).length >= enough, {
          what: 'ffmpeg to output the stream',
          timeoutMs: 15_000,
          detail: () => ({ sender: sender.stats(), stderr: ffmpeg.stderr.join('').slice(-400) }),
        });
        await relay?.close();
        const stats = sender.stats();
        t.diagnostic(
          `retransmissions requested ${stats.retransmitsRequested}, sent ${stats.retransmitsSent}`,
        );
        const got = hashesOf(Buffer.concat(ffmpeg.stdout).toString());
        const at = indexOfRun(expected, got);
        assert.ok(
          at === 0 || at === 1,
          `frames out of order or missing (run at ${at}): ${JSON.stringify(stats)}`,
        );
        if (loss > 0) assert.ok(stats.retransmitsSent > 0, JSON.stringify(stats));
        const errors = ffmpeg.stderr
          .join('')
          .split('\n')
          .filter((l) => /error|corrupt/i.test(l));
        assert.deepEqual(errors, []);
      } finally {
        await ffmpeg.kill();
      }
    });
  }
});
