/**
 * The start of a PES packet (ISO/IEC 13818-1 §2.4.3.6) and the random-access test on the video
 * elementary stream that follows it: H.264 IDR (NAL type 5, ITU-T H.264 §7.4.1.2) or HEVC IRAP
 * (NAL types 16–23, ITU-T H.265 §7.4.2.2), read from the first VCL NAL unit of the access unit.
 *
 * ```
 *  PES: 00 00 01 | stream_id u8 | PES_packet_length u16 | 10 flags(6) | PTS_DTS 2 flags(6) |
 *       PES_header_data_length u8 | [PTS 5 bytes] [DTS 5 bytes] ... | elementary stream
 * ```
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { MpegTsParseCode } from './errors.ts';
import { STREAM_TYPE_H264, STREAM_TYPE_HEVC } from './mpegts-psi.ts';

/** What {@link readPesHeader} found. */
export interface PesHeader {
  /** stream_id. */
  readonly streamId: number;
  /** Offset (in the data given) of the first elementary-stream byte. */
  readonly esStart: number;
  /** Presentation time stamp, 90 kHz, or -1. */
  readonly pts: number;
  /** Decoding time stamp, 90 kHz, or -1 (equal to the PTS when absent). */
  readonly dts: number;
}

/** stream_ids without the optional PES header (§2.4.3.7: padding, private 2, ECM, EMM, DSM-CC, ...). */
function hasOptionalHeader(streamId: number): boolean {
  return !(
    streamId === 0xbc ||
    streamId === 0xbe ||
    streamId === 0xbf ||
    streamId === 0xf0 ||
    streamId === 0xf1 ||
    streamId === 0xff ||
    streamId === 0xf2 ||
    streamId === 0xf8
  );
}

/**
 * Reads the PES header at `data[start..end)` (the payload of a packet that starts a unit).
 * @throws ParseError `ERR_LIVE_TS_TRUNCATED` (a header past `end`), `ERR_LIVE_TS_BAD_PES` (no
 *   00 00 01 prefix, the '10' marker bits missing, PTS flags 01).
 */
export function readPesHeader(data: Uint8Array, start: number, end: number): PesHeader {
  if (end - start < 6) throw new ParseError(MpegTsParseCode.TRUNCATED, 'a PES header needs 6 bytes', end);
  if (data[start] !== 0 || data[start + 1] !== 0 || data[start + 2] !== 1) {
    throw new ParseError(MpegTsParseCode.BAD_PES, 'no PES start code prefix', start);
  }
  const streamId = data[start + 3]!;
  if (!hasOptionalHeader(streamId)) return { streamId, esStart: start + 6, pts: -1, dts: -1 };
  if (end - start < 9) throw new ParseError(MpegTsParseCode.TRUNCATED, 'a PES header needs 9 bytes', end);
  if ((data[start + 6]! & 0xc0) !== 0x80) {
    throw new ParseError(MpegTsParseCode.BAD_PES, "PES header marker bits are not '10'", start + 6);
  }
  const ptsDts = data[start + 7]! >>> 6;
  if (ptsDts === 1) throw new ParseError(MpegTsParseCode.BAD_PES, 'PTS_DTS_flags 01 is forbidden', start + 7);
  const esStart = start + 9 + data[start + 8]!;
  if (esStart > end)
    throw new ParseError(MpegTsParseCode.TRUNCATED, 'PES_header_data_length past the packet', start + 8);
  const need = ptsDts === 3 ? 10 : ptsDts === 2 ? 5 : 0;
  if (data[start + 8]! < need) {
    throw new ParseError(
      MpegTsParseCode.BAD_PES,
      'PES_header_data_length too short for its time stamps',
      start + 8,
    );
  }
  const pts = ptsDts >= 2 ? readTimestamp(data, start + 9) : -1;
  const dts = ptsDts === 3 ? readTimestamp(data, start + 14) : pts;
  return { streamId, esStart, pts, dts };
}

/** A 33-bit PTS/DTS from its 5 bytes (marker bits ignored). */
function readTimestamp(data: Uint8Array, at: number): number {
  return (
    ((data[at]! >>> 1) & 0x07) * 2 ** 30 +
    (data[at + 1]! << 22) +
    ((data[at + 2]! >>> 1) << 15) +
    (data[at + 3]! << 7) +
    (data[at + 4]! >>> 1)
  );
}

/** The codec families whose random-access points {@link AccessUnitScanner} recognises. */
export const VideoCodec = {
  H264: 'h264',
  HEVC: 'hevc',
  /** Anything else: only the adaptation field's random_access_indicator tells. */
  OTHER: 'other',
} as const;
/** One of the {@link VideoCodec} values. */
export type VideoCodecType = (typeof VideoCodec)[keyof typeof VideoCodec];

/** The codec of a PMT stream_type. */
export function codecOfStreamType(streamType: number): VideoCodecType {
  return streamType === STREAM_TYPE_H264
    ? VideoCodec.H264
    : streamType === STREAM_TYPE_HEVC
      ? VideoCodec.HEVC
      : VideoCodec.OTHER;
}

/** What {@link AccessUnitScanner.feed} decided about the access unit. */
export const AccessUnitKind = {
  /** No VCL NAL unit seen yet: feed more. */
  UNKNOWN: 0,
  /** The first VCL NAL unit is an IDR (H.264) or IRAP (HEVC) picture. */
  RANDOM_ACCESS: 1,
  /** The first VCL NAL unit is another picture. */
  OTHER: 2,
} as const;
/** One of the {@link AccessUnitKind} values. */
export type AccessUnitKindType = (typeof AccessUnitKind)[keyof typeof AccessUnitKind];

/**
 * Finds the first VCL NAL unit of an access unit across any number of byte runs (start codes may
 * straddle TS packets). Sans-allocation; total; `reset(codec)` at each PES start.
 */
export class AccessUnitScanner {
  #codec: VideoCodecType = VideoCodec.OTHER;
  #zeros = 0;
  #header = false;
  #decided: AccessUnitKindType = AccessUnitKind.UNKNOWN;
  /** Elementary-stream bytes fed since the reset. */
  scanned = 0;

  /** Starts a new access unit of `codec`. */
  reset(codec: VideoCodecType): void {
    this.#codec = codec;
    this.#zeros = 0;
    this.#header = false;
    this.#decided = codec === VideoCodec.OTHER ? AccessUnitKind.OTHER : AccessUnitKind.UNKNOWN;
    this.scanned = 0;
  }

  /** The decision so far. */
  get kind(): AccessUnitKindType {
    return this.#decided;
  }

  /** Scans `data[start..end)`; returns the decision so far. */
  feed(data: Uint8Array, start: number, end: number): AccessUnitKindType {
    if (this.#decided !== AccessUnitKind.UNKNOWN) return this.#decided;
    this.scanned += Math.max(0, end - start);
    let zeros = this.#zeros;
    for (let i = start; i < end; i++) {
      const b = data[i]!;
      if (this.#header) {
        this.#header = false;
        const kind = this.#classify(b);
        if (kind !== AccessUnitKind.UNKNOWN) {
          this.#decided = kind;
          return kind;
        }
        zeros = b === 0 ? 1 : 0;
        continue;
      }
      if (b === 0) zeros++;
      else {
        if (b === 1 && zeros >= 2) this.#header = true;
        zeros = 0;
      }
    }
    this.#zeros = zeros;
    return AccessUnitKind.UNKNOWN;
  }

  /** The first byte of a NAL unit header. */
  #classify(b: number): AccessUnitKindType {
    if (this.#codec === VideoCodec.H264) {
      const type = b & 0x1f;
      if (type === 5) return AccessUnitKind.RANDOM_ACCESS;
      return type >= 1 && type <= 4 ? AccessUnitKind.OTHER : AccessUnitKind.UNKNOWN;
    }
    const type = (b >>> 1) & 0x3f;
    if (type >= 16 && type <= 23) return AccessUnitKind.RANDOM_ACCESS;
    return type < 32 ? AccessUnitKind.OTHER : AccessUnitKind.UNKNOWN;
  }
}
