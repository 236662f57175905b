// MITM, forgery, replay and state-machine attacks on the sans-I/O endpoint cores (in-memory wire,
// virtual clock): a substituted or bit-flipped ServerKeyExchange or CertificateVerify, a certificate
// off the pin, the client-certificate bypass (JSSE), replayed records, unauthenticated alerts,
// ChangeCipherSpec / Finished / HelloVerifyRequest out of their place, and the stateless cookie.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  AlertDescription,
  type DtlsCertificate,
  DtlsErrorCode,
  generateCertificate,
} from '../../src/dtls/index.ts';
import { CLIENT, config, Net, PASS, recordsOf, SERVER, type Tap } from './harness.ts';

let serverCert: DtlsCertificate;
let clientCert: DtlsCertificate;
let mallory: DtlsCertificate;
before(async () => {
  serverCert = await generateCertificate();
  clientCert = await generateCertificate();
  mallory = await generateCertificate();
});

const FAST = { retransmitInitialMs: 100, handshakeTimeoutMs: 5000 };

function serverConfig(clientAuth: 'none' | 'require' = 'none', certificate = serverCert) {
  return config(
    'server',
    { certificate, ...FAST, ...(clientAuth !== 'none' ? { fingerprints: [clientCert.fingerprint] } : {}) },
    { clientAuth },
  );
}
function clientConfig(withCert = false) {
  return config(
    'client',
    { fingerprints: [serverCert.fingerprint], ...FAST, ...(withCert ? { certificate: clientCert } : {}) },
    {},
  );
}
function ended(net: Net): boolean {
  return net.connected() || net.closed('client') !== undefined || net.closed('server') !== undefined;
}

/** Rewrites the epoch-0 handshake record carrying message `hsType` in datagrams going `direction`. */
function rewrite(
  direction: 'to-server' | 'to-client',
  hsType: number,
  edit: (record: Buffer) => Buffer,
): Tap {
  return (data, dir) => {
    if (dir !== direction) return [{ data, delayMs: 1 }];
    const parts: Buffer[] = [];
    for (const r of recordsOf(data)) {
      const record = data.subarray(r.offset, r.offset + 13 + r.length);
      parts.push(r.hsType === hsType ? edit(Buffer.from(record)) : record);
    }
    return [{ data: Buffer.concat(parts), delayMs: 1 }];
  };
}

function flipLast(record: Buffer): Buffer {
  record[record.length - 1]! ^= 0x01;
  return record;
}

describe('dtls MITM and forgery', () => {
  it('a flipped bit in the ServerKeyExchange signature: the client refuses with decrypt_error', () => {
    const net = new Net(serverConfig(), rewrite('to-client', 12, flipLast));
    net.connect(clientConfig());
    assert.ok(net.run(() => ended(net)));
    assert.ok(!net.connected());
    const error = net.closed('client')!.error!;
    assert.equal(error.code, DtlsErrorCode.HANDSHAKE_FAILED);
    assert.equal(error.alert, AlertDescription.DECRYPT_ERROR);
  });

  it('a ServerKeyExchange substituted from another handshake with the same server is refused', () => {
    // Capture a genuinely signed ServerKeyExchange of another session (other randoms, other key).
    const other = new Net(serverConfig());
    other.connect(clientConfig());
    other.run(() => other.connected());
    let captured: Buffer | undefined;
    for (const { direction, data } of other.sent) {
      if (direction !== 'to-client') continue;
      for (const r of recordsOf(data))
        if (r.hsType === 12) captured ??= data.subarray(r.offset, r.offset + 13 + r.length);
    }
    assert.ok(captured !== undefined);
    const net = new Net(
      serverConfig(),
      rewrite('to-client', 12, () => Buffer.from(captured!)),
    );
    net.connect(clientConfig());
    assert.ok(net.run(() => ended(net)));
    assert.ok(!net.connected());
    assert.equal(net.closed('client')!.error!.alert, AlertDescription.DECRYPT_ERROR);
  });

  it('a server with another certificate (off the pin) is refused: ERR_DTLS_CERTIFICATE_REJECTED', () => {
    const net = new Net(serverConfig('none', mallory));
    net.connect(clientConfig());
    assert.ok(net.run(() => net.closed('client') !== undefined && net.closed('server') !== undefined));
    assert.ok(!net.connected());
    assert.equal(net.closed('client')!.error!.code, DtlsErrorCode.CERTIFICATE_REJECTED);
    assert.equal(
      net.closed('server')!.error!.alert,
      AlertDescription.BAD_CERTIFICATE,
      'the server got the alert',
    );
  });

  it('a flipped bit in the CertificateVerify: the server refuses with decrypt_error', () => {
    const net = new Net(serverConfig('require'), rewrite('to-server', 15, flipLast));
    net.connect(clientConfig(true));
    assert.ok(net.run(() => ended(net)));
    assert.ok(!net.connected());
    assert.equal(net.closed('server')!.error!.alert, AlertDescription.DECRYPT_ERROR);
  });

  it('a flipped bit in the Finished record: dropped as a bad record, the handshake never completes', () => {
    const tap: Tap = (data, dir) => {
      if (dir !== 'to-client') return [{ data, delayMs: 1 }];
      const copy = Buffer.from(data);
      for (const r of recordsOf(copy))
        if (r.type === 22 && r.epoch === 1) copy[r.offset + 13 + r.length - 1]! ^= 0x80;
      return [{ data: copy, delayMs: 1 }];
    };
    const net = new Net(serverConfig(), tap);
    const client = net.connect(clientConfig());
    net.run(() => net.closed('client') !== undefined, 10_000);
    assert.ok(!net.clientEvents.some((e) => e.type === 'connected'));
    assert.equal(net.closed('client')!.error!.code, DtlsErrorCode.HANDSHAKE_TIMEOUT);
    assert.ok(client.counters.badRecords >= 1);
  });

  it('a required client certificate sent empty: refused at once (ERR_DTLS_CERTIFICATE_REJECTED)', () => {
    const net = new Net(serverConfig('require'));
    net.connect(clientConfig(false));
    assert.ok(net.run(() => net.closed('client') !== undefined && net.closed('server') !== undefined));
    assert.ok(!net.connected());
    assert.equal(net.closed('server')!.error!.code, DtlsErrorCode.CERTIFICATE_REJECTED);
    assert.equal(net.closed('client')!.error!.alert, AlertDescription.HANDSHAKE_FAILURE);
  });

  it('a client certificate without its CertificateVerify (the JSSE bypass) never completes', () => {
    const net = new Net(serverConfig('require'), (data, dir) => {
      if (dir !== 'to-server') return [{ data, delayMs: 1 }];
      const kept = recordsOf(data)
        .filter((r) => r.hsType !== 15)
        .map((r) => data.subarray(r.offset, r.offset + 13 + r.length));
      return [{ data: Buffer.concat(kept), delayMs: 1 }];
    });
    net.connect(clientConfig(true));
    net.run(() => net.closed('server') !== undefined, 10_000);
    assert.ok(!net.serverEvents.some((e) => e.type === 'connected'), 'the server never accepts the client');
    assert.ok(net.closed('server') !== undefined);
  });
});

function established(options: { clientAuth?: boolean } = {}): Net {
  const net = new Net(serverConfig(options.clientAuth === true ? 'require' : 'none'));
  net.connect(clientConfig(options.clientAuth === true));
  assert.ok(net.run(() => net.connected()));
  return net;
}

describe('dtls records after the handshake', () => {
  it('a replayed record is delivered once and counted', () => {
    const net = established();
    const client = net.client.session(SERVER)!;
    assert.ok(client.send(Buffer.from('once')));
    net.client.touch(client);
    net.run(() => net.received('server').length === 1);
    const record = net.sent.at(-1)!.data;
    assert.equal(record[0], 23, 'the application data record');
    net.inject('to-server', record);
    net.inject('to-server', record);
    net.inject('to-server', record);
    assert.deepEqual(net.received('server'), ['once']);
    assert.equal(net.serverSession()!.counters.replaysDropped, 3);
  });

  it('an unauthenticated (plaintext) fatal alert does not close the session', () => {
    const net = established();
    const alert = Buffer.from('15fefd000000000000006400020228', 'hex'); // epoch 0, fatal handshake_failure
    net.inject('to-server', alert);
    net.inject('to-client', alert);
    assert.equal(net.serverSession()!.state, 'established');
    assert.equal(net.client.session(SERVER)!.state, 'established');
    assert.equal(net.serverSession()!.counters.unauthenticatedAlerts, 1);
    net.client.session(SERVER)!.send(Buffer.from('still here'));
    net.client.touch(net.client.session(SERVER)!);
    net.run(() => net.received('server').length === 1);
    assert.deepEqual(net.received('server'), ['still here']);
  });

  it('records that fail authentication are dropped and counted', () => {
    const net = established();
    const forged = Buffer.from(`17fefd0001000000000005001d${'00'.repeat(29)}`, 'hex');
    for (let i = 0; i < 5; i++) net.inject('to-server', forged);
    assert.equal(net.serverSession()!.state, 'established');
    assert.ok(net.serverSession()!.counters.badRecords + net.serverSession()!.counters.replaysDropped === 5);
  });

  it('close_notify closes both sides cleanly', () => {
    const net = established();
    net.client.session(SERVER)!.close();
    net.client.touch(net.client.session(SERVER)!);
    net.run(() => net.closed('server') !== undefined);
    assert.equal(net.closed('server')!.error, undefined);
  });
});

describe('dtls state machine', () => {
  it('a ChangeCipherSpec before the ServerHello is dropped; the handshake still completes and verifies', () => {
    const net = new Net(serverConfig());
    const client = net.connect(clientConfig());
    net.inject('to-client', Buffer.from('14fefd000000000000000000010' + '1', 'hex'));
    assert.ok(net.run(() => net.connected()));
    assert.ok(client.counters.unexpectedRecords >= 1);
  });

  it('a Finished before its time (epoch 0, in place of the ServerHello) fails with unexpected_message', () => {
    const net = new Net(serverConfig(), () => []); // the real server is silenced
    net.connect(clientConfig());
    const finished = Buffer.from(
      `16fefd000000000000000000180c1400000c000000000000000c${'00'.repeat(12)}`,
      'hex',
    );
    net.inject('to-client', finished);
    const error = net.closed('client')?.error;
    assert.equal(error?.alert, AlertDescription.UNEXPECTED_MESSAGE);
    assert.ok(!net.connected());
  });

  it('a late HelloVerifyRequest (after the ServerHello) never restarts the handshake', () => {
    let hvr: Buffer | undefined;
    let injected = false;
    const net = new Net(serverConfig(), (data, dir, n) => {
      if (dir === 'to-client' && recordsOf(data).some((r) => r.hsType === 3)) hvr = Buffer.from(data);
      if (dir === 'to-client' && !injected && recordsOf(data).some((r) => r.hsType === 2)) {
        injected = true;
        return [
          { data, delayMs: 1 },
          { data: hvr!, delayMs: 2 },
        ];
      }
      void n;
      return [{ data, delayMs: 1 }];
    });
    net.connect(clientConfig());
    assert.ok(net.run(() => net.connected()));
    const hellos = net.sent.filter(
      (s) => s.direction === 'to-server' && recordsOf(s.data).some((r) => r.hsType === 1),
    );
    assert.equal(hellos.length, 2, 'the first ClientHello and the one with the cookie, no third');
  });

  it('a repeated CertificateRequest fails with unexpected_message', () => {
    let request: Buffer | undefined;
    const net = new Net(
      serverConfig('require'),
      rewrite('to-client', 13, (record) => {
        request = Buffer.from(record);
        return record;
      }),
    );
    net.tap = (data, dir, n) => {
      const out = rewrite('to-client', 13, (record) => {
        request = Buffer.from(record);
        return record;
      })(data, dir, n);
      if (dir !== 'to-client' || request === undefined) return out;
      // Put a second CertificateRequest where the ServerHelloDone (next message_seq) was.
      const parts = recordsOf(out[0]!.data).map((r) => {
        const rec = out[0]!.data.subarray(r.offset, r.offset + 13 + r.length);
        if (r.hsType !== 14) return rec;
        const copy = Buffer.from(request!);
        rec.copy(copy, 3, 3, 11); // the record's epoch and sequence number
        copy.writeUInt16BE(rec.readUInt16BE(13 + 4), 13 + 4); // the message_seq
        return copy;
      });
      return [{ data: Buffer.concat(parts), delayMs: 1 }];
    };
    net.connect(clientConfig(true));
    assert.ok(net.run(() => ended(net)));
    assert.ok(!net.connected());
    assert.equal(net.closed('client')!.error!.alert, AlertDescription.UNEXPECTED_MESSAGE);
  });

  it('application data before the handshake ends is dropped', () => {
    const net = new Net(serverConfig());
    net.connect(clientConfig());
    net.run(() => net.serverSession() !== undefined);
    net.inject('to-server', Buffer.from('17fefd00000000000000630004' + '41414141', 'hex'));
    assert.ok(net.run(() => net.connected()));
    assert.deepEqual(net.received('server'), []);
    assert.ok(net.serverSession()!.counters.unexpectedRecords >= 1);
  });

  it('a ClientHello at epoch 1 from a new address makes no session and no answer', () => {
    const net = new Net(serverConfig());
    const client = new Net(serverConfig());
    client.connect(clientConfig());
    const ch = Buffer.from(client.sent[0]!.data);
    ch.writeUInt16BE(1, 3);
    net.server.receive(ch, CLIENT, 0);
    assert.deepEqual([...net.server.drain()], []);
    assert.equal(net.server.size, 0);
    assert.equal(net.server.counters.unclaimed, 1);
  });
});

describe('dtls stateless cookie', () => {
  it('a flood of ClientHellos from many ports keeps no state; bytes out ≤ bytes in', () => {
    const net = new Net(serverConfig());
    const template = new Net(serverConfig());
    template.connect(clientConfig());
    const hello = template.sent[0]!.data;
    for (let port = 1000; port < 1500; port++)
      net.server.receive(hello, { address: '198.51.100.7', port }, 0);
    const out = [...net.server.drain()];
    assert.equal(out.length, 500, 'one HelloVerifyRequest each');
    assert.equal(net.server.size, 0, 'no session for an unverified source');
    const c = net.server.counters;
    assert.ok(
      c.unverifiedBytesOut <= c.unverifiedBytesIn,
      `${c.unverifiedBytesOut} > ${c.unverifiedBytesIn}`,
    );
    for (const t of out) assert.ok(t.data.length <= hello.length);
  });

  it('a cookie is bound to the address and to the ClientHello fields', () => {
    const net = new Net(serverConfig(), PASS);
    const client = new Net(serverConfig());
    client.connect(clientConfig());
    client.run(() => client.connected());
    const withCookie = client.sent.filter((s) => s.direction === 'to-server')[1]!.data;
    // Valid from the address the cookie was made for — but `net` is another server (other secret):
    net.server.receive(withCookie, CLIENT, 0);
    assert.equal(net.server.size, 0);
    // On the server that made it: from another port it is refused…
    const fresh = new Net(serverConfig());
    fresh.connect(clientConfig());
    fresh.run(() => fresh.sent.filter((s) => s.direction === 'to-server').length >= 2);
    const cookied = Buffer.from(fresh.sent.filter((s) => s.direction === 'to-server')[1]!.data);
    const before = fresh.server.size;
    fresh.server.receive(cookied, { address: CLIENT.address, port: CLIENT.port + 1 }, fresh.nowMs);
    assert.equal(fresh.server.size, before, 'another port: no session');
    // …and with one byte of the random changed (the cookie covers it), too.
    const tampered = Buffer.from(cookied);
    tampered[13 + 12 + 2 + 5]! ^= 1;
    fresh.server.receive(tampered, { address: CLIENT.address, port: CLIENT.port + 2 }, fresh.nowMs);
    assert.equal(fresh.server.size, before);
  });
});
