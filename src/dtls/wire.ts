/**
 * Small helpers to write TLS vectors (`opaque x<0..2^n-1>`) for the handshake encoders. Handshake
 * messages are built a few times per session, never per record, so clarity wins over speed here.
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { FrameReader } from '../internal/frame-reader.ts';
import { DtlsErrorCode } from './errors.ts';

/** A big-endian unsigned integer of `bytes` (1–3) bytes. */
export function uint(value: number, bytes: 1 | 2 | 3): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  out.writeUIntBE(value, 0, bytes);
  return out;
}

/** `body` prefixed with its length in `bytes` bytes. */
export function vector(body: Uint8Array, bytes: 1 | 2 | 3): Buffer {
  return Buffer.concat([uint(body.length, bytes), body]);
}

/** A list of 16-bit values as a vector with a 2-byte (or 1-byte) length. */
export function u16List(values: readonly number[], lengthBytes: 1 | 2 = 2): Buffer {
  const body = Buffer.allocUnsafe(values.length * 2);
  values.forEach((v, i) => {
    body.writeUInt16BE(v, i * 2);
  });
  return vector(body, lengthBytes);
}

/** A reader of handshake bodies whose short reads throw `ERR_DTLS_BAD_HANDSHAKE`. */
export function handshakeReader(data: Buffer, offset = 0): FrameReader {
  return new FrameReader(data, offset, DtlsErrorCode.BAD_HANDSHAKE);
}

/** Reads `opaque x<min..max>` with a `bytes`-byte length. */
export function readVector(
  r: FrameReader,
  bytes: 1 | 2 | 3,
  what: string,
  min = 0,
  max = Number.POSITIVE_INFINITY,
): Buffer {
  const at = r.offset;
  const length = bytes === 1 ? r.u8(what) : bytes === 2 ? r.u16(what) : r.u8(what) * 0x10000 + r.u16(what);
  if (length < min || length > max) {
    throw new ParseError(DtlsErrorCode.BAD_HANDSHAKE, `${what} length ${length} outside ${min}-${max}`, at);
  }
  return r.bytes(length, what);
}

/** Reads a vector of 16-bit values. */
export function readU16List(r: FrameReader, lengthBytes: 1 | 2, what: string, min = 0): number[] {
  const at = r.offset;
  const body = readVector(r, lengthBytes, what, min);
  if (body.length % 2 !== 0)
    throw new ParseError(DtlsErrorCode.BAD_HANDSHAKE, `${what} has an odd length`, at);
  const out: number[] = [];
  for (let i = 0; i < body.length; i += 2) out.push(body.readUInt16BE(i));
  return out;
}

/** Throws `ERR_DTLS_BAD_HANDSHAKE` at `at` saying `message`. */
export function badHandshake(message: string, at: number): never {
  throw new ParseError(DtlsErrorCode.BAD_HANDSHAKE, message, at);
}
