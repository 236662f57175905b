// ALPN (RFC 7301) in both roles: the server's preference wins, a mismatch fails with
// no_application_protocol, a server without protocols ignores the client's list; against
// `openssl s_server/s_client -alpn` both ways. Also the certificates generateCertificate makes
// (RSA, Ed25519) and ECDHE-RSA with openssl on such an RSA certificate.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AlertDescription } from '../../src/dtls/constants.ts';
import {
  type DtlsCertificate,
  DtlsConnection,
  DtlsErrorCode,
  DtlsServer,
  generateCertificate,
} from '../../src/dtls/index.ts';
import { ErrorCode } from '../../src/errors/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { config, Net } from './harness.ts';
import { hasTool, Peer, pemFiles } from './peers.ts';

checkLeaks();

const LOCAL = '127.0.0.1';
const opensslMissing = hasTool('openssl') ? false : 'openssl is not installed (apt install openssl)';

let ecdsa: DtlsCertificate;
let rsa: DtlsCertificate;
let ed25519: DtlsCertificate;
let rsaFiles: ReturnType<typeof pemFiles>;
let ecdsaFiles: ReturnType<typeof pemFiles>;

before(async () => {
  ecdsa = await generateCertificate();
  rsa = await generateCertificate({ keyType: 'rsa', commonName: 'porthole-rsa' });
  ed25519 = await generateCertificate({ keyType: 'ed25519' });
  rsaFiles = pemFiles(rsa);
  ecdsaFiles = pemFiles(ecdsa);
});
after(() => {
  rsaFiles.remove();
  ecdsaFiles.remove();
});

function handshake(client: readonly string[] | undefined, server: readonly string[] | undefined): Net {
  const net = new Net(
    config('server', { certificate: ecdsa, ...(server !== undefined ? { alpnProtocols: server } : {}) }),
  );
  net.connect(
    config('client', {
      fingerprints: [ecdsa.fingerprint],
      ...(client !== undefined ? { alpnProtocols: client } : {}),
    }),
  );
  net.run(
    () => net.connected() || (net.closed('client') !== undefined && net.closed('server') !== undefined),
  );
  return net;
}

describe('dtls ALPN (RFC 7301), in memory', () => {
  it("agrees on the server's first protocol the client offers", () => {
    const net = handshake(['h3', 'webrtc', 'c-webrtc'], ['c-webrtc', 'webrtc']);
    assert.ok(net.connected());
    assert.equal(
      net.client.session({ address: '192.0.2.20', port: 4433 })?.negotiated?.alpnProtocol,
      'c-webrtc',
    );
    assert.equal(net.serverSession()?.negotiated?.alpnProtocol, 'c-webrtc');
  });

  it('fails with no_application_protocol when nothing is in common', () => {
    const net = handshake(['h3'], ['webrtc']);
    assert.equal(net.connected(), false);
    const server = net.closed('server');
    const client = net.closed('client');
    assert.equal(server?.error?.code, DtlsErrorCode.HANDSHAKE_FAILED);
    assert.equal(server?.error?.alert, AlertDescription.NO_APPLICATION_PROTOCOL);
    assert.equal(client?.error?.code, DtlsErrorCode.HANDSHAKE_FAILED);
    assert.equal(client?.error?.alert, AlertDescription.NO_APPLICATION_PROTOCOL);
  });

  it('a server without protocols ignores the list; a client without one gets none', () => {
    for (const [c, s] of [
      [['webrtc'], undefined],
      [undefined, ['webrtc']],
    ] as const) {
      const net = handshake(c, s);
      assert.ok(net.connected());
      assert.equal(net.serverSession()?.negotiated?.alpnProtocol, undefined);
    }
  });

  it('a server answering with a protocol the client did not offer fails the client', () => {
    const net = handshake(['webrtc'], ['webrtc']);
    assert.ok(net.connected());
    // Rewrite the server's choice on the wire: the ServerHello is not authenticated until Finished,
    // but the client already refuses a choice it never offered.
    const net2 = new Net(config('server', { certificate: ecdsa, alpnProtocols: ['webrtc'] }), (data, dir) => {
      const at = data.indexOf(Buffer.from('webrtc'));
      if (dir === 'to-client' && at > 0) data.write('WEBRTC', at);
      return [{ data, delayMs: 1 }];
    });
    net2.connect(config('client', { fingerprints: [ecdsa.fingerprint], alpnProtocols: ['webrtc'] }));
    net2.run(() => net2.closed('client') !== undefined);
    assert.equal(net2.closed('client')?.error?.alert, AlertDescription.ILLEGAL_PARAMETER);
  });

  it('refuses bad protocol lists', () => {
    for (const bad of [[''], ['x'.repeat(256)], 'webrtc' as unknown as string[], [3 as unknown as string]]) {
      assert.throws(
        () => config('client', { fingerprints: [ecdsa.fingerprint], alpnProtocols: bad } as never),
        (e: { code?: string; option?: string }) =>
          e.code === ErrorCode.INVALID_OPTION && e.option === 'alpnProtocols',
      );
    }
  });
});

describe('dtls generateCertificate key types', () => {
  it('makes self-signed RSA and Ed25519 certificates that verify and match their keys', () => {
    for (const [c, type] of [
      [rsa, 'rsa'],
      [ed25519, 'ed25519'],
      [ecdsa, 'ec'],
    ] as const) {
      const x = new X509Certificate(c.chain[0]!);
      assert.equal(x.publicKey.asymmetricKeyType, type);
      assert.ok(x.verify(x.publicKey));
      assert.ok(x.checkPrivateKey(c.privateKey));
    }
  });

  it('refuses an unknown key type and RSA size', async () => {
    await assert.rejects(generateCertificate({ keyType: 'dsa' as never }), { option: 'keyType' });
    await assert.rejects(generateCertificate({ keyType: 'rsa', rsaBits: 1024 }), { option: 'rsaBits' });
  });

  it('ECDHE-RSA and Ed25519 certificates complete handshakes in memory', () => {
    for (const [cert, suite] of [
      [rsa, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
      [ed25519, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
    ] as const) {
      const net = new Net(config('server', { certificate: cert }));
      net.connect(config('client', { fingerprints: [cert.fingerprint] }));
      net.run(() => net.connected() || net.closed('client') !== undefined);
      assert.equal(net.serverSession()?.negotiated?.suite.name, suite);
    }
  });
});

async function firstRecord(connection: DtlsConnection): Promise<string> {
  for await (const record of connection.records({ signal: AbortSignal.timeout(10_000) }))
    return record.toString();
  throw new Error('the connection ended without a record');
}

describe('dtls ALPN and ECDHE-RSA against openssl', { skip: opensslMissing }, () => {
  for (const c of [
    { name: 'ALPN, ECDHE-ECDSA', rsa: false, alpn: true },
    { name: 'ECDHE-RSA AES-256-GCM on a generated RSA certificate', rsa: true, alpn: false },
  ]) {
    it(`porthole client -> openssl s_server: ${c.name}`, async () => {
      const files = c.rsa ? rsaFiles : ecdsaFiles;
      const args = ['s_server', '-dtls1_2', '-accept', `${LOCAL}:0`, '-cert', files.cert, '-key', files.key];
      if (c.alpn) args.push('-alpn', 'webrtc,c-webrtc');
      if (c.rsa) args.push('-cipher', 'ECDHE-RSA-AES256-GCM-SHA384');
      const peer = new Peer('openssl', args);
      try {
        const port = Number((await peer.waitFor(/ACCEPT \S+:(\d+)/))[1]);
        await using client = await DtlsConnection.connect({
          remote: { address: LOCAL, port },
          fingerprints: [(c.rsa ? rsa : ecdsa).fingerprint],
          retransmitInitialMs: 200,
          handshakeTimeoutMs: 10_000,
          ...(c.alpn ? { alpnProtocols: ['c-webrtc', 'h3'] } : {}),
        });
        assert.equal(
          client.cipherSuite,
          c.rsa ? 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384' : 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
        );
        assert.equal(client.alpnProtocol, c.alpn ? 'c-webrtc' : undefined);
        client.send(Buffer.from('from-porthole\n'));
        await peer.waitFor(/from-porthole/);
        peer.write('from-openssl\n');
        assert.equal(await firstRecord(client), 'from-openssl\n');
      } finally {
        await peer.kill();
      }
    });

    it(`openssl s_client -> porthole server: ${c.name}`, async () => {
      await using server = await DtlsServer.listen({
        port: 0,
        host: LOCAL,
        certificate: c.rsa ? rsa : ecdsa,
        retransmitInitialMs: 200,
        ...(c.alpn ? { alpnProtocols: ['webrtc', 'c-webrtc'] } : {}),
      });
      const args = ['s_client', '-dtls1_2', '-connect', `${LOCAL}:${server.address().port}`];
      if (c.alpn) args.push('-alpn', 'c-webrtc,webrtc');
      if (c.rsa) args.push('-cipher', 'ECDHE-RSA-AES256-GCM-SHA384');
      const peer = new Peer('openssl', args);
      try {
        const connection = await server.accept({ signal: AbortSignal.timeout(10_000) });
        assert.equal(connection.alpnProtocol, c.alpn ? 'webrtc' : undefined);
        if (c.alpn) await peer.waitFor(/ALPN protocol: webrtc/);
        peer.write('from-openssl\n');
        assert.equal(await firstRecord(connection), 'from-openssl\n');
        connection.send(Buffer.from('from-porthole\n'));
        await peer.waitFor(/from-porthole/);
      } finally {
        await peer.kill();
      }
    });
  }

  it('openssl s_client with no protocol in common gets no_application_protocol', async () => {
    await using server = await DtlsServer.listen({
      port: 0,
      host: LOCAL,
      certificate: ecdsa,
      retransmitInitialMs: 200,
      alpnProtocols: ['webrtc'],
    });
    const peer = new Peer('openssl', [
      's_client',
      '-dtls1_2',
      '-connect',
      `${LOCAL}:${server.address().port}`,
      '-alpn',
      'h3',
    ]);
    try {
      await peer.waitFor(/no application protocol/i);
      assert.equal(server.stats().handshakeFailures, 1);
    } finally {
      await peer.kill();
    }
  });
});
