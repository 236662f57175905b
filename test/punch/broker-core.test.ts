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
  formatFingerprint,
} from '../../src/punch/index.ts';
import { mulberry32, randomBytesFrom } from '../support/prng.ts';

const BROKER: NatEndpoint = { address: '198.51.100.1', port: 3478 };
const A: NatEndpoint = { address: '203.0.113.1', port: 40001 };
const B: NatEndpoint = { address: '203.0.113.2', port: 40002 };
const TOKENS = new Map([
  ['alice', 'a-token'],
  ['bob', 'b-token'],
]);

function makeBroker(options: Partial<ConstructorParameters<typeof BrokerCore>[0]> = {}): BrokerCore {
  const random = mulberry32(7);
  return new BrokerCore({
    authenticate: (id, token) => TOKENS.get(id) === token.toString(),
    randomBytes: (n) => randomBytesFrom(random, n),
    ...options,
  });
}

function client(peerId: string, token = TOKENS.get(peerId) ?? 'x', fingerprint?: Buffer): BrokerClientCore {
  return new BrokerClientCore({
    peerId,
    token: Buffer.from(token),
    broker: BROKER,
    natClass: peerId === 'alice' ? 'full-cone' : 'symmetric',
    candidates: [{ kind: 'host', address: `10.0.0.${peerId.length}`, port: 5000 }],
    ...(fingerprint === undefined ? {} : { fingerprint }),
  });
}

/** The credential lookup of challenge–response registration: the peers' tokens. */
function credential(id: string): Buffer | undefined {
  const token = TOKENS.get(id);
  return token === undefined ? undefined : Buffer.from(token);
}

/** Alice (at A) and Bob (at B), both registered with `broker` at time 0. */
function registerBoth(broker: BrokerCore): { alice: BrokerClientCore; bob: BrokerClientCore } {
  const alice = client('alice');
  const bob = client('bob');
  alice.register(0);
  bob.register(0);
  pump(
    broker,
    [
      [alice, A],
      [bob, B],
    ],
    0,
  );
  return { alice, bob };
}

/** Moves every queued datagram between the broker and the clients (no loss unless `drop`). */
function pump(
  broker: BrokerCore,
  peers: [BrokerClientCore, NatEndpoint][],
  now: number,
  drop: (frame: BrokerFrame, toBroker: boolean) => boolean = () => false,
): void {
  for (let round = 0; round < 10; round++) {
    let moved = 0;
    for (const [c, addr] of peers) {
      for (const t of c.drain()) {
        moved++;
        if (!drop(decodeBrokerFrame(t.data), true)) broker.receive(t.data, addr, now);
      }
    }
    for (const t of broker.drain()) {
      moved++;
      const peer = peers.find(([, addr]) => addr.port === t.to.port && addr.address === t.to.address);
      if (peer !== undefined && !drop(decodeBrokerFrame(t.data), false)) peer[0].receive(t.data, BROKER, now);
    }
    if (moved === 0) return;
  }
}

describe('BrokerCore', () => {
  it('registers authenticated peers and tells them their server-reflexive address', () => {
    const broker = makeBroker();
    const alice = client('alice');
    alice.register(0);
    pump(broker, [[alice, A]], 0);
    assert.ok(alice.registered);
    assert.deepEqual(alice.observed, A);
    assert.deepEqual(alice.drainEvents(), [{ type: 'registered', observed: A }]);
    assert.equal(broker.stats().peers, 1);
  });

  it('gives an unauthenticated peer nothing but the address challenge', () => {
    const broker = makeBroker();
    const mallory = client('alice', 'wrong');
    mallory.register(0);
    const sent: BrokerFrame[] = [];
    pump(broker, [[mallory, A]], 0, (f, toBroker) => {
      if (!toBroker) sent.push(f);
      return false;
    });
    assert.deepEqual(
      sent.map((f) => f.type === 5 && f.status),
      [BrokerStatus.CHALLENGE_TOKEN],
      'one challenge, then silence',
    );
    assert.equal(broker.stats().rejectedAuth, 1);
    assert.equal(broker.stats().peers, 0);
    assert.ok(!mallory.registered);
    const thrower = makeBroker({
      authenticate: () => {
        throw new Error('db down');
      },
    });
    const alice = client('alice');
    alice.register(0);
    pump(thrower, [[alice, A]], 0);
    assert.equal(thrower.stats().rejectedAuth, 1);
    assert.ok(!alice.registered);
  });

  it('introduces A and B to each other with candidates, NAT classes and one fresh secret', () => {
    const broker = makeBroker();
    const { alice, bob } = registerBoth(broker);
    alice.drainEvents();
    bob.drainEvents();
    const seq = alice.connect('bob', 10);
    assert.notEqual(seq, null);
    pump(
      broker,
      [
        [alice, A],
        [bob, B],
      ],
      10,
    );
    const ea = alice.drainEvents();
    const eb = bob.drainEvents();
    assert.deepEqual(
      ea.find((e) => e.type === 'connect-result'),
      { type: 'connect-result', seq, status: 0 },
    );
    const ia = ea.find((e) => e.type === 'introduce');
    const ib = eb.find((e) => e.type === 'introduce');
    assert.ok(ia?.type === 'introduce' && ib?.type === 'introduce');
    assert.equal(ia.introduction.role, 0);
    assert.equal(ib.introduction.role, 1);
    assert.equal(ia.introduction.peerId, 'bob');
    assert.equal(ia.introduction.natClass, 'symmetric');
    assert.equal(ib.introduction.natClass, 'full-cone');
    assert.deepEqual(ia.introduction.candidates, [
      { kind: 'srflx', ...B },
      { kind: 'host', address: '10.0.0.3', port: 5000 },
    ]);
    assert.ok(ia.introduction.secret.equals(ib.introduction.secret));
    assert.ok(ia.introduction.linkId.equals(ib.introduction.linkId));
    assert.equal(ia.introduction.secret.length, 32);
    // A second connect gets another secret.
    alice.connect('bob', 20);
    pump(
      broker,
      [
        [alice, A],
        [bob, B],
      ],
      20,
    );
    const again = alice.drainEvents().find((e) => e.type === 'introduce');
    assert.ok(again?.type === 'introduce' && !again.introduction.secret.equals(ia.introduction.secret));
    assert.equal(broker.stats().introductions, 2);
    assert.equal(broker.stats().pending, 0, 'every introduction acknowledged');
  });

  it('hands each side the certificate fingerprint the other registered (none for a peer without one)', () => {
    const broker = makeBroker({
      authenticate: (id, token) => (id === 'carol' ? 'c-token' : TOKENS.get(id)) === token.toString(),
    });
    const aliceDigest = Buffer.alloc(32, 0xa1);
    const bobDigest = Buffer.alloc(32, 0xb2);
    const alice = client('alice', undefined, aliceDigest);
    const bob = client('bob', undefined, bobDigest);
    const carol = client('carol', 'c-token');
    const C: NatEndpoint = { address: '203.0.113.3', port: 40003 };
    const all: [BrokerClientCore, NatEndpoint][] = [
      [alice, A],
      [bob, B],
      [carol, C],
    ];
    for (const [c] of all) c.register(0);
    pump(broker, all, 0);
    alice.connect('bob', 1);
    carol.connect('alice', 1);
    pump(broker, all, 1);
    const introductions = (c: BrokerClientCore) =>
      c.drainEvents().flatMap((e) => (e.type === 'introduce' ? [e.introduction] : []));
    const toAlice = introductions(alice);
    const toBob = introductions(bob);
    const toCarol = introductions(carol);
    assert.equal(toBob[0]?.fingerprint, formatFingerprint(aliceDigest));
    assert.equal(toAlice.find((i) => i.peerId === 'bob')?.fingerprint, formatFingerprint(bobDigest));
    assert.equal(toCarol[0]?.fingerprint, formatFingerprint(aliceDigest));
    const fromCarol = toAlice.find((i) => i.peerId === 'carol');
    assert.ok(fromCarol !== undefined && !('fingerprint' in fromCarol), 'carol registered none');
    // The directory of a scaled-out broker carries it as text, and introduceFrom hands it on.
    assert.equal(broker.peerInfo('alice')?.fingerprint, formatFingerprint(aliceDigest));
    assert.equal(broker.peerInfo('carol')?.fingerprint, undefined);
    const remote = {
      peerId: 'dave',
      address: { address: '203.0.113.4', port: 40004 },
      natClass: 'open',
      candidates: [],
      fingerprint: formatFingerprint(Buffer.alloc(32, 0xd4)),
    } as const;
    assert.ok(broker.introduceFrom('bob', remote, Buffer.alloc(8, 1), Buffer.alloc(32, 2), 1, 2));
    assert.ok(
      broker.introduceFrom(
        'bob',
        { ...remote, fingerprint: 'not one' },
        Buffer.alloc(8, 3),
        Buffer.alloc(32, 4),
        1,
        2,
      ),
    );
    pump(broker, all, 2);
    const fromDave = introductions(bob).filter((i) => i.peerId === 'dave');
    assert.equal(fromDave.length, 2);
    assert.equal(fromDave[0]?.fingerprint, remote.fingerprint);
    assert.ok(!('fingerprint' in fromDave[1]!), 'a fingerprint that does not parse is not introduced');
  });

  for (const mode of ['credential', 'authenticate'] as const) {
    it(`an INTRODUCE changed on the path is dropped unacknowledged (${mode}); the genuine one is taken`, () => {
      const broker = makeBroker(mode === 'credential' ? { credential } : {});
      const alice = client('alice', undefined, Buffer.alloc(32, 0xa1));
      const bob = client('bob', undefined, Buffer.alloc(32, 0xb2));
      const both: [BrokerClientCore, NatEndpoint][] = [
        [alice, A],
        [bob, B],
      ];
      alice.register(0);
      bob.register(0);
      pump(broker, both, 0);
      bob.drainEvents();
      alice.connect('bob', 1);
      for (const t of alice.drain()) broker.receive(t.data, A, 1);
      const toBob = broker.drain().find((t) => t.to.port === B.port)!.data;
      const frame = decodeBrokerFrame(toBob);
      assert.ok(frame.type === 4 && frame.fingerprint !== undefined);
      const fingerprintAt = frame.fingerprint.byteOffset - toBob.byteOffset;
      for (const at of [fingerprintAt, fingerprintAt + 31, 8 + 9 /* the secret */, toBob.length - 1]) {
        const forged = Buffer.from(toBob);
        forged[at]! ^= 0x01;
        bob.receive(forged, BROKER, 1);
      }
      assert.equal(bob.stats().forgedIntroductions, 4);
      assert.deepEqual(bob.drainEvents(), [], 'nothing forged is introduced');
      assert.deepEqual(bob.drain(), [], 'nor acknowledged (the broker retransmits the genuine one)');
      bob.receive(toBob, BROKER, 1);
      const introduced = bob.drainEvents().find((e) => e.type === 'introduce');
      assert.ok(introduced?.type === 'introduce');
      assert.equal(introduced.introduction.fingerprint, formatFingerprint(Buffer.alloc(32, 0xa1)));
    });
  }

  it('a REGISTER whose fingerprint was swapped on the path does not register (the proof covers it)', () => {
    const broker = makeBroker({ credential });
    const bob = client('bob', undefined, Buffer.alloc(32, 0xb2));
    bob.register(0);
    for (const t of bob.drain()) broker.receive(t.data, B, 0);
    for (const t of broker.drain()) bob.receive(t.data, BROKER, 0); // the CHALLENGE
    const proven = bob.drain()[0]!.data;
    const frame = decodeBrokerFrame(proven);
    assert.ok(frame.type === 1 && frame.fingerprint !== undefined && frame.token.length === 40);
    const swapped = Buffer.from(proven);
    swapped.fill(
      0xee,
      frame.fingerprint.byteOffset - proven.byteOffset,
      frame.fingerprint.byteOffset - proven.byteOffset + 32,
    );
    broker.receive(swapped, B, 0);
    assert.equal(broker.stats().rejectedAuth, 1);
    assert.equal(broker.stats().peers, 0);
    broker.receive(proven, B, 0);
    assert.equal(broker.stats().peers, 1, 'the genuine REGISTER registers');
    assert.equal(broker.peerInfo('bob')?.fingerprint, formatFingerprint(Buffer.alloc(32, 0xb2)));
  });

  it('retransmits an introduction until it is acknowledged, and counts one that never is', () => {
    const broker = makeBroker({ retransmit: { initialRtoMs: 100, maxTransmissions: 4 } });
    const { alice, bob } = registerBoth(broker);
    let dropIntroToBob = 2;
    const drop = (f: BrokerFrame, toBroker: boolean): boolean =>
      !toBroker && f.type === 4 && f.role === 1 && dropIntroToBob-- > 0;
    alice.connect('bob', 0);
    pump(
      broker,
      [
        [alice, A],
        [bob, B],
      ],
      0,
      drop,
    );
    assert.equal(bob.drainEvents().filter((e) => e.type === 'introduce').length, 0);
    for (let now = 50; now <= 1000; now += 50) {
      broker.poll(now);
      pump(
        broker,
        [
          [alice, A],
          [bob, B],
        ],
        now,
        drop,
      );
    }
    assert.equal(
      bob.drainEvents().filter((e) => e.type === 'introduce').length,
      1,
      'delivered once, despite two losses',
    );
    assert.equal(broker.stats().retransmissions, 2);
    assert.equal(broker.stats().pending, 0);
    // Now Bob never answers: the broker gives up after maxTransmissions and counts it.
    alice.connect('bob', 2000);
    pump(
      broker,
      [
        [alice, A],
        [bob, B],
      ],
      2000,
      (f, toBroker) => toBroker && f.type === 5,
    );
    for (let now = 2000; now <= 5000; now += 50) {
      broker.poll(now);
      pump(
        broker,
        [
          [alice, A],
          [bob, B],
        ],
        now,
        (f, toBroker) => toBroker && f.type === 5,
      );
    }
    assert.equal(broker.stats().introductionsLost, 2);
    assert.equal(broker.stats().pending, 0);
  });

  it('the client retransmits REGISTER until acknowledged; duplicates get the same session', () => {
    const broker = makeBroker();
    const alice = client('alice');
    alice.register(0);
    const challenge = alice.drain();
    for (const t of challenge) broker.receive(t.data, A, 0);
    for (const t of broker.drain()) alice.receive(t.data, BROKER, 0); // CHALLENGE: answered at once
    const first = alice.drain();
    assert.equal(first.length, 1);
    for (const t of first) broker.receive(t.data, A, 0);
    const [ok] = broker.drain(); // the OK is lost
    alice.poll(250);
    const again = alice.drain();
    assert.equal(again.length, 1, 'retransmitted after the RTO');
    assert.ok(again[0]!.data.equals(first[0]!.data));
    broker.receive(again[0]!.data, A, 250);
    const [okAgain] = broker.drain();
    assert.ok(okAgain!.data.equals(ok!.data), 'the same answer, the same session');
    alice.receive(okAgain!.data, BROKER, 260);
    assert.ok(alice.registered);
    assert.equal(broker.stats().registrations, 1);
  });

  it('expires silent peers and keeps live ones through keepalives', () => {
    const broker = makeBroker({ peerTimeoutMs: 45_000 });
    const { alice, bob } = registerBoth(broker);
    for (let now = 1000; now <= 60_000; now += 1000) {
      alice.poll(now); // keepalives every 15 s
      pump(broker, [[alice, A]], now);
      broker.poll(now);
    }
    assert.ok(broker.has('alice'));
    assert.ok(!broker.has('bob'));
    assert.equal(broker.stats().expired, 1);
    // Bob's keepalive after expiry is answered NOT_REGISTERED and the client registers again.
    bob.poll(61_000);
    pump(broker, [[bob, B]], 61_000);
    assert.ok(broker.has('bob'));
    assert.ok(bob.drainEvents().some((e) => e.type === 'registered'));
  });

  it('forgets a peer that unregisters, only for its own session', () => {
    const broker = makeBroker();
    const alice = client('alice');
    const bob = client('bob');
    alice.register(0);
    bob.register(0);
    const both: [BrokerClientCore, NatEndpoint][] = [
      [alice, A],
      [bob, B],
    ];
    pump(broker, both, 0);
    // A forged goodbye (a session nobody was given) changes nothing and is answered NOT_REGISTERED.
    broker.receive(encodeBrokerFrame({ type: 6, seq: 1, session: Buffer.alloc(8, 0xee) }), A, 10);
    const refused = broker.drain().map((t) => decodeBrokerFrame(t.data));
    assert.deepEqual(
      refused.map((f) => f.type === 5 && f.status),
      [BrokerStatus.NOT_REGISTERED],
    );
    assert.ok(broker.has('bob'));
    assert.equal(bob.unregister(), true);
    assert.equal(bob.unregister(), false, 'once');
    assert.equal(bob.registered, false);
    const [goodbye] = bob.drain();
    assert.equal(decodeBrokerFrame(goodbye!.data).type, 6);
    broker.receive(goodbye!.data, B, 20);
    assert.ok(!broker.has('bob'));
    assert.equal(broker.stats().unregistered, 1);
    assert.equal(broker.stats().peers, 1);
    const [ack] = broker.drain().map((t) => decodeBrokerFrame(t.data));
    assert.equal(ack?.type === 5 && ack.status, BrokerStatus.OK);
    // Asking for Bob now gets UNKNOWN_PEER at once.
    const seq = alice.connect('bob', 30);
    pump(broker, both, 30);
    assert.deepEqual(
      alice.drainEvents().filter((e) => e.type === 'connect-result'),
      [{ type: 'connect-result', seq, status: BrokerStatus.UNKNOWN_PEER }],
    );
  });

  it('follows a NAT rebinding: a keepalive from a new address makes the peer re-register there with proof', () => {
    const broker = makeBroker();
    const alice = client('alice');
    alice.register(0);
    pump(broker, [[alice, A]], 0);
    alice.drainEvents();
    const moved = { address: A.address, port: 50_000 };
    alice.poll(15_000);
    pump(broker, [[alice, moved]], 15_000);
    assert.equal(broker.stats().addressChanges, 1);
    assert.equal(broker.stats().addressUnproven, 1);
    assert.deepEqual(alice.drainEvents(), [{ type: 'registered', observed: moved }]);
  });

  it('is bounded: maxPeers answers FULL, maxPending answers BUSY', () => {
    const broker = makeBroker({ maxPeers: 1, maxPending: 2 });
    const { alice, bob } = registerBoth(broker);
    assert.ok(alice.registered);
    assert.ok(!bob.registered);
    assert.equal(broker.stats().rejectedFull, 1);
    assert.ok(bob.drainEvents().some((e) => e.type === 'refused' && e.status === BrokerStatus.FULL));

    const b2 = makeBroker({ maxPending: 2 });
    const c1 = client('alice');
    const c2 = client('bob');
    c1.register(0);
    c2.register(0);
    pump(
      b2,
      [
        [c1, A],
        [c2, B],
      ],
      0,
    );
    c1.connect('bob', 1);
    pump(b2, [[c1, A]], 1); // Bob does not acknowledge: his introduction stays in flight
    c1.drainEvents();
    c1.connect('bob', 2);
    pump(b2, [[c1, A]], 2);
    assert.ok(c1.drainEvents().some((e) => e.type === 'connect-result' && e.status === BrokerStatus.BUSY));
    assert.equal(b2.stats().rejectedBusy, 1);
    assert.equal(b2.stats().pending, 1, "Bob's unacknowledged introduction");
  });

  it('answers an unknown target with UNKNOWN_PEER and a retransmitted CONNECT only once', () => {
    const broker = makeBroker();
    const alice = client('alice');
    alice.register(0);
    pump(broker, [[alice, A]], 0);
    alice.drainEvents();
    const seq = alice.connect('carol', 1);
    pump(broker, [[alice, A]], 1);
    assert.deepEqual(alice.drainEvents(), [
      { type: 'connect-result', seq, status: BrokerStatus.UNKNOWN_PEER },
    ]);
    assert.equal(broker.stats().unknownTarget, 1);
    const bob = client('bob');
    bob.register(2);
    pump(broker, [[bob, B]], 2);
    alice.connect('bob', 3);
    const request = alice.drain()[0]!;
    broker.receive(request.data, A, 3);
    broker.receive(request.data, A, 4); // a retransmission
    assert.equal(broker.stats().introductions, 1);
  });

  it('drops and counts malformed and hostile frames without answering', () => {
    const broker = makeBroker();
    const random = mulberry32(99);
    for (let i = 0; i < 1000; i++) broker.receive(randomBytesFrom(random, 1 + (i % 40)), A, 0);
    broker.receive(Buffer.from([5, 1, 5, 0, 0, 0, 0, 1]), A, 0);
    assert.equal(broker.stats().malformed, 1001);
    // Well-formed but not for a broker: an INTRODUCE, a stray ACK.
    broker.receive(
      encodeBrokerFrame({
        type: 4,
        seq: 1,
        linkId: Buffer.alloc(8),
        role: 0,
        secret: Buffer.alloc(32),
        natClass: 'open',
        peerId: 'x',
        candidates: [],
      }),
      A,
      0,
    );
    broker.receive(
      encodeBrokerFrame({ type: 5, seq: 1, status: 0, session: Buffer.alloc(8), observed: null }),
      A,
      0,
    );
    assert.equal(broker.stats().unexpected, 2);
    // A keepalive with a made-up session learns nothing but NOT_REGISTERED.
    broker.receive(encodeBrokerFrame({ type: 2, seq: 3, session: Buffer.alloc(8, 1) }), A, 0);
    const out = broker.drain();
    assert.equal(out.length, 1);
    const ack = decodeBrokerFrame(out[0]!.data);
    assert.ok(ack.type === 5 && ack.status === BrokerStatus.NOT_REGISTERED && ack.observed === null);
  });

  it('validates options', () => {
    assert.throws(() => new BrokerCore({} as never), { code: 'ERR_INVALID_OPTION', option: 'credential' });
    assert.throws(() => makeBroker({ maxPeers: 0 }), { code: 'ERR_INVALID_OPTION', option: 'maxPeers' });
    assert.throws(() => client('has space'), { code: 'ERR_INVALID_OPTION', option: 'peerId' });
  });
});
