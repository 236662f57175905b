/**
 * The DTLS record header. RFC 6347 §4.1:
 *
 * ```
 *  0      1      2      3      4      5      6      7      8      9     10     11     12
 * +------+------+------+------+------+------+------+------+------+------+------+------+------+
 * | type |   version   |    epoch    |          sequence_number (48 bits)      |   length    |
 * +------+------+------+------+------+------+------+------+------+------+------+------+------+
 * ```
 *
 * A tls12_cid record (type 25, RFC 9146 §4) carries the connection ID between sequence_number and
 * length; its length is not on the wire, the receiver knows the one it gave out:
 *
 * ```
 * | 25 | version | epoch | sequence_number | cid (cid_length bytes) | length | enc_content |
 * ```
 *
 * A datagram carries one or more records back to back. The decoder fills a caller-owned view
 * (no allocation per record); the fragment is a slice of the received Buffer.
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { ContentType, DTLS_1_0, DTLS_1_2, MAX_PLAINTEXT_BYTES, RECORD_HEADER_BYTES } from './constants.ts';
import { DtlsErrorCode } from './errors.ts';

/** One record of a datagram, filled by {@link readRecord}. */
export interface RecordView {
  type: number;
  version: number;
  epoch: number;
  /** 48-bit sequence number (exact in a double). */
  sequence: number;
  /** Offset of the connection ID in the datagram (tls12_cid records; else the length's offset). */
  cidOffset: number;
  /** Length of the connection ID (0 but for tls12_cid records). */
  cidLength: number;
  /** Offset of the fragment in the datagram. */
  fragmentOffset: number;
  /** Length of the fragment. */
  fragmentLength: number;
}

/** A fresh, zeroed {@link RecordView}. */
export function createRecordView(): RecordView {
  return {
    type: 0,
    version: 0,
    epoch: 0,
    sequence: 0,
    cidOffset: 0,
    cidLength: 0,
    fragmentOffset: 0,
    fragmentLength: 0,
  };
}

/** Largest fragment a record may carry: plaintext plus 2048 of expansion. RFC 5246 §6.2.3. */
const MAX_FRAGMENT_BYTES = MAX_PLAINTEXT_BYTES + 2048;

/**
 * Reads the record at `offset` of `data` into `out` and returns the offset after it. A tls12_cid
 * record's connection ID is `cidLength` bytes (the length this receiver gave out; 0 when none).
 * @throws ParseError `ERR_DTLS_BAD_RECORD` for a short header, a length past the datagram, an
 *   oversized fragment, or a version that is not DTLS 1.0/1.2.
 */
export function readRecord(data: Buffer, offset: number, out: RecordView, cidLength = 0): number {
  const cid = data[offset] === ContentType.TLS12_CID ? cidLength : 0;
  const header = RECORD_HEADER_BYTES + cid;
  if (data.length - offset < header) {
    throw new ParseError(DtlsErrorCode.BAD_RECORD, 'datagram ends inside a record header', offset);
  }
  const version = data.readUInt16BE(offset + 1);
  if (version !== DTLS_1_2 && version !== DTLS_1_0) {
    throw new ParseError(
      DtlsErrorCode.BAD_RECORD,
      `record version 0x${version.toString(16)} is not DTLS`,
      offset + 1,
    );
  }
  const length = data.readUInt16BE(offset + 11 + cid);
  if (length > MAX_FRAGMENT_BYTES) {
    throw new ParseError(
      DtlsErrorCode.BAD_RECORD,
      `record length ${length} exceeds ${MAX_FRAGMENT_BYTES}`,
      offset + 11 + cid,
    );
  }
  const start = offset + header;
  if (data.length - start < length) {
    throw new ParseError(
      DtlsErrorCode.BAD_RECORD,
      `record length ${length} runs past the datagram`,
      offset + 11 + cid,
    );
  }
  out.type = data[offset]!;
  out.version = version;
  out.epoch = data.readUInt16BE(offset + 3);
  out.sequence = data.readUInt16BE(offset + 5) * 0x1_0000_0000 + data.readUInt32BE(offset + 7);
  out.cidOffset = offset + 11;
  out.cidLength = cid;
  out.fragmentOffset = start;
  out.fragmentLength = length;
  return start + length;
}

/** Writes a record header at `offset` of `out`. */
export function writeRecordHeader(
  out: Buffer,
  offset: number,
  type: number,
  epoch: number,
  sequence: number,
  length: number,
): void {
  out[offset] = type;
  out.writeUInt16BE(DTLS_1_2, offset + 1);
  out.writeUInt16BE(epoch, offset + 3);
  out.writeUInt16BE(Math.floor(sequence / 0x1_0000_0000), offset + 5);
  out.writeUInt32BE(sequence >>> 0, offset + 7);
  out.writeUInt16BE(length, offset + 11);
}

/** Whether `data` looks like a DTLS record (first byte 20–63 and a DTLS version). Never throws. */
export function isDtlsRecord(data: Uint8Array): boolean {
  if (data.length < RECORD_HEADER_BYTES) return false;
  const first = data[0]!;
  if (first < 20 || first > 63) return false;
  return data[1] === 0xfe && (data[2] === 0xfd || data[2] === 0xff);
}
