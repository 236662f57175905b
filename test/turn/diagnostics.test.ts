// TURN diagnostics channels, on the sans-I/O TurnAllocation against a scripted server (fake clock).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeStun,
  encodeStun,
  longTermKey,
  makeErrorCode,
  makeNonce,
  makeRealm,
  makeXorMappedAddress,
  type StunAttributeInit,
  StunClass,
  type StunMessage,
} from '../../src/stun/index.ts';
import {
  makeLifetime,
  makeXorRelayedAddress,
  TurnAllocation,
  type TurnAllocationClosedMessage,
  type TurnAllocationCreatedMessage,
  type TurnAllocationFailedMessage,
  type TurnAllocationRefreshedMessage,
  type TurnChannelBoundMessage,
  TurnDiagnostics,
  type TurnOperationFailedMessage,
  type TurnPermissionInstalledMessage,
} from '../../src/turn/index.ts';
import { recorder, spyPublishes } from '../support/diagnostics.ts';

const SERVER = { address: '192.0.2.1', port: 3478 };
const REALM = 'porthole.test';
const KEY = longTermKey({ username: 'alice', realm: REALM, password: 'secret' });
const RELAYED = { address: '192.0.2.1', port: 49152 };
const MAPPED = { address: '203.0.113.5', port: 40000 };
const PEER = { address: '198.51.100.7', port: 6000 };

const record = recorder();

/** A TurnAllocation and a scripted server answering it. */
function scripted(password = 'secret'): {
  core: TurnAllocation;
  poll(now: number): StunMessage[];
  answer(
    request: StunMessage,
    now: number,
    cls: 2 | 3,
    attributes: StunAttributeInit[],
    integrity?: boolean,
  ): void;
  allocate(): void;
} {
  const core = new TurnAllocation({ server: SERVER, username: 'alice', password });
  const poll = (now: number): StunMessage[] => core.poll(now).datagrams.map((d) => decodeStun(d));
  const answer = (
    request: StunMessage,
    now: number,
    cls: 2 | 3,
    attributes: StunAttributeInit[],
    integrity = true,
  ): void => {
    const bytes = encodeStun(
      { method: request.method, class: cls, transactionId: request.transactionId, attributes },
      integrity ? { integrityKey: KEY } : {},
    );
    core.receive(bytes, SERVER, now);
  };
  return {
    core,
    poll,
    answer,
    allocate(): void {
      core.allocate(0);
      const [first] = poll(0);
      answer(
        first!,
        0,
        StunClass.ERROR_RESPONSE,
        [makeErrorCode(401), makeRealm(REALM), makeNonce('n1')],
        false,
      );
      const [second] = poll(0);
      answer(second!, 0, StunClass.SUCCESS_RESPONSE, [
        makeXorRelayedAddress(RELAYED),
        makeXorMappedAddress(MAPPED),
        makeLifetime(600),
      ]);
      poll(0);
    },
  };
}

describe('turn diagnostics channels', () => {
  it('publishes allocation-created, allocation-refreshed and allocation-closed', () => {
    const created = record<TurnAllocationCreatedMessage>(TurnDiagnostics.ALLOCATION_CREATED);
    const refreshed = record<TurnAllocationRefreshedMessage>(TurnDiagnostics.ALLOCATION_REFRESHED);
    const closed = record<TurnAllocationClosedMessage>(TurnDiagnostics.ALLOCATION_CLOSED);
    const h = scripted();
    h.allocate();
    assert.deepEqual(created.messages, [
      { server: SERVER, relayed: RELAYED, mapped: MAPPED, lifetimeS: 600 },
    ]);
    const [refresh] = h.poll(480_000);
    assert.equal(refreshed.messages.length, 0);
    h.answer(refresh!, 480_001, StunClass.SUCCESS_RESPONSE, [makeLifetime(300)]);
    assert.deepEqual(refreshed.messages, [{ server: SERVER, relayed: RELAYED, lifetimeS: 300 }]);
    h.core.close(480_002);
    const [deletion] = h.poll(480_002);
    assert.equal(closed.messages.length, 0, 'closed once the server confirms the deletion');
    h.answer(deletion!, 480_003, StunClass.SUCCESS_RESPONSE, [makeLifetime(0)]);
    assert.deepEqual(closed.messages, [{ server: SERVER, relayed: RELAYED }]);
  });

  it('publishes allocation-failed (allocate) when the credentials are refused, and allocation-closed for a close before any allocation', () => {
    const failed = record<TurnAllocationFailedMessage>(TurnDiagnostics.ALLOCATION_FAILED);
    const closed = record<TurnAllocationClosedMessage>(TurnDiagnostics.ALLOCATION_CLOSED);
    const h = scripted('wrong');
    h.core.allocate(0);
    const [first] = h.poll(0);
    h.answer(first!, 0, 3, [makeErrorCode(401), makeRealm(REALM), makeNonce('n1')], false);
    const [second] = h.poll(0);
    h.answer(second!, 0, 3, [makeErrorCode(401), makeRealm(REALM), makeNonce('n2')], false);
    assert.equal(failed.messages.length, 1);
    assert.deepEqual(
      { ...failed.messages[0]!, message: undefined },
      {
        server: SERVER,
        phase: 'allocate',
        errorCode: 'ERR_TURN_AUTH_FAILED',
        status: 401,
        message: undefined,
      },
    );
    assert.match(failed.messages[0]!.message, /401/);
    const idle = new TurnAllocation({ server: SERVER, username: 'a', password: 'b' });
    idle.close(0);
    assert.deepEqual(closed.messages, [{ server: SERVER, relayed: undefined }]);
  });

  it('publishes allocation-failed (lost) when a Refresh is answered 437', () => {
    const failed = record<TurnAllocationFailedMessage>(TurnDiagnostics.ALLOCATION_FAILED);
    const h = scripted();
    h.allocate();
    const [refresh] = h.poll(480_000);
    h.answer(refresh!, 480_001, 3, [makeErrorCode(437, 'Allocation Mismatch')]);
    assert.equal(failed.messages.length, 1);
    assert.equal(failed.messages[0]?.phase, 'lost');
    assert.equal(failed.messages[0]?.errorCode, 'ERR_TURN_ALLOCATION_LOST');
    assert.equal(failed.messages[0]?.status, 437);
  });

  it('publishes permission-installed and channel-bound, first and on refresh', () => {
    const permission = record<TurnPermissionInstalledMessage>(TurnDiagnostics.PERMISSION_INSTALLED);
    const channel = record<TurnChannelBoundMessage>(TurnDiagnostics.CHANNEL_BOUND);
    const h = scripted();
    h.allocate();
    h.core.createPermission(PEER.address, 1);
    const [create] = h.poll(1);
    h.answer(create!, 2, StunClass.SUCCESS_RESPONSE, []);
    const { channel: number } = h.core.bindChannel(PEER, 3);
    const [bind] = h.poll(3);
    h.answer(bind!, 4, StunClass.SUCCESS_RESPONSE, []);
    assert.deepEqual(permission.messages, [{ server: SERVER, ip: PEER.address, refresh: false }]);
    assert.deepEqual(channel.messages, [{ server: SERVER, channel: number, peer: PEER, refresh: false }]);
    h.core.createPermission(PEER.address, 5);
    const [again] = h.poll(5);
    h.answer(again!, 6, StunClass.SUCCESS_RESPONSE, []);
    assert.deepEqual(permission.messages[1], { server: SERVER, ip: PEER.address, refresh: true });
  });

  it('publishes operation-failed for a refused CreatePermission and ChannelBind', () => {
    const failed = record<TurnOperationFailedMessage>(TurnDiagnostics.OPERATION_FAILED);
    const h = scripted();
    h.allocate();
    h.core.createPermission(PEER.address, 1);
    const [create] = h.poll(1);
    h.answer(create!, 2, StunClass.ERROR_RESPONSE, [makeErrorCode(403, 'Forbidden')]);
    h.core.bindChannel(PEER, 3);
    const [bind] = h.poll(3);
    h.answer(bind!, 4, StunClass.ERROR_RESPONSE, [makeErrorCode(400)]);
    assert.deepEqual(failed.messages, [
      {
        server: SERVER,
        operation: 'permission',
        peer: PEER.address,
        errorCode: 'ERR_TURN_REQUEST_FAILED',
        status: 403,
        kept: false,
      },
      {
        server: SERVER,
        operation: 'channel',
        peer: PEER,
        errorCode: 'ERR_TURN_REQUEST_FAILED',
        status: 400,
        kept: false,
      },
    ]);
  });

  it('publishes nothing when nobody subscribes', () => {
    const names = Object.values(TurnDiagnostics);
    const spy = spyPublishes(names);
    try {
      const h = scripted();
      h.allocate();
      h.core.createPermission(PEER.address, 1);
      const [create] = h.poll(1);
      h.answer(create!, 2, StunClass.ERROR_RESPONSE, [makeErrorCode(403)]);
      const [refresh] = h.poll(480_000);
      h.answer(refresh!, 480_001, 3, [makeErrorCode(437)]);
      assert.equal(h.core.state, 'failed');
      for (const name of names) assert.equal(spy.counts.get(name), 0, `${name} published`);
    } finally {
      spy.restore();
    }
  });
});
