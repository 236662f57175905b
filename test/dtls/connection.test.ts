// DtlsConnection and DtlsServer on real loopback sockets: a client and a server on ONE socket
// (the Demux shares bytes 20–63), per-client sessions, close_notify, the exporter and SRTP
// negotiation, stats, option validation.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import {
  type DtlsCertificate,
  DtlsConnection,
  DtlsErrorCode,
  DtlsServer,
  generateCertificate,
  SrtpProfile,
} from '../../src/dtls/index.ts';
import { ErrorCode } from '../../src/errors/index.ts';
import { demuxOf } from '../../src/mux/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';

checkLeaks();

const LOCAL = '127.0.0.1';
let certificate: DtlsCertificate;
let other: DtlsCertificate;

before(async () => {
  certificate = await generateCertificate();
  other = await generateCertificate({ curve: 'P-384' });
});

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, LOCAL, resolve));
  return s;
}

async function first(connection: DtlsConnection): Promise<Buffer> {
  for await (const record of connection.records({ signal: AbortSignal.timeout(5000) })) return record;
  throw new Error('ended without a record');
}

describe('dtls: connections on loopback', () => {
  it('a client and a server share one socket, data both ways, SRTP and the exporter agree', async () => {
    const a = await bound();
    const b = await bound();
    after(() => {
      a.close();
      b.close();
    });
    // Socket a serves b's client and also connects out to the server on socket b's neighbour c.
    const serverA = await DtlsServer.listen({
      demux: demuxOf(a),
      certificate,
      srtpProfiles: [SrtpProfile.AES128_CM_HMAC_SHA1_80],
    });
    const serverC = await DtlsServer.listen({ port: 0, host: LOCAL, certificate: other });
    const acceptA = serverA.accept();
    const acceptC = serverC.accept();
    const aToC = await DtlsConnection.connect({
      demux: demuxOf(a),
      remote: { address: LOCAL, port: serverC.address().port },
      fingerprints: [other.fingerprint],
    });
    const bToA = await DtlsConnection.connect({
      socket: b,
      remote: { address: LOCAL, port: a.address().port },
      fingerprints: [certificate.fingerprint],
      srtpProfiles: [SrtpProfile.AEAD_AES_128_GCM, SrtpProfile.AES128_CM_HMAC_SHA1_80],
    });
    const atA = await acceptA;
    const atC = await acceptC;
    assert.equal(bToA.srtpProfile, SrtpProfile.AES128_CM_HMAC_SHA1_80);
    assert.equal(atA.srtpProfile, SrtpProfile.AES128_CM_HMAC_SHA1_80);
    assert.equal(aToC.srtpProfile, undefined);
    assert.deepEqual(
      bToA.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60),
      atA.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60),
    );
    assert.notDeepEqual(
      bToA.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60),
      aToC.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60),
    );
    bToA.send(Buffer.from('b->a'));
    aToC.send(Buffer.from('a->c'));
    assert.equal((await first(atA)).toString(), 'b->a');
    assert.equal((await first(atC)).toString(), 'a->c');
    atA.send(Buffer.from('reply-a'));
    assert.equal((await first(bToA)).toString(), 'reply-a');
    assert.equal(serverA.stats().handshakes, 1);
    assert.equal(serverA.stats().helloVerifyRequests, 1);
    await assert.rejects(
      DtlsConnection.connect({
        demux: demuxOf(a),
        remote: { address: LOCAL, port: b.address().port },
        fingerprints: [certificate.fingerprint],
      }),
      { code: ErrorCode.INVALID_STATE },
      'one session per address pair: b already has one with a',
    );
    await bToA.close();
    await waitFor(() => atA.state === 'closed', { what: 'close_notify to reach server A' });
    await aToC.close();
    await serverA.close();
    await serverC.close();
    assert.ok(demuxOf(a).stats().byFirstByte[22]! > 0, 'the handshake went through the demux');
  });

  it('a server holds one session per client address; close_notify ends the peer iterator', async () => {
    await using server = await DtlsServer.listen({ port: 0, host: LOCAL, certificate });
    const remote = { address: LOCAL, port: server.address().port };
    const clients = await Promise.all(
      [0, 1, 2].map(() => DtlsConnection.connect({ remote, fingerprints: [certificate.fingerprint] })),
    );
    const accepted = [await server.accept(), await server.accept(), await server.accept()];
    assert.equal(new Set(accepted.map((c) => c.remote.port)).size, 3);
    assert.equal(server.stats().sessions, 3);
    await clients[0]!.close();
    await waitFor(() => server.stats().sessions === 2, { what: 'the closed session to go' });
    const ended = accepted.filter((c) => c.state === 'closed');
    assert.equal(ended.length, 1, 'exactly the session whose client sent close_notify ended');
    const records: Buffer[] = [];
    for await (const r of ended[0]!) records.push(r);
    assert.deepEqual(records, [], 'its iterator ends');
    assert.ok(accepted.filter((c) => c.state === 'established').length === 2);
    await Promise.all(clients.slice(1).map((c) => c.close()));
  });

  it('refuses a server whose certificate matches no pin (ERR_DTLS_CERTIFICATE_REJECTED); the server sees the alert', async () => {
    await using server = await DtlsServer.listen({ port: 0, host: LOCAL, certificate });
    await assert.rejects(
      DtlsConnection.connect({
        remote: { address: LOCAL, port: server.address().port },
        fingerprints: [other.fingerprint],
      }),
      { code: DtlsErrorCode.CERTIFICATE_REJECTED },
    );
    await waitFor(() => server.stats().handshakeFailures === 1, { what: 'the server to see the failure' });
  });

  it('validates options', async () => {
    await assert.rejects(DtlsConnection.connect({ remote: { address: LOCAL, port: 1 } }), {
      code: ErrorCode.INVALID_OPTION,
      option: 'fingerprints',
    });
    await assert.rejects(DtlsServer.listen({ port: 0 }), {
      code: ErrorCode.INVALID_OPTION,
      option: 'cipherSuites',
    });
    await assert.rejects(DtlsServer.listen({ port: 0, certificate, mtuBytes: 10 }), {
      code: ErrorCode.INVALID_OPTION,
      option: 'mtuBytes',
    });
    await assert.rejects(DtlsServer.listen({ port: 0, certificate, clientAuth: 'require' }), {
      code: ErrorCode.INVALID_OPTION,
      option: 'clientAuth',
    });
    await assert.rejects(
      DtlsServer.listen({ port: 0, certificate, cipherSuites: ['TLS_RSA_WITH_RC4_128_MD5'] }),
      { code: ErrorCode.INVALID_OPTION, option: 'cipherSuites' },
    );
  });
});
