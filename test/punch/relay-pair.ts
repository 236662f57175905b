// Two PunchLinks that can only meet on a relay: data sockets that drop everything, and two relay
// providers joined in memory (shared by the relay tests).
import type { Socket } from 'node:dgram';
import {
  type Introduction,
  LinkRole,
  PunchLink,
  type RelayChannel,
  type RelayProvider,
} from '../../src/punch/index.ts';

/** A data socket on which nothing arrives: every send is dropped (and counted). */
export function blackHole(): Socket & { sends: number } {
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
export function relayPair(): [RelayProvider, RelayProvider, { closed: number }] {
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

/**
 * Alice (initiator) and Bob (responder) as PunchLinks on black-hole sockets, joined only by a
 * {@link relayPair}: they can meet on the relay and nowhere else.
 */
export function relayedLinks(): { alice: PunchLink; bob: PunchLink; relays: { closed: number } } {
  const [relayA, relayB, relays] = relayPair();
  const make = (role: 0 | 1, peerId: string, relay: RelayProvider): PunchLink =>
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
  return {
    alice: make(LinkRole.INITIATOR, 'bob', relayA),
    bob: make(LinkRole.RESPONDER, 'alice', relayB),
    relays,
  };
}

export function introduction(role: 0 | 1, peerId: string): Introduction {
  return {
    linkId: Buffer.from('0a0b0c0d0e0f1011', 'hex'),
    role,
    secret: Buffer.alloc(32, 3),
    peerId,
    natClass: 'symmetric',
    candidates: [{ kind: 'srflx', address: '127.0.0.1', port: 9 }],
  };
}
