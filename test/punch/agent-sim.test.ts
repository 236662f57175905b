// Broker + agent cores over the in-memory NAT simulator (test/punch/sim), driven by its virtual clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AgentCore,
  DEFAULT_PREDICTION_PACE_MS,
  DEFAULT_PREDICTION_PROBES,
  DEFAULT_PREDICTION_SOCKETS,
  encodePunch,
  encodePunchDataHeader,
  predictionSuccessProbability,
} from '../../src/punch/index.ts';
import { runPair, type SimPeer } from './sim/harness.ts';
import { SIM_PORT_MAX, SIM_PORT_MIN, type SimNatType } from './sim/network.ts';

const TYPES: readonly SimNatType[] = ['full-cone', 'address-restricted', 'port-restricted', 'symmetric'];
const PAIRS: [SimNatType, SimNatType][] = [];
for (let i = 0; i < TYPES.length; i++)
  for (let j = i; j < TYPES.length; j++) PAIRS.push([TYPES[i]!, TYPES[j]!]);

function exchange(a: SimPeer, b: SimPeer, run: (ms: number) => void): void {
  const linkId = a.introduction!.linkId;
  const header = encodePunchDataHeader(linkId);
  a.sendData(Buffer.from('ping from a'), header);
  b.sendData(Buffer.from('pong from b'), header);
  run(200);
  assert.deepEqual(b.received.map(String), ['ping from a']);
  assert.deepEqual(a.received.map(String), ['pong from b']);
}

describe('punching over the NAT simulator: all 10 unordered pairs', () => {
  for (const [ta, tb] of PAIRS) {
    const expected =
      ta === 'symmetric' && tb === 'symmetric'
        ? 'fails'
        : ta === 'symmetric' || tb === 'symmetric'
          ? ta === 'port-restricted' || tb === 'port-restricted'
            ? 'predicted'
            : 'direct'
          : 'direct';
    it(`${ta} ↔ ${tb}: ${expected}`, () => {
      for (const seed of [1, 2, 3]) {
        for (const [x, y] of [
          [ta, tb],
          [tb, ta],
        ] as const) {
          const r = runPair(x, y, seed);
          const label = `seed ${seed}, ${x} → ${y}`;
          if (expected === 'fails') {
            assert.equal(r.connected, false, label);
            r.net.run(r.net.nowMs + 1000);
            assert.match(r.a.failed ?? '', /no path before the punch deadline/, label);
            assert.match(r.b.failed ?? '', /no path before the punch deadline/, label);
            assert.ok(r.timeMs <= 10_100, `${label}: gave up after ${r.timeMs} ms`);
            assert.equal(r.a.extra.size + r.b.extra.size, 0, `${label}: no socket left`);
            continue;
          }
          assert.ok(r.connected, `${label}: ${r.a.failed} / ${r.b.failed}`);
          assert.equal(r.a.path?.kind, expected, label);
          assert.equal(r.b.path?.kind, expected, label);
          exchange(r.a, r.b, (ms) => r.net.run(r.net.nowMs + ms));
          r.a.closeLink();
          r.b.closeLink();
          assert.equal(r.a.extra.size + r.b.extra.size, 0, `${label}: every extra socket released`);
          assert.equal(
            r.a.host.openSockets + r.b.host.openSockets,
            2,
            `${label}: only the data sockets remain`,
          );
        }
      }
    });
  }
});

describe('port prediction (port-restricted ↔ symmetric)', () => {
  it('both ends label the path predicted when the symmetric side initiates and its end is its main socket', () => {
    // Seeds in which the port-restricted side's predicted probe hits the mapping the symmetric
    // initiator's main socket opened: the initiator predicted nothing on that pair itself and
    // called it direct while the responder called it predicted (seen in the NAT-lab CLI test).
    for (const seed of [302, 461, 644, 867]) {
      const r = runPair('symmetric', 'port-restricted', seed);
      assert.ok(r.connected, `seed ${seed}`);
      assert.equal(r.a.path?.socket, 0, `seed ${seed}: the initiator's main socket`);
      assert.equal(r.a.path?.kind, 'predicted', `seed ${seed}: initiator`);
      assert.equal(r.b.path?.kind, 'predicted', `seed ${seed}: responder`);
      r.a.closeLink();
      r.b.closeLink();
    }
  });

  it('connects in ≥ 95 of 100 seeded runs within 10 s (birthday bound), releasing every extra socket', () => {
    // Each run: the hard side opens n = 256 mappings; the easy side probes k distinct random ports
    // of M = 64 512. Probes sent before the hard side's sweep ends (256 sockets × 2 ms) may miss
    // mappings that do not exist yet, so count only k = 2048 − 256 of them:
    //   p ≥ P(256, 1792, 64512) ≈ 0.9992 per run.
    // With 100 independent runs, P(successes < 95) ≤ C(100,6)·(1−p)^6 < 1e-9: a sound bound.
    const n = DEFAULT_PREDICTION_SOCKETS;
    const k = DEFAULT_PREDICTION_PROBES - n * (DEFAULT_PREDICTION_PACE_MS / DEFAULT_PREDICTION_PACE_MS);
    const p = predictionSuccessProbability(n, k, SIM_PORT_MAX - SIM_PORT_MIN + 1);
    assert.ok(p > 0.999);
    let tail = 0;
    for (let fails = 6; fails <= 100; fails++)
      tail += binomial(100, fails) * (1 - p) ** fails * p ** (100 - fails);
    assert.ok(tail < 1e-9, `P(< 95 successes) = ${tail}`);

    let successes = 0;
    const probes: number[] = [];
    for (let seed = 1; seed <= 100; seed++) {
      const r = runPair(
        seed % 2 === 0 ? 'port-restricted' : 'symmetric',
        seed % 2 === 0 ? 'symmetric' : 'port-restricted',
        seed,
      );
      const [easy, hard] = seed % 2 === 0 ? [r.a, r.b] : [r.b, r.a];
      if (r.connected) {
        successes++;
        assert.ok(r.timeMs <= 10_000, `seed ${seed}: ${r.timeMs} ms`);
        assert.equal(easy.path?.kind, 'predicted');
        // Both ends name the path alike, even when a predicted probe hit the mapping the hard
        // side's *main* socket opened towards the easy side's srflx (one port among the ~2048
        // probed: ~3% of runs), so that the hard side's path is its socket 0: the NOMINATE and
        // its reply carry the label (PunchFlag.PREDICTED).
        assert.equal(
          hard.path?.kind,
          'predicted',
          `seed ${seed}: hard side ${hard.path?.kind} on socket ${hard.path?.socket}`,
        );
        probes.push(easy.agent!.stats().predictionProbes);
        assert.equal(hard.maxExtraSockets, 256, `seed ${seed}: the hard side opened 256 sockets`);
        assert.ok(hard.extra.size <= 1, `seed ${seed}: only the winning socket is kept`);
      }
      r.a.closeLink();
      r.b.closeLink();
      assert.equal(r.a.extra.size + r.b.extra.size, 0, `seed ${seed}: every extra socket released`);
      assert.equal(easy.agent!.stats().predictionProbes <= DEFAULT_PREDICTION_PROBES, true);
    }
    assert.ok(successes >= 95, `${successes}/100 connected`);
    probes.sort((x, y) => x - y);
    // Median probes to success ≈ M·ln 2 / n ≈ 175 plus the sweep: far below the 2048 budget.
    assert.ok(probes[Math.floor(probes.length / 2)]! < 1024, `median probes ${probes[50]}`);
  });

  it('stays within its probe budget and time bound when it cannot win', () => {
    // 4 mappings and 16 probes: P(success) = P(4, 16, 64512) ≈ 0.1 %; this seed misses.
    const r = runPair('port-restricted', 'symmetric', 5, {
      agent: { prediction: { probes: 16, sockets: 4 } },
    });
    r.net.run(r.net.nowMs + 1000);
    assert.equal(r.connected, false);
    assert.equal(r.a.agent!.stats().predictionProbes, 16, 'the easy side used exactly its budget');
    assert.equal(r.b.maxExtraSockets, 4);
    assert.equal(r.b.extra.size, 0, 'the hard side closed its 4 sockets');
    assert.match(r.a.failed ?? '', /deadline/);
    assert.match(r.b.failed ?? '', /deadline/);
    assert.ok(r.timeMs <= 10_100);
  });
});

describe('agent safety and recovery', () => {
  it('a forged punch (right addresses, wrong HMAC) never becomes a path', () => {
    const linkId = Buffer.alloc(8, 1);
    const secret = Buffer.alloc(32, 2);
    const wrong = Buffer.alloc(32, 3);
    const remote = { address: '203.0.113.2', port: 5000 };
    for (const role of [0, 1] as const) {
      const agent = new AgentCore({ linkId, role, secret, remoteCandidates: [{ kind: 'srflx', ...remote }] });
      agent.start(0);
      const sent = agent.drain().filter((a) => a.type === 'send');
      assert.ok(sent.length > 0);
      const other = role === 0 ? 1 : 0;
      for (let seq = 1; seq <= 50; seq++) {
        for (const type of [1, 2] as const) {
          for (const flags of [0, 1]) {
            const forged = encodePunch({ type, flags, linkId, sender: other, seq, address: remote }, wrong);
            agent.receive(forged, remote, 0, 10);
          }
        }
      }
      const actions = agent.drain();
      assert.equal(actions.filter((a) => a.type === 'path').length, 0);
      assert.equal(actions.filter((a) => a.type === 'send').length, 0, 'no reply to a forgery');
      assert.equal(agent.stats().badMac, 200);
      assert.equal(agent.stats().validated, 0);
      assert.equal(agent.state, 'punching');
      // The genuine peer still gets through.
      const genuine = encodePunch(
        { type: 1, flags: 1, linkId, sender: other, seq: 9, address: remote },
        secret,
      );
      agent.receive(genuine, remote, 0, 20);
      assert.ok(agent.drain().some((a) => a.type === 'send'));
    }
  });

  it('a reply from another address than the probe went to fails the symmetric check', () => {
    const linkId = Buffer.alloc(8, 1);
    const secret = Buffer.alloc(32, 2);
    const remote = { address: '203.0.113.2', port: 5000 };
    const agent = new AgentCore({
      linkId,
      role: 0,
      secret,
      remoteCandidates: [{ kind: 'srflx', ...remote }],
    });
    agent.start(0);
    const probe = agent.drain().find((a) => a.type === 'send');
    assert.ok(probe?.type === 'send');
    const seq = probe.data.readUInt32BE(16);
    const reply = encodePunch({ type: 2, flags: 0, linkId, sender: 1, seq, address: remote }, secret);
    agent.receive(reply, { address: remote.address, port: 5001 }, 0, 5);
    agent.receive(reply, remote, 1, 5); // right address, wrong socket
    assert.equal(agent.stats().unmatchedReplies, 2);
    assert.equal(agent.stats().validated, 0);
    agent.receive(reply, remote, 0, 6);
    assert.equal(agent.stats().validated, 1);
  });

  it('counts malformed, foreign-link and reflected frames', () => {
    const linkId = Buffer.alloc(8, 1);
    const secret = Buffer.alloc(32, 2);
    const agent = new AgentCore({ linkId, role: 0, secret, remoteCandidates: [] });
    agent.start(0);
    const from = { address: '203.0.113.9', port: 1 };
    agent.receive(Buffer.from([4, 1, 1]), from, 0, 1);
    agent.receive(
      encodePunch(
        { type: 1, flags: 0, linkId: Buffer.alloc(8, 9), sender: 1, seq: 1, address: from },
        secret,
      ),
      from,
      0,
      1,
    );
    agent.receive(
      encodePunch({ type: 1, flags: 0, linkId, sender: 0, seq: 1, address: from }, secret),
      from,
      0,
      1,
    );
    const s = agent.stats();
    assert.deepEqual([s.malformed, s.otherLink, s.reflected], [1, 1, 1]);
  });

  it('recovers from a mapping change without the application: keepalives fail, it re-punches', () => {
    // A (initiator, port-restricted) ↔ B (full cone). A's NAT forgets every mapping and renumbers.
    // A's keepalives from its new mapping still reach B (full cone) and name the new path, so B
    // follows at once; B's keepalives to A's old port would have died.
    const r = runPair('port-restricted', 'full-cone', 11);
    assert.ok(r.connected);
    const before = r.a.path!.remote;
    const oldPort = r.b.path!.remote.port;
    r.net.run(r.net.nowMs + 20_000); // keepalives keep it up
    assert.equal(r.a.pathLost + r.b.pathLost, 0);
    const natA = r.a.host.nat!;
    natA.flush();
    natA.preservePorts = false;
    r.net.run(r.net.nowMs + 40_000, () => r.b.path !== null && r.b.path.remote.port !== oldPort);
    assert.ok(r.a.path !== null && r.b.path !== null, `recovered: ${r.a.failed} / ${r.b.failed}`);
    assert.deepEqual(r.a.path.remote, before, "B's address did not change");
    assert.notEqual(r.b.path.remote.port, oldPort, "B follows A's new mapping (peer-reflexive)");
    r.net.run(r.net.nowMs + 40_000);
    assert.ok(r.a.path !== null && r.b.path !== null, 'still up 40 s later');
    exchange(r.a, r.b, (ms) => r.net.run(r.net.nowMs + ms));
  });

  it('re-punches after keepalives go unanswered, and recovers through the new peer-reflexive address', () => {
    // A (initiator, full cone) ↔ B (port-restricted); B's NAT renumbers. A's keepalives to B's old
    // port die: after 5 unanswered tries A declares the path lost and punches again; B's
    // keepalives from its new mapping reach A, which learns it and nominates it.
    const r = runPair('full-cone', 'port-restricted', 13);
    assert.ok(r.connected);
    const oldPort = r.a.path!.remote.port;
    const natB = r.b.host.nat!;
    natB.flush();
    natB.preservePorts = false;
    const t0 = r.net.nowMs;
    r.net.run(t0 + 60_000, () => r.a.pathLost > 0 && r.a.path !== null);
    assert.equal(r.a.pathLost, 1, 'A noticed');
    assert.ok(r.net.nowMs - t0 <= 15_000 + 6_000 + 15_000 + 1_000, `recovered after ${r.net.nowMs - t0} ms`);
    assert.ok(r.a.path !== null && r.a.path.remote.port !== oldPort, "A uses B's new mapping");
    assert.ok(r.a.agent!.stats().repunches === 1);
    exchange(r.a, r.b, (ms) => r.net.run(r.net.nowMs + ms));
  });

  it('keepalives stay within 15 s and the link survives an idle minute', () => {
    assert.throws(
      () =>
        new AgentCore({
          linkId: Buffer.alloc(8),
          role: 0,
          secret: Buffer.alloc(32),
          remoteCandidates: [],
          keepaliveMs: 20_000,
        }),
      { code: 'ERR_INVALID_OPTION', option: 'keepaliveMs' },
    );
    const r = runPair('symmetric', 'full-cone', 4);
    assert.ok(r.connected);
    r.net.run(r.net.nowMs + 60_000);
    assert.equal(r.a.pathLost + r.b.pathLost, 0);
    assert.ok(r.a.path !== null && r.b.path !== null);
  });

  it('honours a low-TTL first punch and still connects', () => {
    const r = runPair('port-restricted', 'port-restricted', 3, { agent: { lowTtl: 2 } });
    assert.ok(r.connected);
    assert.ok(r.net.dropped > 0, 'the low-TTL punches died on the way');
  });

  it('connects every textbook pair through 10 % loss', () => {
    for (const [ta, tb] of PAIRS.filter(([x, y]) => !(x === 'symmetric' && y === 'symmetric'))) {
      const r = runPair(ta, tb, 21, { loss: 0.1, latencyMs: 25 });
      assert.ok(r.connected, `${ta} ↔ ${tb}: ${r.a.failed} / ${r.b.failed}`);
    }
  });
});

function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c;
}
