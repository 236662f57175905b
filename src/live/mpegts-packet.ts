/**
 * The MPEG-TS packet header and adaptation field (ISO/IEC 13818-1 §2.4.3.2–§2.4.3.5).
 *
 * ```
 *  byte 0      1                      2          3
 *  +--------+--+--+--+----------------+----------+----+----+--------+
 *  |  0x47  |TE|PU|TP|   PID (13 bits)           |SC  |AFC |   CC   |
 *  +--------+--+--+--+---------------------------+----+----+--------+
 *  AFC 01 payload only, 10 adaptation field only, 11 both, 00 reserved.
 *  adaptation field: length u8 | DI RAI ESPI PCR OPCR SP TPD EXT | PCR (6 bytes) ...
 *  PCR: base 33 bits (90 kHz) | 6 reserved | extension 9 bits (27 MHz)
 * ```
 *
 * {@link readTsPacket} fills a caller-owned {@link TsPacketInfo} (no allocation per packet) and
 * throws `ParseError` for a packet it cannot accept.
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { TS_PACKET_BYTES, TS_SYNC_BYTE } from './constants.ts';
import { MpegTsParseCode } from './errors.ts';

/** The PID of the Program Association Table. */
export const PAT_PID = 0x0000;
/** The null-packet PID (stuffing). */
export const NULL_PID = 0x1fff;

/** What {@link readTsPacket} found in one packet; reused from packet to packet. */
export interface TsPacketInfo {
  pid: number;
  /** payload_unit_start_indicator: a PES packet or a PSI section starts in this payload. */
  payloadUnitStart: boolean;
  /** transport_error_indicator. */
  transportError: boolean;
  /** continuity_counter, 0–15. */
  continuityCounter: number;
  /** Whether an adaptation field is present. */
  hasAdaptation: boolean;
  /** discontinuity_indicator of the adaptation field. */
  discontinuity: boolean;
  /** random_access_indicator of the adaptation field (§2.4.3.5). */
  randomAccess: boolean;
  /** Program clock reference in 27 MHz ticks, or -1 without one. */
  pcr: number;
  /** Index (in the buffer given) of the first payload byte. */
  payloadStart: number;
  /** Payload bytes (0 without payload). */
  payloadLength: number;
}

/** A fresh {@link TsPacketInfo} to pass to {@link readTsPacket}. */
export function createTsPacketInfo(): TsPacketInfo {
  return {
    pid: 0,
    payloadUnitStart: false,
    transportError: false,
    continuityCounter: 0,
    hasAdaptation: false,
    discontinuity: false,
    randomAccess: false,
    pcr: -1,
    payloadStart: 0,
    payloadLength: 0,
  };
}

/**
 * Reads the 188-byte packet at `offset` of `data` into `out` and returns it.
 * @throws ParseError `ERR_LIVE_TS_TRUNCATED` (fewer than 188 bytes left), `ERR_LIVE_TS_SYNC` (no
 *   0x47 at `offset`), `ERR_LIVE_TS_BAD_ADAPTATION` (reserved adaptation control, a length past the
 *   packet, a PCR flag in a field too short for it), each at the offending byte.
 */
export function readTsPacket(data: Uint8Array, offset: number, out: TsPacketInfo): TsPacketInfo {
  if (offset < 0 || data.length - offset < TS_PACKET_BYTES) {
    throw new ParseError(MpegTsParseCode.TRUNCATED, 'a TS packet needs 188 bytes', data.length);
  }
  if (data[offset] !== TS_SYNC_BYTE) throw new ParseError(MpegTsParseCode.SYNC, 'no TS sync byte', offset);
  const b1 = data[offset + 1]!;
  const b3 = data[offset + 3]!;
  out.transportError = (b1 & 0x80) !== 0;
  out.payloadUnitStart = (b1 & 0x40) !== 0;
  out.pid = ((b1 & 0x1f) << 8) | data[offset + 2]!;
  out.continuityCounter = b3 & 0x0f;
  const control = (b3 >>> 4) & 0x03;
  out.discontinuity = false;
  out.randomAccess = false;
  out.pcr = -1;
  if (control === 0) {
    throw new ParseError(MpegTsParseCode.BAD_ADAPTATION, 'reserved adaptation_field_control 00', offset + 3);
  }
  let payloadStart = offset + 4;
  out.hasAdaptation = (control & 0x02) !== 0;
  if (out.hasAdaptation) {
    const length = data[offset + 4]!;
    // §2.4.3.5: 183 without payload, at most 182 with it.
    const max = control === 2 ? 183 : 182;
    if (length > max) {
      throw new ParseError(MpegTsParseCode.BAD_ADAPTATION, `adaptation field length ${length}`, offset + 4);
    }
    if (length > 0) {
      const flags = data[offset + 5]!;
      out.discontinuity = (flags & 0x80) !== 0;
      out.randomAccess = (flags & 0x40) !== 0;
      if ((flags & 0x10) !== 0) {
        if (length < 7) {
          throw new ParseError(
            MpegTsParseCode.BAD_ADAPTATION,
            'PCR flag in a short adaptation field',
            offset + 5,
          );
        }
        out.pcr = readPcr(data, offset + 6);
      }
    }
    payloadStart = offset + 5 + length;
  }
  out.payloadStart = payloadStart;
  out.payloadLength = (control & 0x01) !== 0 ? offset + TS_PACKET_BYTES - payloadStart : 0;
  return out;
}

/** The 6-byte PCR at `at`, in 27 MHz ticks: base × 300 + extension (exact in a double). */
function readPcr(data: Uint8Array, at: number): number {
  const base = data[at]! * 2 ** 25 + data[at + 1]! * 2 ** 17 + data[at + 2]! * 2 ** 9 + data[at + 3]! * 2;
  const b4 = data[at + 4]!;
  return (base + (b4 >>> 7)) * 300 + (((b4 & 0x01) << 8) | data[at + 5]!);
}

/** The PID of the packet at `offset` (no checks: the caller has a whole, synced packet). */
export function peekPid(data: Uint8Array, offset: number): number {
  return ((data[offset + 1]! & 0x1f) << 8) | data[offset + 2]!;
}

/** Sets the continuity counter of the packet at `offset` (the caller has a whole packet). */
export function setContinuityCounter(data: Uint8Array, offset: number, cc: number): void {
  data[offset + 3] = (data[offset + 3]! & 0xf0) | (cc & 0x0f);
}

/** Whether the packet at `offset` carries a payload (adaptation_field_control 01 or 11). */
export function hasPayload(data: Uint8Array, offset: number): boolean {
  return (data[offset + 3]! & 0x10) !== 0;
}
