// Fuzz: ≥ 1,000,000 hostile inputs (seeded) into Kcp.input and into the endpoint's dispatcher.
// Nothing may throw, every queue stays within its cap, and the drop counters move.
// ARQ_FUZZ_INPUTS=<n> raises the count; PORTHOLE_SEED=<n> varies the seeds (test/support/prng.ts).
import assert from 'node:assert/strict';
import type { RemoteInfo, Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ARQ_TURBO, ArqEndpoint, Kcp } from '../../src/arq/index.ts';
import { Demux, PortholeFrame } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { checkLeaks } from '../support/leaks.ts';
import { Prng, replayHint, testSeed } from '../support/prng.ts';
import { hostileDatagram } from './helpers/hostile.ts';

checkLeaks();

const TOTAL = Number(process.env.ARQ_FUZZ_INPUTS ?? 1_000_000);
const CORE_SHARE = Math.floor(TOTAL * 0.6);
const ENDPOINT_SHARE = TOTAL - CORE_SHARE;

describe('fuzz', () => {
  it(`Kcp.input takes ${CORE_SHARE} hostile datagrams without throwing or growing`, (t) => {
    const seed = testSeed(20_261_121);
    t.diagnostic(`seed ${seed} (rerun with ${replayHint()})`);
    const prng = new Prng(seed);
    const scratch = Buffer.alloc(256);
    let emitted = 0;
    const ackListLimit = 512;
    const kcps = [0, 1, 2].map((i) => {
      const kcp = new Kcp(7, { onKcpOutput: () => emitted++ }, { ackListLimit, sendQueueLimit: 256 });
      if (i > 0) kcp.setNoDelay(1, 10, 2, true);
      if (i === 2) kcp.setStreamMode(true);
      kcp.update(0);
      return kcp;
    });
    let now = 0;
    // The kept inputs first (test/vectors/fuzz/arq-kcp-input/), each into every Kcp.
    const kept = new FuzzCorpus('arq-kcp-input');
    kept.replay((input) => {
      for (const kcp of kcps) kcp.input(input);
    });
    try {
      for (let n = 0; n < CORE_SHARE; n++) {
        const kcp = kcps[n % kcps.length]!;
        kept.check(
          hostileDatagram(prng, scratch, 7),
          (input) => kcp.input(input),
          () => `seed ${seed} (${replayHint()}), input ${n}`,
        );
        if (n % 64 === 0) {
          now += 1 + prng.int(20);
          kcp.send(scratch.subarray(0, prng.int(3000)));
          for (const k of kcps) k.update(now);
          if (prng.next() < 0.5) while (kcp.recv() !== undefined);
          const q = kcp.queueSizes();
          assert.ok(q.rcvBuf <= kcp.receiveWindow, `rcvBuf ${q.rcvBuf}, seed ${seed}, input ${n}`);
          assert.ok(q.rcvQueue <= kcp.receiveWindow, `rcvQueue ${q.rcvQueue}, seed ${seed}, input ${n}`);
          assert.ok(q.acks <= ackListLimit, `acks ${q.acks}, seed ${seed}, input ${n}`);
          assert.ok(q.sndQueue <= 256, `sndQueue ${q.sndQueue}, seed ${seed}`);
        }
      }
    } catch (error) {
      t.diagnostic(`FAILED with seed ${seed}`);
      throw error;
    }
    const s = kcps.map((k) => k.stats());
    const sum = (f: (x: (typeof s)[number]) => number): number => s.reduce((a, x) => a + f(x), 0);
    assert.equal(
      sum((x) => x.inputDatagrams),
      CORE_SHARE + 3 * kept.inputs().length,
    );
    assert.ok(sum((x) => x.rejectedShort) > 0);
    assert.ok(sum((x) => x.rejectedConv) > 0);
    assert.ok(sum((x) => x.rejectedLength) > 0);
    assert.ok(sum((x) => x.rejectedCommand) > 0);
    assert.ok(sum((x) => x.outOfWindowSegments) > 0);
    assert.ok(emitted > 0);
  });

  describe('endpoint dispatcher', () => {
    let socket: Socket;
    let sinks: Socket[];
    before(async () => {
      socket = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 });
      sinks = await Promise.all(
        [0, 1].map(() => bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 })),
      );
    });
    after(() => {
      socket.close();
      for (const s of sinks) s.close();
    });

    it(`takes ${ENDPOINT_SHARE} hostile datagrams through the demux without a handler error`, async (t) => {
      const seed = testSeed(4242);
      t.diagnostic(`seed ${seed} (rerun with ${replayHint()})`);
      const prng = new Prng(seed);
      const demux = new Demux(socket);
      const maxConversations = 32;
      const endpoint = new ArqEndpoint({ demux, ...ARQ_TURBO, accept: 'any', maxConversations });
      t.after(() => {
        endpoint.close();
        demux.detach();
      });
      endpoint.on('conversation', (stream) => {
        stream.on('error', () => {});
        stream.resume();
      });
      const peers: RemoteInfo[] = sinks.map((s) => ({
        address: '127.0.0.1',
        family: 'IPv4',
        port: s.address().port,
        size: 0,
      }));
      const scratch = Buffer.alloc(256);
      for (let n = 0; n < ENDPOINT_SHARE; n++) {
        const from = peers[n & 1]!;
        const r = prng.next();
        if (r < 0.85) {
          demux.inject(hostileDatagram(prng, scratch, prng.int(48), 1, PortholeFrame.ARQ_SEGMENT), from);
        } else {
          const len = prng.int(14);
          for (let i = 1; i < len; i++) scratch[i] = prng.int(i === 1 ? 5 : 48);
          scratch[0] = PortholeFrame.ARQ_CONTROL;
          demux.inject(scratch.subarray(0, len), from);
        }
        if (n % 20_000 === 0) {
          assert.ok(endpoint.size <= maxConversations, `seed ${seed}`);
          await yieldToLoop();
        }
      }
      const s = endpoint.stats();
      assert.equal(demux.stats().handlerErrors, 0, `seed ${seed}`);
      assert.equal(s.datagramsIn + s.controlIn + demux.stats().droppedEmpty, ENDPOINT_SHARE);
      assert.ok(s.droppedShort > 0 && s.droppedMalformed > 0 && s.droppedUnknownConv > 0, JSON.stringify(s));
      assert.ok(s.droppedOverLimit > 0 && s.droppedControl > 0, JSON.stringify(s));
      assert.ok(s.conversations <= maxConversations);
    });
  });
});
