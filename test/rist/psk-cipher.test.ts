// PskCipher (one AES-ECB context per key, counter blocks in a reused buffer, XOR in place) makes
// the same bytes as the reference AES-CTR (pskCrypt: a CTR cipher per call), for both RIST GRE
// versions, both key sizes, lengths across the keystream chunk, unaligned views and the
// version-0 counter carry; and the GRE decoders into reused storage agree with the allocating ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeGre,
  decodeGreBody,
  decodeGreInto,
  derivePskKey,
  greBodyScratch,
  greHeaderScratch,
  MainFraming,
  PskCipher,
  pskCrypt,
  RtcpWriter,
  readGreBody,
} from '../../src/rist/index.ts';
import { Prng, testSeed } from '../support/prng.ts';

describe('PskCipher', () => {
  for (const bits of [128, 256] as const) {
    for (const version of [0, 1]) {
      it(`equals the reference AES-${bits}-CTR, GRE version ${version}`, () => {
        const prng = new Prng(testSeed(0xc7 + bits + version));
        const key = derivePskKey('cipher vector', 0x1234_5678, bits);
        const cipher = new PskCipher(key);
        const seqs = [0, 1, 2, 0x7fff_ffff, 0xffff_fffe, 0xffff_ffff];
        for (let n = 0; n < 60; n++) seqs.push(prng.int(0x1_0000_0000));
        const lengths = [1, 15, 16, 17, 60, 1316, 1336, 2047, 2048, 2049, 4100];
        for (const seq of seqs)
          for (const length of lengths) {
            const offset = seq % 3; // unaligned views too
            const backing = prng.bytes(Buffer.alloc(length + offset + 8));
            const expected = Buffer.from(backing.subarray(offset, offset + length));
            pskCrypt(key, seq, version, expected);
            const view = backing.subarray(offset, offset + length);
            cipher.crypt(seq, version, view);
            assert.ok(view.equals(expected), `seq ${seq} length ${length} offset ${offset}`);
          }
      });
    }
  }

  it('decrypts from an offset, the bytes before it untouched', () => {
    const key = derivePskKey('offset', 7, 128);
    const data = Buffer.alloc(1348, 0xab);
    const expected = Buffer.from(data);
    pskCrypt(key, 99, 1, expected.subarray(12));
    new PskCipher(key).crypt(99, 1, data, 12);
    assert.ok(data.equals(expected));
  });
});

describe('GRE decoders into reused storage', () => {
  it('agree with decodeGre / decodeGreBody on wrapped datagrams, clear and encrypted', () => {
    const header = greHeaderScratch();
    const body = greBodyScratch();
    for (const framing of [new MainFraming(), new MainFraming({ secret: 's' })]) {
      const rtcp = new RtcpWriter().receiverReport(1).sdes(1, 'x').finish();
      for (const datagram of [framing.wrap(rtcp, { src: 1971, dst: 1969 }), framing.keepalive()]) {
        const g = decodeGre(datagram);
        assert.deepEqual({ ...decodeGreInto(datagram, header) }, g);
        if (g.keyed) continue;
        const b = decodeGreBody(g.protocol, datagram.subarray(g.offset));
        const r = readGreBody(g.protocol, datagram, g.offset, body);
        assert.equal(r.kind, b.kind);
        if (b.kind === 'rtp' || b.kind === 'rtcp')
          assert.deepEqual([r.srcPort, r.dstPort, r.offset - g.offset], [b.srcPort, b.dstPort, b.offset]);
      }
    }
  });
});
