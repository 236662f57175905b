// Handshakes over a lossy, duplicating, reordering wire (in-memory, seeded, virtual clock): the
// pion/dtls loss matrix (0/10/20/50 % random loss both ways, with client certificates, at MTU 256)
// and the mbedTLS proxy cases (duplicate every datagram, inject invalid records, delay the
// ChangeCipherSpec, reorder, drop + delay + duplicate together). Each must complete within 30 s
// of virtual time; the time it took is reported.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type DtlsCertificate, generateCertificate } from '../../src/dtls/index.ts';
import { Prng, replayHint, testSeed } from '../support/prng.ts';
import { config, Net, recordsOf, type Tap } from './harness.ts';

let serverCert: DtlsCertificate;
let clientCert: DtlsCertificate;
before(async () => {
  serverCert = await generateCertificate();
  clientCert = await generateCertificate();
});

const TIMERS = { retransmitInitialMs: 200, retransmitMaxMs: 2000, handshakeTimeoutMs: 30_000 };

function pair(tap: Tap, options: { mtuBytes?: number; clientAuth?: boolean } = {}): Net {
  const mtu = options.mtuBytes !== undefined ? { mtuBytes: options.mtuBytes } : {};
  const net = new Net(
    config(
      'server',
      {
        certificate: serverCert,
        ...TIMERS,
        ...mtu,
        ...(options.clientAuth === true ? { fingerprints: [clientCert.fingerprint] } : {}),
      },
      { clientAuth: options.clientAuth === true ? 'require' : 'none' },
    ),
    tap,
  );
  net.connect(
    config(
      'client',
      { fingerprints: [serverCert.fingerprint], certificate: clientCert, ...TIMERS, ...mtu },
      {},
    ),
  );
  return net;
}

function lossy(rate: number, seed: number): Tap {
  const prng = new Prng(testSeed(seed));
  return (data) => (prng.next() < rate ? [] : [{ data, delayMs: 1 + prng.int(20) }]);
}

describe('dtls loss matrix (virtual time)', () => {
  for (const rate of [0, 0.1, 0.2, 0.5]) {
    for (const variant of [
      { name: 'MTU 1200', mtuBytes: 1200, clientAuth: false },
      { name: 'client auth, MTU 256', mtuBytes: 256, clientAuth: true },
    ]) {
      for (const seed of [1, 2, 3]) {
        it(`${rate * 100} % loss both ways, ${variant.name}, seed ${seed}`, (t) => {
          const net = pair(lossy(rate, 0xd7150000 + rate * 1000 + seed), variant);
          const ok = net.run(
            () => net.connected() || net.closed('client') !== undefined || net.closed('server') !== undefined,
            31_000,
          );
          assert.ok(
            ok && net.connected(),
            `handshake did not complete (${replayHint()}): ${JSON.stringify(net.closed('client')?.error?.message)}`,
          );
          assert.ok(net.nowMs <= 30_000);
          t.diagnostic(`handshake in ${net.nowMs} virtual ms`);
        });
      }
    }
  }
});

describe('dtls proxy cases (mbedTLS)', () => {
  it('duplicates every datagram', () => {
    const net = pair((data) => [
      { data, delayMs: 1 },
      { data, delayMs: 2 },
    ]);
    assert.ok(net.run(() => net.connected(), 30_000));
    const s = net.serverSession();
    assert.equal(s?.state, 'established');
  });

  it('injects invalid records between the real ones', () => {
    const prng = new Prng(testSeed(0xd7150101));
    const net = pair((data) => {
      const junk = Buffer.alloc(40 + prng.int(60));
      prng.bytes(junk);
      junk[0] = 20 + prng.int(4);
      junk[1] = 0xfe;
      junk[2] = 0xfd;
      return [
        { data: junk, delayMs: 1 },
        { data, delayMs: 2 },
      ];
    });
    assert.ok(net.run(() => net.connected(), 30_000));
  });

  it('delays the ChangeCipherSpec behind the Finished', () => {
    const net = pair((data) => {
      const recs = recordsOf(data);
      const ccs = recs.find((r) => r.type === 20);
      if (ccs === undefined) return [{ data, delayMs: 1 }];
      const ccsBytes = data.subarray(ccs.offset, ccs.offset + 13 + ccs.length);
      const rest = Buffer.concat([data.subarray(0, ccs.offset), data.subarray(ccs.offset + 13 + ccs.length)]);
      return [
        { data: rest, delayMs: 1 },
        { data: ccsBytes, delayMs: 50 },
      ];
    });
    assert.ok(net.run(() => net.connected(), 30_000));
  });

  it('reorders the datagrams of each flight', () => {
    const net = pair(
      (data) => {
        return [{ data, delayMs: 1 + (data.length % 7) * 5 }];
      },
      { mtuBytes: 256 },
    );
    assert.ok(net.run(() => net.connected(), 30_000));
  });

  it('drops, delays and duplicates together (30 % loss, 0–100 ms jitter, 30 % duplicates)', () => {
    const prng = new Prng(testSeed(0xd7150103));
    const net = pair(
      (data) => {
        if (prng.next() < 0.3) return [];
        const out = [{ data, delayMs: prng.int(100) }];
        if (prng.next() < 0.3) out.push({ data, delayMs: prng.int(200) });
        return out;
      },
      { mtuBytes: 256, clientAuth: true },
    );
    assert.ok(
      net.run(() => net.connected(), 30_000),
      replayHint(),
    );
  });

  it('the server resends its last flight when the client retransmits (pion/dtls#479)', () => {
    let dropped = 0;
    const net = pair((data, direction) => {
      // Lose the server's first ChangeCipherSpec + Finished flight once.
      if (direction === 'to-client' && dropped === 0 && recordsOf(data).some((r) => r.type === 20)) {
        dropped++;
        return [];
      }
      return [{ data, delayMs: 1 }];
    });
    assert.ok(net.run(() => net.connected(), 30_000));
    assert.equal(dropped, 1);
    assert.ok(
      net.serverSession()!.counters.flightResends >= 1,
      'the server answered the retransmitted flight 5',
    );
  });
});
