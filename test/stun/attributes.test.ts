// Table-driven codec tests: every attribute round-trips; malformed values fail with their code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  computeUserhash,
  decodeStun,
  encodeStun,
  getAlternateDomain,
  getAlternateServer,
  getChangedAddress,
  getChangeRequest,
  getErrorCode,
  getMappedAddress,
  getNonce,
  getOtherAddress,
  getPaddingLength,
  getPasswordAlgorithm,
  getPasswordAlgorithms,
  getRealm,
  getResponseOrigin,
  getResponsePort,
  getSoftware,
  getSourceAddress,
  getUnknownAttributes,
  getUserhash,
  getUsername,
  getXorMappedAddress,
  isStunPacket,
  makeAddress,
  makeAlternateDomain,
  makeChangeRequest,
  makeErrorCode,
  makeNonce,
  makePadding,
  makePasswordAlgorithm,
  makePasswordAlgorithms,
  makeRealm,
  makeResponsePort,
  makeSoftware,
  makeUnknownAttributes,
  makeUserhash,
  makeUsername,
  makeXorMappedAddress,
  StunAttr,
  type StunAttributeInit,
  StunClass,
  type StunMessage,
  StunMethod,
} from '../../src/stun/index.ts';

function roundTrip(attributes: readonly StunAttributeInit[]): StunMessage {
  const data = encodeStun({ method: StunMethod.BINDING, class: StunClass.SUCCESS_RESPONSE, attributes });
  assert.ok(isStunPacket(data));
  return decodeStun(data);
}

/** A message holding one raw attribute of `type` with `value`. */
function withRaw(type: number, value: number[]): StunMessage {
  return roundTrip([{ type, value: Buffer.from(value) }]);
}

const v4 = { family: 'IPv4', address: '203.0.113.7', port: 40001 } as const;
const v6 = { family: 'IPv6', address: '2001:db8::1', port: 65535 } as const;

describe('attribute round trips', () => {
  const cases: {
    name: string;
    make: StunAttributeInit;
    read: (m: StunMessage) => unknown;
    expected: unknown;
  }[] = [
    {
      name: 'XOR-MAPPED-ADDRESS v4',
      make: makeXorMappedAddress(v4),
      read: getXorMappedAddress,
      expected: v4,
    },
    {
      name: 'XOR-MAPPED-ADDRESS v6',
      make: makeXorMappedAddress(v6),
      read: getXorMappedAddress,
      expected: v6,
    },
    {
      name: 'MAPPED-ADDRESS v4',
      make: makeAddress(StunAttr.MAPPED_ADDRESS, v4),
      read: getMappedAddress,
      expected: v4,
    },
    {
      name: 'MAPPED-ADDRESS v6',
      make: makeAddress(StunAttr.MAPPED_ADDRESS, v6),
      read: getMappedAddress,
      expected: v6,
    },
    {
      name: 'ALTERNATE-SERVER',
      make: makeAddress(StunAttr.ALTERNATE_SERVER, v4),
      read: getAlternateServer,
      expected: v4,
    },
    {
      name: 'RESPONSE-ORIGIN',
      make: makeAddress(StunAttr.RESPONSE_ORIGIN, v6),
      read: getResponseOrigin,
      expected: v6,
    },
    {
      name: 'OTHER-ADDRESS',
      make: makeAddress(StunAttr.OTHER_ADDRESS, v4),
      read: getOtherAddress,
      expected: v4,
    },
    {
      name: 'CHANGED-ADDRESS',
      make: makeAddress(StunAttr.CHANGED_ADDRESS, v4),
      read: getChangedAddress,
      expected: v4,
    },
    {
      name: 'SOURCE-ADDRESS',
      make: makeAddress(StunAttr.SOURCE_ADDRESS, v4),
      read: getSourceAddress,
      expected: v4,
    },
    { name: 'USERNAME', make: makeUsername('alice:bob'), read: getUsername, expected: 'alice:bob' },
    {
      name: 'USERNAME utf-8',
      make: makeUsername('\u30DE\u30C8'),
      read: getUsername,
      expected: '\u30DE\u30C8',
    },
    { name: 'REALM', make: makeRealm('example.org'), read: getRealm, expected: 'example.org' },
    { name: 'NONCE', make: makeNonce('obMatJos2AAACf'), read: getNonce, expected: 'obMatJos2AAACf' },
    { name: 'SOFTWARE', make: makeSoftware('porthole'), read: getSoftware, expected: 'porthole' },
    {
      name: 'ALTERNATE-DOMAIN',
      make: makeAlternateDomain('stun.test'),
      read: getAlternateDomain,
      expected: 'stun.test',
    },
    {
      name: 'ERROR-CODE',
      make: makeErrorCode(420),
      read: getErrorCode,
      expected: { code: 420, reason: 'Unknown Attribute' },
    },
    {
      name: 'ERROR-CODE custom',
      make: makeErrorCode(599, 'x'),
      read: getErrorCode,
      expected: { code: 599, reason: 'x' },
    },
    {
      name: 'UNKNOWN-ATTRIBUTES',
      make: makeUnknownAttributes([3, 0x24, 0x7fff]),
      read: getUnknownAttributes,
      expected: [3, 0x24, 0x7fff],
    },
    {
      name: 'CHANGE-REQUEST ip+port',
      make: makeChangeRequest({ changeIp: true, changePort: true }),
      read: getChangeRequest,
      expected: { changeIp: true, changePort: true },
    },
    {
      name: 'CHANGE-REQUEST port',
      make: makeChangeRequest({ changeIp: false, changePort: true }),
      read: getChangeRequest,
      expected: { changeIp: false, changePort: true },
    },
    { name: 'RESPONSE-PORT', make: makeResponsePort(3479), read: getResponsePort, expected: 3479 },
    { name: 'PADDING', make: makePadding(13), read: getPaddingLength, expected: 13 },
    {
      name: 'USERHASH',
      make: makeUserhash('u', 'r'),
      read: getUserhash,
      expected: computeUserhash('u', 'r'),
    },
    {
      name: 'PASSWORD-ALGORITHM',
      make: makePasswordAlgorithm(2),
      read: (m) => getPasswordAlgorithm(m)?.algorithm,
      expected: 2,
    },
    {
      name: 'PASSWORD-ALGORITHMS',
      make: makePasswordAlgorithms([
        { algorithm: 2, parameters: new Uint8Array(0) },
        { algorithm: 9, parameters: Uint8Array.of(1, 2, 3) },
        { algorithm: 1, parameters: new Uint8Array(0) },
      ]),
      read: (m) => getPasswordAlgorithms(m)?.map((e) => [e.algorithm, [...e.parameters]]),
      expected: [
        [2, []],
        [9, [1, 2, 3]],
        [1, []],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const m = roundTrip([c.make]);
      assert.deepEqual(c.read(m), c.expected);
      assert.equal(m.attributes.length, 1);
      assert.equal(m.raw.length % 4, 0);
    });
  }
  it('an absent attribute reads as undefined', () => {
    const m = roundTrip([]);
    assert.equal(getXorMappedAddress(m), undefined);
    assert.equal(getErrorCode(m), undefined);
    assert.equal(getUsername(m), undefined);
  });
  it('values are slices of the input, not copies', () => {
    const m = roundTrip([makeUserhash('u', 'r')]);
    assert.equal(getUserhash(m)!.buffer, m.raw.buffer);
  });
});

describe('malformed attribute values', () => {
  const cases: {
    name: string;
    type: number;
    value: number[];
    read: (m: StunMessage) => unknown;
    code: string;
  }[] = [
    {
      name: 'address too short',
      type: 0x0001,
      value: [0, 1, 0],
      read: getMappedAddress,
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
    {
      name: 'address family 3',
      type: 0x0001,
      value: [0, 3, 0, 1, 1, 2, 3, 4],
      read: getMappedAddress,
      code: 'ERR_STUN_BAD_ADDRESS_FAMILY',
    },
    {
      name: 'v4 address of 6 bytes',
      type: 0x0020,
      value: [0, 1, 0, 1, 1, 2],
      read: getXorMappedAddress,
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
    {
      name: 'v6 address of 8 bytes',
      type: 0x0020,
      value: [0, 2, 0, 1, 1, 2, 3, 4],
      read: getXorMappedAddress,
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
    { name: 'bad UTF-8', type: 0x0006, value: [0xff, 0xfe], read: getUsername, code: 'ERR_STUN_BAD_UTF8' },
    {
      name: 'ERROR-CODE short',
      type: 0x0009,
      value: [0, 0, 4],
      read: getErrorCode,
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
    {
      name: 'ERROR-CODE class 7',
      type: 0x0009,
      value: [0, 0, 7, 0],
      read: getErrorCode,
      code: 'ERR_STUN_BAD_ATTRIBUTE_VALUE',
    },
    {
      name: 'ERROR-CODE number 100',
      type: 0x0009,
      value: [0, 0, 4, 100],
      read: getErrorCode,
      code: 'ERR_STUN_BAD_ATTRIBUTE_VALUE',
    },
    {
      name: 'UNKNOWN-ATTRIBUTES odd',
      type: 0x000a,
      value: [0, 1, 0],
      read: getUnknownAttributes,
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
    {
      name: 'CHANGE-REQUEST 2 bytes',
      type: 0x0003,
      value: [0, 4],
      read: getChangeRequest,
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
    {
      name: 'RESPONSE-PORT 3 bytes',
      type: 0x0027,
      value: [1, 2, 3],
      read: getResponsePort,
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
    {
      name: 'USERHASH 31 bytes',
      type: 0x001e,
      value: new Array(31).fill(1),
      read: getUserhash,
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
    {
      name: 'PASSWORD-ALGORITHM params overrun',
      type: 0x001d,
      value: [0, 1, 0, 9, 1],
      read: getPasswordAlgorithm,
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
    {
      name: 'PASSWORD-ALGORITHM empty',
      type: 0x001d,
      value: [],
      read: getPasswordAlgorithm,
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
    {
      name: 'PASSWORD-ALGORITHMS truncated',
      type: 0x8002,
      value: [0, 1, 0, 0, 0, 2],
      read: getPasswordAlgorithms,
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
    {
      name: 'USERNAME too long',
      type: 0x0006,
      value: new Array(514).fill(0x61),
      read: getUsername,
      code: 'ERR_STUN_ATTRIBUTE_LENGTH',
    },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.code}`, () => {
      const m = withRaw(c.type, c.value);
      assert.throws(
        () => c.read(m),
        (error: unknown) => {
          assert.equal((error as { code?: string }).code, c.code);
          assert.equal(typeof (error as { offset?: number }).offset, 'number');
          assert.ok((error as { offset: number }).offset >= 20);
          return true;
        },
      );
    });
  }
});

describe('encoder validation', () => {
  const cases: { name: string; make: () => unknown; code: string; option?: string }[] = [
    {
      name: 'bad IP',
      make: () => makeXorMappedAddress({ address: '300.1.1.1', port: 1 }),
      code: 'ERR_INVALID_OPTION',
      option: 'address',
    },
    { name: 'error code 200', make: () => makeErrorCode(200), code: 'ERR_INVALID_OPTION', option: 'code' },
    { name: 'response port 0', make: () => makeResponsePort(0), code: 'ERR_INVALID_OPTION', option: 'port' },
    {
      name: 'address port 70000',
      make: () => makeXorMappedAddress({ address: '::1', port: 70000 }),
      code: 'ERR_INVALID_OPTION',
      option: 'port',
    },
    {
      name: 'password algorithm 0x10000',
      make: () => makePasswordAlgorithm(0x10000),
      code: 'ERR_INVALID_OPTION',
      option: 'algorithm',
    },
    {
      name: 'attribute type 0x10000',
      make: () =>
        encodeStun({ method: 1, class: 0, attributes: [{ type: 0x10000, value: new Uint8Array(0) }] }),
      code: 'ERR_INVALID_OPTION',
      option: 'type',
    },
    {
      name: 'method 0x1000',
      make: () => encodeStun({ method: 0x1000, class: 0 }),
      code: 'ERR_INVALID_OPTION',
      option: 'method',
    },
    { name: 'padding -1', make: () => makePadding(-1), code: 'ERR_INVALID_OPTION', option: 'bytes' },
    {
      name: 'username too long',
      make: () => makeUsername('x'.repeat(600)),
      code: 'ERR_INVALID_OPTION',
      option: 'username',
    },
    {
      name: 'transaction ID of 11 bytes',
      make: () => encodeStun({ method: 1, class: 0, transactionId: new Uint8Array(11) }),
      code: 'ERR_INVALID_OPTION',
      option: 'transactionId',
    },
    {
      name: 'body over 65535 bytes',
      make: () => encodeStun({ method: 1, class: 0, attributes: [makePadding(40000), makePadding(40000)] }),
      code: 'ERR_STUN_MESSAGE_TOO_LARGE',
    },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.code}${c.option === undefined ? '' : ` (${c.option})`}`, () =>
      assert.throws(c.make, c.option === undefined ? { code: c.code } : { code: c.code, option: c.option }));
  }
});
