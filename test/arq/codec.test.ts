// Segment header and control frame codecs: round trips and every ParseError code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ArqControlType,
  decodeControlFrame,
  decodeSegmentHeader,
  encodeControlFrame,
  encodeSegment,
  isKcpCommand,
  KcpSegment,
  readConv,
} from '../../src/arq/index.ts';

function segment(fields: Partial<KcpSegment>, data = Buffer.alloc(0)): Buffer {
  const seg = new KcpSegment();
  Object.assign(seg, { cmd: 81, ...fields });
  seg.data = data;
  return encodeSegment(seg);
}

describe('KCP segment header', () => {
  it('round-trips every field, including u32 extremes', () => {
    const bytes = segment(
      { conv: 0xffffffff, cmd: 84, frg: 255, wnd: 0xffff, ts: 0xfffffffe, sn: 0x80000000, una: 1 },
      Buffer.from('xy'),
    );
    assert.deepEqual(decodeSegmentHeader(bytes), {
      conv: 0xffffffff,
      cmd: 84,
      frg: 255,
      wnd: 0xffff,
      ts: 0xfffffffe,
      sn: 0x80000000,
      una: 1,
      len: 2,
    });
    assert.equal(readConv(bytes), 0xffffffff);
  });

  it('decodes at an offset (muxed framing)', () => {
    const bytes = Buffer.concat([Buffer.from([6]), segment({ conv: 9, sn: 3 })]);
    assert.equal(decodeSegmentHeader(bytes, 1).sn, 3);
    assert.equal(readConv(bytes, 1), 9);
  });

  const bad: [string, Buffer, string, number][] = [
    ['23 bytes', Buffer.alloc(23), 'ERR_ARQ_TRUNCATED', 0],
    ['unknown command 80', segment({ cmd: 80 }), 'ERR_ARQ_BAD_COMMAND', 4],
    ['unknown command 85', segment({ cmd: 85 }), 'ERR_ARQ_BAD_COMMAND', 4],
    ['len beyond the datagram', segment({}, Buffer.alloc(4)).subarray(0, 27), 'ERR_ARQ_BAD_LENGTH', 20],
  ];
  for (const [name, bytes, code, offset] of bad) {
    it(`rejects ${name} with ${code}`, () => {
      assert.throws(
        () => decodeSegmentHeader(bytes),
        (e: unknown) => (e as { code: string }).code === code && (e as { offset: number }).offset === offset,
      );
    });
  }

  it('never throws from readConv and isKcpCommand', () => {
    assert.equal(readConv(Buffer.alloc(3)), -1);
    assert.equal(readConv(Buffer.alloc(30), 10), -1);
    assert.equal(isKcpCommand(81), true);
    assert.equal(isKcpCommand(0), false);
  });
});

describe('ARQ control frame', () => {
  it('round-trips FIN, FIN_ACK and RST', () => {
    for (const type of [ArqControlType.FIN, ArqControlType.FIN_ACK, ArqControlType.RST]) {
      const bytes = encodeControlFrame(type, 0xdeadbeef, 77);
      assert.equal(bytes.length, 10);
      assert.equal(bytes[0], 0x07);
      assert.deepEqual(decodeControlFrame(bytes), { type, conv: 0xdeadbeef, sn: 77 });
    }
  });

  it('has the documented layout', () => {
    assert.equal(encodeControlFrame(ArqControlType.FIN, 1, 2).toString('hex'), '07010100000002000000');
  });

  const bad: [string, Buffer, string][] = [
    ['9 bytes', Buffer.from('070101000000020000', 'hex'), 'ERR_ARQ_CONTROL_TRUNCATED'],
    ['another frame byte', Buffer.from('06010100000002000000', 'hex'), 'ERR_ARQ_CONTROL_FRAME'],
    ['type 0', Buffer.from('07000100000002000000', 'hex'), 'ERR_ARQ_CONTROL_TYPE'],
    ['type 4', Buffer.from('07040100000002000000', 'hex'), 'ERR_ARQ_CONTROL_TYPE'],
  ];
  for (const [name, bytes, code] of bad) {
    it(`rejects ${name} with ${code}`, () => {
      assert.throws(() => decodeControlFrame(bytes), { code });
    });
  }
});
