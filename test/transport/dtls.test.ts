// MediaTransport's single-socket DTLS (the RIST Main profile's EnableDTLSClient / EnableDTLSServer,
// Handshake, then media as records) on real loopback sockets: RTP and RTCP as records both ways
// through sendMedia / sendRtcp and the media / rtcp streams, the server learning its peer from the
// first verified ClientHello, plain RTP refused, a wrong pin, and openssl s_client -dtls1_2 as the
// client.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { type DtlsCertificate, DtlsErrorCode, generateCertificate } from '../../src/dtls/index.ts';
import { MediaTransport } from '../../src/transport/index.ts';
import { hasTool, Peer } from '../dtls/peers.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';

checkLeaks();

const LOCAL = '127.0.0.1';
let certificate: DtlsCertificate;
let other: DtlsCertificate;
before(async () => {
  certificate = await generateCertificate();
  other = await generateCertificate();
});

function rtp(seq: number): Buffer {
  const out = Buffer.alloc(12 + 100);
  out[0] = 0x80;
  out[1] = 96;
  out.writeUInt16BE(seq, 2);
  return out;
}

describe('MediaTransport: single-socket DTLS', () => {
  it('client and server: handshake, RTP and RTCP as records both ways, plain RTP refused', async () => {
    await using server = await MediaTransport.listenSingle(LOCAL, 0);
    await using client = await MediaTransport.listenEphemeralSingle(LOCAL);
    server.enableDtlsServer({ certificate });
    client.enableDtlsClient(
      { address: LOCAL, port: server.ports.media },
      { fingerprints: [certificate.fingerprint] },
    );
    const [c, s] = await Promise.all([client.handshake(), server.handshake()]);
    assert.equal(c.cipherSuite, s.cipherSuite);
    assert.equal(s.remote.port, client.ports.media, 'the server learned its peer');
    const media: number[] = [];
    server.media.setHandler((data, from) => {
      assert.equal(from.port, client.ports.media);
      media.push(data.readUInt16BE(2));
    });
    const rtcp: number[] = [];
    client.rtcp.setHandler((data) => rtcp.push(data[1]!));
    for (let seq = 1; seq <= 5; seq++) client.sendMedia(rtp(seq));
    server.sendRtcp(Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]));
    await waitFor(() => media.length === 5 && rtcp.length === 1, {
      what: 'records both ways',
      timeoutMs: 5000,
    });
    assert.deepEqual(media, [1, 2, 3, 4, 5]);
    assert.deepEqual(rtcp, [201]);
    assert.equal(server.stats().media.datagramsIn, 5);
    // Plain RTP to an encrypted transport is not read; nor is DTLS from a third source.
    const stranger = createSocket('udp4');
    await new Promise<void>((resolve) => stranger.bind(0, LOCAL, resolve));
    after(() => stranger.close());
    stranger.send(rtp(99), server.ports.media, LOCAL);
    stranger.send(Buffer.from([0x17, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]), server.ports.media, LOCAL);
    await waitFor(() => server.stats().drops.unclaimed === 1 && server.stats().dtls?.dropped === 1, {
      what: 'the stranger dropped',
      timeoutMs: 5000,
    });
    assert.deepEqual(media, [1, 2, 3, 4, 5]);
    const dtls = server.stats().dtls!;
    assert.equal(dtls.helloVerifyRequests, 1);
    assert.ok(dtls.unverifiedBytesOut <= dtls.unverifiedBytesIn);
    assert.throws(() => client.sendMedia(rtp(6), { address: LOCAL, port: 9 }), {
      code: 'ERR_INVALID_OPTION',
    });
  });

  it('a wrong pin fails the handshake with ERR_DTLS_CERTIFICATE_REJECTED; a pair refuses DTLS', async () => {
    await using server = await MediaTransport.listenSingle(LOCAL, 0);
    await using client = await MediaTransport.listenEphemeralSingle(LOCAL);
    server.enableDtlsServer({ certificate });
    server.handshake().catch(() => {});
    client.enableDtlsClient(
      { address: LOCAL, port: server.ports.media },
      { fingerprints: [other.fingerprint] },
    );
    await assert.rejects(client.handshake(), { code: DtlsErrorCode.CERTIFICATE_REJECTED });
    await using pair = await MediaTransport.listenEphemeralPair(LOCAL);
    assert.throws(() => pair.enableDtlsServer({ certificate }), { code: 'ERR_INVALID_STATE' });
    assert.throws(() => server.enableDtlsServer({ certificate }), { code: 'ERR_INVALID_STATE' });
  });

  it('openssl s_client -dtls1_2 as the client of a transport server', {
    skip: !hasTool('openssl') && 'openssl is not installed',
  }, async () => {
    await using server = await MediaTransport.listenSingle(LOCAL, 0);
    server.enableDtlsServer({ certificate });
    const received: string[] = [];
    server.media.setHandler((data) => received.push(data.toString('latin1')));
    const peer = new Peer('openssl', ['s_client', '-dtls1_2', '-connect', `${LOCAL}:${server.ports.media}`]);
    try {
      const connection = await server.handshake({ signal: AbortSignal.timeout(10_000) });
      assert.ok(connection.cipherSuite);
      peer.write('from-openssl\n');
      await waitFor(() => received.length === 1, { what: 'a record from openssl', timeoutMs: 10_000 });
      assert.equal(received[0], 'from-openssl\n');
      server.sendMedia(Buffer.from('from-porthole\n'));
      await peer.waitFor(/from-porthole/);
    } finally {
      await peer.kill();
    }
  });
});
