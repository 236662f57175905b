/**
 * PSK encryption of the RIST Main profile (TR-06-2 §7.2) as librist 0.2 does it: AES-CTR (128 or
 * 256 bits) over everything after the GRE header, the key derived from the passphrase by
 * PBKDF2-HMAC-SHA256 (1 024 iterations) with the 4 bytes of the GRE key field (the nonce) as
 * salt, the IV the GRE sequence number big-endian in its first 4 bytes (RIST GRE version 1; in
 * its last 4 for version 0) and zeros. A sender picks a random non-zero nonce, and a new one
 * after `keyRotation` datagrams (0: never) or before its 32-bit counter wraps; a receiver derives
 * the key of each nonce it meets (once, cached; at most {@link MAX_DERIVATIONS_PER_S} a second).
 * @module
 */
import { createCipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PBKDF2 iterations of librist's key derivation. */
export const PSK_PBKDF2_ITERATIONS = 1024;
/** Key sizes of the PSK encryption, bits. */
export type PskBits = 128 | 256;
/** Keys a receiver derives at most per second (a flood of made-up nonces costs no more). */
export const MAX_DERIVATIONS_PER_S = 32;
/** Nonces a receiver keeps keys for (two per source: the current and the one before). */
export const MAX_CACHED_NONCES = 64;
/** librist's passphrase limit (its buffer is 128 bytes with the NUL). */
export const MAX_PASSPHRASE_BYTES = 127;

/** The AES key of `passphrase` for `nonce` (librist's derivation). */
export function derivePskKey(passphrase: string, nonce: number, bits: PskBits): Buffer {
  const salt = Buffer.alloc(4);
  salt.writeUInt32BE(nonce >>> 0);
  return pbkdf2Sync(passphrase, salt, PSK_PBKDF2_ITERATIONS, bits / 8, 'sha256');
}

/** Encrypts or decrypts (CTR is its own inverse) `data` in place with `key` at GRE `seq`. */
export function pskCrypt(key: Buffer, seq: number, version: number, data: Uint8Array): void {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seq >>> 0, version === 0 ? 12 : 0);
  const cipher = createCipheriv(key.length === 32 ? 'aes-256-ctr' : 'aes-128-ctr', key, iv);
  const out = cipher.update(data);
  data.set(out);
}

/** The sending half: a nonce, its key and the GRE sequence counter. */
export class PskSealer {
  readonly bits: PskBits;
  readonly #passphrase: string;
  readonly #rotation: number;
  #nonce = 0;
  #key: Buffer = Buffer.alloc(0);
  #seq = 0;
  #used = 0;
  /** Nonces picked (the first and every rotation). */
  rotations = 0;

  constructor(passphrase: string, bits: PskBits, keyRotation = 0) {
    this.#passphrase = passphrase;
    this.bits = bits;
    this.#rotation = keyRotation;
  }

  /** The nonce in use (0 before the first datagram). */
  get nonce(): number {
    return this.#nonce;
  }

  /**
   * Takes the next sequence number (rotating the nonce when due), encrypts `body` in place and
   * returns the `{ nonce, seq }` to write into the GRE header.
   */
  seal(body: Uint8Array): { readonly nonce: number; readonly seq: number; readonly aes256: boolean } {
    if (
      this.#nonce === 0 ||
      this.#seq === 0xffff_ffff ||
      (this.#rotation > 0 && this.#used >= this.#rotation)
    ) {
      do this.#nonce = randomBytes(4).readUInt32BE(0);
      while (this.#nonce === 0);
      this.#key = derivePskKey(this.#passphrase, this.#nonce, this.bits);
      this.#used = 0;
      this.rotations++;
      if (this.#seq === 0xffff_ffff) this.#seq = 0;
    }
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) >>> 0;
    this.#used++;
    pskCrypt(this.#key, seq, 1, body);
    return { nonce: this.#nonce, seq, aes256: this.bits === 256 };
  }
}

interface NonceKey {
  readonly key: Buffer;
  /** A datagram under this nonce decoded as what its sender would send: the key is right. */
  trusted: boolean;
}

/** The receiving half: the keys of the nonces met, and whether each has proved right. */
export class PskOpener {
  readonly #passphrase: string;
  readonly #bits: PskBits;
  readonly #keys = new Map<string, NonceKey>();
  #windowStart = Number.NEGATIVE_INFINITY;
  #windowCount = 0;
  /** Keys derived. */
  derivations = 0;
  /** Datagrams dropped because too many new nonces arrived in one second. */
  derivationsRefused = 0;

  /** `bits`: the key size of a version-0 peer (a version-1 peer says it with the H bit). */
  constructor(passphrase: string, bits: PskBits) {
    this.#passphrase = passphrase;
    this.#bits = bits;
  }

  /**
   * Decrypts `body` (in place) of a datagram from `source` with GRE `nonce`, `seq`, `version`,
   * `aes256`. Returns the nonce's entry (to {@link trust} once what it decrypted proves right),
   * or undefined when no key could be had (rate limit) — the datagram is then dropped.
   */
  open(
    source: string,
    nonce: number,
    seq: number,
    version: number,
    aes256: boolean,
    body: Uint8Array,
    nowMs: number,
  ): { trusted: boolean } | undefined {
    const bits: PskBits = version >= 1 ? (aes256 ? 256 : 128) : this.#bits;
    const id = `${source}/${nonce}/${bits}`;
    let entry = this.#keys.get(id);
    if (entry === undefined) {
      if (nowMs - this.#windowStart >= 1000) {
        this.#windowStart = nowMs;
        this.#windowCount = 0;
      }
      if (this.#windowCount >= MAX_DERIVATIONS_PER_S) {
        this.derivationsRefused++;
        return undefined;
      }
      this.#windowCount++;
      this.derivations++;
      entry = { key: derivePskKey(this.#passphrase, nonce, bits), trusted: false };
      this.#keys.set(id, entry);
      if (this.#keys.size > MAX_CACHED_NONCES) {
        const oldest = this.#keys.keys().next().value as string;
        this.#keys.delete(oldest);
      }
    }
    pskCrypt(entry.key, seq, version, body);
    return entry;
  }
}
