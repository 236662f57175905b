// Connection ID (RFC 9146): the connection_id extension both ways (own CID length configurable, 0 =
// none of our own but the peer's is sent), the tls12_cid record (type 25) with the inner plaintext and
// the RFC 9146 §5.2 additional data checked against a hand-built vector, routing by CID on a server
// with many sessions, and NAT rebinding: with a CID an authenticated newer record from a new address
// moves the session (on real sockets, through a NAT-like proxy that changes its port mid-session);
// without one, records from another address are dropped.
//
// No DTLS peer on this machine speaks RFC 9146 (OpenSSL 3.0 has no DTLS CID, nor has GnuTLS), so the
// wire format is checked here against the RFC's structures by hand, byte for byte.
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { before, describe, it } from 'node:test';
import { suiteByName } from '../../src/dtls/cipher-suites.ts';
import type { SessionConfig } from '../../src/dtls/config.ts';
import { AlertDescription } from '../../src/dtls/constants.ts';
import { DtlsEndpointCore } from '../../src/dtls/endpoint-core.ts';
import { decodeExtensions, encodeExtensions } from '../../src/dtls/extensions.ts';
import {
  type DtlsCertificate,
  DtlsConnection,
  DtlsServer,
  generateCertificate,
} from '../../src/dtls/index.ts';
import { createRecordView, readRecord } from '../../src/dtls/record.ts';
import { RecordProtection } from '../../src/dtls/record-protection.ts';
import type { DtlsSession } from '../../src/dtls/session.ts';
import type { Endpoint } from '../../src/internal/endpoint.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { CLIENT, config, Net, recordsOf, SERVER } from './harness.ts';

checkLeaks();

const LOCAL = '127.0.0.1';
let certificate: DtlsCertificate;

before(async () => {
  certificate = await generateCertificate();
});

function serverConfig(cid: number | undefined): SessionConfig {
  return config('server', { certificate, ...(cid !== undefined ? { connectionIdBytes: cid } : {}) });
}
function clientConfig(cid: number | undefined): SessionConfig {
  return config('client', {
    fingerprints: [certificate.fingerprint],
    ...(cid !== undefined ? { connectionIdBytes: cid } : {}),
  });
}

/** Sends one record each way through the harness and returns what arrived. */
function exchange(net: Net, client: DtlsSession): { server: string[]; client: string[] } {
  const before = { server: net.received('server').length, client: net.received('client').length };
  client.send(Buffer.from('to-server'));
  net.client.touch(client);
  const server = net.serverSession()!;
  server.send(Buffer.from('to-client'));
  net.server.touch(server);
  net.run(
    () => net.received('server').length > before.server && net.received('client').length > before.client,
    2000,
  );
  return {
    server: net.received('server').slice(before.server),
    client: net.received('client').slice(before.client),
  };
}

describe('dtls connection ID: negotiation and the tls12_cid record', () => {
  const cases: {
    client: number | undefined;
    server: number | undefined;
    toServer: number;
    toClient: number;
  }[] = [
    { client: 8, server: 4, toServer: 4, toClient: 8 },
    { client: 0, server: 6, toServer: 6, toClient: 0 },
    { client: 5, server: 0, toServer: 0, toClient: 5 },
    { client: undefined, server: 4, toServer: -1, toClient: -1 },
    { client: 4, server: undefined, toServer: -1, toClient: -1 },
  ];
  for (const c of cases) {
    it(`client ${c.client ?? 'off'} / server ${c.server ?? 'off'}: CIDs in records where the receiver gave one`, () => {
      for (const suite of [
        'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
        'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
      ]) {
        const net = new Net(serverConfig(c.server));
        const client = net.connect(
          config('client', {
            fingerprints: [certificate.fingerprint],
            cipherSuites: [suite],
            ...(c.client !== undefined ? { connectionIdBytes: c.client } : {}),
          }),
        );
        assert.ok(
          net.run(() => net.connected(), 5000),
          'handshake',
        );
        const server = net.serverSession()!;
        if (c.toServer < 0) {
          assert.equal(client.connectionIds, undefined);
          assert.equal(server.connectionIds, undefined);
        } else {
          assert.equal(client.connectionIds?.own.length, c.client);
          assert.equal(server.connectionIds?.own.length, c.server);
          assert.deepEqual(client.connectionIds?.peer, server.connectionIds?.own);
          assert.deepEqual(server.connectionIds?.peer, client.connectionIds?.own);
        }
        const sent = net.sent.length;
        assert.deepEqual(exchange(net, client), { server: ['to-server'], client: ['to-client'] });
        for (const { direction, data } of net.sent.slice(sent)) {
          const expected = direction === 'to-server' ? c.toServer : c.toClient;
          if (expected > 0) {
            assert.equal(data[0], 25, 'tls12_cid');
            const own = direction === 'to-server' ? server.connectionIds!.own : client.connectionIds!.own;
            assert.deepEqual(data.subarray(11, 11 + expected), own);
            assert.equal(data.readUInt16BE(11 + expected), data.length - 13 - expected);
          } else assert.equal(data[0], 23, 'application_data');
        }
        // Each Finished went protected with the receiver's CID too (RFC 9146: every epoch-1 record).
        for (const { direction, data } of net.sent.slice(0, sent)) {
          const expected = direction === 'to-server' ? c.toServer : c.toClient;
          for (const r of recordsOf(data).filter((r) => r.epoch === 1))
            assert.equal(r.type, expected > 0 ? 25 : 22);
        }
      }
    });
  }

  it('the connection_id extension round-trips and a server answer nobody asked for is refused', () => {
    const encoded = encodeExtensions({ connectionId: Buffer.from('c0c1c2', 'hex') });
    // extensions length 8 | type 54 | length 4 | cid length 3 | cid
    assert.equal(encoded.toString('hex'), '0008' + '0036' + '0004' + '03' + 'c0c1c2');
    assert.deepEqual(decodeExtensions(encoded.subarray(2), 2).connectionId, Buffer.from('c0c1c2', 'hex'));
    assert.deepEqual(decodeExtensions(Buffer.from('0036000100', 'hex'), 0).connectionId, Buffer.alloc(0));
    assert.throws(() => decodeExtensions(Buffer.from('003600020500', 'hex'), 0), {
      code: 'ERR_DTLS_BAD_HANDSHAKE',
    });
    // A server that sends connection_id to a client that did not offer it: unsupported_extension.
    // (The ServerHello's renegotiation_info `ff01 0001 00` becomes connection_id `0036 0001 00`, an
    // empty CID, which has the same length.)
    const net = new Net(serverConfig(undefined), (data, direction) => {
      const at = data.indexOf(Buffer.from('ff010001000017', 'hex'));
      if (direction === 'to-client' && at > 0) data.writeUInt16BE(0x0036, at);
      return [{ data, delayMs: 1 }];
    });
    net.connect(clientConfig(undefined));
    assert.ok(net.run(() => net.closed('client') !== undefined, 5000));
    assert.equal(net.closed('client')?.error?.alert, AlertDescription.UNSUPPORTED_EXTENSION);
  });

  it('the record matches RFC 9146 §4/§5.2 built by hand (AES-128-GCM and ChaCha20-Poly1305)', () => {
    const cid = Buffer.from('c0c1c2c3', 'hex');
    // additional_data = 8 × ff ‖ tls12_cid ‖ cid_length ‖ tls12_cid ‖ version ‖ epoch ‖ seq ‖ cid ‖ length(inner)
    const aad = Buffer.from(
      'ffffffffffffffff' + '19' + '04' + '19' + 'fefd' + '0001' + '000000000005' + 'c0c1c2c3' + '0006',
      'hex',
    );
    const inner = Buffer.from('68656c6c6f' + '17', 'hex'); // "hello" ‖ real type application_data
    for (const name of [
      'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
    ]) {
      const suite = suiteByName(name)!;
      const chacha = suite.explicitNonceBytes === 0;
      const key = Buffer.alloc(chacha ? 32 : 16, 0x0b);
      const iv = chacha ? Buffer.from('a0a1a2a3a4a5a6a7a8a9aaab', 'hex') : Buffer.from('a0a1a2a3', 'hex');
      const nonce = chacha
        ? Buffer.from('a0a1a2a3' + 'a4a4a6a7a8a9aaae', 'hex') // iv XOR 0000 0000 ‖ 0001 000000000005
        : Buffer.from('a0a1a2a3' + '0001000000000005', 'hex');
      const cipher = createCipheriv(suite.aead as 'aes-128-gcm', key, nonce, { authTagLength: 16 });
      cipher.setAAD(aad, { plaintextLength: inner.length });
      const body = Buffer.concat([cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
      const explicit = chacha ? '' : '0001000000000005';
      const length = (explicit.length / 2 + body.length).toString(16).padStart(4, '0');
      const expected = Buffer.from(
        `19fefd0001000000000005c0c1c2c3${length}${explicit}${body.toString('hex')}`,
        'hex',
      );
      const sealer = new RecordProtection(suite, { key, iv }, cid);
      const record = sealer.seal(23, 1, 5, Buffer.from('hello'));
      assert.equal(record.toString('hex'), expected.toString('hex'), name);
      // Opening: the header parses with the CID length, the inner type comes back.
      const view = createRecordView();
      assert.equal(readRecord(record, 0, view, 4), record.length);
      assert.deepEqual(
        [view.type, view.epoch, view.sequence, view.cidOffset, view.cidLength],
        [25, 1, 5, 11, 4],
      );
      const opener = new RecordProtection(suite, { key, iv }, cid);
      const fragment = record.subarray(view.fragmentOffset);
      assert.equal(opener.open(25, 1, 5, fragment)?.toString(), 'hello');
      assert.equal(opener.lastType, 23);
      // Padding zeros after the real type are stripped (RFC 9146 §4); all zeros is no record.
      for (const [padded, result] of [
        [Buffer.from('68690017000000', 'hex'), 'hi\u0000'],
        [Buffer.from('000000', 'hex'), undefined],
      ] as const) {
        const padAad = Buffer.from(aad);
        padAad.writeUInt16BE(padded.length, padAad.length - 2);
        const c2 = createCipheriv(suite.aead as 'aes-128-gcm', key, nonce, { authTagLength: 16 });
        c2.setAAD(padAad, { plaintextLength: padded.length });
        const enc = Buffer.concat([
          Buffer.from(explicit, 'hex'),
          c2.update(padded),
          c2.final(),
          c2.getAuthTag(),
        ]);
        assert.equal(opener.open(25, 1, 5, enc)?.toString('latin1'), result);
      }
      // A flipped CID byte in the additional data fails authentication.
      const other = new RecordProtection(suite, { key, iv }, Buffer.from('c0c1c2c4', 'hex'));
      assert.equal(other.open(25, 1, 5, fragment), undefined);
      // Plain records (no CID) are unchanged: RFC 6347 additional data.
      const plain = new RecordProtection(suite, { key, iv }).seal(23, 1, 5, Buffer.from('hello'));
      const d = createDecipheriv(suite.aead as 'aes-128-gcm', key, nonce, { authTagLength: 16 });
      d.setAAD(Buffer.from('0001000000000005' + '17' + 'fefd' + '0005', 'hex'), { plaintextLength: 5 });
      const start = 13 + explicit.length / 2;
      d.setAuthTag(plain.subarray(plain.length - 16));
      assert.equal(
        Buffer.concat([d.update(plain.subarray(start, plain.length - 16)), d.final()]).toString(),
        'hello',
      );
    }
  });
});

/** One server core, many client cores, each at its own address (which may change): a tiny wire. */
class Wire {
  nowMs = 0;
  readonly server = new DtlsEndpointCore();
  readonly clients: { core: DtlsEndpointCore; at: Endpoint; session: DtlsSession; received: string[] }[] = [];
  readonly serverReceived = new Map<DtlsSession, string[]>();
  #queue: { to: 'server' | number; from: Endpoint; data: Buffer }[] = [];

  constructor(cid: number | undefined) {
    this.server.listen({ config: serverConfig(cid), maxSessions: 1000 }, 0);
  }

  add(cid: number | undefined, port: number): number {
    const core = new DtlsEndpointCore();
    const session = core.connect(SERVER, clientConfig(cid), this.nowMs);
    this.clients.push({ core, at: { address: CLIENT.address, port }, session, received: [] });
    return this.clients.length - 1;
  }

  pump(): void {
    for (let rounds = 0; rounds < 10_000; rounds++) {
      for (const c of this.clients) {
        for (const t of c.core.drain())
          this.#queue.push({ to: 'server', from: c.at, data: Buffer.from(t.data) });
        for (const e of c.core.drainEvents()) if (e.type === 'data') c.received.push(e.data.toString());
      }
      for (const t of this.server.drain()) {
        const i = this.clients.findIndex((c) => c.at.port === t.to.port && c.at.address === t.to.address);
        if (i >= 0) this.#queue.push({ to: i, from: SERVER, data: Buffer.from(t.data) });
      }
      for (const e of this.server.drainEvents()) {
        if (e.type === 'data') {
          const list = this.serverReceived.get(e.session) ?? [];
          list.push(e.data.toString());
          this.serverReceived.set(e.session, list);
        }
      }
      const next = this.#queue.shift();
      if (next === undefined) return;
      this.nowMs++;
      if (next.to === 'server') this.server.receive(next.data, next.from, this.nowMs);
      else this.clients[next.to]!.core.receive(next.data, next.from, this.nowMs);
    }
    throw new Error('the wire does not settle');
  }

  send(i: number, text: string): void {
    const c = this.clients[i]!;
    c.session.send(Buffer.from(text));
    c.core.touch(c.session);
    this.pump();
  }

  reply(session: DtlsSession, text: string): void {
    session.send(Buffer.from(text));
    this.server.touch(session);
    this.pump();
  }
}

describe('dtls connection ID: routing and NAT rebinding in memory', () => {
  it('40 sessions with CIDs on one server: each client moves to a new port and keeps exchanging data', () => {
    const wire = new Wire(4);
    for (let i = 0; i < 40; i++) wire.add(i % 2 === 0 ? 0 : 3, 40_000 + i);
    wire.pump();
    assert.equal(wire.server.size, 40);
    const sessions = wire.clients.map((c) => wire.server.session(c.at)!);
    assert.ok(sessions.every((s) => s?.state === 'established'));
    for (let i = 0; i < 40; i++) {
      wire.clients[i]!.at = { address: '198.51.100.7', port: 50_000 + i }; // the NAT gave a new mapping
      wire.send(i, `after-rebind-${i}`);
      assert.deepEqual(wire.serverReceived.get(sessions[i]!), [`after-rebind-${i}`]);
      assert.deepEqual(sessions[i]!.remote, { address: '198.51.100.7', port: 50_000 + i });
      wire.reply(sessions[i]!, `reply-${i}`);
      assert.deepEqual(wire.clients[i]!.received, [`reply-${i}`]);
    }
    assert.equal(wire.server.counters.rebinds, 40);
    assert.equal(wire.server.session({ address: CLIENT.address, port: 40_000 }), undefined);
    assert.ok(sessions.every((s) => s.counters.addressChanges === 1));
  });

  it('a replayed, an older or a forged CID record from a new address moves nothing', () => {
    const wire = new Wire(4);
    wire.add(0, 40_000);
    wire.pump();
    const session = wire.server.session(wire.clients[0]!.at)!;
    const c = wire.clients[0]!;
    const first = c.session.seal(Buffer.from('one'))!;
    const second = c.session.seal(Buffer.from('two'))!;
    wire.server.receive(second, c.at, ++wire.nowMs); // the newest from the current address
    wire.pump();
    const attacker: Endpoint = { address: '203.0.113.66', port: 666 };
    wire.server.receive(second, attacker, ++wire.nowMs); // replayed
    wire.server.receive(first, attacker, ++wire.nowMs); // older (inside the window): delivered, not newer
    const forged = Buffer.from(c.session.seal(Buffer.from('three'))!);
    forged[forged.length - 1]! ^= 1;
    wire.server.receive(forged, attacker, ++wire.nowMs); // fails authentication
    wire.pump();
    assert.deepEqual(session.remote, c.at);
    assert.equal(wire.server.counters.rebinds, 0);
    assert.equal(session.counters.replaysDropped, 1);
    assert.equal(session.counters.badRecords, 1);
    assert.deepEqual(wire.serverReceived.get(session), ['two', 'one']);
  });

  it('without a CID, records from another address are dropped', () => {
    const wire = new Wire(undefined);
    wire.add(undefined, 40_000);
    wire.pump();
    const session = wire.server.session(wire.clients[0]!.at)!;
    const unclaimed = wire.server.counters.unclaimed;
    wire.clients[0]!.at = { address: CLIENT.address, port: 40_001 };
    wire.send(0, 'lost');
    assert.equal(wire.serverReceived.get(session), undefined);
    assert.equal(wire.server.counters.unclaimed, unclaimed + 1);
    assert.deepEqual(session.remote, { address: CLIENT.address, port: 40_000 });
  });
});

/** A NAT between a client and a server: the client talks to `front`; `rebind()` gives a new outside port. */
class Nat {
  readonly front: Socket = createSocket('udp4');
  #back: Socket | undefined;
  readonly #old: Socket[] = [];
  #client: Endpoint | undefined;
  readonly #server: Endpoint;

  constructor(server: Endpoint) {
    this.#server = server;
    this.front.on('message', (data, rinfo) => {
      this.#client = { address: rinfo.address, port: rinfo.port };
      this.#back!.send(data, this.#server.port, this.#server.address);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.front.bind(0, LOCAL, resolve));
    await this.rebind();
  }

  /** A new outside mapping; the old one keeps forwarding what still arrives on it. */
  async rebind(): Promise<number> {
    if (this.#back !== undefined) this.#old.push(this.#back);
    const back = createSocket('udp4');
    back.on('message', (data) => {
      if (this.#client !== undefined) this.front.send(data, this.#client.port, this.#client.address);
    });
    await new Promise<void>((resolve) => back.bind(0, LOCAL, resolve));
    this.#back = back;
    return back.address().port;
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.front, this.#back!, ...this.#old].map(
        (s) => new Promise<void>((resolve) => s.close(() => resolve())),
      ),
    );
  }
}

async function firstRecord(connection: DtlsConnection): Promise<string> {
  for await (const record of connection.records({ signal: AbortSignal.timeout(5000) }))
    return record.toString();
  throw new Error('the connection ended without a record');
}

/**
 * A server (with a CID of `serverCid` bytes, or none) and a client behind a {@link Nat}, handshaken
 * and one record delivered; `body` runs with them, then everything is closed.
 */
async function behindNat(
  serverCid: number | undefined,
  body: (p: { server: DtlsServer; client: DtlsConnection; peer: DtlsConnection; nat: Nat }) => Promise<void>,
): Promise<void> {
  await using server = await DtlsServer.listen({
    port: 0,
    host: LOCAL,
    certificate,
    ...(serverCid !== undefined ? { connectionIdBytes: serverCid } : {}),
  });
  const nat = new Nat({ address: LOCAL, port: server.address().port });
  await nat.start();
  try {
    const accepted = server.accept({ signal: AbortSignal.timeout(5000) });
    await using client = await DtlsConnection.connect({
      remote: { address: LOCAL, port: nat.front.address().port },
      fingerprints: [certificate.fingerprint],
      ...(serverCid !== undefined ? { connectionIdBytes: 0 } : {}),
    });
    const peer = await accepted;
    client.send(Buffer.from('before'));
    assert.equal(await firstRecord(peer), 'before');
    await body({ server, client, peer, nat });
  } finally {
    await nat.close();
  }
}

describe('dtls connection ID: NAT rebinding on real sockets', () => {
  it('with a CID the session follows the client to its new port and data keeps flowing both ways', async () => {
    await behindNat(8, async ({ server, client, peer, nat }) => {
      assert.equal(peer.connectionId?.own.length, 8);
      assert.equal(client.connectionId?.peer.length, 8);
      const before = peer.remote.port;
      for (let round = 0; round < 3; round++) {
        const port = await nat.rebind();
        client.send(Buffer.from(`after-${round}`));
        assert.equal(await firstRecord(peer), `after-${round}`);
        await waitFor(() => peer.remote.port === port, { what: 'the session to move to the new port' });
        peer.send(Buffer.from(`reply-${round}`));
        assert.equal(await firstRecord(client), `reply-${round}`);
      }
      assert.notEqual(peer.remote.port, before);
      assert.equal(peer.stats().addressChanges, 3);
      assert.equal(server.stats().rebinds, 3);
    });
  });

  it('without a CID the records from the new port are dropped', async () => {
    await behindNat(undefined, async ({ server, client, peer, nat }) => {
      assert.equal(peer.connectionId, undefined);
      const unclaimed = server.stats().unclaimed;
      await nat.rebind();
      client.send(Buffer.from('lost'));
      await waitFor(() => server.stats().unclaimed > unclaimed, {
        what: 'the record from the new port to be dropped',
      });
      assert.equal(peer.stats().recordsReceived, 1);
    });
  });
});
