// The interop cases with librist (Debian's ffmpeg 5.1) that test/rist/interop*.test.ts run for
// each profile, secret and loss: on loopback, direct or through the impairing relay (10 ms each
// way, the given loss each way).
// - ffmpeg → porthole: ffmpeg sends the test file twice (-stream_loop 1, so it is still sending
//   and answering NACKs while the first copy is checked); below 10 % the received MPEG-TS holds
//   the same video packets as the file, twice, and decodes cleanly; nothing is lost before the tail.
//   Through a lossy relay the receiver's latency is 2.5 s and ffmpeg sends a third copy: librist
//   0.2.7's sender takes a re-request of a packet only 1 s (its buffer) after the last one it took,
//   so a lost retransmission is recovered only with a latency above that (docs/rist.md).
// - porthole → ffmpeg: librist's receiver outputs the sent video packets in order, none missing
//   (its probe may swallow the first; its demuxer holds the last ones until more data comes).
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { type RistProfileOptions, RistReceiver, RistSender } from '../../src/rist/index.ts';
import { MediaTransport } from '../../src/transport/index.ts';
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
  ristArgs,
  scratchDir,
  sendPaced,
  writeFile,
} from './ffmpeg.ts';
import { ImpairRelay } from './impair-relay.ts';

/** Seconds of the test stream. */
export const SECONDS = 2;

/** The test stream the cases send: its file, bytes and video packet hashes. */
export interface Stream {
  readonly dir: string;
  readonly file: string;
  readonly bytes: Buffer;
  readonly hashes: readonly string[];
}

/** One case: the profile options of porthole's side and librist's arguments. */
export interface InteropCase {
  readonly loss: number;
  readonly porthole: RistProfileOptions;
  /** librist's secret, when it differs from porthole's (a wrong passphrase). */
  readonly libristSecret?: string;
  /** Salt of the relay's seed. */
  readonly salt: number;
}

/**
 * porthole's receiver latency when librist sends through a lossy path: above twice librist's
 * sender buffer (1 s), so a packet whose retransmission is lost too can be asked for twice more.
 */
export const LIBRIST_SENDER_LATENCY_MS = 2500;

/** An even port whose pair is free now on 127.0.0.1. */
export async function freePair(): Promise<number> {
  const t = await MediaTransport.listenEphemeralPair('127.0.0.1');
  const port = t.ports.media;
  await t.close();
  return port;
}

function relayFor(port: number, loss: number, salt: number): Promise<ImpairRelay> | undefined {
  if (loss === 0) return undefined;
  return ImpairRelay.open(port, { forwardLoss: loss, backwardLoss: loss, delayMs: 10, seed: testSeed(salt) });
}

function librist(c: InteropCase): string[] {
  const secret = c.libristSecret ?? c.porthole.secret;
  return ristArgs(c.porthole.profile ?? 'simple', secret, c.porthole.encryption ?? 128);
}

/** ffmpeg sends `stream`, porthole receives; checks what arrived. */
export async function ffmpegToPorthole(t: TestContext, stream: Stream, c: InteropCase): Promise<void> {
  const name = `from-ffmpeg-${c.porthole.profile ?? 'simple'}-${c.salt}-${c.loss}.ts`;
  const lossy = c.loss > 0;
  await using receiver = await RistReceiver.listen('127.0.0.1', await freePair(), {
    latencyMs: lossy ? LIBRIST_SENDER_LATENCY_MS : 1000,
    ...c.porthole,
  });
  const relay = await relayFor(receiver.ports.media, c.loss, c.salt + c.loss * 100);
  const chunks: Buffer[] = [];
  const holesAt: number[] = [];
  const reading = (async () => {
    for await (const item of receiver) {
      if (item.type === 'data') chunks.push(Buffer.from(item.payload));
      else holesAt.push(chunks.length);
    }
  })();
  const ffmpeg = ffmpegSend(
    stream.file,
    relay?.port ?? receiver.ports.media,
    ['-stream_loop', lossy ? '2' : '1'],
    librist(c),
  );
  await ffmpeg.exited;
  if (c.libristSecret === undefined) {
    await waitFor(() => receiver.stats().received > 0 && receiver.stats().bufferPackets === 0, {
      what: 'the receiver to release its buffer',
      detail: () => receiver.stats(),
    });
  }
  await receiver.close();
  await reading;
  await relay?.close();
  const stats = receiver.stats();
  t.diagnostic(
    `lost ${stats.lost}, recovered ${stats.recovered}, unrecovered ${stats.unrecovered} (tail), ` +
      `requested ${stats.retransmitsRequested}, rtt ${stats.rttMs.toFixed(1)} ms` +
      (stats.main === undefined ? '' : `, main ${JSON.stringify(stats.main)}`),
  );
  if (c.libristSecret !== undefined) {
    // A wrong passphrase: nothing delivered, every datagram a decrypt failure.
    assert.equal(chunks.length, 0, JSON.stringify(stats));
    assert.equal(stats.received, 0, JSON.stringify(stats));
    assert.ok((stats.main?.decryptFailures ?? 0) > 100, JSON.stringify(stats));
    return;
  }
  const received = writeFile(stream.dir, name, Buffer.concat(chunks));
  if (c.loss >= 0.1) {
    // The bar at 10 %: report what remains; most of it is recovered.
    assert.ok(stats.recovered >= stats.lost * 0.8, JSON.stringify(stats));
    return;
  }
  // Nothing lost before the last 10 % (ffmpeg exits at the end and answers no more NACKs), or
  // before the third copy when there is one (its last tries come up to the latency later).
  assert.deepEqual(
    holesAt.filter((at) => at < chunks.length * (lossy ? 0.6 : 0.9)),
    [],
    JSON.stringify(stats),
  );
  const got = packetHashes(received);
  // ffmpeg's loop rewrites the packets at the seam; everything else is the file's, in order.
  const expected = stream.hashes;
  const n = expected.length;
  assert.deepEqual(got.slice(0, n - 1), expected.slice(0, n - 1));
  assert.deepEqual(got.slice(n + 1, 2 * n - 10), expected.slice(1, n - 10));
  if (holesAt.length === 0) {
    // Seen once under the full suite's load (stop 22's CI): every loss recovered, no hole, the
    // compared frames equal, and still a damaged frame (in the third copy or at a seam). The
    // failure says what the receiver and ffmpeg's sender saw, to tell a drop on either side.
    const errors = decodeErrors(received);
    assert.equal(
      errors,
      '',
      `${errors}\nreceiver ${JSON.stringify(stats)}\nffmpeg: ${ffmpeg.stderr.join('').slice(-1500)}`,
    );
  }
  if (c.loss > 0) assert.ok(stats.lost > 0 && stats.recovered > 0, JSON.stringify(stats));
}

/** porthole sends `stream`, ffmpeg receives; checks what it output. */
export async function portholeToFfmpeg(t: TestContext, stream: Stream, c: InteropCase): Promise<void> {
  const port = await freePair();
  const main = c.porthole.profile === 'main';
  const ffmpeg = ffmpegReceive(port, { bufferMs: 1000, rist: librist(c) });
  try {
    const relay = await relayFor(port, c.loss, c.salt + 0x1000 + c.loss * 100);
    await waitFor(() => portTaken(main ? port : port + 1), { what: 'librist to bind its port' });
    await using sender = await RistSender.connect('127.0.0.1', relay?.port ?? port, c.porthole);
    const expected = stream.hashes;
    await sendPaced(sender, Buffer.concat([stream.bytes, nullPackets(1.5)]), SECONDS * 1000 + 1500);
    const enough = expected.length - 15;
    await waitFor(() => hashesOf(Buffer.concat(ffmpeg.stdout).toString()).length >= enough, {
      what: 'ffmpeg to output the stream',
      timeoutMs: 15_000,
      detail: () => ({ sender: sender.stats(), stderr: ffmpeg.stderr.join('').slice(-400) }),
    });
    await relay?.close();
    const stats = sender.stats();
    t.diagnostic(`retransmissions requested ${stats.retransmitsRequested}, sent ${stats.retransmitsSent}`);
    const got = hashesOf(Buffer.concat(ffmpeg.stdout).toString());
    const at = indexOfRun(expected, got);
    assert.ok(
      at === 0 || at === 1,
      `frames out of order or missing (run at ${at}): ${JSON.stringify(stats)}`,
    );
    if (c.loss > 0) assert.ok(stats.retransmitsSent > 0, JSON.stringify(stats));
    const errors = ffmpeg.stderr
      .join('')
      .split('\n')
      .filter((l) => /error|corrupt/i.test(l));
    assert.deepEqual(errors, []);
  } finally {
    await ffmpeg.kill();
  }
}

/**
 * A suite `title` over the test stream: both directions of each case (`what` names it in the
 * test titles), plus `extra` tests given the stream.
 */
export function describeInterop(
  title: string,
  cases: readonly InteropCase[],
  what: (c: InteropCase) => string,
  extra: (stream: () => Stream) => void = () => {},
): void {
  describe(title, { skip: ffmpegRistMissing() }, () => {
    const scratch = scratchDir();
    let stream: Stream | undefined;
    const current = (): Stream => {
      if (stream === undefined) throw new Error('the test stream is made in before()');
      return stream;
    };
    before(() => {
      const file = `${scratch.dir}/source.ts`;
      const bytes = makeTestStream(file, SECONDS);
      stream = { dir: scratch.dir, file, bytes, hashes: packetHashes(file) };
    });
    after(() => scratch.remove());
    for (const c of cases) {
      it(`ffmpeg sends, porthole receives (${what(c)})`, (t) => ffmpegToPorthole(t, current(), c));
      it(`porthole sends, ffmpeg receives (${what(c)})`, (t) => portholeToFfmpeg(t, current(), c));
    }
    extra(current);
  });
}
