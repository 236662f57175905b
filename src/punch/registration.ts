/**
 * Registration proof (docs/security.md): the broker answers a REGISTER with a nonce bound to the
 * address it came from — a stateless cookie, as the UDP server's (src/server/cookie.ts) — and
 * registers only a REGISTER that carries that nonce back from the same address together with an
 * HMAC of it under the peer's credential. So nobody registers an address they cannot receive at
 * (return routability), and a REGISTER replayed from another address is worthless. The proof
 * covers the certificate fingerprint the peer registers, and every INTRODUCE ends with a MAC under
 * the recipient's credential, so the fingerprint a peer pins is the one the other side registered.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NatEndpoint } from '../nat/index.ts';

/** Bytes of a registration nonce (it travels in the ACK's session field). */
export const REGISTRATION_NONCE_BYTES = 8;
/** Bytes of a registration proof: HMAC-SHA256. */
export const REGISTRATION_PROOF_BYTES = 32;
/** A nonce is good for the period it was minted in and the next: 30–60 s. */
export const REGISTRATION_NONCE_PERIOD_MS = 30_000;

const PROOF_LABEL = Buffer.from('porthole-register');
const INTRODUCE_LABEL = Buffer.from('porthole-introduce');
const EMPTY = Buffer.alloc(0);
/** Bytes of the MAC that ends an INTRODUCE (HMAC-SHA256, truncated). */
export const INTRODUCTION_MAC_BYTES = 16;

/** The nonce for a REGISTER of `peerId` from `from` in `period` (HMAC-SHA256 under the broker's key, truncated). */
export function registrationNonce(key: Buffer, from: NatEndpoint, peerId: string, period: number): Buffer {
  return createHmac('sha256', key)
    .update(`${period >>> 0}|${from.address}|${from.port}|${peerId}`)
    .digest()
    .subarray(0, REGISTRATION_NONCE_BYTES);
}

/** Whether `nonce` was minted for `from` and `peerId` at `nowMs` or in the period before. */
export function isRegistrationNonce(
  key: Buffer,
  nonce: Buffer,
  from: NatEndpoint,
  peerId: string,
  nowMs: number,
): boolean {
  if (nonce.length !== REGISTRATION_NONCE_BYTES) return false;
  const period = Math.floor(nowMs / REGISTRATION_NONCE_PERIOD_MS);
  for (const p of [period, period - 1]) {
    if (timingSafeEqual(registrationNonce(key, from, peerId, p), nonce)) return true;
  }
  return false;
}

/**
 * The peer's answer: HMAC-SHA256(credential, "porthole-register" ‖ nonce ‖ peer id ‖ fingerprint),
 * the fingerprint (the REGISTER's certificate digest, empty when none) included so that nobody on
 * the path can swap the certificate a peer registers.
 */
export function registrationProof(
  credential: Buffer,
  nonce: Buffer,
  peerId: string,
  fingerprint: Buffer = EMPTY,
): Buffer {
  return createHmac('sha256', credential)
    .update(PROOF_LABEL)
    .update(nonce)
    .update(peerId, 'latin1')
    .update(fingerprint)
    .digest();
}

/** Whether `proof` answers `nonce` (and covers `fingerprint`) under `credential` (constant time). */
export function isRegistrationProof(
  credential: Buffer,
  nonce: Buffer,
  peerId: string,
  proof: Buffer,
  fingerprint: Buffer = EMPTY,
): boolean {
  if (proof.length !== REGISTRATION_PROOF_BYTES) return false;
  return timingSafeEqual(registrationProof(credential, nonce, peerId, fingerprint), proof);
}

/**
 * The MAC that ends an INTRODUCE: HMAC-SHA256(key, "porthole-introduce" ‖ the frame before the
 * MAC), its first {@link INTRODUCTION_MAC_BYTES} bytes, under the recipient's credential (the
 * `token` it registered with). It authenticates what the broker vouches for — the peer's id,
 * candidates, punch secret and certificate fingerprint — against anyone on the path.
 */
export function introductionMac(key: Buffer, frame: Buffer): Buffer {
  return createHmac('sha256', key)
    .update(INTRODUCE_LABEL)
    .update(frame)
    .digest()
    .subarray(0, INTRODUCTION_MAC_BYTES);
}

/** Writes the {@link introductionMac} of an encoded INTRODUCE into its last bytes. */
export function sealIntroduction(key: Buffer, data: Buffer): Buffer {
  const at = data.length - INTRODUCTION_MAC_BYTES;
  introductionMac(key, data.subarray(0, at)).copy(data, at);
  return data;
}

/** Whether the encoded INTRODUCE `data` ends with its MAC under `key` (constant time). */
export function isSealedIntroduction(key: Buffer, data: Buffer): boolean {
  const at = data.length - INTRODUCTION_MAC_BYTES;
  if (at < 0) return false;
  return timingSafeEqual(introductionMac(key, data.subarray(0, at)), data.subarray(at));
}
