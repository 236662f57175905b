// RFC 5769 and RFC 8489 B.1 test vectors: decode, integrity, fingerprint, byte-for-byte re-encoding.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  computeUserhash,
  decodeStun,
  encodeStun,
  getNonce,
  getPasswordAlgorithm,
  getRealm,
  getSoftware,
  getUserhash,
  getUsername,
  getXorMappedAddress,
  hasValidFingerprint,
  longTermKey,
  PasswordAlgorithm,
  StunAttr,
  StunClass,
  StunMethod,
  shortTermKey,
  verifyFingerprint,
  verifyIntegrity,
} from '../../src/stun/index.ts';
import { loadVector } from './vectors.ts';

const SHORT_TERM_PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';
const LONG_TERM_USERNAME = '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9';
const LONG_TERM_PASSWORD = 'The\u00adM\u00aatr\u2168';

/** Re-encodes `raw` from its decoded attributes, recomputing integrity and fingerprint. */
function reencode(raw: Buffer, key: Buffer, integrity: 'sha1' | 'sha256', paddingByte: number): Buffer {
  const message = decodeStun(raw);
  const trailer = new Set<number>([
    StunAttr.MESSAGE_INTEGRITY,
    StunAttr.MESSAGE_INTEGRITY_SHA256,
    StunAttr.FINGERPRINT,
  ]);
  return encodeStun(
    {
      method: message.method,
      class: message.class,
      transactionId: message.transactionId,
      attributes: message.attributes.filter((a) => !trailer.has(a.type)),
    },
    {
      integrityKey: key,
      integrity,
      fingerprint: message.attributes.some((a) => a.type === StunAttr.FINGERPRINT),
      paddingByte,
    },
  );
}

describe('RFC 5769 §2.1 sample request', () => {
  const raw = loadVector('rfc5769-sample-request');
  it('decodes', () => {
    const m = decodeStun(raw);
    assert.equal(m.method, StunMethod.BINDING);
    assert.equal(m.class, StunClass.REQUEST);
    assert.equal(m.transactionId.toString('hex'), 'b7e7a701bc34d686fa87dfae');
    assert.deepEqual(
      m.attributes.map((a) => a.type),
      [0x8022, 0x0024, 0x8029, 0x0006, 0x0008, 0x8028],
    );
    assert.equal(getSoftware(m), 'STUN test client');
    assert.equal(getUsername(m), 'evtj:h6vY');
  });
  it('verifies MESSAGE-INTEGRITY and FINGERPRINT', () => {
    const m = decodeStun(raw);
    assert.equal(verifyIntegrity(m, shortTermKey(SHORT_TERM_PASSWORD)), 'sha1');
    verifyFingerprint(m);
  });
  it('re-encodes byte for byte (0x20 padding)', () => {
    assert.deepEqual(reencode(raw, shortTermKey(SHORT_TERM_PASSWORD), 'sha1', 0x20), raw);
  });
});

describe('RFC 5769 §2.2 / §2.3 sample responses', () => {
  const cases = [
    { name: 'rfc5769-ipv4-response', family: 'IPv4', address: '192.0.2.1' },
    { name: 'rfc5769-ipv6-response', family: 'IPv6', address: '2001:db8:1234:5678:11:2233:4455:6677' },
  ] as const;
  for (const c of cases) {
    it(`${c.name}: decodes, verifies, re-encodes`, () => {
      const raw = loadVector(c.name);
      const m = decodeStun(raw);
      assert.equal(m.class, StunClass.SUCCESS_RESPONSE);
      assert.equal(getSoftware(m), 'test vector');
      assert.deepEqual(getXorMappedAddress(m), { family: c.family, address: c.address, port: 32853 });
      assert.equal(verifyIntegrity(m, shortTermKey(SHORT_TERM_PASSWORD)), 'sha1');
      verifyFingerprint(m);
      assert.deepEqual(reencode(raw, shortTermKey(SHORT_TERM_PASSWORD), 'sha1', 0x20), raw);
    });
  }
  it('re-encodes the IPv6 response from typed attributes', async () => {
    const { makeSoftware, makeXorMappedAddress } = await import('../../src/stun/index.ts');
    const raw = loadVector('rfc5769-ipv6-response');
    const out = encodeStun(
      {
        method: StunMethod.BINDING,
        class: StunClass.SUCCESS_RESPONSE,
        transactionId: raw.subarray(8, 20),
        attributes: [
          makeSoftware('test vector'),
          makeXorMappedAddress({ address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 }),
        ],
      },
      { integrityKey: shortTermKey(SHORT_TERM_PASSWORD), fingerprint: true, paddingByte: 0x20 },
    );
    assert.deepEqual(out, raw);
  });
});

describe('RFC 5769 §2.4 long-term authentication', () => {
  const raw = loadVector('rfc5769-long-term-request');
  const key = longTermKey({
    username: LONG_TERM_USERNAME,
    realm: 'example.org',
    password: LONG_TERM_PASSWORD,
  });
  it('decodes', () => {
    const m = decodeStun(raw);
    assert.equal(getUsername(m), LONG_TERM_USERNAME);
    assert.equal(getNonce(m), 'f//499k954d6OL34oL9FSTvy64sA');
    assert.equal(getRealm(m), 'example.org');
    assert.equal(hasValidFingerprint(m), false);
  });
  it('verifies with the SASLprep-ed long-term key and re-encodes byte for byte', () => {
    assert.equal(verifyIntegrity(decodeStun(raw), key), 'sha1');
    assert.deepEqual(reencode(raw, key, 'sha1', 0x00), raw);
  });
  it('rejects a wrong password with ERR_STUN_INTEGRITY_MISMATCH', () => {
    const wrong = longTermKey({ username: LONG_TERM_USERNAME, realm: 'example.org', password: 'TheMatrIx' });
    assert.throws(() => verifyIntegrity(decodeStun(raw), wrong), { code: 'ERR_STUN_INTEGRITY_MISMATCH' });
  });
});

describe('RFC 8489 B.1 long-term authentication with SHA-256', () => {
  const raw = loadVector('rfc8489-b1-long-term-sha256-request');
  const key = longTermKey({
    username: LONG_TERM_USERNAME,
    realm: 'example.org',
    password: 'TheMatrIX',
    algorithm: PasswordAlgorithm.SHA256,
  });
  it('decodes USERHASH, NONCE, REALM, PASSWORD-ALGORITHM', () => {
    const m = decodeStun(raw);
    assert.deepEqual(getUserhash(m), computeUserhash(LONG_TERM_USERNAME, 'example.org'));
    assert.equal(getNonce(m), 'obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA');
    assert.equal(getRealm(m), 'example.org');
    assert.equal(getPasswordAlgorithm(m)?.algorithm, PasswordAlgorithm.SHA256);
  });
  it('verifies MESSAGE-INTEGRITY-SHA256 and re-encodes byte for byte', () => {
    assert.equal(verifyIntegrity(decodeStun(raw), key), 'sha256');
    assert.deepEqual(reencode(raw, key, 'sha256', 0x00), raw);
  });
});
