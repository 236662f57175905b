// Application tokens: vectors (the MAC checked with `openssl dgst -sha256 -hmac` when they were
// made, and recomputed here from the documented layout), round trips, and every refusal code.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { issueToken, LiveTokenCode, verifyToken } from '../../src/live/index.ts';
import { tokenBytes, tokenProof, verifyTokenProof } from '../../src/live/token.ts';

const SECRET = Buffer.from('porthole-test-secret-0123456789');
const VECTORS = [
  {
    claims: {
      peerId: 'peer-0001',
      channelId: Buffer.alloc(32, 0xab),
      role: 'peer',
      expiresAtMs: 1767225600000,
    },
    token:
      'AQAAAAGbdtqoAKurq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urCXBlZXItMDAwMS4s-Wv4vA6BnL5_FnNDMIsQw_kPyZEBiHsDiLrEhvzN',
  },
  {
    claims: {
      peerId: 'edge.eu-1',
      channelId: Buffer.alloc(32, 0x01),
      role: 'edge',
      expiresAtMs: 4102444800000,
    },
    token:
      'AQEAAAO7LMPYAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBCWVkZ2UuZXUtMcPro_FmDFWIw4wzFGwT5PkK-vQzHwb8kVzpfMOgEud2',
  },
] as const;

describe('tokens', () => {
  it('issue the vectors and verify them back to their claims', () => {
    for (const v of VECTORS) {
      assert.equal(issueToken({ secret: SECRET, ...v.claims }), v.token);
      assert.deepEqual(verifyToken(SECRET, v.token, v.claims.expiresAtMs - 1), v.claims);
    }
  });

  it('follow the documented layout: version, role, deadline, channel, id, HMAC-SHA256 with the label', () => {
    const v = VECTORS[1];
    const bytes = Buffer.from(v.token, 'base64url');
    assert.equal(bytes[0], 1);
    assert.equal(bytes[1], 1);
    assert.equal(bytes.readUIntBE(2, 8 - 2) * 2 ** 16 + bytes.readUInt16BE(8), v.claims.expiresAtMs);
    assert.deepEqual(bytes.subarray(10, 42), v.claims.channelId);
    assert.equal(bytes[42], v.claims.peerId.length);
    assert.equal(bytes.toString('latin1', 43, 43 + bytes[42]!), v.claims.peerId);
    const payload = bytes.subarray(0, bytes.length - 32);
    const mac = createHmac('sha256', SECRET).update('porthole-token-v1').update(payload).digest();
    assert.deepEqual(bytes.subarray(bytes.length - 32), mac);
  });

  it('refuse with a code: another secret, a flipped bit, expiry, garbage', () => {
    const v = VECTORS[0];
    const t = v.token;
    assert.throws(() => verifyToken(Buffer.alloc(32, 1), t, 0), { code: LiveTokenCode.BAD_MAC });
    const flipped = Buffer.from(t, 'base64url');
    flipped[20]! ^= 1;
    assert.throws(() => verifyToken(SECRET, flipped.toString('base64url'), 0), {
      code: LiveTokenCode.BAD_MAC,
    });
    assert.throws(() => verifyToken(SECRET, t, v.claims.expiresAtMs), { code: LiveTokenCode.EXPIRED });
    for (const bad of ['', 'not base64!', 'AQ', `${t}AAAA`, Buffer.alloc(90).toString('base64url')])
      assert.throws(() => verifyToken(SECRET, bad, 0), { code: LiveTokenCode.MALFORMED }, bad);
    const wrongVersion = Buffer.from(t, 'base64url');
    wrongVersion[0] = 2;
    assert.throws(() => verifyToken(SECRET, wrongVersion.toString('base64url'), 0), {
      code: LiveTokenCode.MALFORMED,
    });
  });

  it('refuse options that can never work', () => {
    const ok = {
      secret: SECRET,
      peerId: 'p',
      channelId: Buffer.alloc(32),
      role: 'peer',
      expiresAtMs: 1,
    } as const;
    for (const [option, patch] of [
      ['secret', { secret: 'short' }],
      ['peerId', { peerId: '' }],
      ['peerId', { peerId: 'has space' }],
      ['peerId', { peerId: 'x'.repeat(65) }],
      ['channelId', { channelId: Buffer.alloc(31) }],
      ['role', { role: 'admin' }],
      ['expiresAtMs', { expiresAtMs: 1.5 }],
    ] as const) {
      assert.throws(() => issueToken({ ...ok, ...patch } as never), { code: 'ERR_INVALID_OPTION', option });
    }
  });

  it('prove a nonce without sending the token: the tracker recomputes the key from the payload', () => {
    const v = VECTORS[0];
    const bytes = tokenBytes(v.token);
    const nonce = Buffer.from('0123456789abcdef', 'hex');
    const payload = bytes.subarray(0, bytes.length - 32);
    const proof = tokenProof(bytes, nonce);
    const { claims, key } = verifyTokenProof(SECRET, payload, nonce, proof, 0);
    assert.deepEqual(claims, v.claims);
    assert.deepEqual(key, bytes.subarray(bytes.length - 32));
    assert.throws(() => verifyTokenProof(SECRET, payload, Buffer.alloc(8), proof, 0), {
      code: LiveTokenCode.BAD_MAC,
    });
  });
});
