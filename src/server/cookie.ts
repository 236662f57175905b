import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DEFAULT_COOKIE_PERIOD_MS } from './constants.ts';
import { COOKIE_MAC_BYTES } from './frame.ts';

/** Settings of a {@link CookieJar}. */
export interface CookieJarOptions {
  /** Lifetime of one secret, in milliseconds. Default 30 000. */
  readonly periodMs?: number;
  /** Master secret (≥ 16 bytes); per-period secrets are derived from it. Default 32 random bytes. */
  readonly secret?: Uint8Array;
}

/**
 * Mints and checks stateless address cookies (sans-I/O: the caller passes the time).
 *
 * A cookie is `HMAC-SHA256(K_p, address | port)` truncated to 16 bytes, where `p` is the
 * period number `floor(now / periodMs)` and `K_p = HMAC-SHA256(master, "porthole-cookie" | p)`:
 * the secret rotates every period, and a cookie verifies in its own period and the next one.
 * Nothing is stored per client (DTLS HelloVerifyRequest, RFC 6347 §4.2.1; QUIC Retry,
 * RFC 9000 §8.1.2).
 */
export class CookieJar {
  readonly #periodMs: number;
  readonly #master: Buffer;
  #cachedPeriod = -1;
  #cachedKey: Buffer = Buffer.alloc(0);
  #previousKey: Buffer = Buffer.alloc(0);

  constructor(options: CookieJarOptions = {}) {
    this.#periodMs = options.periodMs ?? DEFAULT_COOKIE_PERIOD_MS;
    this.#master = Buffer.from(options.secret ?? randomBytes(32));
  }

  /** The period number at `nowMs`. */
  periodAt(nowMs: number): number {
    return Math.floor(nowMs / this.#periodMs) >>> 0;
  }

  /** The cookie MAC for `address`:`port` in the period of `nowMs`. */
  mint(address: string, port: number, nowMs: number): { period: number; mac: Buffer } {
    const period = this.periodAt(nowMs);
    return { period, mac: this.#mac(period, address, port) };
  }

  /** Whether `mac` is the cookie of `address`:`port` for `period`, and `period` is current or the one before. */
  verify(address: string, port: number, period: number, mac: Uint8Array, nowMs: number): boolean {
    const current = this.periodAt(nowMs);
    if (period !== current && period !== (current - 1) >>> 0) return false;
    if (mac.length !== COOKIE_MAC_BYTES) return false;
    return timingSafeEqual(this.#mac(period, address, port), mac);
  }

  #mac(period: number, address: string, port: number): Buffer {
    return createHmac('sha256', this.#key(period))
      .update(`${address}|${port}`)
      .digest()
      .subarray(0, COOKIE_MAC_BYTES);
  }

  #key(period: number): Buffer {
    if (period === this.#cachedPeriod) return this.#cachedKey;
    if (period === (this.#cachedPeriod - 1) >>> 0 && this.#previousKey.length > 0) return this.#previousKey;
    const key = createHmac('sha256', this.#master).update(`porthole-cookie|${period}`).digest();
    if (this.#cachedPeriod === -1 || period > this.#cachedPeriod) {
      this.#previousKey = period === this.#cachedPeriod + 1 ? this.#cachedKey : Buffer.alloc(0);
      this.#cachedPeriod = period;
      this.#cachedKey = key;
    }
    return key;
  }
}
