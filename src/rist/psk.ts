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
import { type Cipheriv, createCipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';

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

/**
 * Encrypts or decrypts (CTR is its own inverse) `data` in place with `key` at GRE `seq`: the
 * reference (a CTR cipher per call); the drivers use {@link PskCipher}.
 */
export function pskCrypt(key: Buffer, seq: number, version: number, data: Uint8Array): void {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seq >>> 0, version === 0 ? 12 : 0);
  const cipher = createCipheriv(key.length === 32 ? 'aes-256-ctr' : 'aes-128-ctr', key, iv);
  const out = cipher.update(data);
  data.set(out);
}

/** Bytes of keystream one AES-ECB call makes at most (a datagram of 1 500 bytes takes one). */
const KEYSTREAM_CHUNK_BYTES = 2048;
const LAYOUT_NONE = -1;
const LAYOUT_V0 = 0;
const LAYOUT_V1 = 1;

/**
 * The PSK AES-CTR of one key, without a cipher per datagram: one AES-ECB context (made once)
 * encrypts the counter blocks of a datagram, written into one reused buffer, and the keystream is
 * XORed into the data in place. Counter block j of GRE sequence `seq` is, as OpenSSL's CTR counts
 * from the IV: version ≥ 1 `seq` (4 bytes) · 0 (8) · j (4); version 0 the 128-bit `seq` + j
 * (`seq` in the last 4 bytes, the carry in the 12th). Same bytes as {@link pskCrypt}.
 */
export class PskCipher {
  readonly #ecb: Cipheriv;
  readonly #counters = Buffer.alloc(KEYSTREAM_CHUNK_BYTES);
  #layout = LAYOUT_NONE;

  constructor(key: Buffer) {
    this.#ecb = createCipheriv(key.length === 32 ? 'aes-256-ecb' : 'aes-128-ecb', key, null);
    this.#ecb.setAutoPadding(false);
  }

  /** Encrypts or decrypts `data` from `from` on, in place, at GRE `seq` (RIST GRE `version`). */
  crypt(seq: number, version: number, data: Uint8Array, from = 0): void {
    const c = this.#counters;
    const v0 = version === 0;
    const layout = v0 ? LAYOUT_V0 : LAYOUT_V1;
    if (this.#layout !== layout) {
      c.fill(0);
      if (!v0) for (let at = 0; at < KEYSTREAM_CHUNK_BYTES; at += 16) c.writeUInt32BE(at >> 4, at + 12);
      this.#layout = layout;
    }
    const s0 = (seq >>> 24) & 0xff;
    const s1 = (seq >>> 16) & 0xff;
    const s2 = (seq >>> 8) & 0xff;
    const s3 = seq & 0xff;
    for (let done = 0; done < data.length - from; done += KEYSTREAM_CHUNK_BYTES) {
      const bytes = Math.min(KEYSTREAM_CHUNK_BYTES, data.length - from - done);
      const blocks = (bytes + 15) >> 4;
      const first = done >> 4;
      for (let j = 0, at = 0; j < blocks; j++, at += 16) {
        if (v0) {
          const value = (seq >>> 0) + first + j;
          c[at + 11] = value > 0xffff_ffff ? 1 : 0;
          c.writeUInt32BE(value >>> 0, at + 12);
        } else {
          c[at] = s0;
          c[at + 1] = s1;
          c[at + 2] = s2;
          c[at + 3] = s3;
          if (first !== 0) c.writeUInt32BE(first + j, at + 12);
        }
      }
      const keystream = this.#ecb.update(c.subarray(0, blocks * 16));
      xorInto(data, from + done, keystream, bytes);
      if (!v0 && first !== 0) this.#layout = LAYOUT_NONE; // block numbers past the first chunk
    }
  }
}

/** data[start + i] ^= keystream[i] for i < bytes; 32 bits at a time when both are aligned. */
function xorInto(data: Uint8Array, start: number, keystream: Buffer, bytes: number): void {
  let i = 0;
  if (((data.byteOffset + start) & 3) === 0 && (keystream.byteOffset & 3) === 0) {
    const words = bytes >> 2;
    const d = new Uint32Array(data.buffer, data.byteOffset + start, words);
    const k = new Uint32Array(keystream.buffer, keystream.byteOffset, words);
    for (let w = 0; w < words; w++) d[w] = (d[w] as number) ^ (k[w] as number);
    i = words << 2;
  }
  for (; i < bytes; i++) data[start + i] = (data[start + i] as number) ^ (keystream[i] as number);
}

/** The sending half: a nonce, its key and the GRE sequence counter. */
export class PskSealer {
  readonly bits: PskBits;
  readonly #passphrase: string;
  readonly #rotation: number;
  #nonce = 0;
  #cipher: PskCipher | undefined;
  #seq = 0;
  #used = 0;
  /** Nonces picked (the first and every rotation). */
  rotations = 0;
  readonly #sealed = { nonce: 0, seq: 0, aes256: false };

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
   * Takes the next sequence number (rotating the nonce when due), encrypts `data` from `from` on in place and
   * returns the `{ nonce, seq, aes256 }` to write into the GRE header (one object, reused: read
   * it before the next call).
   */
  seal(
    data: Uint8Array,
    from = 0,
  ): { readonly nonce: number; readonly seq: number; readonly aes256: boolean } {
    if (
      this.#nonce === 0 ||
      this.#seq === 0xffff_ffff ||
      (this.#rotation > 0 && this.#used >= this.#rotation)
    ) {
      do this.#nonce = randomBytes(4).readUInt32BE(0);
      while (this.#nonce === 0);
      this.#cipher = new PskCipher(derivePskKey(this.#passphrase, this.#nonce, this.bits));
      this.#used = 0;
      this.rotations++;
      if (this.#seq === 0xffff_ffff) this.#seq = 0;
    }
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) >>> 0;
    this.#used++;
    (this.#cipher as PskCipher).crypt(seq, 1, data, from);
    const sealed = this.#sealed;
    sealed.nonce = this.#nonce;
    sealed.seq = seq;
    sealed.aes256 = this.bits === 256;
    return sealed;
  }
}

interface NonceKey {
  readonly cipher: PskCipher;
  /** A datagram under this nonce decoded as what its sender would send: the key is right. */
  trusted: boolean;
}

/** The receiving half: the keys of the nonces met, and whether each has proved right. */
export class PskOpener {
  readonly #passphrase: string;
  readonly #bits: PskBits;
  readonly #keys = new Map<string, NonceKey>();
  #last: NonceKey | undefined;
  #lastAddress = '';
  #lastPort = -1;
  #lastNonce = 0;
  #lastBits = 0;
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
   * Decrypts `data` from `from` on (in place), a datagram from `address`:`port` with GRE `nonce`, `seq`,
   * `version`, `aes256`. Returns the nonce's entry (to {@link trust} once what it decrypted
   * proves right), or undefined when no key could be had (rate limit) — the datagram is then
   * dropped. The last entry is kept at hand: a run of datagrams of one sender looks nothing up.
   */
  open(
    address: string,
    port: number,
    nonce: number,
    seq: number,
    version: number,
    aes256: boolean,
    data: Uint8Array,
    from: number,
    nowMs: number,
  ): { trusted: boolean } | undefined {
    const bits: PskBits = version >= 1 ? (aes256 ? 256 : 128) : this.#bits;
    let entry = this.#last;
    if (
      entry === undefined ||
      this.#lastNonce !== nonce ||
      this.#lastBits !== bits ||
      this.#lastPort !== port ||
      this.#lastAddress !== address
    ) {
      entry = this.#lookup(`${address}:${port}/${nonce}/${bits}`, nonce, bits, nowMs);
      if (entry === undefined) return undefined;
      this.#last = entry;
      this.#lastAddress = address;
      this.#lastPort = port;
      this.#lastNonce = nonce;
      this.#lastBits = bits;
    }
    entry.cipher.crypt(seq, version, data, from);
    return entry;
  }

  #lookup(id: string, nonce: number, bits: PskBits, nowMs: number): NonceKey | undefined {
    let entry = this.#keys.get(id);
    if (entry !== undefined) return entry;
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
    entry = { cipher: new PskCipher(derivePskKey(this.#passphrase, nonce, bits)), trusted: false };
    this.#keys.set(id, entry);
    if (this.#keys.size > MAX_CACHED_NONCES) {
      const [oldestId, oldest] = this.#keys.entries().next().value as [string, NonceKey];
      this.#keys.delete(oldestId);
      if (oldest === this.#last) this.#last = undefined;
    }
    return entry;
  }
}
