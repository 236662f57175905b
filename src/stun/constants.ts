/**
 * STUN wire constants: header layout, message classes and methods, attribute types and error codes.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0|     STUN Message Type     |         Message Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Magic Cookie                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Transaction ID (96 bits)                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * RFC 8489 §5.
 * @module
 */

/** The fixed value in bytes 4–7 of every STUN message. RFC 8489 §5. */
export const STUN_MAGIC_COOKIE = 0x2112a442;
/** Size of the STUN header in bytes. RFC 8489 §5. */
export const STUN_HEADER_BYTES = 20;
/** Size of an attribute header (type + length) in bytes. RFC 8489 §14. */
export const STUN_ATTRIBUTE_HEADER_BYTES = 4;
/** Size of the transaction ID in bytes. RFC 8489 §5. */
export const STUN_TRANSACTION_ID_BYTES = 12;
/**
 * Size of an RFC 3489 transaction ID in bytes: RFC 3489 had no magic cookie, so bytes 4–19 are all
 * transaction ID. RFC 3489 §11.1, RFC 8489 §11.
 */
export const STUN_CLASSIC_TRANSACTION_ID_BYTES = 16;
/** Where an RFC 3489 transaction ID starts (where the magic cookie is in RFC 8489). RFC 3489 §11.1. */
export const STUN_CLASSIC_ID_OFFSET = 4;
/** Largest value of the 16-bit message length field. */
export const STUN_MAX_BODY_BYTES = 0xffff;
/** XOR'ed into the CRC-32 of the message to form FINGERPRINT. RFC 8489 §14.7. */
export const STUN_FINGERPRINT_XOR = 0x5354554e;

/** The message class: the two C bits of the message type. RFC 8489 §5. */
export const StunClass = {
  REQUEST: 0,
  INDICATION: 1,
  SUCCESS_RESPONSE: 2,
  ERROR_RESPONSE: 3,
} as const;
/** One of the {@link StunClass} values. */
export type StunClassType = (typeof StunClass)[keyof typeof StunClass];

/** STUN and TURN methods (12 bits). RFC 8489 §18.2, RFC 8656 §17. */
export const StunMethod = {
  /** RFC 8489 §3. */
  BINDING: 0x001,
  /** TURN, RFC 8656 §7. */
  ALLOCATE: 0x003,
  /** TURN, RFC 8656 §8. */
  REFRESH: 0x004,
  /** TURN, RFC 8656 §11. */
  SEND: 0x006,
  /** TURN, RFC 8656 §11. */
  DATA: 0x007,
  /** TURN, RFC 8656 §9. */
  CREATE_PERMISSION: 0x008,
  /** TURN, RFC 8656 §12. */
  CHANNEL_BIND: 0x009,
} as const;

/**
 * Attribute types. Types below 0x8000 are comprehension-required: a receiver that does not know
 * one must reject a request carrying it with 420 (RFC 8489 §14, §7.3.1).
 */
export const StunAttr = {
  /** RFC 8489 §14.1. */
  MAPPED_ADDRESS: 0x0001,
  /** RFC 3489 §11.2.2 (deprecated; read only). */
  RESPONSE_ADDRESS: 0x0002,
  /** RFC 5780 §7.2. */
  CHANGE_REQUEST: 0x0003,
  /** RFC 3489 §11.2.5 (deprecated; read only, superseded by RESPONSE-ORIGIN). */
  SOURCE_ADDRESS: 0x0004,
  /** RFC 3489 §11.2.3 (deprecated; read only, superseded by OTHER-ADDRESS). */
  CHANGED_ADDRESS: 0x0005,
  /** RFC 8489 §14.3. */
  USERNAME: 0x0006,
  /** RFC 8489 §14.5. */
  MESSAGE_INTEGRITY: 0x0008,
  /** RFC 8489 §14.8. */
  ERROR_CODE: 0x0009,
  /** RFC 8489 §14.9. */
  UNKNOWN_ATTRIBUTES: 0x000a,
  /** RFC 8489 §14.9. */
  REALM: 0x0014,
  /** RFC 8489 §14.10. */
  NONCE: 0x0015,
  /** RFC 8489 §14.6. */
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  /** RFC 8489 §14.12. */
  PASSWORD_ALGORITHM: 0x001d,
  /** RFC 8489 §14.4. */
  USERHASH: 0x001e,
  /** RFC 8489 §14.2. */
  XOR_MAPPED_ADDRESS: 0x0020,
  /** RFC 5780 §7.6. */
  PADDING: 0x0026,
  /** RFC 5780 §7.5. */
  RESPONSE_PORT: 0x0027,
  /** RFC 8489 §14.11. */
  PASSWORD_ALGORITHMS: 0x8002,
  /** RFC 8489 §14.16. */
  ALTERNATE_DOMAIN: 0x8003,
  /** RFC 8489 §14.14. */
  SOFTWARE: 0x8022,
  /** RFC 8489 §14.15. */
  ALTERNATE_SERVER: 0x8023,
  /** RFC 8489 §14.7. */
  FINGERPRINT: 0x8028,
  /** RFC 5780 §7.3. */
  RESPONSE_ORIGIN: 0x802b,
  /** RFC 5780 §7.4. */
  OTHER_ADDRESS: 0x802c,
} as const;

/** Whether an attribute type is comprehension-required (0x0000–0x7FFF). RFC 8489 §14. */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

/**
 * Numeric ERROR-CODE values of STUN error responses (300–699), not porthole's string error codes.
 * RFC 8489 §14.8, RFC 5780 §6.
 */
export const StunStatusCode = {
  TRY_ALTERNATE: 300,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  UNKNOWN_ATTRIBUTE: 420,
  STALE_NONCE: 438,
  SERVER_ERROR: 500,
} as const;

/** Default reason phrases of {@link StunStatusCode}. RFC 8489 §14.8. */
export const STUN_REASON_PHRASES: ReadonlyMap<number, string> = new Map([
  [300, 'Try Alternate'],
  [400, 'Bad Request'],
  [401, 'Unauthenticated'],
  [403, 'Forbidden'],
  [420, 'Unknown Attribute'],
  [438, 'Stale Nonce'],
  [500, 'Server Error'],
]);

/**
 * The 16-bit message type of `method` and `cls` (the class bits interleaved with the method bits).
 * RFC 8489 §5, Figure 3.
 */
export function encodeMessageType(method: number, cls: StunClassType): number {
  return (
    (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((cls & 1) << 4) |
    ((cls & 2) << 7)
  );
}

/** The method (12 bits) of a 14-bit message type. RFC 8489 §5. */
export function methodOfType(type: number): number {
  return (type & 0x000f) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0f80);
}

/** The class of a 14-bit message type. RFC 8489 §5. */
export function classOfType(type: number): StunClassType {
  return (((type >> 4) & 1) | ((type >> 7) & 2)) as StunClassType;
}
