/**
 * RTCP as RIST uses it (TR-06-1 §5.2): compound packets of sender and receiver reports
 * (RFC 3550 §6.4), SDES CNAME (§6.5), the generic NACK (RFC 4585 §6.2.1) and the RIST APP
 * packets (name "RIST", subtype in the count field): range NACK, sequence extension, echo request
 * and response.
 *
 * ```
 * every packet:           |V=2|P| count/FMT |  PT  |  length (32-bit words − 1)  |
 * RIST range NACK (APP):  hdr(subtype 0) | SSRC of media | "RIST" | (start:16, extra:16) × n
 * generic NACK (RTPFB):   hdr(FMT 1) | sender SSRC | media SSRC | (PID:16, BLP:16) × n
 * echo (APP, sub 2 / 3):  hdr | SSRC | "RIST" | NTP msw | NTP lsw | processing delay (µs)
 * ```
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { RIST_APP_NAME, RistAppSubtype, RTPFB_FMT_GENERIC_NACK, RtcpType, SDES_CNAME } from './constants.ts';
import { RistParseCode } from './errors.ts';

/** One reception report block (RFC 3550 §6.4.1). */
export interface ReportBlock {
  readonly ssrc: number;
  readonly fractionLost: number;
  readonly cumulativeLost: number;
  readonly highestSeq: number;
  readonly jitter: number;
  readonly lastSr: number;
  readonly delaySinceLastSr: number;
}

/** A decoded RTCP packet, discriminated on `type`. */
export type RtcpPacket =
  | {
      readonly type: 'sr';
      readonly ssrc: number;
      readonly ntpMsw: number;
      readonly ntpLsw: number;
      readonly rtpTimestamp: number;
      readonly packetCount: number;
      readonly octetCount: number;
      readonly reports: readonly ReportBlock[];
    }
  | { readonly type: 'rr'; readonly ssrc: number; readonly reports: readonly ReportBlock[] }
  | { readonly type: 'sdes'; readonly ssrc: number; readonly cname: string }
  /** NACKed 16-bit sequence numbers, from a range NACK (`range`) or a generic NACK (`bitmask`). */
  | {
      readonly type: 'nack';
      readonly format: 'range' | 'bitmask';
      readonly ssrc: number;
      readonly seqs: number[];
    }
  | { readonly type: 'seq-ext'; readonly ssrc: number; readonly seqMsb: number }
  | {
      readonly type: 'echo-request' | 'echo-response';
      readonly ssrc: number;
      readonly ntpMsw: number;
      readonly ntpLsw: number;
      readonly delayUs: number;
    }
  | { readonly type: 'other'; readonly packetType: number; readonly ssrc: number };

/** Most sequence numbers one NACK packet yields (a range of 65 536 is cut here, not expanded). */
export const MAX_NACKED_SEQS = 8192;

function fail(code: string, message: string, offset: number): never {
  throw new ParseError(code, message, offset);
}

function readReports(data: Buffer, at: number, count: number, end: number): ReportBlock[] {
  if (at + count * 24 > end) fail(RistParseCode.LENGTH, 'RTCP report blocks past the packet', at);
  const reports: ReportBlock[] = [];
  for (let i = 0; i < count; i++, at += 24) {
    const lost = data.readUInt32BE(at + 4);
    reports.push({
      ssrc: data.readUInt32BE(at),
      fractionLost: lost >>> 24,
      cumulativeLost: lost & 0xffffff,
      highestSeq: data.readUInt32BE(at + 8),
      jitter: data.readUInt32BE(at + 12),
      lastSr: data.readUInt32BE(at + 16),
      delaySinceLastSr: data.readUInt32BE(at + 20),
    });
  }
  return reports;
}

function readSdes(data: Buffer, at: number, end: number): RtcpPacket {
  if (at + 4 > end) fail(RistParseCode.TRUNCATED, 'SDES chunk without an SSRC', at);
  const ssrc = data.readUInt32BE(at);
  let cname = '';
  for (let p = at + 4; p < end; ) {
    const item = data[p] as number;
    if (item === 0) break;
    if (p + 2 > end) fail(RistParseCode.TRUNCATED, 'SDES item without a length', p);
    const length = data[p + 1] as number;
    if (p + 2 + length > end) fail(RistParseCode.LENGTH, 'SDES item past the packet', p + 1);
    if (item === SDES_CNAME) cname = data.toString('latin1', p + 2, p + 2 + length);
    p += 2 + length;
  }
  return { type: 'sdes', ssrc, cname };
}

function readApp(data: Buffer, at: number, end: number, subtype: number): RtcpPacket {
  if (at + 8 > end) fail(RistParseCode.TRUNCATED, 'APP packet without SSRC and name', at);
  const ssrc = data.readUInt32BE(at);
  if (data.toString('latin1', at + 4, at + 8) !== RIST_APP_NAME) {
    return { type: 'other', packetType: RtcpType.APP, ssrc };
  }
  const body = at + 8;
  switch (subtype) {
    case RistAppSubtype.RANGE_NACK: {
      const seqs: number[] = [];
      for (let p = body; p + 4 <= end; p += 4) {
        const start = data.readUInt16BE(p);
        const extra = data.readUInt16BE(p + 2);
        for (let i = 0; i <= extra && seqs.length < MAX_NACKED_SEQS; i++) seqs.push((start + i) & 0xffff);
      }
      return { type: 'nack', format: 'range', ssrc, seqs };
    }
    case RistAppSubtype.SEQ_EXT:
      if (body + 4 > end) fail(RistParseCode.TRUNCATED, 'RIST sequence extension without its field', body);
      return { type: 'seq-ext', ssrc, seqMsb: data.readUInt16BE(body) };
    case RistAppSubtype.ECHO_REQUEST:
    case RistAppSubtype.ECHO_RESPONSE:
      if (body + 8 > end) fail(RistParseCode.TRUNCATED, 'RIST echo without its timestamp', body);
      return {
        type: subtype === RistAppSubtype.ECHO_REQUEST ? 'echo-request' : 'echo-response',
        ssrc,
        ntpMsw: data.readUInt32BE(body),
        ntpLsw: data.readUInt32BE(body + 4),
        delayUs: body + 12 <= end ? data.readUInt32BE(body + 8) : 0,
      };
    default:
      return { type: 'other', packetType: RtcpType.APP, ssrc };
  }
}

function readRtpfb(data: Buffer, at: number, end: number, fmt: number): RtcpPacket {
  if (at + 8 > end) fail(RistParseCode.TRUNCATED, 'RTPFB packet without its SSRCs', at);
  const ssrc = data.readUInt32BE(at + 4);
  if (fmt !== RTPFB_FMT_GENERIC_NACK) return { type: 'other', packetType: RtcpType.RTPFB, ssrc };
  const seqs: number[] = [];
  for (let p = at + 8; p + 4 <= end && seqs.length < MAX_NACKED_SEQS; p += 4) {
    const pid = data.readUInt16BE(p);
    const blp = data.readUInt16BE(p + 2);
    seqs.push(pid);
    for (let bit = 0; bit < 16; bit++) if ((blp & (1 << bit)) !== 0) seqs.push((pid + bit + 1) & 0xffff);
  }
  return { type: 'nack', format: 'bitmask', ssrc, seqs };
}

/**
 * Decodes a compound RTCP datagram into its packets, in order.
 * @throws ParseError `ERR_RIST_TRUNCATED`, `ERR_RIST_VERSION`, `ERR_RIST_LENGTH`.
 */
export function decodeRtcp(data: Buffer): RtcpPacket[] {
  const packets: RtcpPacket[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 4 > data.length) fail(RistParseCode.TRUNCATED, 'RTCP header past the end', at);
    const b0 = data[at] as number;
    if (b0 >> 6 !== 2) fail(RistParseCode.VERSION, 'RTCP version is not 2', at);
    const packetType = data[at + 1] as number;
    const end = at + (data.readUInt16BE(at + 2) + 1) * 4;
    if (end > data.length) fail(RistParseCode.LENGTH, 'RTCP length past the datagram', at + 2);
    const count = b0 & 0x1f;
    const body = at + 4;
    switch (packetType) {
      case RtcpType.SR:
        if (body + 24 > end) fail(RistParseCode.TRUNCATED, 'sender report shorter than 28 bytes', body);
        packets.push({
          type: 'sr',
          ssrc: data.readUInt32BE(body),
          ntpMsw: data.readUInt32BE(body + 4),
          ntpLsw: data.readUInt32BE(body + 8),
          rtpTimestamp: data.readUInt32BE(body + 12),
          packetCount: data.readUInt32BE(body + 16),
          octetCount: data.readUInt32BE(body + 20),
          reports: readReports(data, body + 24, count, end),
        });
        break;
      case RtcpType.RR:
        if (body + 4 > end) fail(RistParseCode.TRUNCATED, 'receiver report without an SSRC', body);
        packets.push({
          type: 'rr',
          ssrc: data.readUInt32BE(body),
          reports: readReports(data, body + 4, count, end),
        });
        break;
      case RtcpType.SDES:
        packets.push(readSdes(data, body, end));
        break;
      case RtcpType.APP:
        packets.push(readApp(data, body, end, count));
        break;
      case RtcpType.RTPFB:
        packets.push(readRtpfb(data, body, end, count));
        break;
      default:
        packets.push({ type: 'other', packetType, ssrc: body + 4 <= end ? data.readUInt32BE(body) : 0 });
    }
    at = end;
  }
  return packets;
}

/** The SSRC of a compound's first packet (its sender), or undefined when it has none; never throws. */
export function rtcpSenderSsrc(data: Buffer): number | undefined {
  return data.length >= 8 ? data.readUInt32BE(4) : undefined;
}
