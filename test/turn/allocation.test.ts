// The sans-I/O TURN allocation (RFC 8656) against a scripted server under a fake clock: the 401
// dance, integrity, refresh timing, permission and channel refresh, 438, retransmissions, close.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeStun,
  encodeStun,
  getNonce,
  getRealm,
  getUsername,
  longTermKey,
  makeErrorCode,
  makeNonce,
  makeRealm,
  makeXorMappedAddress,
  type StunAttributeInit,
  StunClass,
  type StunMessage,
  verifyIntegrity,
} from '../../src/stun/index.ts';
import {
  encodeChannelData,
  getChannelNumber,
  getData,
  getLifetime,
  getXorPeerAddress,
  makeData,
  makeLifetime,
  makeXorPeerAddress,
  makeXorRelayedAddress,
  TurnAllocation,
  type TurnAllocationOptions,
  type TurnEvent,
  TurnMethod,
  type TurnPeer,
} from '../../src/turn/index.ts';

const SERVER = { address: '192.0.2.1', port: 3478 };
const REALM = 'porthole.test';
const KEY = longTermKey({ username: 'alice', realm: REALM, password: 'secret' });
const RELAYED = { address: '192.0.2.1', port: 49152 };
const PEER = { address: '198.51.100.7', port: 6000 };

/** The scripted side: decodes what the client sends and answers it. */
class Harness {
  readonly core: TurnAllocation;
  readonly received: { data: Buffer; peer: TurnPeer }[] = [];
  events: TurnEvent[] = [];
  nextWakeMs = Number.POSITIVE_INFINITY;

  constructor(options: Partial<TurnAllocationOptions> = {}) {
    this.core = new TurnAllocation({
      server: SERVER,
      username: 'alice',
      password: 'secret',
      onData: (data, peer) => this.received.push({ data, peer }),
      ...options,
    });
  }

  /** Polls at `now`; returns the requests sent (decoded). */
  poll(now: number): StunMessage[] {
    const result = this.core.poll(now);
    this.events.push(...result.events);
    this.nextWakeMs = result.nextWakeMs;
    return result.datagrams.map((d) => decodeStun(d));
  }

  answer(
    request: StunMessage,
    now: number,
    cls: 2 | 3,
    attributes: StunAttributeInit[],
    integrity = true,
  ): boolean {
    const bytes = encodeStun(
      { method: request.method, class: cls, transactionId: request.transactionId, attributes },
      integrity ? { integrityKey: KEY } : {},
    );
    return this.core.receive(bytes, SERVER, now);
  }

  /** Runs the 401 dance to an allocation granted for `lifetimeS` at t = 0. */
  allocate(lifetimeS = 600): void {
    this.core.allocate(0);
    const [first] = this.poll(0);
    this.answer(
      first!,
      0,
      StunClass.ERROR_RESPONSE,
      [makeErrorCode(401), makeRealm(REALM), makeNonce('n1')],
      false,
    );
    const [second] = this.poll(0);
    this.answer(second!, 0, StunClass.SUCCESS_RESPONSE, [
      makeXorRelayedAddress(RELAYED),
      makeXorMappedAddress({ address: '203.0.113.5', port: 40000 }),
      makeLifetime(lifetimeS),
    ]);
    this.poll(0);
    assert.equal(this.core.state, 'allocated');
  }
}

describe('TurnAllocation (sans-I/O)', () => {
  it('allocates with the 401 dance: unauthenticated first, then USERNAME/REALM/NONCE/MESSAGE-INTEGRITY', () => {
    const h = new Harness();
    const op = h.core.allocate(0);
    const [first] = h.poll(0);
    assert.equal(first!.method, TurnMethod.ALLOCATE);
    assert.equal(getUsername(first!), undefined, 'no credentials before the challenge');
    h.answer(
      first!,
      1,
      StunClass.ERROR_RESPONSE,
      [makeErrorCode(401), makeRealm(REALM), makeNonce('n1')],
      false,
    );
    const [second] = h.poll(1);
    assert.equal(getUsername(second!), 'alice');
    assert.equal(getRealm(second!), REALM);
    assert.equal(getNonce(second!), 'n1');
    verifyIntegrity(second!, KEY);
    // A success response with a wrong MESSAGE-INTEGRITY is discarded as if never received.
    const forged = encodeStun(
      {
        method: TurnMethod.ALLOCATE,
        class: StunClass.SUCCESS_RESPONSE,
        transactionId: second!.transactionId,
        attributes: [makeXorRelayedAddress(RELAYED)],
      },
      { integrityKey: Buffer.alloc(16) },
    );
    assert.equal(h.core.receive(forged, SERVER, 2), true);
    assert.equal(h.core.stats().badIntegrity, 1);
    assert.equal(h.core.state, 'allocating');
    h.answer(second!, 3, StunClass.SUCCESS_RESPONSE, [makeXorRelayedAddress(RELAYED), makeLifetime(600)]);
    h.poll(3);
    assert.deepEqual(h.events, [{ type: 'done', op }]);
    assert.deepEqual(h.core.relayedAddress, { family: 'IPv4', ...RELAYED });
    assert.equal(h.core.lifetimeS, 600);
    assert.equal(h.nextWakeMs, 3 + 480_000, 'refresh at 80% of LIFETIME');
  });

  it('fails with ERR_TURN_AUTH_FAILED when the credentials are refused', () => {
    const h = new Harness({ password: 'wrong' });
    const op = h.core.allocate(0);
    const [first] = h.poll(0);
    h.answer(first!, 0, 3, [makeErrorCode(401), makeRealm(REALM), makeNonce('n1')], false);
    const [second] = h.poll(0);
    h.answer(second!, 0, 3, [makeErrorCode(401), makeRealm(REALM), makeNonce('n2')], false);
    h.poll(0);
    const failed = h.events[0];
    assert.equal(failed?.type, 'failed');
    assert.equal(failed.type === 'failed' && failed.op, op);
    assert.equal(
      failed.type === 'failed' && (failed.error as { code?: string }).code,
      'ERR_TURN_AUTH_FAILED',
    );
    assert.equal(h.core.state, 'failed');
  });

  it('retransmits per RFC 8489 §6.2.1 and times out at 39.5 s', () => {
    const h = new Harness();
    h.core.allocate(0);
    const sends: number[] = [];
    for (let t = 0; t <= 40_000; t += 250) if (h.poll(t).length > 0) sends.push(t);
    assert.deepEqual(sends, [0, 500, 1500, 3500, 7500, 15500, 31500]);
    const failed = h.events.find((e) => e.type === 'failed');
    assert.equal(failed?.type === 'failed' && (failed.error as { code?: string }).code, 'ERR_TIMEOUT');
    assert.equal(h.core.state, 'failed');
  });

  it('refreshes at 80% of LIFETIME, retries a lost refresh, and reports loss at expiry', () => {
    const h = new Harness();
    h.allocate(600);
    assert.deepEqual(h.poll(479_999), []);
    const [refresh] = h.poll(480_000);
    assert.equal(refresh!.method, TurnMethod.REFRESH);
    verifyIntegrity(refresh!, KEY);
    h.answer(refresh!, 480_100, 2, [makeLifetime(300)]);
    h.poll(480_100);
    assert.equal(h.core.stats().refreshes, 1);
    assert.equal(h.core.lifetimeS, 300);
    assert.equal(h.nextWakeMs, 480_100 + 240_000);
    // The next refresh gets no answer: retransmitted, then retried, then the allocation expires.
    let requests = 0;
    for (let t = 720_100; t <= 780_100; t += 500) requests += h.poll(t).length;
    assert.ok(requests > 7, `the refresh was retried (${requests} transmissions)`);
    const lost = h.events.find((e) => e.type === 'lost');
    assert.equal(lost?.type === 'lost' && lost.error.code, 'ERR_TURN_ALLOCATION_LOST');
    assert.equal(h.core.state, 'failed');
    assert.throws(() => h.core.createPermission('198.51.100.7', 780_200), {
      code: 'ERR_TURN_ALLOCATION_LOST',
    });
  });

  it('a Refresh answered 437 loses the allocation at once', () => {
    const h = new Harness();
    h.allocate(600);
    const [refresh] = h.poll(480_000);
    h.answer(refresh!, 480_001, 3, [makeErrorCode(437, 'Allocation Mismatch')]);
    h.poll(480_001);
    const lost = h.events.find((e) => e.type === 'lost');
    assert.equal(lost?.type === 'lost' && lost.error.status, 437);
  });

  it('refreshes permissions every 240 s (< 300 s) and channel bindings every 480 s (< 600 s)', () => {
    const h = new Harness();
    h.allocate(3600);
    const permissionOp = h.core.createPermission(PEER.address, 10);
    const [perm] = h.poll(10);
    assert.equal(perm!.method, TurnMethod.CREATE_PERMISSION);
    assert.equal(getXorPeerAddress(perm!)?.address, PEER.address);
    h.answer(perm!, 20, 2, []);
    const { op: channelOp, channel } = h.core.bindChannel(PEER, 20);
    const [bind] = h.poll(20);
    assert.equal(bind!.method, TurnMethod.CHANNEL_BIND);
    assert.equal(getChannelNumber(bind!), channel);
    assert.equal(channel, 0x4000);
    // Before the binding is confirmed, data goes as a Send indication; after, as ChannelData.
    const before = decodeStun(h.core.encodeSend(Buffer.from('x'), PEER));
    assert.equal(before.method, TurnMethod.SEND);
    assert.equal(before.class, StunClass.INDICATION);
    assert.deepEqual(getData(before), Buffer.from('x'));
    h.answer(bind!, 30, 2, []);
    h.poll(30);
    assert.deepEqual(
      h.events.filter((e) => e.type === 'done').map((e) => (e.type === 'done' ? e.op : 0)),
      [1, permissionOp, channelOp],
    );
    assert.deepEqual(h.core.encodeSend(Buffer.from('x'), PEER), encodeChannelData(0x4000, Buffer.from('x')));
    // Permission refreshes at 20 + 240 000, channel at 30 + 480 000; each answered in 10 ms.
    const times: [number, number][] = [];
    for (let t = 30; t <= 1_000_000; t = h.nextWakeMs ?? t + 1000) {
      for (const request of h.poll(t)) {
        times.push([request.method, t]);
        h.answer(request, t + 10, 2, request.method === TurnMethod.REFRESH ? [makeLifetime(3600)] : []);
      }
      if (h.nextWakeMs === undefined || h.nextWakeMs <= t) break;
    }
    const at = (method: number) => times.filter(([m]) => m === method).map(([, t]) => t);
    assert.deepEqual(at(TurnMethod.CREATE_PERMISSION).slice(0, 4), [240_020, 480_030, 720_040, 960_050]);
    assert.deepEqual(at(TurnMethod.CHANNEL_BIND).slice(0, 2), [480_030, 960_040]);
    assert.equal(h.core.stats().permissions, 1);
    assert.equal(h.core.stats().channels, 1);
  });

  it('438 Stale Nonce: retries with the new nonce, at most twice', () => {
    const h = new Harness();
    h.allocate(600);
    const op = h.core.createPermission(PEER.address, 1);
    let [request] = h.poll(1);
    for (const nonce of ['n2', 'n3']) {
      h.answer(request!, 2, 3, [makeErrorCode(438), makeRealm(REALM), makeNonce(nonce)], false);
      [request] = h.poll(2);
      assert.equal(getNonce(request!), nonce);
      verifyIntegrity(request!, KEY);
    }
    assert.equal(h.core.stats().staleNonces, 2);
    h.answer(request!, 3, 3, [makeErrorCode(438), makeNonce('n4')], false);
    h.poll(3);
    const failed = h.events.find((e) => e.type === 'failed');
    assert.equal(failed?.type === 'failed' && failed.op, op);
    assert.equal(failed?.type === 'failed' && (failed.error as { status?: number }).status, 438);
    assert.equal(h.core.stats().permissions, 0, 'a permission never installed is forgotten');
  });

  it('delivers Data indications and ChannelData; drops foreign, unknown-channel and malformed datagrams', () => {
    const h = new Harness();
    h.allocate(600);
    h.core.bindChannel(PEER, 1);
    const [bind] = h.poll(1);
    h.answer(bind!, 2, 2, []);
    const indication = encodeStun({
      method: TurnMethod.DATA,
      class: StunClass.INDICATION,
      attributes: [makeXorPeerAddress(PEER), makeData(Buffer.from('via indication'))],
    });
    assert.equal(h.core.receive(indication, SERVER, 3), true);
    const channelData = encodeChannelData(0x4000, Buffer.from('via channel'));
    assert.equal(h.core.receive(channelData, SERVER, 3), true);
    assert.equal(h.core.receive(channelData, { address: '192.0.2.9', port: 3478 }, 3), false);
    assert.equal(h.core.receive(encodeChannelData(0x4001, Buffer.from('?')), SERVER, 3), true);
    assert.equal(h.core.receive(Buffer.from([0x40, 0x00, 0x00, 0x09]), SERVER, 3), true);
    assert.deepEqual(
      h.received.map((r) => [r.data.toString(), r.peer.address, r.peer.port]),
      [
        ['via indication', PEER.address, PEER.port],
        ['via channel', PEER.address, PEER.port],
      ],
    );
    const stats = h.core.stats();
    assert.equal(stats.indicationsReceived, 1);
    assert.equal(stats.channelDataReceived, 1);
    assert.equal(stats.notFromServer, 1);
    assert.equal(stats.unknownChannel, 1);
    assert.equal(stats.malformed, 1);
  });

  it('caps permissions and channels, counting refusals', () => {
    const h = new Harness({ maxPermissions: 2, maxChannels: 1 });
    h.allocate(600);
    h.core.createPermission('198.51.100.1', 1);
    h.core.createPermission('198.51.100.2', 1);
    h.core.createPermission('198.51.100.2', 1); // a refresh of an existing one is not capped
    assert.throws(() => h.core.createPermission('198.51.100.3', 1), {
      code: 'ERR_TURN_TOO_MANY_PERMISSIONS',
    });
    h.core.bindChannel(PEER, 1);
    assert.throws(() => h.core.bindChannel({ ...PEER, port: 6001 }, 1), {
      code: 'ERR_TURN_TOO_MANY_CHANNELS',
    });
    const stats = h.core.stats();
    assert.equal(stats.permissionsRefused, 1);
    assert.equal(stats.channelsRefused, 1);
  });

  it('close sends Refresh with LIFETIME 0, fails operations in flight with ERR_CLOSED, then reports closed', () => {
    const h = new Harness();
    h.allocate(600);
    const op = h.core.createPermission(PEER.address, 1);
    h.poll(1);
    h.core.close(2);
    h.core.close(2); // idempotent
    const [refresh] = h.poll(2);
    assert.equal(refresh!.method, TurnMethod.REFRESH);
    assert.equal(getLifetime(refresh!), 0);
    verifyIntegrity(refresh!, KEY);
    const failed = h.events.find((e) => e.type === 'failed');
    assert.equal(failed?.type === 'failed' && failed.op, op);
    assert.equal(failed?.type === 'failed' && (failed.error as { code?: string }).code, 'ERR_CLOSED');
    h.answer(refresh!, 3, 2, [makeLifetime(0)]);
    h.poll(3);
    assert.equal(h.events.at(-1)?.type, 'closed');
    assert.equal(h.core.state, 'closed');
    assert.equal(h.nextWakeMs, Number.POSITIVE_INFINITY);
  });

  it('close without an answer gives up after the close retransmissions (3.5 s)', () => {
    const h = new Harness();
    h.allocate(600);
    h.core.close(0);
    let sends = 0;
    for (let t = 0; t < 3500; t += 100) sends += h.poll(t).length;
    assert.equal(sends, 3);
    assert.equal(h.core.state, 'closing');
    h.poll(3500);
    assert.equal(h.core.state, 'closed');
  });

  it('rejects bad options with ERR_INVALID_OPTION naming the option', () => {
    for (const [bad, option] of [
      [{ refreshRatio: 1 }, 'refreshRatio'],
      [{ permissionRefreshMs: 300_000 }, 'permissionRefreshMs'],
      [{ channelRefreshMs: 600_000 }, 'channelRefreshMs'],
      [{ maxChannels: 4097 }, 'maxChannels'],
      [{ lifetimeS: 0 }, 'lifetimeS'],
    ] as const) {
      assert.throws(() => new Harness(bad), { code: 'ERR_INVALID_OPTION', option }, JSON.stringify(bad));
    }
  });

  it('a call in the wrong state is ERR_INVALID_STATE, after close ERR_CLOSED', () => {
    const h = new Harness();
    assert.throws(() => h.core.createPermission(PEER.address, 0), { code: 'ERR_INVALID_STATE' });
    h.core.allocate(0);
    assert.throws(() => h.core.allocate(1), { code: 'ERR_INVALID_STATE' });
    assert.throws(() => h.core.encodeSend(Buffer.from('x'), PEER), { code: 'ERR_INVALID_STATE' });
    h.core.close(2);
    assert.throws(() => h.core.createPermission(PEER.address, 3), { code: 'ERR_CLOSED' });
  });
});
