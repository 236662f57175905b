import { ParseError } from '../errors/index.ts';
import { PortholeFrame } from '../mux/index.ts';
import { ServerErrorCode } from './errors.ts';

/**
 * Server frames: porthole frame type `SERVER_COOKIE` (0x08, see docs/mux.md), used for the
 * stateless address-verification handshake and for the connected-mode drain marker.
 *
 * ```
 *  0        1        2
 * +--------+--------+------------------------------------------+
 * |  0x08  |  kind  |  body (by kind)                          |
 * +--------+--------+------------------------------------------+
 *
 * HELLO  (1) client → server   body: 20 zero bytes (pads the hello to the cookie's size)
 * COOKIE (2) server → client   body: period u32 | mac 16 bytes
 * ECHO   (3) client → server   body: period u32 | mac 16 bytes (the cookie, returned)
 * ACCEPT (4) server → client   body: none — the source now has a session
 * MARKER (5) server → itself   body: token 8 bytes | sequence u32
 * ```
 * The cookie exchange follows DTLS HelloVerifyRequest (RFC 6347 §4.2.1) and QUIC Retry
 * (RFC 9000 §8.1.2): the server keeps no state until the client proves it receives at its address.
 * @module
 */

/** Kinds of server frame (the second byte). */
export const ServerFrameKind = {
  HELLO: 1,
  COOKIE: 2,
  ECHO: 3,
  ACCEPT: 4,
  MARKER: 5,
} as const;
/** One of the {@link ServerFrameKind} values. */
export type ServerFrameKindValue = (typeof ServerFrameKind)[keyof typeof ServerFrameKind];

/** Bytes of the MAC carried by a cookie (HMAC-SHA256 truncated). */
export const COOKIE_MAC_BYTES = 16;
/** Bytes of a HELLO, COOKIE and ECHO frame. */
export const COOKIE_FRAME_BYTES = 2 + 4 + COOKIE_MAC_BYTES;
/** Bytes of an ACCEPT frame. */
export const ACCEPT_FRAME_BYTES = 2;
/** Bytes of the random token that marks one server's drain markers. */
export const MARKER_TOKEN_BYTES = 8;
/** Bytes of a MARKER frame. */
export const MARKER_FRAME_BYTES = 2 + MARKER_TOKEN_BYTES + 4;

/** A decoded server frame; `mac` and `token` are slices of the input. */
export type ServerFrame =
  | { readonly kind: typeof ServerFrameKind.HELLO }
  | {
      readonly kind: typeof ServerFrameKind.COOKIE | typeof ServerFrameKind.ECHO;
      readonly period: number;
      readonly mac: Buffer;
    }
  | { readonly kind: typeof ServerFrameKind.ACCEPT }
  | { readonly kind: typeof ServerFrameKind.MARKER; readonly token: Buffer; readonly sequence: number };

const MIN_BYTES: readonly number[] = [
  0,
  COOKIE_FRAME_BYTES,
  COOKIE_FRAME_BYTES,
  COOKIE_FRAME_BYTES,
  ACCEPT_FRAME_BYTES,
  MARKER_FRAME_BYTES,
];

/** Whether `data` starts with the server frame type (never throws). */
export function isServerFrame(data: Uint8Array): boolean {
  return data.length > 0 && data[0] === PortholeFrame.SERVER_COOKIE;
}

/**
 * Decodes one server frame. Bytes past the frame's size are ignored (room for extensions).
 * @throws ParseError `ERR_SERVER_FRAME_TRUNCATED` (too short), `ERR_SERVER_FRAME_KIND` (not 0x08,
 *   or an unknown kind).
 */
export function decodeServerFrame(data: Buffer): ServerFrame {
  if (data.length < 2)
    throw new ParseError(ServerErrorCode.FRAME_TRUNCATED, 'server frame shorter than 2 bytes', data.length);
  if (data[0] !== PortholeFrame.SERVER_COOKIE) {
    throw new ParseError(ServerErrorCode.FRAME_KIND, `first byte ${data[0]} is not a server frame`, 0);
  }
  const kind = data[1]!;
  const min = MIN_BYTES[kind];
  if (min === undefined || kind === 0) {
    throw new ParseError(ServerErrorCode.FRAME_KIND, `unknown server frame kind ${kind}`, 1);
  }
  if (data.length < min) {
    throw new ParseError(
      ServerErrorCode.FRAME_TRUNCATED,
      `server frame kind ${kind} needs ${min} bytes`,
      data.length,
    );
  }
  switch (kind) {
    case ServerFrameKind.HELLO:
      return { kind };
    case ServerFrameKind.COOKIE:
    case ServerFrameKind.ECHO:
      return { kind, period: data.readUInt32BE(2), mac: data.subarray(6, 6 + COOKIE_MAC_BYTES) };
    case ServerFrameKind.ACCEPT:
      return { kind };
    default:
      return {
        kind: ServerFrameKind.MARKER,
        token: data.subarray(2, 2 + MARKER_TOKEN_BYTES),
        sequence: data.readUInt32BE(2 + MARKER_TOKEN_BYTES),
      };
  }
}

/** Encodes a HELLO frame (padded to {@link COOKIE_FRAME_BYTES} so the cookie reply never amplifies). */
export function encodeHello(): Buffer {
  const out = Buffer.alloc(COOKIE_FRAME_BYTES);
  out[0] = PortholeFrame.SERVER_COOKIE;
  out[1] = ServerFrameKind.HELLO;
  return out;
}

/** Encodes a COOKIE (server) or ECHO (client) frame. */
export function encodeCookieFrame(
  kind: typeof ServerFrameKind.COOKIE | typeof ServerFrameKind.ECHO,
  period: number,
  mac: Uint8Array,
): Buffer {
  const out = Buffer.allocUnsafe(COOKIE_FRAME_BYTES);
  out[0] = PortholeFrame.SERVER_COOKIE;
  out[1] = kind;
  out.writeUInt32BE(period >>> 0, 2);
  out.set(mac.subarray(0, COOKIE_MAC_BYTES), 6);
  return out;
}

/** Encodes an ACCEPT frame. */
export function encodeAccept(): Buffer {
  return Buffer.from([PortholeFrame.SERVER_COOKIE, ServerFrameKind.ACCEPT]);
}

/** Encodes a MARKER frame. */
export function encodeMarker(token: Uint8Array, sequence: number): Buffer {
  const out = Buffer.allocUnsafe(MARKER_FRAME_BYTES);
  out[0] = PortholeFrame.SERVER_COOKIE;
  out[1] = ServerFrameKind.MARKER;
  out.set(token.subarray(0, MARKER_TOKEN_BYTES), 2);
  out.writeUInt32BE(sequence >>> 0, 2 + MARKER_TOKEN_BYTES);
  return out;
}
