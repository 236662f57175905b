/**
 * The DTLS handshake header and fragments. RFC 6347 §4.2.2:
 *
 * ```
 * +--------+------------------+-------------+--------------------+--------------------+
 * | type 1 | length 3         | msg_seq 2   | fragment_offset 3  | fragment_length 3  |
 * +--------+------------------+-------------+--------------------+--------------------+
 * ```
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { HANDSHAKE_HEADER_BYTES } from './constants.ts';
import { DtlsErrorCode } from './errors.ts';

/** One handshake fragment as read from a record. */
export interface HandshakeFragment {
  readonly type: number;
  /** Length of the whole message. */
  readonly length: number;
  readonly messageSeq: number;
  readonly fragmentOffset: number;
  /** The fragment bytes (a slice of the record). */
  readonly body: Buffer;
}

/**
 * Reads the fragment at `offset` of a handshake record's plaintext; returns it and where the next
 * starts.
 * @throws ParseError `ERR_DTLS_BAD_HANDSHAKE` for a short header, a fragment past the record, or a
 *   fragment reaching past the message length.
 */
export function readFragment(data: Buffer, offset: number): { fragment: HandshakeFragment; next: number } {
  if (data.length - offset < HANDSHAKE_HEADER_BYTES) {
    throw new ParseError(DtlsErrorCode.BAD_HANDSHAKE, 'record ends inside a handshake header', offset);
  }
  const type = data[offset]!;
  const length = data.readUIntBE(offset + 1, 3);
  const messageSeq = data.readUInt16BE(offset + 4);
  const fragmentOffset = data.readUIntBE(offset + 6, 3);
  const fragmentLength = data.readUIntBE(offset + 9, 3);
  const start = offset + HANDSHAKE_HEADER_BYTES;
  if (data.length - start < fragmentLength) {
    throw new ParseError(DtlsErrorCode.BAD_HANDSHAKE, 'handshake fragment runs past its record', offset + 9);
  }
  if (fragmentOffset + fragmentLength > length) {
    throw new ParseError(
      DtlsErrorCode.BAD_HANDSHAKE,
      'handshake fragment reaches past its message',
      offset + 6,
    );
  }
  return {
    fragment: {
      type,
      length,
      messageSeq,
      fragmentOffset,
      body: data.subarray(start, start + fragmentLength),
    },
    next: start + fragmentLength,
  };
}

/** Header plus body of a fragment (the whole message when `offset` is 0 and `length` the body's). */
export function encodeFragment(
  type: number,
  messageSeq: number,
  body: Buffer,
  offset: number,
  length: number,
): Buffer {
  const out = Buffer.allocUnsafe(HANDSHAKE_HEADER_BYTES + length);
  out[0] = type;
  out.writeUIntBE(body.length, 1, 3);
  out.writeUInt16BE(messageSeq, 4);
  out.writeUIntBE(offset, 6, 3);
  out.writeUIntBE(length, 9, 3);
  body.copy(out, HANDSHAKE_HEADER_BYTES, offset, offset + length);
  return out;
}

/** The whole message with its header, as the transcript hashes it (offset 0, full length). */
export function encodeMessage(type: number, messageSeq: number, body: Buffer): Buffer {
  return encodeFragment(type, messageSeq, body, 0, body.length);
}
