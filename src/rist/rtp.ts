/**
 * RTP fixed header (RFC 3550 §5.1) as RIST carries it: MPEG-TS payload (PT 33), the SSRC's least
 * significant bit set on retransmissions (TR-06-1 §5.3.2).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |   CSRC list (CC × 4 bytes), header extension (X), payload,     |
 * |   padding (P: the last byte counts the padding bytes)          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { RistParseCode } from './errors.ts';

/** Size of the fixed RTP header, bytes. */
export const RTP_HEADER_BYTES = 12;

/** A decoded RTP packet; `payload` is a slice of the received Buffer. */
export interface RtpPacket {
  readonly payloadType: number;
  readonly marker: boolean;
  /** 16-bit sequence number. */
  readonly seq: number;
  readonly timestamp: number;
  /** The SSRC as sent (a retransmission has its least significant bit set). */
  readonly ssrc: number;
  /** Whether the SSRC's least significant bit marks a retransmission (TR-06-1 §5.3.2). */
  readonly retransmit: boolean;
  readonly payload: Buffer;
}

/**
 * Decodes one RTP datagram.
 * @throws ParseError `ERR_RIST_TRUNCATED`, `ERR_RIST_VERSION`, `ERR_RIST_LENGTH`.
 */
export function decodeRtp(data: Buffer): RtpPacket {
  if (data.length < RTP_HEADER_BYTES) {
    throw new ParseError(RistParseCode.TRUNCATED, 'RTP packet shorter than its 12-byte header', data.length);
  }
  const b0 = data[0] as number;
  if (b0 >> 6 !== 2) throw new ParseError(RistParseCode.VERSION, 'RTP version is not 2', 0);
  let offset = RTP_HEADER_BYTES + (b0 & 0x0f) * 4;
  if (offset > data.length)
    throw new ParseError(RistParseCode.TRUNCATED, 'RTP CSRC list past the end', data.length);
  if ((b0 & 0x10) !== 0) {
    if (offset + 4 > data.length) {
      throw new ParseError(RistParseCode.TRUNCATED, 'RTP header extension past the end', data.length);
    }
    const field = offset + 2;
    offset += 4 + data.readUInt16BE(field) * 4;
    if (offset > data.length)
      throw new ParseError(RistParseCode.LENGTH, 'RTP header extension length', field);
  }
  let end = data.length;
  if ((b0 & 0x20) !== 0) {
    const padding = data[end - 1] as number;
    if (padding === 0 || end - padding < offset) {
      throw new ParseError(RistParseCode.LENGTH, 'RTP padding count does not fit', end - 1);
    }
    end -= padding;
  }
  const b1 = data[1] as number;
  const ssrc = data.readUInt32BE(8);
  return {
    payloadType: b1 & 0x7f,
    marker: (b1 & 0x80) !== 0,
    seq: data.readUInt16BE(2),
    timestamp: data.readUInt32BE(4),
    ssrc,
    retransmit: (ssrc & 1) === 1,
    payload: data.subarray(offset, end),
  };
}

/** Writes a fixed RTP header (no CSRC, no extension) at the start of `into`. */
export function writeRtpHeader(
  into: Buffer,
  payloadType: number,
  seq: number,
  timestamp: number,
  ssrc: number,
): void {
  into[0] = 0x80;
  into[1] = payloadType & 0x7f;
  into.writeUInt16BE(seq & 0xffff, 2);
  into.writeUInt32BE(timestamp >>> 0, 4);
  into.writeUInt32BE(ssrc >>> 0, 8);
}

/** Whether a datagram looks like RTP/RTCP (version 2); never throws. */
export function isRtpVersion2(data: Uint8Array): boolean {
  return data.length >= 4 && (data[0] as number) >> 6 === 2;
}
