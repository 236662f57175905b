/**
 * Registration proof (docs/security.md): the broker answers a REGISTER with a nonce bound to the
 * address it came from — a stateless cookie, as the UDP server's (src/server/cookie.ts) — and
 * registers only a REGISTER that carries that nonce back from the same address together with an
 * HMAC of it under the peer's credential. So nobody registers an address they cannot receive at
 * (return routability), and a REGISTER replayed from another address is worthless.
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

/** The peer's answer: HMAC-SHA256(credential, "porthole-register" ‖ nonce ‖ peer id). */
export function registrationProof(credential: Buffer, nonce: Buffer, peerId: string): Buffer {
  return createHmac('sha256', credential).update(PROOF_LABEL).update(nonce).update(peerId, 'latin1').digest();
}

/** Whether `proof` answers `nonce` under `credential` (constant time). */
export function isRegistrationProof(
  credential: Buffer,
  nonce: Buffer,
  peerId: string,
  proof: Buffer,
): boolean {
  if (proof.length !== REGISTRATION_PROOF_BYTES) return false;
  return timingSafeEqual(registrationProof(credential, nonce, peerId), proof);
}
