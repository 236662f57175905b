// A link on the relay ends the other side too: the CLOSE travels through the relayed channel.
// Two PunchLinks whose data sockets drop everything (no direct path can be made) fall back to an
// in-process relay that joins them; closing one must close the other with 'remote'.
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import {
  type Introduction,
  LinkRole,
  PunchLink,
  type RelayChannel,
  type RelayProvider,
} from '../../src/punch/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

/** A data socket on which nothing arrives: every send is dropped (and counted). */
function blackHole(): Socket & { sends: number } {
  const socket = {
    sends: 0,
    send(...args: unknown[]) {
      socket.sends++;
      const callback = args.at(-1);
      if (typeof callback === 'function') queueMicrotask(() => callback(null));
    },
    setTTL() {},
  };
  return socket as unknown as Socket & { sends: number };
}

/** Two relay providers joined in memory: what one side's channel sends, the other receives. */
function relayPair(): [RelayProvider, RelayProvider, { closed: number }] {
  const inbox: ((data: Buffer) => void)[] = [];
  const state = { closed: 0 };
  const provider = (side: 0 | 1): RelayProvider => ({
    async open(_introduction, onData): Promise<RelayChannel> {
      inbox[side] = onData;
      return {
        send: (data) => queueMicrotask(() => inbox[1 - side]?.(Buffer.from(data))),
        close: () => {
          state.closed++;
        },
      };
    },
  });
  return [provider(0), provider(1), state];
}

function introduction(role: 0 | 1, peerId: string): Introduction {
  return {
    linkId: Buffer.from('0a0b0c0d0e0f1011', 'hex'),
    role,
    secret: Buffer.alloc(32, 3),
    peerId,
    natClass: 'symmetric',
    candidates: [{ kind: 'srflx', address: '127.0.0.1', port: 9 }],
  };
}

describe('a link on the relay', () => {
  it('sends its CLOSE through the relay: the other side closes with "remote"', async () => {
    const [relayA, relayB, relays] = relayPair();
    const make = (role: 0 | 1, peerId: string, relay: RelayProvider) =>
      new PunchLink({
        introduction: introduction(role, peerId),
        socket: blackHole(),
        family: 'udp4',
        bindAddress: '127.0.0.1',
        agent: { punchTimeoutMs: 50, prediction: false },
        relay,
        relayRetryDirectMs: 60_000,
        now: () => performance.now(),
        onClose: () => {},
      });
    const alice = make(LinkRole.INITIATOR, 'bob', relayA);
    const bob = make(LinkRole.RESPONDER, 'alice', relayB);
    const signal = AbortSignal.timeout(5000);
    await Promise.all([alice.ready(signal), bob.ready(signal)]);
    assert.equal(alice.path, 'relay');
    assert.equal(bob.path, 'relay');
    alice.send(Buffer.from('over the relay'));
    const first = await bob[Symbol.asyncIterator]().next();
    assert.equal(String(first.value), 'over the relay', 'payloads travel unframed and arrive');
    const paths: unknown[] = [];
    bob.on('path', (p) => paths.push(p));
    const closed = once(bob, 'close', { signal });
    await alice.close();
    assert.deepEqual(await closed, ['remote']);
    assert.equal(alice.closeReason, 'local');
    assert.equal(bob.stats().remoteCloses, 1);
    assert.deepEqual(paths, []);
    assert.equal(relays.closed, 2, 'both relayed channels closed');
  });
});
