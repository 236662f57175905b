/**
 * The TLS 1.2 PRF and the secrets derived with it. RFC 5246 §5, §8.1, §6.3; RFC 7627 §4;
 * RFC 5705 §4.
 * @module
 */
import { createHash, createHmac } from 'node:crypto';
import type { CipherSuite } from './cipher-suites.ts';
import type { DirectionKeys } from './record-protection.ts';

/** P_hash(secret, label ‖ seed) truncated to `length` bytes. RFC 5246 §5. */
export function prf(
  hash: 'sha256' | 'sha384',
  secret: Buffer,
  label: string,
  seed: Buffer,
  length: number,
): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out = Buffer.allocUnsafe(length);
  let a: Buffer = labelSeed;
  let written = 0;
  while (written < length) {
    a = createHmac(hash, secret).update(a).digest();
    const block = createHmac(hash, secret).update(a).update(labelSeed).digest();
    written += block.copy(out, written, 0, Math.min(block.length, length - written));
  }
  return out;
}

/** The hash of the handshake messages so far (the session hash of RFC 7627 §3). */
export function transcriptHash(hash: 'sha256' | 'sha384', messages: readonly Buffer[]): Buffer {
  const h = createHash(hash);
  for (const m of messages) h.update(m);
  return h.digest();
}

/** The 48-byte master secret: extended (RFC 7627 §4) or classic (RFC 5246 §8.1). */
export function masterSecret(
  suite: CipherSuite,
  preMaster: Buffer,
  extended: boolean,
  sessionHash: Buffer,
  clientRandom: Buffer,
  serverRandom: Buffer,
): Buffer {
  return extended
    ? prf(suite.hash, preMaster, 'extended master secret', sessionHash, 48)
    : prf(suite.hash, preMaster, 'master secret', Buffer.concat([clientRandom, serverRandom]), 48);
}

/** Both directions' keys of epoch 1. RFC 5246 §6.3 (AEAD: no MAC keys). */
export function keyBlock(
  suite: CipherSuite,
  master: Buffer,
  clientRandom: Buffer,
  serverRandom: Buffer,
): { client: DirectionKeys; server: DirectionKeys } {
  const k = suite.keyBytes;
  const iv = suite.ivBytes;
  const block = prf(
    suite.hash,
    master,
    'key expansion',
    Buffer.concat([serverRandom, clientRandom]),
    2 * (k + iv),
  );
  return {
    client: { key: block.subarray(0, k), iv: block.subarray(2 * k, 2 * k + iv) },
    server: { key: block.subarray(k, 2 * k), iv: block.subarray(2 * k + iv, 2 * k + 2 * iv) },
  };
}

/** verify_data of a Finished message (12 bytes). RFC 5246 §7.4.9. */
export function finishedData(
  suite: CipherSuite,
  master: Buffer,
  client: boolean,
  handshakeHash: Buffer,
): Buffer {
  return prf(suite.hash, master, client ? 'client finished' : 'server finished', handshakeHash, 12);
}

/** RFC 5705 §4 keying material. */
export function exportKeyingMaterial(
  suite: CipherSuite,
  master: Buffer,
  clientRandom: Buffer,
  serverRandom: Buffer,
  label: string,
  length: number,
  context: Uint8Array | undefined,
): Buffer {
  const parts = [clientRandom, serverRandom];
  if (context !== undefined) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(context.length);
    parts.push(len, Buffer.from(context));
  }
  return prf(suite.hash, master, label, Buffer.concat(parts), length);
}
