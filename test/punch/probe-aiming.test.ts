// The probe-aiming CONNECT (ICE's "voice hammer", RFC 8445 §19.5.1), sans-I/O: a registered peer
// announces 15 candidates that are silent sockets of third parties and CONNECTs its victim; the
// victim's agent then punches for the whole punch timeout. Counted: bytes the victim's agent sends
// to those addresses, against the size of the CONNECT that caused them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NatEndpoint } from '../../src/nat/index.ts';
import {
  AgentCore,
  BrokerClientCore,
  BrokerCore,
  type Candidate,
  decodeBrokerFrame,
  type Introduction,
} from '../../src/punch/index.ts';
import { mulberry32, randomBytesFrom } from '../support/prng.ts';

const BROKER: NatEndpoint = { address: '198.51.100.1', port: 3478 };
const TOKEN = Buffer.from('shared-token');

/** Third-party sockets: public addresses of others, private addresses of someone's LAN. */
const SILENT: Candidate[] = [
  ...Array.from({ length: 8 }, (_, i) => ({
    kind: 'host' as const,
    address: `192.0.2.${10 + i}`,
    port: 53 + i,
  })),
  ...Array.from({ length: 7 }, (_, i) => ({
    kind: 'host' as const,
    address: `10.77.0.${10 + i}`,
    port: 22 + i,
  })),
];

interface Outcome {
  connectBytes: number;
  silentBytes: number;
  silentProbes: number;
}

function attack(attackerAt: NatEndpoint, victimAt: NatEndpoint): Outcome {
  const random = mulberry32(3);
  const broker = new BrokerCore({
    authenticate: (_id, token) => token.equals(TOKEN),
    randomBytes: (n) => randomBytesFrom(random, n),
  });
  const clients = new Map<string, [BrokerClientCore, NatEndpoint]>();
  const mallory = new BrokerClientCore({
    peerId: 'mallory',
    token: TOKEN,
    broker: BROKER,
    natClass: 'port-restricted',
    candidates: SILENT,
  });
  const victim = new BrokerClientCore({
    peerId: 'victim',
    token: TOKEN,
    broker: BROKER,
    natClass: 'port-restricted',
  });
  clients.set('m', [mallory, attackerAt]);
  clients.set('v', [victim, victimAt]);
  let connectBytes = 0;
  const pump = (now: number): void => {
    for (let round = 0; round < 10; round++) {
      let moved = 0;
      for (const [c, at] of clients.values()) {
        for (const t of c.drain()) {
          moved++;
          if (c === mallory && decodeBrokerFrame(t.data).type === 3) connectBytes += t.data.length;
          broker.receive(t.data, at, now);
        }
      }
      for (const t of broker.drain()) {
        moved++;
        for (const [c, at] of clients.values())
          if (at.address === t.to.address && at.port === t.to.port) c.receive(t.data, BROKER, now);
      }
      if (moved === 0) return;
    }
  };
  mallory.register(0);
  victim.register(0);
  pump(0);
  assert.ok(mallory.registered && victim.registered);
  mallory.connect('victim', 10);
  pump(10);
  const intro = victim.drainEvents().find((e) => e.type === 'introduce');
  assert.ok(intro?.type === 'introduce');
  const introduction: Introduction = intro.introduction;
  const agent = new AgentCore({
    linkId: introduction.linkId,
    role: introduction.role,
    secret: introduction.secret,
    localNat: 'port-restricted',
    remoteNat: introduction.natClass,
    remoteCandidates: introduction.candidates,
    localPublicAddress: victimAt.address,
    prediction: false,
  });
  const silent = new Set(SILENT.map((c) => `${c.address}:${c.port}`));
  let silentBytes = 0;
  let silentProbes = 0;
  agent.start(10);
  for (let now = 10; now <= 12_000; now += 5) {
    agent.poll(now);
    for (const action of agent.drain()) {
      if (action.type === 'send' && silent.has(`${action.to.address}:${action.to.port}`)) {
        silentBytes += action.data.length;
        silentProbes++;
      }
    }
  }
  return { connectBytes, silentBytes, silentProbes };
}

describe('the probe-aiming CONNECT', () => {
  it('puts at most 3× the CONNECT on third-party sockets (attacker and victim behind different NATs)', (t) => {
    const r = attack({ address: '203.0.113.66', port: 40000 }, { address: '198.51.100.20', port: 50000 });
    t.diagnostic(
      `CONNECT ${r.connectBytes} bytes → ${r.silentBytes} bytes in ${r.silentProbes} probes at 15 silent sockets`,
    );
    assert.ok(r.connectBytes > 0);
    assert.ok(
      r.silentBytes <= 3 * r.connectBytes,
      `${r.silentBytes} bytes for a CONNECT of ${r.connectBytes}`,
    );
  });

  it('behind one NAT (private candidates allowed): probing silent candidates stops after a few probes', (t) => {
    const r = attack({ address: '198.51.100.20', port: 40000 }, { address: '198.51.100.20', port: 50000 });
    t.diagnostic(
      `CONNECT ${r.connectBytes} bytes → ${r.silentBytes} bytes in ${r.silentProbes} probes at 15 silent sockets`,
    );
    // The broker passes at most 4 host candidates (the private ones here); each gets
    // DEFAULT_MAX_SILENT_PROBES (3) probes per punching round.
    assert.ok(r.silentProbes > 0, 'private candidates behind one NAT are probed');
    assert.ok(r.silentProbes <= 4 * 3, `${r.silentProbes} probes`);
  });
});
