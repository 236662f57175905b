/**
 * AEAD protection of one epoch's records: AES-GCM (RFC 5288 §3, nonce = 4-byte salt + the record's
 * 8-byte explicit nonce, which porthole sets to epoch‖sequence) and ChaCha20-Poly1305 (RFC 7905 §2,
 * nonce = 12-byte IV XOR epoch‖sequence, no explicit nonce). The additional data is
 * epoch‖sequence‖type‖version‖plaintext length (RFC 5246 §6.2.3.3, RFC 6347 §4.1.2.1).
 *
 * With a connection ID (RFC 9146 §4, §5.2) the record is a tls12_cid record: the plaintext is the
 * DTLSInnerPlaintext `content‖real_type` (porthole adds no padding; received zeros are stripped),
 * and the additional data is
 *
 * ```
 * seq_num_placeholder (8 × 0xff) ‖ tls12_cid ‖ cid_length ‖ tls12_cid ‖ version ‖ epoch ‖
 * sequence_number ‖ cid ‖ length_of_DTLSInnerPlaintext (2 bytes)
 * ```
 * @module
 */
import {
  type CipherGCMTypes,
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type KeyObject,
} from 'node:crypto';
import type { CipherSuite } from './cipher-suites.ts';
import { ContentType, DTLS_1_2, RECORD_HEADER_BYTES } from './constants.ts';
import { writeRecordHeader } from './record.ts';

const TAG_BYTES = 16;
/** Bytes of the RFC 9146 additional data before the cid. */
const CID_AAD_PREFIX = 21;

/** One direction's key of one epoch. */
export interface DirectionKeys {
  readonly key: Buffer;
  readonly iv: Buffer;
}

/** Seals and opens the records of one epoch in one direction. */
export class RecordProtection {
  readonly #aead: CipherGCMTypes;
  readonly #explicit: number;
  /** A KeyObject, made once per epoch: node:crypto then takes no copy of the key per record. */
  readonly #key: KeyObject;
  readonly #iv: Buffer;
  readonly #nonce = Buffer.alloc(12);
  readonly #aad: Buffer;
  readonly #cid: Buffer | undefined;
  readonly #tagOptions = { authTagLength: TAG_BYTES } as const;
  readonly #typeByte = Buffer.alloc(1);
  /** The real content type of the last record {@link open} returned (a tls12_cid record's inner type). */
  lastType = 0;

  /** @param cid the connection ID records carry in this direction (RFC 9146); none or empty: plain records. */
  constructor(suite: CipherSuite, keys: DirectionKeys, cid?: Buffer) {
    this.#aead = suite.aead as CipherGCMTypes;
    this.#explicit = suite.explicitNonceBytes;
    this.#key = createSecretKey(keys.key);
    this.#iv = keys.iv;
    this.#cid = cid !== undefined && cid.length > 0 ? Buffer.from(cid) : undefined;
    if (this.#cid === undefined) this.#aad = Buffer.alloc(13);
    else {
      const aad = Buffer.alloc(CID_AAD_PREFIX + this.#cid.length + 2);
      aad.fill(0xff, 0, 8);
      aad[8] = ContentType.TLS12_CID;
      aad[9] = this.#cid.length;
      aad[10] = ContentType.TLS12_CID;
      aad.writeUInt16BE(DTLS_1_2, 11);
      this.#cid.copy(aad, CID_AAD_PREFIX);
      this.#aad = aad;
    }
  }

  /** Bytes a record grows by: explicit nonce plus tag (and, with a connection ID, it and the inner type). */
  get overhead(): number {
    return this.#explicit + TAG_BYTES + (this.#cid === undefined ? 0 : this.#cid.length + 1);
  }

  /** Fills the nonce and the additional data for a record of `length` plaintext bytes. */
  #prepare(type: number, epoch: number, sequence: number, length: number): void {
    const aad = this.#aad;
    const high = Math.floor(sequence / 0x1_0000_0000);
    const low = sequence >>> 0;
    let at: number;
    if (this.#cid === undefined) {
      aad.writeUInt16BE(epoch, 0);
      aad.writeUInt16BE(high, 2);
      aad.writeUInt32BE(low, 4);
      aad[8] = type;
      aad.writeUInt16BE(DTLS_1_2, 9);
      aad.writeUInt16BE(length, 11);
      at = 0;
    } else {
      aad.writeUInt16BE(epoch, 13);
      aad.writeUInt16BE(high, 15);
      aad.writeUInt32BE(low, 17);
      aad.writeUInt16BE(length, aad.length - 2);
      at = 13;
    }
    // epoch‖sequence now sits at aad[at .. at + 8].
    const nonce = this.#nonce;
    const iv = this.#iv;
    if (this.#explicit === 0) {
      for (let i = 0; i < 4; i++) nonce[i] = iv[i]!;
      for (let i = 4; i < 12; i++) nonce[i] = iv[i]! ^ aad[at + i - 4]!;
    } else {
      iv.copy(nonce, 0, 0, 4);
      aad.copy(nonce, 4, at, at + 8);
    }
  }

  /** The whole protected record (header included) carrying `plaintext`. */
  seal(type: number, epoch: number, sequence: number, plaintext: Uint8Array): Buffer {
    const cid = this.#cid;
    const explicit = this.#explicit;
    const inner = cid === undefined ? plaintext.length : plaintext.length + 1;
    this.#prepare(type, epoch, sequence, inner);
    const header = cid === undefined ? RECORD_HEADER_BYTES : RECORD_HEADER_BYTES + cid.length;
    const bodyLength = explicit + inner + TAG_BYTES;
    const out = Buffer.allocUnsafe(header + bodyLength);
    if (cid === undefined) writeRecordHeader(out, 0, type, epoch, sequence, bodyLength);
    else {
      writeRecordHeader(out, 0, ContentType.TLS12_CID, epoch, sequence, 0);
      cid.copy(out, 11);
      out.writeUInt16BE(bodyLength, 11 + cid.length);
    }
    if (explicit > 0) this.#nonce.copy(out, header, 4, 12);
    const cipher = createCipheriv(this.#aead, this.#key, this.#nonce, this.#tagOptions);
    cipher.setAAD(this.#aad);
    let at = header + explicit;
    at += cipher.update(plaintext).copy(out, at);
    if (cid !== undefined) {
      this.#typeByte[0] = type;
      at += cipher.update(this.#typeByte).copy(out, at);
    }
    cipher.final();
    cipher.getAuthTag().copy(out, at);
    return out;
  }

  /**
   * The plaintext of a record's fragment (its real type in {@link lastType}), or undefined when it
   * does not authenticate, is too short to carry a nonce and tag, or (tls12_cid) has no real type.
   */
  open(type: number, epoch: number, sequence: number, fragment: Buffer): Buffer | undefined {
    const explicit = this.#explicit;
    const length = fragment.length - explicit - TAG_BYTES;
    if (length < 0) return undefined;
    this.#prepare(type, epoch, sequence, length);
    if (explicit > 0) fragment.copy(this.#nonce, 4, 0, 8);
    let plain: Buffer;
    try {
      const decipher = createDecipheriv(this.#aead, this.#key, this.#nonce, this.#tagOptions);
      decipher.setAAD(this.#aad);
      decipher.setAuthTag(fragment.subarray(explicit + length));
      plain = decipher.update(fragment.subarray(explicit, explicit + length));
      decipher.final();
    } catch {
      return undefined;
    }
    if (this.#cid === undefined) {
      this.lastType = type;
      return plain;
    }
    // RFC 9146 §4: the real type is the last non-zero byte; padding zeros follow it.
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (end < 0) return undefined;
    this.lastType = plain[end]!;
    return plain.subarray(0, end);
  }
}
