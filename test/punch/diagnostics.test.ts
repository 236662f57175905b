// Punch diagnostics channels: a broker and peers on loopback with real sockets (no NAT).
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import {
  Broker,
  dialPeer,
  type PunchBrokerIntroductionMessage,
  type PunchBrokerRegistrationMessage,
  PunchDiagnostics,
  type PunchFailedMessage,
  type PunchIntroducedMessage,
  type PunchPathChangedMessage,
  PunchPeer,
  type PunchRegisteredMessage,
  type RelayProvider,
} from '../../src/punch/index.ts';
import { type ChannelRecording, recordChannel, spyPublishes } from '../support/diagnostics.ts';
import { checkLeaks } from '../support/leaks.ts';

const TOKENS = new Map([
  ['alice', 'a-secret'],
  ['bob', 'b-secret'],
]);
const closers: (() => Promise<void>)[] = [];
const recordings: ChannelRecording<unknown>[] = [];
function record<T>(name: string): ChannelRecording<T> {
  const r = recordChannel<T>(name);
  recordings.push(r as ChannelRecording<unknown>);
  return r;
}
afterEach(async () => {
  for (const r of recordings.splice(0)) r.stop();
  for (const close of closers.splice(0).reverse()) await close();
});
after(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
checkLeaks();

async function startBroker(
  maxPeers?: number,
): Promise<{ broker: Broker; address: { address: string; port: number } }> {
  const broker = await Broker.listen({
    address: '127.0.0.1',
    port: 0,
    authenticate: (id, token) => TOKENS.get(id) === token.toString(),
    ...(maxPeers === undefined ? {} : { maxPeers }),
  });
  closers.push(() => broker.close());
  return { broker, address: { address: '127.0.0.1', port: broker.address().port } };
}

async function openBob(
  broker: { address: string; port: number },
  maxUnaccepted?: number,
): Promise<PunchPeer> {
  const bob = await PunchPeer.open({
    broker,
    id: 'bob',
    token: 'b-secret',
    address: '127.0.0.1',
    natClass: 'open',
    signal: AbortSignal.timeout(20_000),
    ...(maxUnaccepted === undefined ? {} : { maxUnaccepted }),
  });
  closers.push(() => bob.close());
  return bob;
}

describe('punch diagnostics channels', () => {
  it('publishes registration, introduction and path changes of a direct link', async () => {
    const brokerRegistration = record<PunchBrokerRegistrationMessage>(PunchDiagnostics.BROKER_REGISTRATION);
    const brokerIntroduction = record<PunchBrokerIntroductionMessage>(PunchDiagnostics.BROKER_INTRODUCTION);
    const registered = record<PunchRegisteredMessage>(PunchDiagnostics.REGISTERED);
    const introduced = record<PunchIntroducedMessage>(PunchDiagnostics.INTRODUCED);
    const path = record<PunchPathChangedMessage>(PunchDiagnostics.PATH_CHANGED);
    const { address: brokerAddress } = await startBroker();
    const bob = await openBob(brokerAddress);
    const accepted = bob.accept({ signal: AbortSignal.timeout(20_000) });
    const aliceLink = await dialPeer({
      broker: brokerAddress,
      id: 'alice',
      token: 'a-secret',
      address: '127.0.0.1',
      natClass: 'open',
      peer: 'bob',
      signal: AbortSignal.timeout(20_000),
    });
    closers.push(() => aliceLink.close());
    const bobLink = await accepted;
    const linkId = aliceLink.linkId.toString('hex');

    assert.deepEqual(
      brokerRegistration.messages.map((m) => [m.peerId, m.status, m.natClass, m.peers, m.from.address]),
      [
        ['bob', 'ok', 'open', 1, '127.0.0.1'],
        ['alice', 'ok', 'open', 2, '127.0.0.1'],
      ],
    );
    assert.equal(brokerRegistration.messages[0]?.from.port, bob.localPort);
    assert.deepEqual(
      registered.messages.map((m) => [m.peerId, m.status, m.broker, m.observed?.address]),
      [
        ['bob', 'ok', brokerAddress, '127.0.0.1'],
        ['alice', 'ok', brokerAddress, '127.0.0.1'],
      ],
    );
    assert.equal(brokerIntroduction.messages.length, 1);
    const intro = brokerIntroduction.messages[0]!;
    assert.equal(intro.linkId, linkId);
    assert.equal(intro.initiator.peerId, 'alice');
    assert.deepEqual(intro.responder, {
      peerId: 'bob',
      address: { address: '127.0.0.1', port: bob.localPort },
    });
    assert.deepEqual(
      introduced.messages.map((m) => [m.peerId, m.remotePeerId, m.linkId, m.role, m.remoteNat]).sort(),
      [
        ['alice', 'bob', linkId, 'initiator', 'open'],
        ['bob', 'alice', linkId, 'responder', 'open'],
      ],
    );
    assert.ok(introduced.messages.every((m) => m.candidates >= 1));
    const alicePath = path.messages.find((m) => m.peerId === 'bob');
    assert.deepEqual(alicePath, {
      peerId: 'bob',
      linkId,
      kind: 'direct',
      remote: { address: '127.0.0.1', port: bob.localPort },
    });
    assert.equal(path.messages.find((m) => m.peerId === 'alice')?.kind, 'direct');
    await bobLink.close();
    await aliceLink.close();
    const closed = path.messages.filter((m) => m.kind === 'none');
    assert.deepEqual(closed.map((m) => [m.peerId, m.remote]).sort(), [
      ['alice', undefined],
      ['bob', undefined],
    ]);
  });

  it('publishes punch-failed (with a relay) and path-changed relay', async () => {
    const failed = record<PunchFailedMessage>(PunchDiagnostics.PUNCH_FAILED);
    const path = record<PunchPathChangedMessage>(PunchDiagnostics.PATH_CHANGED);
    const { address: brokerAddress } = await startBroker();
    await openBob(brokerAddress, 0); // takes no incoming links: never punches back
    const relay: RelayProvider = {
      async open() {
        return { send: () => {}, close: () => {} };
      },
    };
    const link = await dialPeer({
      broker: brokerAddress,
      id: 'alice',
      token: 'a-secret',
      address: '127.0.0.1',
      peer: 'bob',
      relay,
      punch: { punchTimeoutMs: 300 },
      signal: AbortSignal.timeout(20_000),
    });
    closers.push(() => link.close());
    const linkId = link.linkId.toString('hex');
    assert.equal(failed.messages.length, 1);
    assert.equal(failed.messages[0]?.peerId, 'bob');
    assert.equal(failed.messages[0]?.linkId, linkId);
    assert.equal(failed.messages[0]?.relay, true);
    assert.ok(failed.messages[0]!.reason.length > 0);
    assert.deepEqual(path.messages, [{ peerId: 'bob', linkId, kind: 'relay', remote: undefined }]);
  });

  it('publishes punch-failed without a relay when the link fails', async () => {
    const failed = record<PunchFailedMessage>(PunchDiagnostics.PUNCH_FAILED);
    const { address: brokerAddress } = await startBroker();
    await openBob(brokerAddress, 0);
    await assert.rejects(
      dialPeer({
        broker: brokerAddress,
        id: 'alice',
        token: 'a-secret',
        address: '127.0.0.1',
        peer: 'bob',
        punch: { punchTimeoutMs: 300 },
      }),
      { code: 'ERR_PUNCH_FAILED' },
    );
    assert.deepEqual(
      failed.messages.map((m) => [m.peerId, m.relay]),
      [['bob', false]],
    );
  });

  it('publishes broker-registration rejected-auth and full, and registered refused', async () => {
    const brokerRegistration = record<PunchBrokerRegistrationMessage>(PunchDiagnostics.BROKER_REGISTRATION);
    const registered = record<PunchRegisteredMessage>(PunchDiagnostics.REGISTERED);
    const { address: brokerAddress } = await startBroker(1);
    await openBob(brokerAddress);
    const open = (id: string, token: string) =>
      PunchPeer.open({
        broker: brokerAddress,
        id,
        token,
        address: '127.0.0.1',
        natClass: 'open',
        brokerRetransmit: { initialRtoMs: 20, maxTransmissions: 2 },
      });
    await assert.rejects(open('mallory', 'guess'));
    await assert.rejects(open('alice', 'a-secret'));
    const statuses = brokerRegistration.messages.map((m) => [m.peerId, m.status]);
    assert.deepEqual(statuses[0], ['bob', 'ok']);
    assert.ok(statuses.some(([id, s]) => id === 'mallory' && s === 'rejected-auth'));
    assert.ok(statuses.some(([id, s]) => id === 'alice' && s === 'full'));
    assert.ok(!statuses.some(([id, s]) => id !== 'bob' && s === 'ok'));
    assert.ok(
      registered.messages.some(
        (m) => m.peerId === 'alice' && m.status === 'refused' && m.observed === undefined,
      ),
    );
    assert.ok(
      !registered.messages.some((m) => m.peerId === 'mallory'),
      'an unauthenticated peer gets no answer',
    );
  });

  it('publishes nothing when nobody subscribes', async () => {
    const names = Object.values(PunchDiagnostics);
    const spy = spyPublishes(names);
    try {
      const { address: brokerAddress } = await startBroker();
      const bob = await openBob(brokerAddress);
      const accepted = bob.accept({ signal: AbortSignal.timeout(20_000) });
      const link = await dialPeer({
        broker: brokerAddress,
        id: 'alice',
        token: 'a-secret',
        address: '127.0.0.1',
        peer: 'bob',
        signal: AbortSignal.timeout(20_000),
      });
      await (await accepted).close();
      await link.close();
      for (const name of names) assert.equal(spy.counts.get(name), 0, `${name} published`);
    } finally {
      spy.restore();
    }
  });
});
