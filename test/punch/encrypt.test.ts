// The PunchLink encryption option (encryptLink): DTLS over a punched link on loopback through a
// real broker, with the pins the broker's introduction carries (each PunchPeer registers its
// certificate's fingerprint) or given by the caller, over a link that can only use a relay, and a
// certificate other than the pinned one (the MITM case: another certificate than the registered
// one, either side) failing with ERR_DTLS_CERTIFICATE_REJECTED.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type DtlsCertificate,
  type DtlsConnection,
  DtlsErrorCode,
  generateCertificate,
} from '../../src/dtls/index.ts';
import { encryptLink, LinkRole, type PunchLink, PunchPeer } from '../../src/punch/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { type Closers, linkAliceToBob, startLoopbackBroker } from './loopback.ts';
import { relayedLinks } from './relay-pair.ts';

let aliceCert: DtlsCertificate;
let bobCert: DtlsCertificate;
let mallory: DtlsCertificate;
before(async () => {
  [aliceCert, bobCert, mallory] = await Promise.all([
    generateCertificate(),
    generateCertificate(),
    generateCertificate(),
  ]);
});

const closers: Closers = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});
checkLeaks();

async function first(connection: DtlsConnection): Promise<string> {
  for await (const record of connection.records({ signal: AbortSignal.timeout(5000) })) return String(record);
  throw new Error('ended without a record');
}

/**
 * The side that checked the pin rejected the certificate, the side that presented it failed a
 * DTLS way too, and both links are closed.
 */
function assertPinRejected(
  checker: PromiseSettledResult<DtlsConnection>,
  presenter: PromiseSettledResult<DtlsConnection>,
  links: readonly PunchLink[],
): void {
  assert.equal(checker.status, 'rejected');
  assert.equal((checker as PromiseRejectedResult).reason.code, DtlsErrorCode.CERTIFICATE_REJECTED);
  assert.equal(presenter.status, 'rejected');
  assert.match((presenter as PromiseRejectedResult).reason.code, /^ERR_DTLS_/);
  for (const link of links) assert.notEqual(link.closeReason, null);
}

async function both(a: DtlsConnection, b: DtlsConnection): Promise<void> {
  a.send(Buffer.from('a→b'));
  assert.equal(await first(b), 'a→b');
  b.send(Buffer.from('b→a'));
  assert.equal(await first(a), 'b→a');
}

describe('PunchLink encryption with pins from the broker introduction', () => {
  it('each side pins the certificate the other registered: encryptLink(link) with no options', async () => {
    const { brokerAddress } = await startLoopbackBroker(closers);
    const { aliceLink, bobLink } = await linkAliceToBob(brokerAddress, closers, AbortSignal.timeout(15_000), {
      alice: aliceCert,
      bob: bobCert,
    });
    assert.equal(aliceLink.peerFingerprint, bobCert.fingerprint, "alice was introduced to bob's certificate");
    assert.equal(bobLink.peerFingerprint, aliceCert.fingerprint, "bob was introduced to alice's certificate");
    const [a, b] = await Promise.all([encryptLink(aliceLink), encryptLink(bobLink)]);
    assert.equal(a.peerCertificates[0]?.fingerprint256, bobCert.fingerprint);
    assert.equal(b.peerCertificates[0]?.fingerprint256, aliceCert.fingerprint);
    await both(a, b);
    await Promise.all([a.close(), b.close()]);
  });

  for (const liar of ['bob', 'alice'] as const) {
    it(`${liar} presenting another certificate than the one it registered fails ERR_DTLS_CERTIFICATE_REJECTED`, async () => {
      const { brokerAddress } = await startLoopbackBroker(closers);
      const { aliceLink, bobLink } = await linkAliceToBob(
        brokerAddress,
        closers,
        AbortSignal.timeout(15_000),
        { alice: aliceCert, bob: bobCert },
      );
      // The liar's side presents mallory's certificate; the other pins the registered one.
      const options = { certificate: mallory, handshakeTimeoutMs: 5000 };
      const [a, b] = await Promise.allSettled([
        encryptLink(aliceLink, liar === 'alice' ? options : { handshakeTimeoutMs: 5000 }),
        encryptLink(bobLink, liar === 'bob' ? options : { handshakeTimeoutMs: 5000 }),
      ]);
      assertPinRejected(liar === 'bob' ? a : b, liar === 'bob' ? b : a, [aliceLink, bobLink]);
    });
  }

  it('PunchPeer.open refuses a certificate without a SHA-256 fingerprint before it binds', async () => {
    const broker = { address: '127.0.0.1', port: 9 };
    for (const certificate of [{ ...aliceCert, fingerprint: 'AB:CD' }, 'cert.pem', null]) {
      await assert.rejects(
        PunchPeer.open({ broker, id: 'alice', token: 'a', certificate: certificate as DtlsCertificate }),
        { code: 'ERR_INVALID_OPTION', option: 'certificate' },
      );
    }
  });

  it('a peer that registered no certificate is introduced without one: encryptLink needs a pin', async () => {
    const { brokerAddress } = await startLoopbackBroker(closers);
    const { aliceLink, bobLink } = await linkAliceToBob(brokerAddress, closers, AbortSignal.timeout(15_000), {
      alice: aliceCert,
    });
    assert.equal(aliceLink.peerFingerprint, undefined);
    assert.equal(bobLink.peerFingerprint, aliceCert.fingerprint);
    await assert.rejects(encryptLink(aliceLink), { code: 'ERR_INVALID_OPTION', option: 'peerFingerprint' });
    await assert.rejects(encryptLink(bobLink), { code: 'ERR_INVALID_OPTION', option: 'certificate' });
  });
});

describe('PunchLink encryption (encryptLink)', () => {
  it('direct: the initiator is the DTLS client, both pin each other, data both ways', async () => {
    const { brokerAddress } = await startLoopbackBroker(closers);
    const { aliceLink, bobLink } = await linkAliceToBob(brokerAddress, closers, AbortSignal.timeout(15_000));
    assert.equal(aliceLink.role, LinkRole.INITIATOR);
    const [a, b] = await Promise.all([
      encryptLink(aliceLink, { certificate: aliceCert, peerFingerprint: bobCert.fingerprint }),
      encryptLink(bobLink, { certificate: bobCert, peerFingerprint: aliceCert.fingerprint }),
    ]);
    assert.equal(a.role, 'client');
    assert.equal(b.role, 'server');
    assert.equal(b.peerCertificates[0]?.fingerprint256, aliceCert.fingerprint.replace(/^sha-256 /, ''));
    await both(a, b);
    await Promise.all([a.close(), b.close()]);
    assert.equal(aliceLink.closeReason, null, 'close_notify leaves the link open');
  });

  it('a wrong pin (another certificate in the middle) fails both sides and closes the links', async () => {
    const { brokerAddress } = await startLoopbackBroker(closers);
    const { aliceLink, bobLink } = await linkAliceToBob(brokerAddress, closers, AbortSignal.timeout(15_000));
    const [a, b] = await Promise.allSettled([
      encryptLink(aliceLink, { certificate: aliceCert, peerFingerprint: bobCert.fingerprint }),
      // Bob presents mallory's certificate: not the one Alice pinned.
      encryptLink(bobLink, {
        certificate: mallory,
        peerFingerprint: aliceCert.fingerprint,
        handshakeTimeoutMs: 5000,
      }),
    ]);
    assertPinRejected(a, b, [aliceLink, bobLink]);
  });

  it('on the relay path: DTLS rides the relayed channel', async () => {
    const { alice, bob } = relayedLinks();
    closers.push(
      () => alice.close(),
      () => bob.close(),
    );
    const [a, b] = await Promise.all([
      encryptLink(alice, { certificate: aliceCert, peerFingerprint: bobCert.fingerprint }),
      encryptLink(bob, { certificate: bobCert, peerFingerprint: aliceCert.fingerprint }),
    ]);
    assert.equal(alice.path, 'relay');
    await both(a, b);
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses to run without a pin', async () => {
    const { brokerAddress } = await startLoopbackBroker(closers);
    const { aliceLink } = await linkAliceToBob(brokerAddress, closers, AbortSignal.timeout(15_000));
    await assert.rejects(encryptLink(aliceLink, { certificate: aliceCert, peerFingerprint: '' }), {
      code: 'ERR_INVALID_OPTION',
      option: 'peerFingerprint',
    });
  });
});
