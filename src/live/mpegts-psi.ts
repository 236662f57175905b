/**
 * Program-specific information: the PAT and the PMT (ISO/IEC 13818-1 §2.4.4), their CRC-32
 * (Annex A: polynomial 0x04C11DB7, initial 0xFFFFFFFF, no reflection, no final XOR), and the
 * assembly of a section from the payloads of the packets of its PID (§2.4.4.2 pointer_field).
 *
 * ```
 *  section: table_id u8 | SSI 1 | 0 | 11 | section_length 12 | ...syntax part... | CRC_32
 *  PAT: transport_stream_id u16 | 11 version 5 cni 1 | section u8 | last u8 |
 *       { program_number u16 | 111 PID 13 }*  (program 0: the network PID)
 *  PMT: program_number u16 | 11 version 5 cni 1 | section u8 | last u8 | 111 PCR_PID 13 |
 *       1111 program_info_length 12 | descriptors | { stream_type u8 | 111 PID 13 | 1111 ES_info_length 12 | descriptors }*
 * ```
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { MpegTsParseCode } from './errors.ts';

/** table_id of a PAT section. */
export const PAT_TABLE_ID = 0x00;
/** table_id of a PMT section. */
export const PMT_TABLE_ID = 0x02;
/** Largest section_length of a PAT or PMT (§2.4.4.3, §2.4.4.8). */
export const PSI_MAX_SECTION_LENGTH = 1021;
/** stream_type of H.264 / AVC video (§2.4.4.9, Table 2-34). */
export const STREAM_TYPE_H264 = 0x1b;
/** stream_type of H.265 / HEVC video. */
export const STREAM_TYPE_HEVC = 0x24;
/** stream_types of MPEG-1 and MPEG-2 video. */
export const STREAM_TYPE_MPEG1_VIDEO = 0x01;
export const STREAM_TYPE_MPEG2_VIDEO = 0x02;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** CRC-32/MPEG-2 of `data[start..end)`. A whole section including its CRC gives 0. */
export function crc32Mpeg(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ data[i]!) & 0xff]!) >>> 0;
  return crc >>> 0;
}

/** A program of the PAT. */
export interface PatProgram {
  readonly programNumber: number;
  readonly pmtPid: number;
}

/** A decoded PAT section. */
export interface Pat {
  readonly transportStreamId: number;
  readonly version: number;
  readonly programs: readonly PatProgram[];
}

/** An elementary stream of the PMT. */
export interface PmtStream {
  readonly streamType: number;
  readonly pid: number;
}

/** A decoded PMT section. */
export interface Pmt {
  readonly programNumber: number;
  readonly version: number;
  readonly pcrPid: number;
  readonly streams: readonly PmtStream[];
}

/**
 * Checks the common long-form header and the CRC of the section at `data[0..]` and returns its
 * total length (3 + section_length).
 * @throws ParseError `ERR_LIVE_TS_TRUNCATED`, `ERR_LIVE_TS_BAD_SECTION`, `ERR_LIVE_TS_BAD_CRC`.
 */
function checkSection(data: Uint8Array, tableId: number, minLength: number): number {
  if (data.length < 3)
    throw new ParseError(MpegTsParseCode.TRUNCATED, 'a section header needs 3 bytes', data.length);
  if (data[0] !== tableId) throw new ParseError(MpegTsParseCode.BAD_SECTION, `table_id ${data[0]}`, 0);
  if ((data[1]! & 0x80) === 0)
    throw new ParseError(MpegTsParseCode.BAD_SECTION, 'section_syntax_indicator 0', 1);
  const length = ((data[1]! & 0x0f) << 8) | data[2]!;
  if (length > PSI_MAX_SECTION_LENGTH || length < minLength) {
    throw new ParseError(MpegTsParseCode.BAD_SECTION, `section_length ${length}`, 1);
  }
  if (data.length < 3 + length) {
    throw new ParseError(MpegTsParseCode.TRUNCATED, `section_length ${length} past the data`, data.length);
  }
  if (crc32Mpeg(data, 0, 3 + length) !== 0) {
    throw new ParseError(MpegTsParseCode.BAD_CRC, 'section CRC-32 mismatch', 3 + length - 4);
  }
  return 3 + length;
}

/**
 * Decodes a PAT section (starting at its table_id; bytes after the section are ignored).
 * @throws ParseError `ERR_LIVE_TS_TRUNCATED`, `ERR_LIVE_TS_BAD_SECTION` (table id, syntax bit,
 *   length not 9 + 4n), `ERR_LIVE_TS_BAD_CRC`.
 */
export function parsePat(data: Uint8Array): Pat {
  const total = checkSection(data, PAT_TABLE_ID, 9);
  const loopEnd = total - 4;
  if ((loopEnd - 8) % 4 !== 0) throw new ParseError(MpegTsParseCode.BAD_SECTION, 'PAT loop not 4n bytes', 1);
  const programs: PatProgram[] = [];
  for (let i = 8; i < loopEnd; i += 4) {
    const programNumber = (data[i]! << 8) | data[i + 1]!;
    const pid = ((data[i + 2]! & 0x1f) << 8) | data[i + 3]!;
    if (programNumber !== 0) programs.push({ programNumber, pmtPid: pid });
  }
  return {
    transportStreamId: (data[3]! << 8) | data[4]!,
    version: (data[5]! >>> 1) & 0x1f,
    programs,
  };
}

/**
 * Decodes a PMT section.
 * @throws ParseError `ERR_LIVE_TS_TRUNCATED`, `ERR_LIVE_TS_BAD_SECTION` (table id, syntax bit, a
 *   descriptor loop past the section), `ERR_LIVE_TS_BAD_CRC`.
 */
export function parsePmt(data: Uint8Array): Pmt {
  const total = checkSection(data, PMT_TABLE_ID, 13);
  const loopEnd = total - 4;
  const infoLength = ((data[10]! & 0x0f) << 8) | data[11]!;
  let i = 12 + infoLength;
  if (i > loopEnd)
    throw new ParseError(MpegTsParseCode.BAD_SECTION, 'program_info_length past the section', 10);
  const streams: PmtStream[] = [];
  while (i < loopEnd) {
    if (loopEnd - i < 5) throw new ParseError(MpegTsParseCode.BAD_SECTION, 'a short stream entry', i);
    const streamType = data[i]!;
    const pid = ((data[i + 1]! & 0x1f) << 8) | data[i + 2]!;
    const esInfo = ((data[i + 3]! & 0x0f) << 8) | data[i + 4]!;
    i += 5 + esInfo;
    if (i > loopEnd)
      throw new ParseError(MpegTsParseCode.BAD_SECTION, 'ES_info_length past the section', i - esInfo - 2);
    streams.push({ streamType, pid });
  }
  return {
    programNumber: (data[3]! << 8) | data[4]!,
    version: (data[5]! >>> 1) & 0x1f,
    pcrPid: ((data[8]! & 0x1f) << 8) | data[9]!,
    streams,
  };
}

/** Whether `streamType` is a video stream the source recognises. */
export function isVideoStreamType(streamType: number): boolean {
  return (
    streamType === STREAM_TYPE_H264 ||
    streamType === STREAM_TYPE_HEVC ||
    streamType === STREAM_TYPE_MPEG2_VIDEO ||
    streamType === STREAM_TYPE_MPEG1_VIDEO
  );
}

/**
 * Collects the first section of a PID's packets (§2.4.4.2: pointer_field in a payload that starts
 * one). Bounded: a section longer than 3 + {@link PSI_MAX_SECTION_LENGTH} bytes is abandoned.
 * Returns a whole section (its first 3 + section_length bytes) when one completes.
 */
export class SectionAssembler {
  readonly #buf = Buffer.alloc(3 + PSI_MAX_SECTION_LENGTH + 188);
  #length = 0;
  #active = false;
  /** Sections abandoned: too long, or a packet lost in the middle. */
  abandoned = 0;

  /**
   * Feeds the payload of one packet of the PID. Returns the completed section (a slice of an
   * internal buffer, valid until the next call) or undefined.
   */
  push(payload: Uint8Array, unitStart: boolean): Buffer | undefined {
    let from = 0;
    if (unitStart) {
      if (payload.length < 1) return undefined;
      from = 1 + payload[0]!;
      if (from > payload.length) {
        this.#active = false;
        this.abandoned++;
        return undefined;
      }
      this.#length = 0;
      this.#active = true;
    } else if (!this.#active) {
      return undefined;
    }
    const room = this.#buf.length - this.#length;
    const take = Math.min(room, payload.length - from);
    this.#buf.set(payload.subarray(from, from + take), this.#length);
    this.#length += take;
    if (this.#length < 3) return undefined;
    if (this.#buf[0] === 0xff) {
      this.#active = false; // stuffing: no section here
      return undefined;
    }
    const total = 3 + (((this.#buf[1]! & 0x0f) << 8) | this.#buf[2]!);
    if (total > 3 + PSI_MAX_SECTION_LENGTH) {
      this.#active = false;
      this.abandoned++;
      return undefined;
    }
    if (this.#length < total) return undefined;
    this.#active = false;
    return this.#buf.subarray(0, total);
  }

  /** Drops a section in progress (a continuity error on its PID). */
  reset(): void {
    if (this.#active) this.abandoned++;
    this.#active = false;
    this.#length = 0;
  }
}
