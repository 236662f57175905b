// The PunchLink encryption option over TURN: two symmetric-NAT peers (which no punch connects) start
// on the relay — a real coturn on 127.0.0.1 — and run DTLS over it, pins checked both ways; a
// certificate that is not the pinned one fails. Skips without turnserver (apt coturn).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type DtlsCertificate,
  type DtlsConnection,
  DtlsErrorCode,
  generateCertificate,
} from '../../src/dtls/index.ts';
import { missingTool } from '../../src/lab/index.ts';
import { Broker, encryptLink, type PunchLink, PunchPeer, TurnRelayProvider } from '../../src/punch/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { type Coturn, startCoturn, TURN_PASSWORD, TURN_USER } from '../support/turn-coturn.ts';
import { LOOPBACK_TOKENS } from './loopback.ts';

const skip = (await missingTool('turnserver', 'coturn')) ?? false;

describe('encryptLink over a TURN relay (coturn)', { skip }, () => {
  let coturn: Coturn;
  let aliceCert: DtlsCertificate;
  let bobCert: DtlsCertificate;
  let mallory: DtlsCertificate;
  const closers: (() => Promise<void> | void)[] = [];
  before(async () => {
    coturn = await startCoturn();
    [aliceCert, bobCert, mallory] = await Promise.all([
      generateCertificate(),
      generateCertificate(),
      generateCertificate(),
    ]);
  });
  after(async () => {
    for (const close of closers.reverse()) await close();
    await coturn?.close();
  });
  checkLeaks();

  async function relayedPair(
    signal: AbortSignal,
  ): Promise<{ a: PunchLink; b: PunchLink; relay: TurnRelayProvider }> {
    const broker = await Broker.listen({
      address: '127.0.0.1',
      port: 0,
      authenticate: (id, token) => LOOPBACK_TOKENS.get(id) === token.toString(),
    });
    closers.push(() => broker.close());
    const common = {
      broker: { address: '127.0.0.1', port: broker.address().port },
      address: '127.0.0.1',
      natClass: 'symmetric' as const,
      signal,
    };
    const turn = {
      server: { address: '127.0.0.1', port: coturn.port },
      username: TURN_USER,
      password: TURN_PASSWORD,
    };
    const relay = new TurnRelayProvider(turn);
    const alice = await PunchPeer.open({ ...common, id: 'alice', token: 'a-secret', relay });
    closers.push(() => alice.close());
    const bob = await PunchPeer.open({
      ...common,
      id: 'bob',
      token: 'b-secret',
      relay: new TurnRelayProvider(turn),
    });
    closers.push(() => bob.close());
    const accepted = bob.accept({ signal });
    const a = await alice.dial('bob', { signal });
    const b = await accepted;
    await Promise.all([a.ready(signal), b.ready(signal)]);
    return { a, b, relay };
  }

  async function first(connection: DtlsConnection): Promise<string> {
    for await (const record of connection.records({ signal: AbortSignal.timeout(10_000) }))
      return String(record);
    throw new Error('ended without a record');
  }

  it('two symmetric peers on the relay: DTLS over TURN, data both ways', async () => {
    const signal = AbortSignal.timeout(30_000);
    const { a, b, relay } = await relayedPair(signal);
    assert.equal(a.path, 'relay');
    assert.equal(b.path, 'relay');
    const [ca, cb] = await Promise.all([
      encryptLink(a, { certificate: aliceCert, peerFingerprint: bobCert.fingerprint, signal }),
      encryptLink(b, { certificate: bobCert, peerFingerprint: aliceCert.fingerprint, signal }),
    ]);
    ca.send(Buffer.from('alice→bob over TURN'));
    assert.equal(await first(cb), 'alice→bob over TURN');
    cb.send(Buffer.from('bob→alice over TURN'));
    assert.equal(await first(ca), 'bob→alice over TURN');
    assert.ok((relay.stats().turn?.sentChannelData ?? 0) >= 1, 'records left as ChannelData');
    await Promise.all([ca.close(), cb.close()]);
  });

  it('a substituted certificate on the relay path fails with ERR_DTLS_CERTIFICATE_REJECTED', async () => {
    const signal = AbortSignal.timeout(30_000);
    const { a, b } = await relayedPair(signal);
    const [ra] = await Promise.allSettled([
      encryptLink(a, { certificate: aliceCert, peerFingerprint: bobCert.fingerprint, signal }),
      encryptLink(b, { certificate: mallory, peerFingerprint: aliceCert.fingerprint, signal }),
    ]);
    assert.equal(ra.status, 'rejected');
    assert.equal((ra as PromiseRejectedResult).reason.code, DtlsErrorCode.CERTIFICATE_REJECTED);
    assert.notEqual(a.closeReason, null);
  });
});
