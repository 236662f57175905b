// The porthole:dtls:* channels: what each publishes on a real loopback handshake and close, and
// that nothing is published (no message built) without a subscriber.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DtlsConnection,
  DtlsDiagnostics,
  type DtlsHandshakeMessage,
  type DtlsHelloVerifyMessage,
  DtlsServer,
  type DtlsSessionClosedMessage,
  generateCertificate,
} from '../../src/dtls/index.ts';
import { recorder, spyPublishes } from '../support/diagnostics.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();
const record = recorder();
const LOCAL = '127.0.0.1';

async function handshakeAndClose(): Promise<number> {
  const certificate = await generateCertificate();
  await using server = await DtlsServer.listen({ port: 0, host: LOCAL, certificate });
  const port = server.address().port;
  const accepted = server.accept();
  const client = await DtlsConnection.connect({
    remote: { address: LOCAL, port },
    fingerprints: [certificate.fingerprint],
  });
  await accepted;
  await client.close();
  return port;
}

describe('dtls diagnostics', () => {
  it('publishes hello-verify, handshake (both roles) and session-closed', async () => {
    const verify = record<DtlsHelloVerifyMessage>(DtlsDiagnostics.HELLO_VERIFY);
    const handshake = record<DtlsHandshakeMessage>(DtlsDiagnostics.HANDSHAKE);
    const closed = record<DtlsSessionClosedMessage>(DtlsDiagnostics.SESSION_CLOSED);
    const port = await handshakeAndClose();
    assert.equal(verify.messages.length, 1);
    assert.ok(verify.messages[0]!.bytes > 0 && verify.messages[0]!.bytes <= 60);
    assert.deepEqual(handshake.messages.map((m) => m.role).sort(), ['client', 'server']);
    for (const m of handshake.messages) {
      assert.equal(m.cipherSuite, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
      assert.equal(m.retransmissions, 0);
    }
    const clientClosed = await closed.next((m) => m.role === 'client');
    assert.deepEqual(clientClosed, {
      role: 'client',
      remote: { address: LOCAL, port },
      errorCode: undefined,
      alert: undefined,
    });
  });

  it('publishes nothing without a subscriber', async () => {
    const names = Object.values(DtlsDiagnostics);
    const spy = spyPublishes(names);
    try {
      await handshakeAndClose();
      for (const name of names) assert.equal(spy.counts.get(name), 0, name);
    } finally {
      spy.restore();
    }
  });
});
