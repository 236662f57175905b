// RTP and RTCP codecs: librist's captured datagrams decode; what RtcpWriter writes decodes back;
// malformed input throws ParseError with the rist code and an offset inside the input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import {
  decodeRtcp,
  decodeRtp,
  RistParseCode,
  RtcpWriter,
  SequenceExtender,
  TsPacker,
  writeRtpHeader,
} from '../../src/rist/index.ts';
import { LIBRIST_RTP_HEADER, LIBRIST_SENDER_ECHO, LIBRIST_SENDER_SR, REPORT_BLOCK } from './vectors.ts';

function parseCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ParseError);
    return error.code;
  }
  return 'none';
}

describe('RTP', () => {
  it('decodes librist’s header and marks retransmissions by the SSRC LSB', () => {
    const data = Buffer.concat([Buffer.from(LIBRIST_RTP_HEADER, 'hex'), Buffer.alloc(1316, 0x47)]);
    const p = decodeRtp(data);
    assert.deepEqual(
      { pt: p.payloadType, seq: p.seq, ssrc: p.ssrc, retransmit: p.retransmit, len: p.payload.length },
      { pt: 33, seq: 0, ssrc: 0x97841c06, retransmit: false, len: 1316 },
    );
    data.writeUInt32BE(0x97841c07, 8);
    assert.equal(decodeRtp(data).retransmit, true);
  });

  it('skips CSRCs and the header extension, strips padding', () => {
    const data = Buffer.alloc(12 + 4 + 8 + 10 + 2);
    writeRtpHeader(data, 33, 7, 1, 2);
    data[0] = 0x80 | 0x20 | 0x10 | 1; // P, X, CC=1
    data.writeUInt16BE(1, 18); // extension of one word
    data[data.length - 1] = 2;
    const p = decodeRtp(data);
    assert.equal(p.payload.length, 10);
    assert.equal(p.payload.byteOffset - data.byteOffset, 24);
  });

  it('refuses short, wrong-version and inconsistent packets', () => {
    assert.equal(
      parseCode(() => decodeRtp(Buffer.alloc(11))),
      RistParseCode.TRUNCATED,
    );
    assert.equal(
      parseCode(() => decodeRtp(Buffer.alloc(12))),
      RistParseCode.VERSION,
    );
    const padded = Buffer.alloc(14);
    writeRtpHeader(padded, 33, 1, 1, 1);
    padded[0] = 0xa0;
    padded[13] = 9;
    assert.equal(
      parseCode(() => decodeRtp(padded)),
      RistParseCode.LENGTH,
    );
  });
});

describe('RTCP', () => {
  it('decodes librist’s sender report and SDES', () => {
    const [sr, sdes] = decodeRtcp(Buffer.from(LIBRIST_SENDER_SR, 'hex'));
    assert.equal(sr?.type, 'sr');
    assert.equal(sr?.ssrc, 0x97841c06);
    assert.deepEqual(sdes, { type: 'sdes', ssrc: 0x97841c06, cname: 'vm' });
  });

  it('decodes librist’s echo request', () => {
    const packets = decodeRtcp(Buffer.from(LIBRIST_SENDER_ECHO, 'hex'));
    assert.deepEqual(
      packets.map((p) => p.type),
      ['rr', 'sdes', 'echo-request'],
    );
    const echo = packets[2];
    assert.ok(echo?.type === 'echo-request');
    assert.equal(echo.ntpMsw, 0x83aaa599);
  });

  it('writes what it reads: reports, SDES, echoes, both NACK formats', () => {
    const w = new RtcpWriter();
    const block = REPORT_BLOCK;
    w.senderReport(1, 2, 3, 4, 5, 6)
      .sdes(1, 'porthole-test')
      .receiverReport(1, block)
      .echo(true, 1, 10, 20, 30);
    const seqs = [65_534, 65_535, 0, 1, 5, 40];
    assert.equal(w.nack('range', 1, seqs), seqs.length);
    assert.equal(w.nack('bitmask', 1, seqs), seqs.length);
    const packets = decodeRtcp(w.finish());
    assert.deepEqual(
      packets.map((p) => p.type),
      ['sr', 'sdes', 'rr', 'echo-response', 'nack', 'nack'],
    );
    assert.deepEqual(packets[1], { type: 'sdes', ssrc: 1, cname: 'porthole-test' });
    assert.ok(packets[2]?.type === 'rr');
    assert.deepEqual(packets[2].reports[0], block);
    assert.ok(packets[3]?.type === 'echo-response');
    assert.deepEqual([packets[3].ntpMsw, packets[3].ntpLsw, packets[3].delayUs], [10, 20, 30]);
    for (const p of packets.slice(4)) {
      assert.ok(p.type === 'nack');
      assert.deepEqual(p.seqs, seqs);
    }
  });

  it('refuses lengths past the datagram and wrong versions', () => {
    const data = Buffer.from(LIBRIST_SENDER_SR, 'hex');
    assert.equal(
      parseCode(() => decodeRtcp(data.subarray(0, 20))),
      RistParseCode.LENGTH,
    );
    assert.equal(
      parseCode(() => decodeRtcp(data.subarray(0, 2))),
      RistParseCode.TRUNCATED,
    );
    const bad = Buffer.from(data);
    bad[0] = 0x40;
    assert.equal(
      parseCode(() => decodeRtcp(bad)),
      RistParseCode.VERSION,
    );
  });
});

describe('SequenceExtender and TsPacker', () => {
  it('extends across the 16-bit wrap in both directions', () => {
    const s = new SequenceExtender();
    const a = s.update(65_530);
    assert.equal(s.update(3) - a, 9);
    assert.equal(s.extend(65_529) - a, -1);
  });

  it('groups any chunking of a TS stream into 7-packet payloads', () => {
    const ts = Buffer.alloc(188 * 20);
    for (let i = 0; i < 20; i++) ts[i * 188] = 0x47;
    const packer = new TsPacker();
    const out: Buffer[] = [];
    for (let at = 0; at < ts.length; at += 100) packer.push(ts.subarray(at, at + 100), (p) => out.push(p));
    packer.flush((p) => out.push(p));
    assert.deepEqual(
      out.map((p) => p.length),
      [1316, 1316, 188 * 6],
    );
    assert.ok(Buffer.concat(out).equals(ts));
  });
});
