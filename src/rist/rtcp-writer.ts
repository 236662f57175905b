/**
 * Builds compound RTCP datagrams (see rtcp.ts for the layouts): one scratch buffer per writer,
 * each finished datagram copied out once at its exact size.
 * @module
 */
import {
  MAX_NACK_RECORDS,
  RIST_APP_NAME,
  RistAppSubtype,
  RTPFB_FMT_GENERIC_NACK,
  RtcpType,
  SDES_CNAME,
} from './constants.ts';

/** A reception report block to write (RFC 3550 §6.4.1). */
export interface ReportBlockInit {
  readonly ssrc: number;
  readonly fractionLost: number;
  readonly cumulativeLost: number;
  readonly highestSeq: number;
  readonly jitter: number;
  readonly lastSr: number;
  readonly delaySinceLastSr: number;
}

const SCRATCH_BYTES = 1500;

/** Appends RTCP packets to one compound datagram; {@link finish} returns it and starts the next. */
export class RtcpWriter {
  readonly #buf = Buffer.alloc(SCRATCH_BYTES);
  #at = 0;

  /** Bytes written to the datagram under construction. */
  get length(): number {
    return this.#at;
  }

  #header(count: number, packetType: number, words: number): void {
    const b = this.#buf;
    b[this.#at] = 0x80 | (count & 0x1f);
    b[this.#at + 1] = packetType;
    b.writeUInt16BE(words - 1, this.#at + 2);
    this.#at += 4;
  }

  #u32(value: number): void {
    this.#buf.writeUInt32BE(value >>> 0, this.#at);
    this.#at += 4;
  }

  /** Sender report without report blocks (RFC 3550 §6.4.1). */
  senderReport(
    ssrc: number,
    ntpMsw: number,
    ntpLsw: number,
    rtpTimestamp: number,
    packets: number,
    octets: number,
  ): this {
    this.#header(0, RtcpType.SR, 7);
    this.#u32(ssrc);
    this.#u32(ntpMsw);
    this.#u32(ntpLsw);
    this.#u32(rtpTimestamp);
    this.#u32(packets);
    this.#u32(octets);
    return this;
  }

  /** Receiver report with zero or one report block (RFC 3550 §6.4.2). */
  receiverReport(ssrc: number, block?: ReportBlockInit): this {
    this.#header(block === undefined ? 0 : 1, RtcpType.RR, block === undefined ? 2 : 8);
    this.#u32(ssrc);
    if (block !== undefined) {
      this.#u32(block.ssrc);
      this.#u32(((block.fractionLost & 0xff) << 24) | (Math.min(block.cumulativeLost, 0x7fffff) & 0xffffff));
      this.#u32(block.highestSeq);
      this.#u32(block.jitter);
      this.#u32(block.lastSr);
      this.#u32(block.delaySinceLastSr);
    }
    return this;
  }

  /** SDES with one chunk holding the CNAME (RFC 3550 §6.5), padded to 32 bits. */
  sdes(ssrc: number, cname: string): this {
    const name = Buffer.from(cname, 'latin1').subarray(0, 255);
    const bytes = 4 + 2 + name.length + 1; // SSRC, item header, name, end-of-list
    const words = 1 + Math.ceil(bytes / 4);
    const start = this.#at;
    this.#header(1, RtcpType.SDES, words);
    this.#u32(ssrc);
    const b = this.#buf;
    b[this.#at] = SDES_CNAME;
    b[this.#at + 1] = name.length;
    name.copy(b, this.#at + 2);
    const end = start + words * 4;
    b.fill(0, this.#at + 2 + name.length, end);
    this.#at = end;
    return this;
  }

  #app(subtype: number, ssrc: number, words: number): void {
    this.#header(subtype, RtcpType.APP, words);
    this.#u32(ssrc);
    this.#buf.write(RIST_APP_NAME, this.#at, 'latin1');
    this.#at += 4;
  }

  /** Echo request or response (RIST APP subtype 2 / 3). */
  echo(response: boolean, ssrc: number, ntpMsw: number, ntpLsw: number, delayUs = 0): this {
    this.#app(response ? RistAppSubtype.ECHO_RESPONSE : RistAppSubtype.ECHO_REQUEST, ssrc, 6);
    this.#u32(ntpMsw);
    this.#u32(ntpLsw);
    this.#u32(delayUs);
    return this;
  }

  /**
   * A NACK for the ascending 16-bit `seqs` (at most {@link MAX_NACK_RECORDS} records; the rest
   * is left for the next datagram): RIST range NACK or RFC 4585 generic NACK. Returns how many of
   * `seqs` it covered.
   */
  nack(format: 'range' | 'bitmask', ssrc: number, seqs: readonly number[]): number {
    if (seqs.length === 0) return 0;
    const start = this.#at;
    this.#at += 12; // header, SSRC(s), name written below
    const b = this.#buf;
    let records = 0;
    let i = 0;
    while (i < seqs.length && records < MAX_NACK_RECORDS) {
      const first = seqs[i] as number;
      let extra = 0;
      i++;
      if (format === 'range') {
        while (i < seqs.length && seqs[i] === ((first + extra + 1) & 0xffff) && extra < 0xffff) {
          extra++;
          i++;
        }
      } else {
        while (i < seqs.length) {
          const d = ((seqs[i] as number) - first) & 0xffff;
          if (d < 1 || d > 16) break;
          extra |= 1 << (d - 1);
          i++;
        }
      }
      b.writeUInt16BE(first & 0xffff, this.#at);
      b.writeUInt16BE(extra, this.#at + 2);
      this.#at += 4;
      records++;
    }
    const end = this.#at;
    this.#at = start;
    if (format === 'range') {
      this.#app(RistAppSubtype.RANGE_NACK, ssrc, 3 + records);
    } else {
      this.#header(RTPFB_FMT_GENERIC_NACK, RtcpType.RTPFB, 3 + records);
      this.#u32(0);
      this.#u32(ssrc);
    }
    this.#at = end;
    return i;
  }

  /** The datagram written so far (a fresh Buffer), and a reset for the next one. */
  finish(): Buffer {
    const out = Buffer.from(this.#buf.subarray(0, this.#at));
    this.#at = 0;
    return out;
  }
}

/** The 64-bit NTP timestamp of `ms` (ms since the NTP epoch) as [msw, lsw]. */
export function toNtp(ms: number): [number, number] {
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms - seconds * 1000) / 1000) * 0x1_0000_0000);
  return [seconds >>> 0, fraction >>> 0];
}

/** Milliseconds of an NTP timestamp (the inverse of {@link toNtp}, modulo 2^32 s). */
export function fromNtp(msw: number, lsw: number): number {
  return msw * 1000 + (lsw / 0x1_0000_0000) * 1000;
}

/** The middle 32 bits of an NTP timestamp (RFC 3550 LSR/DLSR units: 1/65 536 s). */
export function ntpMiddle(msw: number, lsw: number): number {
  return (((msw & 0xffff) << 16) | (lsw >>> 16)) >>> 0;
}
