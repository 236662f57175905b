// The Main profile (TR-06-2): the GRE codec and PSK decryption against librist's own datagrams
// (test/rist/vectors.ts), and porthole sender ↔ receiver on loopback on one port each — in the
// clear, AES-128, AES-256 with key rotation; a wrong passphrase or a missing secret delivers
// nothing and is counted; several senders multiplexed on one receiver port; keepalives; a flood
// of made-up nonces is rate-limited.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { generateCertificate } from '../../src/dtls/index.ts';
import {
  decodeGre,
  decodeGreBody,
  decodeRtcp,
  decodeRtp,
  derivePskKey,
  GreProtocol,
  MainFraming,
  pskCrypt,
  RistDiagnostics,
  type RistDroppedMessage,
  type RistReceived,
  RistReceiver,
  type RistReceiverOptions,
  RistSender,
  RistSenderCore,
  type RistSenderOptions,
  RtcpWriter,
} from '../../src/rist/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { Prng, testSeed } from '../support/prng.ts';
import { waitFor } from '../support/wait.ts';
import {
  LIBRIST_MAIN_RTP_HEAD,
  LIBRIST_MAIN_SR,
  LIBRIST_PSK_SECRET,
  LIBRIST_PSK128_SR,
  LIBRIST_PSK256_SR,
} from './vectors.ts';

checkLeaks();

function decryptVector(hex: string, bits: 128 | 256): Buffer {
  const data = Buffer.from(hex, 'hex');
  const gre = decodeGre(data);
  assert.equal(gre.keyed, true);
  assert.equal(gre.version, 1);
  assert.equal(gre.aes256, bits === 256);
  const body = data.subarray(gre.offset);
  pskCrypt(derivePskKey(LIBRIST_PSK_SECRET, gre.nonce, bits), gre.seq, gre.version, body);
  return body;
}

describe('GRE and PSK against librist', () => {
  it('decodes librist’s clear SR and RTP: reduced header, virtual ports, inner packet', () => {
    const sr = Buffer.from(LIBRIST_MAIN_SR, 'hex');
    const gre = decodeGre(sr);
    assert.deepEqual([gre.protocol, gre.keyed, gre.offset], [GreProtocol.REDUCED, false, 4]);
    const body = decodeGreBody(gre.protocol, sr.subarray(gre.offset));
    assert.deepEqual(body, { kind: 'rtcp', srcPort: 32768, dstPort: 1969, offset: 4 });
    const packets = decodeRtcp(sr.subarray(gre.offset + body.offset));
    assert.deepEqual(
      packets.map((p) => p.type),
      ['sr', 'sdes'],
    );
    const rtp = Buffer.from(LIBRIST_MAIN_RTP_HEAD, 'hex');
    const rtpBody = decodeGreBody(GreProtocol.REDUCED, rtp.subarray(4));
    assert.deepEqual(rtpBody, { kind: 'rtp', srcPort: 32769, dstPort: 1968, offset: 4 });
    const packet = decodeRtp(rtp.subarray(8));
    assert.deepEqual([packet.payloadType, packet.seq, packet.payload[0]], [33, 0, 0x47]);
  });

  for (const [hex, bits] of [
    [LIBRIST_PSK128_SR, 128],
    [LIBRIST_PSK256_SR, 256],
  ] as const) {
    it(`decrypts librist’s AES-${bits} SR with the passphrase-derived key`, () => {
      const body = decryptVector(hex, bits);
      const inner = decodeGreBody(GreProtocol.REDUCED, body);
      assert.equal(inner.kind, 'rtcp');
      const packets = decodeRtcp(body.subarray(4));
      assert.deepEqual(
        packets.map((p) => p.type),
        ['sr', 'sdes'],
      );
    });
  }

  it('holds RTP of a nonce not proven yet (its first RTCP lost) and releases it once an RTCP proves the key', () => {
    const tx = new MainFraming({ secret: 'held' });
    const rx = new MainFraming({ secret: 'held' });
    const sender = new RistSenderCore({ ssrc: 0x2468 }, 0);
    const ports = { src: 1971, dst: 1968 };
    const rtp = [0, 1, 2, 3, 4].map((i) =>
      tx.wrap(sender.send(Buffer.alloc(188, 0x47).fill(i, 1, 2), i), ports),
    );
    const rtcp = tx.wrap(new RtcpWriter().receiverReport(0x2468).sdes(0x2468, 'x').finish(), ports);
    for (const d of rtp)
      assert.equal(
        rx.unwrap(d, { address: 'a', port: 1 }, 0, () => false),
        undefined,
      );
    assert.deepEqual([rx.stats().heldForKey, rx.stats().decryptFailures], [5, 0]);
    assert.deepEqual(rx.drainReleased(), []);
    assert.equal(rx.unwrap(rtcp, { address: 'a', port: 1 }, 0, () => false)?.kind, 'rtcp');
    const released = rx.drainReleased();
    assert.deepEqual(
      released.map((u) => (u.kind === 'rtp' ? decodeRtp(u.packet).payload[1] : -1)),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual([rx.stats().heldForKey, rx.stats().releasedForKey], [0, 5]);
    // Another source's datagrams under the same nonce are not proven by this one's RTCP.
    assert.equal(
      rx.unwrap(Buffer.from(rtp[0] as Buffer), { address: 'b', port: 2 }, 0, () => false),
      undefined,
    );
  });

  it('a wrong passphrase decrypts librist’s SR to something that is not RIST', () => {
    const data = Buffer.from(LIBRIST_PSK128_SR, 'hex');
    const framing = new MainFraming({ secret: 'not hunter22' });
    assert.equal(
      framing.unwrap(data, { address: 'x', port: 1 }, 0, () => true),
      undefined,
    );
    assert.equal(framing.stats().decryptFailures, 1);
  });
});

async function session(
  rxOptions: RistReceiverOptions,
  txOptions: RistSenderOptions,
  count: number,
): Promise<{ items: RistReceived[]; receiver: RistReceiver; sender: RistSender }> {
  const receiver = await RistReceiver.listen('127.0.0.1', 0, {
    profile: 'main',
    latencyMs: 50,
    ...rxOptions,
  });
  const sender = await RistSender.connect('127.0.0.1', receiver.ports.media, {
    profile: 'main',
    ...txOptions,
  });
  const items: RistReceived[] = [];
  const reading = (async () => {
    for await (const item of receiver) items.push(item);
  })();
  for (let i = 0; i < count; i++) {
    sender.send(Buffer.alloc(188 * 7, 0x47).fill(i & 0xff, 1, 4));
    if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const wanted = rxOptions.secret === txOptions.secret;
  await waitFor(
    () =>
      wanted
        ? items.length >= count
        : (receiver.stats().main?.decryptFailures ?? 0) +
            (receiver.stats().main?.heldForKey ?? 0) +
            (receiver.stats().main?.authFailures ?? 0) >=
          count,
    { what: 'the receiver to take every datagram', detail: () => receiver.stats() },
  );
  await sender.close();
  await receiver.close();
  await reading;
  return { items, receiver, sender };
}

describe('porthole ↔ porthole, Main profile on one port', () => {
  for (const [name, options] of [
    ['in the clear', {}],
    ['AES-128', { secret: 'one passphrase' }],
    [
      'AES-256 rotating its key every 16 datagrams',
      { secret: 'two passphrase', encryption: 256, keyRotation: 16 },
    ],
  ] as const) {
    it(`delivers everything in order (${name})`, async () => {
      const { items, receiver, sender } = await session(
        'secret' in options
          ? { secret: options.secret, ...('encryption' in options ? { encryption: 256 } : {}) }
          : {},
        options,
        100,
      );
      assert.deepEqual(
        items.map((i) => (i.type === 'data' ? (i.payload[1] as number) : -1)),
        Array.from({ length: 100 }, (_, i) => i),
      );
      const rx = receiver.stats().main;
      const tx = sender.stats().main;
      assert.ok(rx !== undefined && tx !== undefined);
      assert.deepEqual(
        [rx.authFailures, rx.decryptFailures, tx.authFailures, tx.decryptFailures],
        [0, 0, 0, 0],
      );
      if ('keyRotation' in options) assert.ok(tx.keyDerivations >= 100 / 16, JSON.stringify(tx));
      assert.ok(rx.keepalivesReceived >= 1 && tx.keepalivesSent >= 1, 'keepalives');
    });
  }

  it('a wrong passphrase delivers nothing and counts decrypt failures', async () => {
    const reasons = new Map<string, number>();
    const onDrop = (message: unknown): void => {
      const { reason } = message as RistDroppedMessage;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    };
    subscribe(RistDiagnostics.DROPPED, onDrop);
    const { items, receiver } = await session({ secret: 'the right one' }, { secret: 'a wrong one' }, 200);
    unsubscribe(RistDiagnostics.DROPPED, onDrop);
    assert.ok((reasons.get('decrypt') ?? 0) > 0, 'porthole:rist:dropped says decrypt');
    assert.deepEqual(items, []);
    assert.equal(receiver.stats().received, 0);
    const m = receiver.stats().main;
    assert.ok(
      m !== undefined && m.decryptFailures + m.heldForKey >= 200 && m.releasedForKey === 0,
      JSON.stringify(m),
    );
  });

  it('a sender in the clear to a receiver with a secret (and back) is refused as an auth failure', async () => {
    const { items, receiver } = await session({ secret: 'needed' }, {}, 50);
    assert.deepEqual(items, []);
    assert.ok((receiver.stats().main?.authFailures ?? 0) >= 50);
    const back = await session({}, { secret: 'unexpected' }, 50);
    assert.deepEqual(back.items, []);
    assert.ok((back.receiver.stats().main?.authFailures ?? 0) >= 50);
  });

  it('multiplexes several senders (flows, virtual ports) on one receiver port', async () => {
    await using receiver = await RistReceiver.listen('127.0.0.1', 0, {
      profile: 'main',
      latencyMs: 50,
      secret: 's',
    });
    const senders = await Promise.all(
      [1968, 2000, 3000].map((virtualPort) =>
        RistSender.connect('127.0.0.1', receiver.ports.media, { profile: 'main', secret: 's', virtualPort }),
      ),
    );
    const bySsrc = new Map<number, number[]>();
    const reading = (async () => {
      for await (const item of receiver) {
        if (item.type !== 'data') continue;
        bySsrc.set(item.ssrc, [...(bySsrc.get(item.ssrc) ?? []), item.payload[0] as number]);
      }
    })();
    for (let i = 0; i < 30; i++) {
      for (const [k, s] of senders.entries()) s.send(Buffer.alloc(188, k * 30 + i));
    }
    await waitFor(() => [...bySsrc.values()].flat().length === 90, {
      what: 'every flow',
      detail: () => receiver.stats(),
    });
    assert.equal(receiver.stats().flows.length, 3);
    for (const list of bySsrc.values()) {
      const k = Math.floor((list[0] as number) / 30);
      assert.deepEqual(
        list,
        Array.from({ length: 30 }, (_, i) => k * 30 + i),
      );
    }
    await Promise.all(senders.map((s) => s.close()));
    await receiver.close();
    await reading;
  });

  it('rate-limits key derivations under a flood of made-up nonces', async () => {
    await using receiver = await RistReceiver.listen('127.0.0.1', 0, { profile: 'main', secret: 'kept' });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const prng = new Prng(testSeed(0x4e));
    for (let i = 0; i < 200; i++) {
      const d = Buffer.alloc(12 + 4 + 12 + 188);
      d[0] = 0x30;
      d[1] = 0x08;
      d.writeUInt16BE(GreProtocol.REDUCED, 2);
      d.writeUInt32BE(Math.floor(prng.next() * 0xffff_ffff) + 1, 4);
      socket.send(d, receiver.ports.media, '127.0.0.1');
    }
    await waitFor(
      () => {
        const m = receiver.stats().main;
        return m !== undefined && m.derivationsRefused + m.decryptFailures >= 200;
      },
      { what: 'the flood to be counted', detail: () => receiver.stats().main },
    );
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    const m = receiver.stats().main;
    assert.ok(m !== undefined && m.keyDerivations <= 64 && m.derivationsRefused > 0, JSON.stringify(m));
    assert.equal(receiver.stats().received, 0);
  });
});

describe('porthole ↔ porthole, Main profile over DTLS (the transport’s single-socket DTLS)', () => {
  it('delivers everything in order through DTLS records; a wrong fingerprint refuses the sender', async () => {
    const certificate = await generateCertificate();
    await using receiver = await RistReceiver.listen('127.0.0.1', 0, {
      profile: 'main',
      latencyMs: 50,
      dtls: { certificate },
    });
    await using sender = await RistSender.connect('127.0.0.1', receiver.ports.media, {
      profile: 'main',
      dtls: { fingerprints: [certificate.fingerprint] },
    });
    assert.ok(sender.transport.dtls !== undefined, 'the handshake completed in connect');
    const items: RistReceived[] = [];
    const reading = (async () => {
      for await (const item of receiver) items.push(item);
    })();
    for (let i = 0; i < 50; i++) sender.send(Buffer.alloc(188 * 7, 0x47).fill(i, 1, 2));
    await waitFor(() => items.length >= 50 && !Number.isNaN(sender.stats().rttMs), {
      what: 'every packet and an RTT through DTLS',
      detail: () => ({ rx: receiver.stats(), tx: sender.stats() }),
    });
    assert.deepEqual(
      items.map((i) => (i.type === 'data' ? (i.payload[1] as number) : -1)),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.ok((receiver.transport.stats().dtls?.helloVerifyRequests ?? 0) >= 1);
    // A second receiver (the first has its one DTLS peer): a sender pinning another certificate.
    await using other = await RistReceiver.listen('127.0.0.1', 0, { profile: 'main', dtls: { certificate } });
    await assert.rejects(
      RistSender.connect('127.0.0.1', other.ports.media, {
        profile: 'main',
        dtls: { fingerprints: [`sha-256 ${'00:'.repeat(31)}00`] },
      }),
      (error: Error & { code?: string }) => /^ERR_DTLS_/.test(error.code ?? ''),
    );
    await sender.close();
    await receiver.close();
    await reading;
  });

  it('refuses dtls without the Main profile or with a secret', async () => {
    await assert.rejects(RistReceiver.listen('127.0.0.1', 0, { dtls: {} as never }), { option: 'dtls' });
    await assert.rejects(
      RistSender.connect('127.0.0.1', 5000, { profile: 'main', secret: 's', dtls: {} as never }),
      { option: 'dtls' },
    );
  });
});
