// MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT with short- and long-term credentials.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeStun,
  encodeStun,
  hasValidFingerprint,
  hasValidIntegrity,
  longTermKey,
  makeNonce,
  makeRealm,
  makeSoftware,
  makeUsername,
  PasswordAlgorithm,
  StunClass,
  StunMethod,
  saslPrep,
  shortTermKey,
  verifyFingerprint,
  verifyIntegrity,
} from '../../src/stun/index.ts';

const message = {
  method: StunMethod.BINDING,
  class: StunClass.REQUEST,
  attributes: [makeUsername('alice'), makeRealm('porthole.test'), makeNonce('n0nce'), makeSoftware('t')],
};

describe('integrity', () => {
  const credentials = [
    { name: 'short-term', key: shortTermKey('s3cret'), wrong: shortTermKey('s3creT') },
    {
      name: 'long-term MD5',
      key: longTermKey({ username: 'alice', realm: 'porthole.test', password: 'pw' }),
      wrong: longTermKey({ username: 'alice', realm: 'porthole.tesT', password: 'pw' }),
    },
    {
      name: 'long-term SHA-256',
      key: longTermKey({
        username: 'alice',
        realm: 'porthole.test',
        password: 'pw',
        algorithm: PasswordAlgorithm.SHA256,
      }),
      wrong: longTermKey({
        username: 'alice',
        realm: 'porthole.test',
        password: 'pW',
        algorithm: PasswordAlgorithm.SHA256,
      }),
    },
  ];
  for (const c of credentials) {
    for (const mode of ['sha1', 'sha256', 'both'] as const) {
      it(`${c.name} / ${mode}: verifies with the key, fails with another`, () => {
        const data = encodeStun(message, { integrityKey: c.key, integrity: mode, fingerprint: true });
        const m = decodeStun(data);
        assert.equal(verifyIntegrity(m, c.key), mode === 'sha1' ? 'sha1' : 'sha256');
        verifyFingerprint(m);
        assert.throws(() => verifyIntegrity(m, c.wrong), {
          code: 'ERR_STUN_INTEGRITY_MISMATCH',
          name: 'StunAuthError',
        });
        if (mode === 'both') {
          assert.ok(hasValidIntegrity(m, c.key, 'sha1'));
          assert.ok(hasValidIntegrity(m, c.key, 'sha256'));
        }
      });
    }
  }
  it('key sizes: long-term MD5 16 bytes, SHA-256 32 bytes', () => {
    assert.equal(longTermKey({ username: 'a', realm: 'b', password: 'c' }).length, 16);
    assert.equal(longTermKey({ username: 'a', realm: 'b', password: 'c', algorithm: 2 }).length, 32);
    assert.throws(() => longTermKey({ username: 'a', realm: 'b', password: 'c', algorithm: 7 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'algorithm',
    });
  });
  it('a message without integrity → ERR_STUN_INTEGRITY_MISSING', () => {
    const m = decodeStun(encodeStun(message));
    assert.throws(() => verifyIntegrity(m, shortTermKey('x')), { code: 'ERR_STUN_INTEGRITY_MISSING' });
    assert.equal(hasValidIntegrity(m, shortTermKey('x')), false);
  });
  it('every single-bit change before the HMAC breaks it', () => {
    const key = shortTermKey('k');
    const data = encodeStun(message, { integrityKey: key });
    const end = data.length - 24; // up to the MESSAGE-INTEGRITY attribute
    for (let byte = 8; byte < end; byte += 3) {
      const copy = Buffer.from(data);
      copy[byte]! ^= 0x10;
      let m: ReturnType<typeof decodeStun>;
      try {
        m = decodeStun(copy);
      } catch {
        continue; // a length byte changed: no longer a well-formed message
      }
      assert.equal(hasValidIntegrity(m, key), false, `byte ${byte}`);
    }
  });
});

describe('fingerprint', () => {
  it('detects a changed byte → ERR_STUN_FINGERPRINT_MISMATCH', () => {
    const data = encodeStun(message, { fingerprint: true });
    assert.ok(hasValidFingerprint(decodeStun(data)));
    data[25]! ^= 1;
    assert.throws(() => verifyFingerprint(decodeStun(data)), { code: 'ERR_STUN_FINGERPRINT_MISMATCH' });
  });
  it('missing → ERR_STUN_FINGERPRINT_MISSING', () => {
    assert.throws(() => verifyFingerprint(decodeStun(encodeStun(message))), {
      code: 'ERR_STUN_FINGERPRINT_MISSING',
    });
  });
});

describe('SASLprep (RFC 4013)', () => {
  const cases = [
    ['I\u00adX', 'IX'],
    ['user', 'user'],
    ['USER', 'USER'],
    ['\u00aa', 'a'],
    ['\u2168', 'IX'],
    ['a\u00a0b', 'a b'],
    ['The\u00adM\u00aatr\u2168', 'TheMatrIX'],
  ] as const;
  for (const [input, output] of cases)
    it(`${JSON.stringify(input)} → ${output}`, () => assert.equal(saslPrep(input), output));
  it('prohibits control characters → ERR_INVALID_OPTION (password)', () => {
    assert.throws(() => saslPrep('a\u0007b'), { code: 'ERR_INVALID_OPTION', option: 'password' });
    assert.throws(() => saslPrep('\ue000'), { code: 'ERR_INVALID_OPTION', option: 'password' });
  });
});
