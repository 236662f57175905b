import { ParseError } from '../errors/index.ts';
import {
  classOfType,
  methodOfType,
  STUN_ATTRIBUTE_HEADER_BYTES,
  STUN_CLASSIC_ID_OFFSET,
  STUN_HEADER_BYTES,
  STUN_MAGIC_COOKIE,
  StunAttr,
  type StunClassType,
} from './constants.ts';
import { StunErrorCode } from './errors.ts';

/** One attribute of a decoded message. */
export interface StunAttribute {
  /** Attribute type (see `StunAttr`). */
  readonly type: number;
  /** The value bytes without padding: a slice of the decoded Buffer, not a copy. */
  readonly value: Buffer;
  /** Byte offset of the attribute's header within the message (where integrity checks start). */
  readonly offset: number;
}

/** A decoded STUN message. Read attributes through the typed `getXxx(message)` accessors. */
export interface StunMessage {
  /** 12-bit method (see `StunMethod`). */
  readonly method: number;
  /** Request, indication, success or error response. */
  readonly class: StunClassType;
  /**
   * The transaction ID, a slice of `raw`: 96 bits (bytes 8–19), or for a `classic` message the
   * 128 bits of bytes 4–19 (RFC 3489 §11.1).
   */
  readonly transactionId: Buffer;
  /**
   * True for an RFC 3489 ("classic") message: no magic cookie, a 128-bit transaction ID. Only produced
   * with `decodeStun(data, { allowClassic: true })`; XOR-encoded attributes mean nothing in it.
   * RFC 8489 §11.
   */
  readonly classic: boolean;
  /**
   * Attributes in wire order. Attributes after MESSAGE-INTEGRITY (other than
   * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT), after MESSAGE-INTEGRITY-SHA256 (other than
   * FINGERPRINT) and after FINGERPRINT are left out, as RFC 8489 §14.5–§14.7 tell receivers to ignore them.
   */
  readonly attributes: readonly StunAttribute[];
  /** The exact bytes that were decoded (integrity and fingerprint are checked over them). */
  readonly raw: Buffer;
}

/** Settings of {@link decodeStun}. */
export interface DecodeStunOptions {
  /** Most attributes accepted in one message. Default {@link DEFAULT_MAX_ATTRIBUTES}. */
  readonly maxAttributes?: number;
  /**
   * Accept RFC 3489 messages (bytes 4–7 not the magic cookie) as `classic` messages with a 16-byte
   * transaction ID instead of throwing `ERR_STUN_BAD_COOKIE`. Default false: demux predicates and
   * normal decoding stay strict; servers opt in (RFC 8489 §11, RFC 5389 §12.2).
   */
  readonly allowClassic?: boolean;
}

/** Settings of {@link isStunPacket}. */
export interface IsStunPacketOptions {
  /** Also accept RFC 3489 messages (no magic cookie). Default false. RFC 8489 §11. */
  readonly allowClassic?: boolean;
}

/** Default cap on attributes per message: generous for STUN/TURN/ICE, small enough to bound work. */
export const DEFAULT_MAX_ATTRIBUTES = 64;

/**
 * Whether `data` looks like a STUN message (RFC 8489 §5, RFC 7983 §7): at least 20 bytes, the two top
 * bits zero, a length field that is a multiple of 4 and equals the datagram's size minus 20, and the
 * magic cookie (not checked with `allowClassic`, for RFC 3489 messages). Never throws; allocates nothing.
 */
export function isStunPacket(data: Uint8Array, options?: IsStunPacketOptions): boolean {
  if (data.length < STUN_HEADER_BYTES) return false;
  if ((data[0]! & 0xc0) !== 0) return false;
  const length = (data[2]! << 8) | data[3]!;
  if ((length & 3) !== 0 || length + STUN_HEADER_BYTES !== data.length) return false;
  if (options?.allowClassic === true) return true;
  return (
    data[4] === 0x21 && data[5] === 0x12 && data[6] === 0xa4 && data[7] === 0x42 // STUN_MAGIC_COOKIE
  );
}

/**
 * Decodes one STUN message from one datagram. Total: returns a message or throws {@link ParseError}
 * with a `StunErrorCode` and the byte offset; never anything else. Attribute values are checked by
 * the typed accessors when read, not here. With `allowClassic`, a message without the magic cookie
 * is an RFC 3489 message (`classic: true`, 16-byte transaction ID) with the same framing rules.
 * @throws ParseError `ERR_STUN_TRUNCATED`, `ERR_STUN_NOT_STUN`, `ERR_STUN_BAD_COOKIE` (strict mode only),
 *   `ERR_STUN_BAD_LENGTH`, `ERR_STUN_ATTRIBUTE_LENGTH`, `ERR_STUN_TOO_MANY_ATTRIBUTES`.
 */
export function decodeStun(data: Buffer, options?: DecodeStunOptions): StunMessage {
  const maxAttributes = options?.maxAttributes ?? DEFAULT_MAX_ATTRIBUTES;
  // 1. Header: size, top bits, length, cookie. RFC 8489 §5.
  if (data.length < STUN_HEADER_BYTES) {
    throw new ParseError(StunErrorCode.TRUNCATED, 'a STUN message needs 20 bytes of header', data.length);
  }
  const type = data.readUInt16BE(0);
  if ((type & 0xc000) !== 0) {
    throw new ParseError(StunErrorCode.NOT_STUN, 'the two top bits of a STUN message must be zero', 0);
  }
  const length = data.readUInt16BE(2);
  if ((length & 3) !== 0) {
    throw new ParseError(StunErrorCode.BAD_LENGTH, `message length ${length} is not a multiple of 4`, 2);
  }
  // RFC 3489 clients have no cookie: bytes 4–19 are their 128-bit transaction ID. RFC 8489 §11.
  const classic = data.readUInt32BE(4) !== STUN_MAGIC_COOKIE;
  if (classic && options?.allowClassic !== true) {
    throw new ParseError(StunErrorCode.BAD_COOKIE, 'the magic cookie is not 0x2112A442', 4);
  }
  const end = STUN_HEADER_BYTES + length;
  if (data.length < end) {
    throw new ParseError(
      StunErrorCode.TRUNCATED,
      `message length says ${end} bytes, the datagram has ${data.length}`,
      data.length,
    );
  }
  if (data.length > end) {
    throw new ParseError(
      StunErrorCode.BAD_LENGTH,
      `message length says ${end} bytes, the datagram has ${data.length}`,
      2,
    );
  }
  // 2. Attributes: type, length, value, padding to 4 bytes. RFC 8489 §14.
  const attributes: StunAttribute[] = [];
  let offset = STUN_HEADER_BYTES;
  // 0: accept all; 1: after MESSAGE-INTEGRITY; 2: after MESSAGE-INTEGRITY-SHA256; 3: after FINGERPRINT.
  let stage = 0;
  while (offset < end) {
    if (end - offset < STUN_ATTRIBUTE_HEADER_BYTES) {
      throw new ParseError(StunErrorCode.ATTRIBUTE_LENGTH, 'attribute header runs past the message', offset);
    }
    const attrType = data.readUInt16BE(offset);
    const attrLength = data.readUInt16BE(offset + 2);
    const valueStart = offset + STUN_ATTRIBUTE_HEADER_BYTES;
    const next = valueStart + ((attrLength + 3) & ~3);
    if (next > end) {
      throw new ParseError(
        StunErrorCode.ATTRIBUTE_LENGTH,
        `attribute 0x${attrType.toString(16)} of ${attrLength} bytes runs past the message`,
        offset + 2,
      );
    }
    if (attributes.length >= maxAttributes) {
      throw new ParseError(
        StunErrorCode.TOO_MANY_ATTRIBUTES,
        `more than ${maxAttributes} attributes`,
        offset,
      );
    }
    let keep: boolean;
    if (attrType === StunAttr.FINGERPRINT) {
      keep = stage < 3;
      stage = 3;
    } else if (attrType === StunAttr.MESSAGE_INTEGRITY_SHA256) {
      keep = stage < 2;
      stage = Math.max(stage, 2);
    } else if (attrType === StunAttr.MESSAGE_INTEGRITY) {
      keep = stage < 1;
      stage = Math.max(stage, 1);
    } else {
      keep = stage === 0;
    }
    if (keep) {
      attributes.push({ type: attrType, value: data.subarray(valueStart, valueStart + attrLength), offset });
    }
    offset = next;
  }
  return {
    method: methodOfType(type),
    class: classOfType(type),
    transactionId: data.subarray(classic ? STUN_CLASSIC_ID_OFFSET : 8, STUN_HEADER_BYTES),
    classic,
    attributes,
    raw: data,
  };
}

/** The first attribute of `type` in `message` (RFC 8489 §14: only the first is processed), if any. */
export function getAttribute(message: StunMessage, type: number): StunAttribute | undefined {
  const list = message.attributes;
  for (let i = 0; i < list.length; i++) if (list[i]!.type === type) return list[i];
  return undefined;
}

/** Whether two transaction IDs are equal. */
export function sameTransactionId(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
