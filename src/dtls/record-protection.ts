/**
 * AEAD protection of one epoch's records: AES-GCM (RFC 5288 §3, nonce = 4-byte salt + the record's
 * 8-byte explicit nonce, which porthole sets to epoch‖sequence) and ChaCha20-Poly1305 (RFC 7905 §2,
 * nonce = 12-byte IV XOR epoch‖sequence, no explicit nonce). The additional data is
 * epoch‖sequence‖type‖version‖plaintext length (RFC 5246 §6.2.3.3, RFC 6347 §4.1.2.1).
 * @module
 */
import { type CipherGCMTypes, createCipheriv, createDecipheriv } from 'node:crypto';
import type { CipherSuite } from './cipher-suites.ts';
import { DTLS_1_2, RECORD_HEADER_BYTES } from './constants.ts';
import { writeRecordHeader } from './record.ts';

const TAG_BYTES = 16;

/** One direction's key of one epoch. */
export interface DirectionKeys {
  readonly key: Buffer;
  readonly iv: Buffer;
}

/** Seals and opens the records of one epoch in one direction. */
export class RecordProtection {
  readonly #suite: CipherSuite;
  readonly #keys: DirectionKeys;
  readonly #nonce = Buffer.alloc(12);
  readonly #aad = Buffer.alloc(13);

  constructor(suite: CipherSuite, keys: DirectionKeys) {
    this.#suite = suite;
    this.#keys = keys;
  }

  /** Bytes a record grows by: explicit nonce plus tag. */
  get overhead(): number {
    return this.#suite.explicitNonceBytes + TAG_BYTES;
  }

  #prepare(type: number, epoch: number, sequence: number, length: number): void {
    const aad = this.#aad;
    aad.writeUInt16BE(epoch, 0);
    aad.writeUInt16BE(Math.floor(sequence / 0x1_0000_0000), 2);
    aad.writeUInt32BE(sequence >>> 0, 4);
    aad[8] = type;
    aad.writeUInt16BE(DTLS_1_2, 9);
    aad.writeUInt16BE(length, 11);
    const nonce = this.#nonce;
    const iv = this.#keys.iv;
    if (this.#suite.explicitNonceBytes === 0) {
      for (let i = 0; i < 12; i++) nonce[i] = iv[i]! ^ (i < 4 ? 0 : aad[i - 4]!);
    } else {
      iv.copy(nonce, 0, 0, 4);
      aad.copy(nonce, 4, 0, 8);
    }
  }

  /** The whole protected record (header included) carrying `plaintext`. */
  seal(type: number, epoch: number, sequence: number, plaintext: Uint8Array): Buffer {
    this.#prepare(type, epoch, sequence, plaintext.length);
    const explicit = this.#suite.explicitNonceBytes;
    const bodyLength = explicit + plaintext.length + TAG_BYTES;
    const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + bodyLength);
    writeRecordHeader(out, 0, type, epoch, sequence, bodyLength);
    if (explicit > 0) this.#nonce.copy(out, RECORD_HEADER_BYTES, 4, 12);
    const cipher = createCipheriv(this.#suite.aead as CipherGCMTypes, this.#keys.key, this.#nonce, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(this.#aad, { plaintextLength: plaintext.length });
    const encrypted = cipher.update(plaintext);
    encrypted.copy(out, RECORD_HEADER_BYTES + explicit);
    cipher.final();
    cipher.getAuthTag().copy(out, RECORD_HEADER_BYTES + explicit + plaintext.length);
    return out;
  }

  /**
   * The plaintext of a record's fragment, or undefined when it does not authenticate (or is too
   * short to carry a nonce and tag).
   */
  open(type: number, epoch: number, sequence: number, fragment: Buffer): Buffer | undefined {
    const explicit = this.#suite.explicitNonceBytes;
    const length = fragment.length - explicit - TAG_BYTES;
    if (length < 0) return undefined;
    this.#prepare(type, epoch, sequence, length);
    if (explicit > 0) fragment.copy(this.#nonce, 4, 0, 8);
    try {
      const decipher = createDecipheriv(this.#suite.aead as CipherGCMTypes, this.#keys.key, this.#nonce, {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(this.#aad, { plaintextLength: length });
      decipher.setAuthTag(fragment.subarray(explicit + length));
      const plain = decipher.update(fragment.subarray(explicit, explicit + length));
      decipher.final();
      return plain;
    } catch {
      return undefined;
    }
  }
}
