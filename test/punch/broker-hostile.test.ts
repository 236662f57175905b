// The broker against hostile peers, sans-I/O: a replayed REGISTER, a spoofed registration, a
// replayed keepalive from another address, pending-slot starvation by one pair, and candidates that
// cannot be genuine. Each attack as the issue describes it; each failed before the fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NatEndpoint } from '../../src/nat/index.ts';
import {
  BrokerClientCore,
  BrokerCore,
  type BrokerFrame,
  BrokerStatus,
  decodeBrokerFrame,
  encodeBrokerFrame,
  type Transmit,
} from '../../src/punch/index.ts';
import { mulberry32, randomBytesFrom } from '../support/prng.ts';

const BROKER: NatEndpoint = { address: '198.51.100.1', port: 3478 };
const A: NatEndpoint = { address: '203.0.113.1', port: 40001 };
const B: NatEndpoint = { address: '203.0.113.2', port: 40002 };
const EVE: NatEndpoint = { address: '203.0.113.1', port: 40999 }; // on the path: A's IP, another port
const TOKENS = new Map([
  ['alice', 'a-token'],
  ['bob', 'b-token'],
  ['carol', 'c-token'],
  ['dave', 'd-token'],
  ['mallory', 'm-token'],
  ['mallet', 'n-token'],
]);

function makeBroker(options: Partial<ConstructorParameters<typeof BrokerCore>[0]> = {}): BrokerCore {
  const random = mulberry32(11);
  return new BrokerCore({
    authenticate: (id, token) => TOKENS.get(id) === token.toString(),
    credential: (id) => (TOKENS.has(id) ? Buffer.from(TOKENS.get(id)!) : undefined),
    randomBytes: (n) => randomBytesFrom(random, n),
    ...options,
  });
}

function client(
  peerId: string,
  candidates: BrokerClientCore extends never
    ? never
    : ConstructorParameters<typeof BrokerClientCore>[0]['candidates'] = [],
): BrokerClientCore {
  return new BrokerClientCore({
    peerId,
    token: Buffer.from(TOKENS.get(peerId) ?? 'x'),
    broker: BROKER,
    natClass: 'port-restricted',
    ...(candidates !== undefined ? { candidates } : {}),
  });
}

/** Moves queued datagrams between broker and clients; `tap` sees every one (an on-path observer). */
function pump(
  broker: BrokerCore,
  peers: [BrokerClientCore, NatEndpoint][],
  now: number,
  tap: (t: Transmit, toBroker: boolean, from: NatEndpoint) => void = () => {},
): Transmit[] {
  const fromBroker: Transmit[] = [];
  for (let round = 0; round < 10; round++) {
    let moved = 0;
    for (const [c, addr] of peers) {
      for (const t of c.drain()) {
        moved++;
        tap(t, true, addr);
        broker.receive(t.data, addr, now);
      }
    }
    for (const t of broker.drain()) {
      moved++;
      fromBroker.push(t);
      tap(t, false, BROKER);
      const peer = peers.find(([, addr]) => addr.port === t.to.port && addr.address === t.to.address);
      peer?.[0].receive(t.data, BROKER, now);
    }
    if (moved === 0) break;
  }
  return fromBroker;
}

function typeOf(t: Transmit): BrokerFrame['type'] {
  return decodeBrokerFrame(t.data).type;
}

describe('BrokerCore against hostile peers', () => {
  it('a replayed REGISTER from another port is refused; the real peer keeps its id and still connects', () => {
    const broker = makeBroker();
    const alice = client('alice');
    const bob = client('bob');
    const captured: Buffer[] = [];
    alice.register(0);
    bob.register(0);
    pump(
      broker,
      [
        [alice, A],
        [bob, B],
      ],
      0,
      (t, toBroker, from) => {
        if (toBroker && from === A && typeOf(t) === 1) captured.push(t.data);
      },
    );
    assert.ok(alice.registered && bob.registered);
    assert.ok(captured.length > 0);
    // Eve replays every REGISTER Alice sent, from her own port.
    for (const data of captured) broker.receive(data, EVE, 10);
    const toEve = broker.drain().filter((t) => t.to.port === EVE.port);
    for (const t of toEve) {
      const frame = decodeBrokerFrame(t.data);
      assert.ok(frame.type === 5 && frame.status !== BrokerStatus.OK, 'no OK for the replayer');
    }
    // Bob connects to Alice: the introduction (with the punch secret) goes to Alice, not to Eve.
    bob.connect('alice', 20);
    const out = pump(
      broker,
      [
        [alice, A],
        [bob, B],
      ],
      20,
    );
    const introductions = out.filter((t) => typeOf(t) === 4);
    assert.equal(introductions.length, 2);
    assert.ok(
      introductions.every((t) => t.to.port !== EVE.port),
      'nothing reaches the replayer',
    );
    assert.ok(alice.drainEvents().some((e) => e.type === 'introduce'));
    assert.equal(broker.stats().peers, 2);
  });

  it('a NAT rebinding still works: the peer re-registers from its new address with proof', () => {
    const broker = makeBroker();
    const alice = client('alice');
    const bob = client('bob');
    alice.register(0);
    bob.register(0);
    const peers: [BrokerClientCore, NatEndpoint][] = [
      [alice, A],
      [bob, B],
    ];
    pump(broker, peers, 0);
    const moved: NatEndpoint = { address: '203.0.113.1', port: 41000 };
    peers[0] = [alice, moved];
    alice.poll(20_000); // keepalive, now from the new mapping
    pump(broker, peers, 20_000);
    assert.ok(alice.registered, 'registered again');
    bob.connect('alice', 20_010);
    const out = pump(broker, peers, 20_010);
    const intro = out.find((t) => typeOf(t) === 4 && t.to.port !== B.port);
    assert.deepEqual(intro?.to, moved);
  });

  it('a keepalive replayed from another address does not move the peer there', () => {
    const broker = makeBroker();
    const alice = client('alice');
    const bob = client('bob');
    alice.register(0);
    bob.register(0);
    const keepalives: Buffer[] = [];
    const peers: [BrokerClientCore, NatEndpoint][] = [
      [alice, A],
      [bob, B],
    ];
    pump(broker, peers, 0);
    alice.poll(20_000);
    pump(broker, peers, 20_000, (t, toBroker, from) => {
      if (toBroker && from === A && typeOf(t) === 2) keepalives.push(t.data);
    });
    assert.equal(keepalives.length, 1);
    broker.receive(keepalives[0]!, EVE, 20_001);
    broker.drain();
    bob.connect('alice', 20_010);
    const out = pump(broker, peers, 20_010);
    assert.ok(out.filter((t) => typeOf(t) === 4).every((t) => t.to.port !== EVE.port));
    assert.ok(broker.stats().addressUnproven >= 1);
  });

  it('a spoofed registration never becomes a target: no introduction goes to an unverified address', (t) => {
    const broker = makeBroker();
    const bob = client('bob');
    bob.register(0);
    pump(broker, [[bob, B]], 0);
    // Mallory knows carol's token (or the broker lets anyone in) and registers "carol" with the
    // victim's address as the source; the victim never answers.
    const VICTIM: NatEndpoint = { address: '192.0.2.77', port: 9 };
    let attackerBytes = 0;
    let victimBytes = 0;
    const spoofed = encodeBrokerFrame({
      type: 1,
      seq: 1,
      peerId: 'carol',
      token: Buffer.from('c-token'),
      natClass: 'open',
      candidates: [],
    });
    for (let i = 0; i < 5; i++) {
      attackerBytes += spoofed.length;
      broker.receive(spoofed, VICTIM, i);
    }
    for (const t of broker.drain()) if (t.to.port === VICTIM.port) victimBytes += t.data.length;
    bob.connect('carol', 10);
    pump(broker, [[bob, B]], 10);
    for (let now = 10; now < 30_000; now += 100) {
      broker.poll(now);
      for (const t of broker.drain()) if (t.to.port === VICTIM.port) victimBytes += t.data.length;
    }
    for (const t of broker.drain()) if (t.to.port === VICTIM.port) victimBytes += t.data.length;
    t.diagnostic(`${attackerBytes} bytes from the spoofer, ${victimBytes} bytes at the victim`);
    assert.equal(broker.has('carol'), false, 'not registered without the round trip');
    assert.ok(victimBytes <= attackerBytes, `${victimBytes} bytes at the victim for ${attackerBytes}`);
  });

  it('one pair cannot starve introductions: another pair is still introduced', () => {
    const broker = makeBroker({ maxPending: 1024 });
    const names = ['mallory', 'mallet', 'carol', 'dave'] as const;
    const addrs = names.map((_, i) => ({ address: `203.0.113.${10 + i}`, port: 40000 + i }));
    const cores = names.map((n) => client(n));
    for (const c of cores) c.register(0);
    const all: [BrokerClientCore, NatEndpoint][] = cores.map((c, i) => [c, addrs[i]!]);
    pump(broker, all, 0);
    // Mallory floods CONNECTs to Mallet; neither acknowledges the introductions.
    const session = Buffer.alloc(8);
    let sessionFound = false;
    cores[0]!.connect('mallet', 1);
    for (const t of cores[0]!.drain()) {
      const f = decodeBrokerFrame(t.data);
      if (f.type === 3) {
        f.session.copy(session);
        sessionFound = true;
      }
    }
    assert.ok(sessionFound);
    for (let seq = 1000; seq < 4000; seq++) {
      broker.receive(encodeBrokerFrame({ type: 3, seq, session, target: 'mallet' }), addrs[0]!, 2);
    }
    broker.drain();
    cores[2]!.connect('dave', 3);
    pump(broker, all.slice(2), 3);
    const results = cores[2]!.drainEvents().filter((e) => e.type === 'connect-result');
    assert.deepEqual(
      results.map((e) => (e.type === 'connect-result' ? e.status : undefined)),
      [BrokerStatus.OK],
    );
    assert.ok(cores[3]!.drainEvents().some((e) => e.type === 'introduce'));
    assert.ok(broker.stats().rejectedPeerBusy > 0);
  });

  it('drops candidates that cannot be genuine before introducing', () => {
    const broker = makeBroker();
    const alice = client('alice', [
      { kind: 'host', address: '10.0.0.5', port: 5000 }, // private: kept
      { kind: 'host', address: '192.0.2.200', port: 80 }, // public, not Alice's address: dropped
      { kind: 'host', address: '224.0.0.1', port: 5000 }, // multicast: dropped
      { kind: 'host', address: '0.0.0.0', port: 5000 }, // unspecified: dropped
      { kind: 'host', address: '255.255.255.255', port: 5000 }, // broadcast: dropped
      { kind: 'host', address: '203.0.113.1', port: 5001 }, // Alice's public IP, other port: kept
    ]);
    const bob = client('bob');
    alice.register(0);
    bob.register(0);
    const peers: [BrokerClientCore, NatEndpoint][] = [
      [alice, A],
      [bob, B],
    ];
    pump(broker, peers, 0);
    bob.connect('alice', 5);
    pump(broker, peers, 5);
    const intro = bob.drainEvents().find((e) => e.type === 'introduce');
    assert.ok(intro?.type === 'introduce');
    assert.deepEqual(
      intro.introduction.candidates.map((c) => `${c.kind} ${c.address}:${c.port}`),
      ['srflx 203.0.113.1:40001', 'host 10.0.0.5:5000', 'host 203.0.113.1:5001'],
    );
    assert.equal(broker.stats().candidatesDropped, 4);
  });

  it('one source address cannot take every registration: maxPeersPerAddress answers FULL', () => {
    const broker = makeBroker({ maxPeersPerAddress: 2 });
    const at = (port: number): NatEndpoint => ({ address: '203.0.113.50', port });
    const peers: [BrokerClientCore, NatEndpoint][] = [
      [client('mallory'), at(1)],
      [client('mallet'), at(2)],
      [client('carol'), at(3)],
      [client('dave'), { address: '203.0.113.51', port: 4 }],
    ];
    for (const [c] of peers) c.register(0);
    pump(broker, peers, 0);
    assert.deepEqual(
      peers.map(([c]) => c.registered),
      [true, true, false, true],
    );
    assert.equal(broker.stats().rejectedPerAddress, 1);
    assert.ok(peers[2]![0].drainEvents().some((e) => e.type === 'refused' && e.status === BrokerStatus.FULL));
  });
});
