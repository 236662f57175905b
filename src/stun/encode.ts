import { randomFillSync } from 'node:crypto';
import { ConfigError, InvalidOptionError } from '../errors/index.ts';
import {
  encodeMessageType,
  STUN_ATTRIBUTE_HEADER_BYTES,
  STUN_CLASSIC_ID_OFFSET,
  STUN_CLASSIC_TRANSACTION_ID_BYTES,
  STUN_HEADER_BYTES,
  STUN_MAGIC_COOKIE,
  STUN_MAX_BODY_BYTES,
  STUN_TRANSACTION_ID_BYTES,
  StunAttr,
  type StunClassType,
} from './constants.ts';
import { StunErrorCode } from './errors.ts';
import { computeFingerprint, FINGERPRINT_ATTRIBUTE_BYTES } from './fingerprint.ts';
import { computeIntegrity, INTEGRITY_SHA1_BYTES, INTEGRITY_SHA256_BYTES } from './integrity.ts';

/**
 * An attribute to encode: either a ready value (`{ type, value }`, e.g. an attribute of a decoded
 * message), or a writer that knows its value length and writes the value in place. Writers receive
 * the whole message Buffer, whose header (cookie and transaction ID at bytes 4–19) is already
 * written, so XOR-encoded attributes read the transaction ID from it.
 */
export type StunAttributeInit =
  | { readonly type: number; readonly value: Uint8Array }
  | {
      readonly type: number;
      /** Value length in bytes, without padding. */
      readonly length: number;
      /** Writes exactly `length` bytes at `offset` of `message`. */
      write(message: Buffer, offset: number): void;
    };

/** A message to encode. */
export interface StunMessageInit {
  /** 12-bit method (see `StunMethod`). */
  readonly method: number;
  /** Class (see `StunClass`). */
  readonly class: StunClassType;
  /**
   * 12 bytes (16 when `classic`); default: cryptographically random bytes (RFC 8489 §5).
   */
  readonly transactionId?: Uint8Array;
  /**
   * Encode an RFC 3489 message: no magic cookie, the 16-byte transaction ID fills bytes 4–19. For
   * answering RFC 3489 clients (RFC 8489 §11); XOR-encoded attributes must not be used in it.
   * Default false.
   */
  readonly classic?: boolean;
  /** Attributes in wire order, without MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT (see options). */
  readonly attributes?: readonly StunAttributeInit[];
}

/** Settings of {@link encodeStun}. */
export interface EncodeStunOptions {
  /**
   * Adds MESSAGE-INTEGRITY(-SHA256) keyed with this key (see `shortTermKey`, `longTermKey`).
   * RFC 8489 §9.1, §9.2.
   */
  readonly integrityKey?: Uint8Array;
  /**
   * Which integrity attributes to add when `integrityKey` is set: `'sha1'` (MESSAGE-INTEGRITY,
   * the default), `'sha256'` (MESSAGE-INTEGRITY-SHA256) or `'both'` (SHA-1 first). RFC 8489 §14.5, §14.6.
   */
  readonly integrity?: 'sha1' | 'sha256' | 'both';
  /** Appends FINGERPRINT as the last attribute. Default false. RFC 8489 §14.7. */
  readonly fingerprint?: boolean;
  /**
   * Value of the padding bytes after attribute values. Default 0x00 (RFC 8489 §14 says padding
   * SHOULD be zero); 0x20 reproduces the RFC 5769 §2.1–2.3 vectors byte for byte.
   */
  readonly paddingByte?: number;
}

/**
 * Encodes a STUN message into one Buffer sized once. RFC 8489 §5, §14.
 * @throws ConfigError `ERR_STUN_MESSAGE_TOO_LARGE` when the body exceeds 65535 bytes or an attribute
 *   value exceeds 65535 bytes, `ERR_INVALID_OPTION` when the transaction ID is not 12 bytes
 *   (16 for `classic`),
 *   `ERR_INVALID_OPTION` for a type outside 0–0xFFFF, `ERR_INVALID_OPTION` for a method
 *   outside 0–0xFFF.
 */
export function encodeStun(message: StunMessageInit, options?: EncodeStunOptions): Buffer {
  const attributes = message.attributes ?? [];
  const key = options?.integrityKey;
  const mode = options?.integrity ?? 'sha1';
  const sha1 = key !== undefined && mode !== 'sha256';
  const sha256 = key !== undefined && mode !== 'sha1';
  const fingerprint = options?.fingerprint === true;
  const paddingByte = options?.paddingByte ?? 0;
  // 1. Size the message once.
  let size = STUN_HEADER_BYTES;
  for (let i = 0; i < attributes.length; i++) {
    const attr = attributes[i]!;
    const length = 'value' in attr ? attr.value.length : attr.length;
    if (!Number.isInteger(attr.type) || attr.type < 0 || attr.type > 0xffff) {
      throw new InvalidOptionError('type', `attribute type ${attr.type} is not 0-0xFFFF`);
    }
    if (length > STUN_MAX_BODY_BYTES) {
      throw new ConfigError(
        StunErrorCode.MESSAGE_TOO_LARGE,
        `attribute 0x${attr.type.toString(16)} is ${length} bytes`,
      );
    }
    size += STUN_ATTRIBUTE_HEADER_BYTES + ((length + 3) & ~3);
  }
  if (sha1) size += STUN_ATTRIBUTE_HEADER_BYTES + INTEGRITY_SHA1_BYTES;
  if (sha256) size += STUN_ATTRIBUTE_HEADER_BYTES + INTEGRITY_SHA256_BYTES;
  if (fingerprint) size += FINGERPRINT_ATTRIBUTE_BYTES;
  if (size - STUN_HEADER_BYTES > STUN_MAX_BODY_BYTES) {
    throw new ConfigError(
      StunErrorCode.MESSAGE_TOO_LARGE,
      `the message body would be ${size - STUN_HEADER_BYTES} bytes`,
    );
  }
  if (!Number.isInteger(message.method) || message.method < 0 || message.method > 0xfff) {
    throw new InvalidOptionError('method', `a STUN method is 12 bits (0-0xFFF), not ${message.method}`);
  }
  // 2. Header. RFC 8489 §5.
  const out = Buffer.allocUnsafe(size);
  out.writeUInt16BE(encodeMessageType(message.method, message.class), 0);
  out.writeUInt16BE(size - STUN_HEADER_BYTES, 2);
  // RFC 3489 (classic): no cookie, bytes 4–19 are the transaction ID. RFC 3489 §11.1.
  const classic = message.classic === true;
  const idOffset = classic ? STUN_CLASSIC_ID_OFFSET : 8;
  const idBytes = classic ? STUN_CLASSIC_TRANSACTION_ID_BYTES : STUN_TRANSACTION_ID_BYTES;
  if (!classic) out.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  const transactionId = message.transactionId;
  if (transactionId === undefined) {
    randomFillSync(out, idOffset, idBytes);
  } else if (transactionId.length !== idBytes) {
    throw new InvalidOptionError(
      'transactionId',
      `a${classic ? 'n RFC 3489' : ''} transaction ID is ${idBytes} bytes, not ${transactionId.length}`,
    );
  } else {
    out.set(transactionId, idOffset);
  }
  // 3. Attributes, each padded to a multiple of 4 bytes. RFC 8489 §14.
  let offset = STUN_HEADER_BYTES;
  for (let i = 0; i < attributes.length; i++) {
    const attr = attributes[i]!;
    const valueStart = offset + STUN_ATTRIBUTE_HEADER_BYTES;
    let length: number;
    if ('value' in attr) {
      length = attr.value.length;
      out.set(attr.value, valueStart);
    } else {
      length = attr.length;
      attr.write(out, valueStart);
    }
    out.writeUInt16BE(attr.type, offset);
    out.writeUInt16BE(length, offset + 2);
    const next = valueStart + ((length + 3) & ~3);
    out.fill(paddingByte, valueStart + length, next);
    offset = next;
  }
  // 4. MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256, FINGERPRINT, each over the bytes before it with the
  //    length field ending at it. RFC 8489 §14.5, §14.6, §14.7.
  if (sha1)
    offset = writeIntegrity(out, offset, StunAttr.MESSAGE_INTEGRITY, 'sha1', INTEGRITY_SHA1_BYTES, key);
  if (sha256) {
    offset = writeIntegrity(
      out,
      offset,
      StunAttr.MESSAGE_INTEGRITY_SHA256,
      'sha256',
      INTEGRITY_SHA256_BYTES,
      key,
    );
  }
  if (fingerprint) {
    out.writeUInt16BE(offset + FINGERPRINT_ATTRIBUTE_BYTES - STUN_HEADER_BYTES, 2);
    out.writeUInt32BE(computeFingerprint(out, offset), offset + STUN_ATTRIBUTE_HEADER_BYTES);
    out.writeUInt16BE(StunAttr.FINGERPRINT, offset);
    out.writeUInt16BE(4, offset + 2);
  }
  return out;
}

function writeIntegrity(
  out: Buffer,
  offset: number,
  type: number,
  algorithm: 'sha1' | 'sha256',
  bytes: number,
  key: Uint8Array,
): number {
  const end = offset + STUN_ATTRIBUTE_HEADER_BYTES + bytes;
  out.writeUInt16BE(end - STUN_HEADER_BYTES, 2);
  const mac = computeIntegrity(algorithm, key, out, offset);
  out.writeUInt16BE(type, offset);
  out.writeUInt16BE(bytes, offset + 2);
  mac.copy(out, offset + STUN_ATTRIBUTE_HEADER_BYTES, 0, bytes);
  return end;
}
