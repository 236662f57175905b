// Header, message type, decoder framing rules and IP text handling.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classOfType,
  decodeStun,
  encodeMessageType,
  encodeStun,
  formatIp,
  getSoftware,
  isStunPacket,
  makeSoftware,
  methodOfType,
  parseIp,
  StunAttr,
  StunClass,
  StunMethod,
} from '../../src/stun/index.ts';

describe('message type and header', () => {
  it('interleaves method and class bits (RFC 8489 §5)', () => {
    assert.equal(encodeMessageType(StunMethod.BINDING, StunClass.REQUEST), 0x0001);
    assert.equal(encodeMessageType(StunMethod.BINDING, StunClass.INDICATION), 0x0011);
    assert.equal(encodeMessageType(StunMethod.BINDING, StunClass.SUCCESS_RESPONSE), 0x0101);
    assert.equal(encodeMessageType(StunMethod.BINDING, StunClass.ERROR_RESPONSE), 0x0111);
    for (let method = 0; method < 0x1000; method += 37) {
      for (const cls of [0, 1, 2, 3] as const) {
        const type = encodeMessageType(method, cls);
        assert.equal(methodOfType(type), method);
        assert.equal(classOfType(type), cls);
      }
    }
  });
  it('random transaction IDs differ', () => {
    const a = encodeStun({ method: 1, class: 0 });
    const b = encodeStun({ method: 1, class: 0 });
    assert.notDeepEqual(a.subarray(8, 20), b.subarray(8, 20));
  });
  const headerCases: { name: string; bytes: () => Buffer; code: string }[] = [
    { name: 'empty', bytes: () => Buffer.alloc(0), code: 'ERR_STUN_TRUNCATED' },
    { name: '19 bytes', bytes: () => Buffer.alloc(19), code: 'ERR_STUN_TRUNCATED' },
    { name: 'top bits set', bytes: () => header(0xc001, 0), code: 'ERR_STUN_NOT_STUN' },
    { name: 'length not multiple of 4', bytes: () => header(1, 2), code: 'ERR_STUN_BAD_LENGTH' },
    { name: 'bad cookie', bytes: () => header(1, 0, 0x2112a443), code: 'ERR_STUN_BAD_COOKIE' },
    { name: 'length past datagram', bytes: () => header(1, 8), code: 'ERR_STUN_TRUNCATED' },
    {
      name: 'trailing bytes',
      bytes: () => Buffer.concat([header(1, 0), Buffer.alloc(4)]),
      code: 'ERR_STUN_BAD_LENGTH',
    },
    {
      name: 'attribute past end',
      bytes: () => Buffer.concat([header(1, 8), Buffer.from([0, 6, 0, 5, 1, 2, 3, 4])]),
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
    {
      name: 'too many attributes',
      bytes: () => Buffer.concat([header(1, 65 * 4), Buffer.alloc(65 * 4, 0)]),
      code: 'ERR_STUN_TOO_MANY_ATTRIBUTES',
    },
  ];
  for (const c of headerCases) {
    it(`header: ${c.name} → ${c.code}`, () => {
      const data = c.bytes();
      // Framing errors fail the cheap predicate too; attribute-level errors only the decoder sees.
      assert.equal(
        isStunPacket(data),
        c.code === 'ERR_STUN_ATTRIBUTE_LENGTH' || c.code === 'ERR_STUN_TOO_MANY_ATTRIBUTES',
      );
      assert.throws(() => decodeStun(data), { code: c.code });
    });
  }
  it('ignores attributes after MESSAGE-INTEGRITY except MI-SHA256 and FINGERPRINT (RFC 8489 §14.5)', () => {
    const data = encodeStun(
      { method: 1, class: 0, attributes: [makeSoftware('a')] },
      { integrityKey: Buffer.from('k') },
    );
    const extra = Buffer.concat([data, Buffer.from([0x80, 0x22, 0, 4, 0x62, 0x62, 0x62, 0x62])]);
    extra.writeUInt16BE(extra.length - 20, 2);
    const m = decodeStun(extra);
    assert.equal(getSoftware(m), 'a');
    assert.deepEqual(
      m.attributes.map((a) => a.type),
      [StunAttr.SOFTWARE, StunAttr.MESSAGE_INTEGRITY],
    );
  });
});

function header(type: number, length: number, cookie = 0x2112a442): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(length, 2);
  b.writeUInt32BE(cookie, 4);
  return b;
}

describe('IP text ↔ bytes', () => {
  const cases = [
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8::1%eth0', '2001:db8::1'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['fe80::', 'fe80::'],
  ] as const;
  for (const [input, output] of cases)
    it(`${input} → ${output}`, () => assert.equal(formatIp(parseIp(input)), output));
  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '256.1.1.1',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    'g::1',
    'x',
  ]) {
    it(`rejects "${bad}"`, () =>
      assert.throws(() => parseIp(bad), { code: 'ERR_INVALID_OPTION', option: 'address' }));
  }
});
