// Interop with DTLS stacks nobody here wrote, as real processes on loopback: openssl
// s_server/s_client -dtls1_2 and gnutls-serv/gnutls-cli --udp, both directions, data both ways,
// across suites, groups, a 256-byte MTU (fragmented flights), client certificates and PSK.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type DtlsCertificate,
  DtlsConnection,
  DtlsServer,
  generateCertificate,
} from '../../src/dtls/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { freeUdpPort, hasTool, Peer, pemFiles } from './peers.ts';

checkLeaks();

const LOCAL = '127.0.0.1';
const PSK_HEX = '00112233445566778899aabbccddeeff';
const opensslMissing = hasTool('openssl') ? false : 'openssl is not installed (apt install openssl)';
const gnutlsMissing = hasTool('gnutls-cli') ? false : 'gnutls-bin is not installed (apt install gnutls-bin)';

let certificate: DtlsCertificate;
let files: ReturnType<typeof pemFiles>;

before(async () => {
  certificate = await generateCertificate({ commonName: 'porthole-interop' });
  files = pemFiles(certificate);
});
after(() => files.remove());

interface Case {
  readonly name: string;
  /** Extra peer arguments. */
  readonly args: readonly string[];
  readonly suite: string;
  readonly psk?: boolean;
  readonly clientAuth?: boolean;
  readonly mtuBytes?: number;
}

const OPENSSL_CASES: readonly Case[] = [
  {
    name: 'ECDHE-ECDSA AES-128-GCM X25519 (P-256 for the certificate)',
    args: ['-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256', '-groups', 'X25519:P-256'],
    suite: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  },
  {
    name: 'ECDHE-ECDSA AES-256-GCM P-256',
    args: ['-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384', '-groups', 'P-256'],
    suite: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  },
  {
    name: 'ECDHE-ECDSA CHACHA20 P-384:P-256',
    args: ['-cipher', 'ECDHE-ECDSA-CHACHA20-POLY1305', '-groups', 'P-384:P-256'],
    suite: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  },
  {
    name: 'MTU 256 (fragmented flights)',
    args: ['-mtu', '256'],
    suite: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    mtuBytes: 256,
  },
  {
    name: 'client certificate',
    args: [],
    suite: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    clientAuth: true,
  },
  {
    name: 'PSK AES-128-GCM',
    args: ['-cipher', 'PSK-AES128-GCM-SHA256'],
    suite: 'TLS_PSK_WITH_AES_128_GCM_SHA256',
    psk: true,
  },
  {
    name: 'ECDHE-PSK CHACHA20',
    args: ['-cipher', 'ECDHE-PSK-CHACHA20-POLY1305'],
    suite: 'TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256',
    psk: true,
  },
];

function clientOptions(c: Case, port: number) {
  return {
    remote: { address: LOCAL, port },
    fingerprints: [certificate.fingerprint],
    retransmitInitialMs: 200,
    handshakeTimeoutMs: 10_000,
    ...(c.mtuBytes !== undefined ? { mtuBytes: c.mtuBytes } : {}),
    ...(c.clientAuth === true ? { certificate } : {}),
    ...(c.psk === true ? { psk: { identity: 'porthole', key: Buffer.from(PSK_HEX, 'hex') } } : {}),
  };
}

async function serve(c: Case): Promise<DtlsServer> {
  return DtlsServer.listen({
    port: 0,
    host: LOCAL,
    certificate,
    retransmitInitialMs: 200,
    ...(c.mtuBytes !== undefined ? { mtuBytes: c.mtuBytes } : {}),
    ...(c.clientAuth === true
      ? { clientAuth: 'require' as const, fingerprints: [certificate.fingerprint] }
      : {}),
    ...(c.psk === true
      ? { psk: (id: Buffer) => (id.toString() === 'porthole' ? Buffer.from(PSK_HEX, 'hex') : undefined) }
      : {}),
  });
}

async function firstRecord(connection: DtlsConnection): Promise<string> {
  for await (const record of connection.records({ signal: AbortSignal.timeout(10_000) }))
    return record.toString();
  throw new Error('the connection ended without a record');
}

describe('dtls interop: porthole client -> openssl s_server', { skip: opensslMissing }, () => {
  for (const c of OPENSSL_CASES) {
    it(c.name, async () => {
      const args = [
        's_server',
        '-dtls1_2',
        '-accept',
        `${LOCAL}:0`,
        '-cert',
        files.cert,
        '-key',
        files.key,
        ...c.args,
      ];
      if (c.psk === true) args.push('-psk', PSK_HEX, '-psk_identity', 'porthole', '-nocert');
      if (c.clientAuth === true) args.push('-Verify', '1');
      const peer = new Peer('openssl', args);
      try {
        const port = Number((await peer.waitFor(/ACCEPT \S+:(\d+)/))[1]);
        await using client = await DtlsConnection.connect(clientOptions(c, port));
        assert.equal(client.cipherSuite, c.suite);
        assert.equal(client.extendedMasterSecret, true);
        client.send(Buffer.from('from-porthole\n'));
        await peer.waitFor(/from-porthole/);
        peer.write('from-openssl\n');
        assert.equal(await firstRecord(client), 'from-openssl\n');
      } finally {
        await peer.kill();
      }
    });
  }
});

describe('dtls interop: openssl s_client -> porthole server', { skip: opensslMissing }, () => {
  for (const c of OPENSSL_CASES) {
    it(c.name, async () => {
      await using server = await serve(c);
      const args = ['s_client', '-dtls1_2', '-connect', `${LOCAL}:${server.address().port}`, ...c.args];
      if (c.psk === true) args.push('-psk', PSK_HEX, '-psk_identity', 'porthole');
      if (c.clientAuth === true) args.push('-cert', files.cert, '-key', files.key);
      const peer = new Peer('openssl', args);
      try {
        const connection = await server.accept({ signal: AbortSignal.timeout(10_000) });
        assert.equal(connection.cipherSuite, c.suite);
        if (c.clientAuth === true) assert.equal(connection.peerCertificates.length, 1);
        if (c.psk === true) assert.equal(connection.pskIdentity?.toString(), 'porthole');
        peer.write('from-openssl\n');
        assert.equal(await firstRecord(connection), 'from-openssl\n');
        connection.send(Buffer.from('from-porthole\n'));
        await peer.waitFor(/from-porthole/);
        await peer.waitFor(/Extended master secret: yes/);
      } finally {
        await peer.kill();
      }
    });
  }
});

const GNUTLS_CASES: readonly { name: string; priority: string; suite: string }[] = [
  {
    name: 'AES-128-GCM X25519',
    priority:
      'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+AES-128-GCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1',
    suite: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  },
  {
    name: 'AES-256-GCM P-256',
    priority: 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+AES-256-GCM:-GROUP-ALL:+GROUP-SECP256R1',
    suite: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  },
  {
    name: 'CHACHA20-POLY1305',
    priority: 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305',
    suite: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  },
];

describe('dtls interop: porthole client -> gnutls-serv --udp', { skip: gnutlsMissing }, () => {
  for (const c of GNUTLS_CASES) {
    it(c.name, async () => {
      const port = await freeUdpPort();
      const peer = new Peer('gnutls-serv', [
        '--udp',
        '-p',
        String(port),
        '--x509certfile',
        files.cert,
        '--x509keyfile',
        files.key,
        '--echo',
        '--priority',
        c.priority,
      ]);
      try {
        await peer.waitFor(/listening on IPv4/);
        await using client = await DtlsConnection.connect({
          ...clientOptions({ name: c.name, args: [], suite: c.suite }, port),
        });
        assert.equal(client.cipherSuite, c.suite);
        client.send(Buffer.from('from-porthole\n'));
        assert.equal(await firstRecord(client), 'from-porthole\n', 'gnutls-serv --echo sends it back');
      } finally {
        await peer.kill();
      }
    });
  }
});

describe('dtls interop: gnutls-cli --udp -> porthole server', { skip: gnutlsMissing }, () => {
  for (const c of GNUTLS_CASES) {
    it(c.name, async () => {
      await using server = await serve({ name: c.name, args: [], suite: c.suite });
      const peer = new Peer('gnutls-cli', [
        '--udp',
        '-p',
        String(server.address().port),
        LOCAL,
        '--insecure',
        '--priority',
        c.priority,
      ]);
      try {
        const connection = await server.accept({ signal: AbortSignal.timeout(10_000) });
        assert.equal(connection.cipherSuite, c.suite);
        peer.write('from-gnutls\n');
        assert.equal(await firstRecord(connection), 'from-gnutls\n');
        connection.send(Buffer.from('from-porthole\n'));
        await peer.waitFor(/from-porthole/);
      } finally {
        await peer.kill();
      }
    });
  }
});
