/**
 * Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1): HMAC-SHA256 over the client's address
 * and port and every ClientHello field but the cookie (version, random, session_id, suites,
 * compression, extensions — a cookie that ignores fields lets a client change them after proving
 * its address, the mbedTLS finding), truncated to {@link COOKIE_BYTES}. The secret rotates every
 * {@link COOKIE_ROTATE_MS}; the previous one is still accepted, so a cookie lives 1–2 periods.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Endpoint } from '../internal/endpoint.ts';
import { COOKIE_BYTES, COOKIE_ROTATE_MS } from './constants.ts';
import type { ClientHello } from './messages.ts';

/** Makes and checks cookies; keeps two secrets and nothing per client. */
export class CookieJar {
  #current: Buffer;
  #previous: Buffer;
  #rotatedAtMs: number;
  readonly #random: (bytes: number) => Buffer;

  constructor(nowMs: number, random: (bytes: number) => Buffer = randomBytes) {
    this.#random = random;
    this.#current = random(32);
    this.#previous = random(32);
    this.#rotatedAtMs = nowMs;
  }

  #rotate(nowMs: number): void {
    if (nowMs - this.#rotatedAtMs < COOKIE_ROTATE_MS) return;
    this.#previous = nowMs - this.#rotatedAtMs < 2 * COOKIE_ROTATE_MS ? this.#current : this.#random(32);
    this.#current = this.#random(32);
    this.#rotatedAtMs = nowMs;
  }

  /** The cookie for this ClientHello from `from`. */
  make(hello: ClientHello, from: Endpoint, nowMs: number): Buffer {
    this.#rotate(nowMs);
    return cookieOf(this.#current, hello, from);
  }

  /** Whether the ClientHello carries a valid cookie for `from`. */
  check(hello: ClientHello, from: Endpoint, nowMs: number): boolean {
    this.#rotate(nowMs);
    if (hello.cookie.length !== COOKIE_BYTES) return false;
    return (
      timingSafeEqual(hello.cookie, cookieOf(this.#current, hello, from)) ||
      timingSafeEqual(hello.cookie, cookieOf(this.#previous, hello, from))
    );
  }
}

function cookieOf(secret: Buffer, hello: ClientHello, from: Endpoint): Buffer {
  const port = Buffer.allocUnsafe(4);
  port.writeUInt16BE(from.port, 0);
  port.writeUInt16BE(hello.version, 2);
  const h = createHmac('sha256', secret)
    .update(from.address, 'latin1')
    .update(port)
    .update(hello.random)
    .update(Buffer.of(hello.sessionId.length))
    .update(hello.sessionId);
  const suites = Buffer.allocUnsafe(hello.cipherSuites.length * 2);
  hello.cipherSuites.forEach((s, i) => {
    suites.writeUInt16BE(s, i * 2);
  });
  return h
    .update(suites)
    .update(Buffer.of(hello.compression.length))
    .update(hello.compression)
    .update(hello.rawExtensions)
    .digest()
    .subarray(0, COOKIE_BYTES);
}
