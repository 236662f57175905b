// A broker and two punched peers on loopback (no NAT), for the tests that need a real PunchLink.
import type { DtlsCertificate } from '../../src/dtls/index.ts';
import { Broker, dialPeer, type PunchLink, PunchPeer } from '../../src/punch/index.ts';

/** Alice's and Bob's credentials at {@link startLoopbackBroker}. */
export const LOOPBACK_TOKENS: ReadonlyMap<string, string> = new Map([
  ['alice', 'a-secret'],
  ['bob', 'b-secret'],
]);

/** Where to put what must be closed after the suite, in reverse order. */
export type Closers = (() => Promise<void> | void)[];

/** A broker on 127.0.0.1 that knows {@link LOOPBACK_TOKENS}; closed with `closers`. */
export async function startLoopbackBroker(closers: Closers): Promise<{
  broker: Broker;
  brokerAddress: { address: string; port: number };
}> {
  const broker = await Broker.listen({
    address: '127.0.0.1',
    port: 0,
    authenticate: (id, token) => LOOPBACK_TOKENS.get(id) === token.toString(),
  });
  closers.push(() => broker.close());
  return { broker, brokerAddress: { address: '127.0.0.1', port: broker.address().port } };
}

/**
 * Bob (open NAT class) accepts, Alice dials him through the broker: both ends of one link. With
 * `certificates`, each PunchPeer registers its own (the broker then introduces the fingerprints).
 */
export async function linkAliceToBob(
  brokerAddress: { address: string; port: number },
  closers: Closers,
  signal: AbortSignal,
  certificates: { readonly alice?: DtlsCertificate; readonly bob?: DtlsCertificate } = {},
): Promise<{ bob: PunchPeer; aliceLink: PunchLink; bobLink: PunchLink }> {
  const bob = await PunchPeer.open({
    broker: brokerAddress,
    id: 'bob',
    token: 'b-secret',
    address: '127.0.0.1',
    natClass: 'open',
    ...(certificates.bob === undefined ? {} : { certificate: certificates.bob }),
    signal,
  });
  closers.push(() => bob.close());
  const accepted = bob.accept({ signal });
  const aliceLink = await dialPeer({
    broker: brokerAddress,
    id: 'alice',
    token: 'a-secret',
    address: '127.0.0.1',
    natClass: 'open',
    peer: 'bob',
    ...(certificates.alice === undefined ? {} : { certificate: certificates.alice }),
    signal,
  });
  closers.push(() => aliceLink.close());
  return { bob, aliceLink, bobLink: await accepted };
}
