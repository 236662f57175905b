// Fuzz: every DTLS decoder is a total function — a value or a ParseError (ERR_DTLS_BAD_RECORD /
// ERR_DTLS_BAD_HANDSHAKE) with an offset, nothing else — and the endpoint cores never throw on any
// datagram. 1,000,000 decoder inputs (random and mutated real messages) plus 20,000 datagrams
// through a server core and a handshaking client core, plus tls12_cid records (RFC 9146) and
// connection_id extensions from a CID handshake, into an established CID session. Seeded; the kept corpus
// (test/vectors/fuzz/dtls/) is replayed first; PORTHOLE_SEED=<n> varies the run.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { SessionConfig } from '../../src/dtls/config.ts';
import { DtlsEndpointCore } from '../../src/dtls/endpoint-core.ts';
import { decodeExtensions } from '../../src/dtls/extensions.ts';
import { readFragment } from '../../src/dtls/handshake-header.ts';
import { generateCertificate } from '../../src/dtls/index.ts';
import {
  decodeCertificate,
  decodeCertificateRequest,
  decodeCertificateVerify,
  decodeClientHello,
  decodeClientKeyExchange,
  decodeFinished,
  decodeHelloVerifyRequest,
  decodeServerHello,
  decodeServerKeyExchange,
} from '../../src/dtls/messages.ts';
import { createRecordView, readRecord } from '../../src/dtls/record.ts';
import { ParseError } from '../../src/errors/index.ts';
import { FuzzCorpus } from '../support/fuzz-corpus.ts';
import { Prng, replayHint, testSeed } from '../support/prng.ts';
import { CLIENT, config, Net, SERVER } from './harness.ts';

const corpus = new FuzzCorpus('dtls');
const INPUTS = 1_000_000;
const view = createRecordView();

/** Every decoder on one input; each must return or throw ParseError. */
const DECODERS: readonly ((b: Buffer) => unknown)[] = [
  (b) => {
    let offset = 0;
    while (offset < b.length) offset = readRecord(b, offset, view);
  },
  (b) => {
    // tls12_cid records (RFC 9146) with a 4-byte connection ID.
    let offset = 0;
    while (offset < b.length) offset = readRecord(b, offset, view, 4);
  },
  (b) => {
    let offset = 0;
    while (offset < b.length) offset = readFragment(b, offset).next;
  },
  decodeClientHello,
  decodeServerHello,
  decodeHelloVerifyRequest,
  decodeCertificate,
  (b) => decodeServerKeyExchange(b, { psk: false, ecdhe: true, signed: true }),
  (b) => decodeServerKeyExchange(b, { psk: true, ecdhe: true, signed: false }),
  (b) => decodeServerKeyExchange(b, { psk: true, ecdhe: false, signed: false }),
  decodeCertificateRequest,
  (b) => decodeClientKeyExchange(b, { psk: true, ecdhe: true }),
  (b) => decodeClientKeyExchange(b, { psk: false, ecdhe: true }),
  decodeCertificateVerify,
  decodeFinished,
  (b) => decodeExtensions(b, 0),
];

function decodeWith(decode: (b: Buffer) => unknown, input: Buffer): void {
  try {
    decode(input);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    assert.ok(
      error.offset >= 0 && error.offset <= input.length + 3,
      `offset ${error.offset} of ${input.length}`,
    );
  }
}

/** A kept input goes through every decoder. */
function total(input: Buffer): void {
  for (const decode of DECODERS) decodeWith(decode, input);
}

let seeds: Buffer[] = [];
let serverConfig: SessionConfig;
let clientConfig: SessionConfig;
let cidServerConfig: SessionConfig;
/** An established session with connection IDs both ways, fed mutated tls12_cid records. */
let cidNet: Net;

before(async () => {
  const certificate = await generateCertificate();
  serverConfig = config('server', { certificate, retransmitInitialMs: 100 }, { clientAuth: 'none' });
  clientConfig = config('client', { fingerprints: [certificate.fingerprint], retransmitInitialMs: 100 }, {});
  // Real datagrams of a handshake (and the handshake bodies inside) as mutation seeds.
  const net = new Net(serverConfig);
  net.connect(clientConfig);
  net.run(() => net.connected());
  seeds = net.sent.map((s) => s.data);
  // And a handshake with connection IDs both ways (connection_id extensions, tls12_cid records).
  cidNet = new Net(config('server', { certificate, connectionIdBytes: 4 }, { clientAuth: 'none' }));
  const cidClient = cidNet.connect(
    config('client', { fingerprints: [certificate.fingerprint], connectionIdBytes: 4 }, {}),
  );
  cidNet.run(() => cidNet.connected());
  cidClient.send(Buffer.from('application data'));
  cidNet.client.touch(cidClient);
  cidNet.run(() => cidNet.received('server').length > 0);
  seeds.push(...cidNet.sent.map((s) => s.data));
  cidServerConfig = config('server', { certificate, connectionIdBytes: 4 }, { clientAuth: 'none' });
  for (const d of [...seeds]) {
    let offset = 0;
    while (offset + 13 <= d.length) {
      const length = d.readUInt16BE(offset + 11);
      if (d[offset] === 22 && d.readUInt16BE(offset + 3) === 0)
        seeds.push(d.subarray(offset + 25, offset + 13 + length));
      offset += 13 + length;
    }
  }
});

function mutate(prng: Prng, seed: Buffer): Buffer {
  const out = Buffer.from(seed);
  const edits = 1 + prng.int(4);
  for (let i = 0; i < edits; i++) {
    const kind = prng.int(4);
    if (out.length === 0) break;
    const at = prng.int(out.length);
    if (kind === 0) out[at] = prng.int(256);
    else if (kind === 1) out[at]! ^= 1 << prng.int(8);
    else if (kind === 2) out[at] = [0, 0xff, 0x7f, 0x80, 1][prng.int(5)]!;
    else return out.subarray(0, at);
  }
  return out;
}

describe('dtls fuzz', () => {
  it('replays the kept corpus', () => {
    corpus.replay(total);
  });

  it(`${INPUTS.toLocaleString('en')} inputs, each to one decoder in turn: a value or ParseError, nothing else`, (t) => {
    const prng = new Prng(testSeed(0xd715f022));
    // Stack traces are most of a ParseError's cost; a finding is replayed from its kept file anyway.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    t.after(() => {
      Error.stackTraceLimit = limit;
    });
    for (let i = 0; i < INPUTS; i++) {
      let input: Buffer;
      if (i % 4 === 0) {
        input = Buffer.alloc(prng.int(80));
        prng.bytes(input);
      } else input = mutate(prng, seeds[prng.int(seeds.length)]!);
      const decode = DECODERS[i % DECODERS.length]!;
      corpus.check(
        input,
        (b) => decodeWith(decode, b),
        () => `${replayHint()} input ${i}`,
      );
    }
  });

  it('20,000 datagrams into a server core and a handshaking client core never throw', () => {
    const prng = new Prng(testSeed(0xd715f023));
    const server = new DtlsEndpointCore();
    server.listen({ config: serverConfig, maxSessions: 100 }, 0);
    const client = new DtlsEndpointCore();
    client.connect(SERVER, clientConfig, 0);
    const cidServer = new DtlsEndpointCore();
    cidServer.listen({ config: cidServerConfig, maxSessions: 100 }, 0);
    for (let i = 0; i < 20_000; i++) {
      let input: Buffer;
      if (i % 5 === 0) {
        input = Buffer.alloc(prng.int(120));
        prng.bytes(input);
      } else input = mutate(prng, seeds[prng.int(seeds.length)]!);
      const run = (b: Buffer): void => {
        server.receive(b, { address: CLIENT.address, port: 1000 + (i % 50) }, i);
        cidServer.receive(b, { address: CLIENT.address, port: 1000 + (i % 50) }, i);
        cidServer.drain();
        cidServer.drainEvents();
        // The established CID session, from its own address and from others (the rebinding path).
        cidNet.server.receive(b, i % 2 === 0 ? CLIENT : { address: '198.51.100.1', port: i % 7 }, i);
        cidNet.client.receive(b, SERVER, i);
        cidNet.server.drain();
        cidNet.client.drain();
        cidNet.server.drainEvents();
        cidNet.client.drainEvents();
        client.receive(b, SERVER, i);
        server.poll(i);
        client.poll(i);
        server.drain();
        client.drain();
        server.drainEvents();
        client.drainEvents();
      };
      corpus.check(input, run, () => `${replayHint()} datagram ${i}`);
    }
    assert.ok(server.size <= 100);
  });
});
