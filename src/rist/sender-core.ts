/**
 * The sending half of a RIST flow, sans I/O: RTP packetisation, the recovery buffer (bounded in
 * packets and in age), retransmission of NACKed packets and the periodic sender RTCP
 * (TR-06-1 §5.2–5.3).
 *
 * 1. {@link RistSenderCore.send} writes the RTP header and payload into the ring slot of the next
 *    sequence number (one Buffer per slot, allocated once) and returns the datagram.
 * 2. A NACK (range or generic) names 16-bit numbers; each is extended against the last one sent.
 *    A packet still in the ring and younger than `recoveryBufferMs` is sent again with the SSRC's
 *    least significant bit set, unless it was retransmitted less than half an RTT ago (a repeated
 *    request that crossed the retransmission on the way).
 * 3. Every `rtcpIntervalMs` a sender report, SDES CNAME and echo request go to the receiver; echo
 *    requests are answered at once, echo responses give the RTT.
 * @module
 */
import { InvalidOptionError } from '../errors/index.ts';
import {
  DEFAULT_RECOVERY_BUFFER_MS,
  DEFAULT_RTCP_INTERVAL_MS,
  DEFAULT_SENDER_BUFFER_PACKETS,
  MAX_PAYLOAD_BYTES,
  RTP_PAYLOAD_TYPE_MP2T,
} from './constants.ts';
import { RateMeter } from './rate-meter.ts';
import type { RtcpPacket } from './rtcp.ts';
import { RtcpWriter, toNtp } from './rtcp-writer.ts';
import { RTP_HEADER_BYTES, writeRtpHeader } from './rtp.ts';
import { RttEstimator } from './rtt.ts';

/** Settings of a {@link RistSenderCore}; every field has a default. */
export interface RistSenderCoreOptions {
  /** The flow's SSRC; its least significant bit is cleared (set marks retransmissions). Default random. */
  readonly ssrc?: number;
  /** SDES CNAME. Default `porthole`. */
  readonly cname?: string;
  /** Age limit of the recovery buffer, ms. Default 1 000. */
  readonly recoveryBufferMs?: number;
  /** Slots of the recovery buffer, a power of two. Default 16 384. */
  readonly bufferPackets?: number;
  /** Interval of sender reports and echo requests, ms. Default 100. */
  readonly rtcpIntervalMs?: number;
  /** RTP payload type. Default 33 (MP2T). */
  readonly payloadType?: number;
  /** First sequence number. Default random. */
  readonly initialSeq?: number;
  /** Offset of the driver's clock from the NTP epoch, ms (sender reports carry wall-clock time). Default 0. */
  readonly ntpOffsetMs?: number;
}

/** One datagram the core wants sent: a retransmission (media) or RTCP. */
export interface RistTransmit {
  readonly data: Buffer;
  readonly rtcp: boolean;
}

/** Counters of a sender. */
export interface RistSenderStats {
  readonly ssrc: number;
  /** Original packets sent. */
  readonly sent: number;
  readonly bytesSent: number;
  /** RTCP datagrams with NACKs that arrived. */
  readonly nacksReceived: number;
  /** Sequence numbers those NACKs asked for. */
  readonly retransmitsRequested: number;
  /** Retransmissions sent. */
  readonly retransmitsSent: number;
  readonly bytesRetransmitted: number;
  /** Requests for a packet no longer (or never) in the recovery buffer. */
  readonly retransmitsUnavailable: number;
  /** Requests refused because the packet was retransmitted less than half an RTT ago. */
  readonly retransmitsSuppressed: number;
  /** Smoothed RTT from echo responses, ms (NaN before one). */
  readonly rttMs: number;
  /** Sent bitrate (originals and retransmissions), bits/s. */
  readonly bitrateBps: number;
  /** Packets in the recovery buffer within its age limit. */
  readonly bufferPackets: number;
}

function randomU32(): number {
  return (Math.random() * 0x1_0000_0000) >>> 0;
}

/** See the module doc. */
export class RistSenderCore {
  readonly ssrc: number;
  readonly #cname: string;
  readonly #recoveryMs: number;
  readonly #rtcpIntervalMs: number;
  readonly #payloadType: number;
  readonly #ntpOffsetMs: number;
  readonly #tsOffset = randomU32();
  readonly #size: number;
  readonly #mask: number;
  readonly #slots: Buffer[];
  readonly #lengths: Uint16Array;
  readonly #tags: Float64Array;
  readonly #sentAt: Float64Array;
  readonly #resentAt: Float64Array;
  readonly #rtt = new RttEstimator();
  readonly #rate = new RateMeter();
  readonly #writer = new RtcpWriter();
  #next: number; // extended number of the next packet
  #out: RistTransmit[] = [];
  #nextRtcpMs: number;
  #sent = 0;
  #bytes = 0;
  #nacks = 0;
  #requested = 0;
  #resent = 0;
  #resentBytes = 0;
  #unavailable = 0;
  #suppressed = 0;

  constructor(options: RistSenderCoreOptions, nowMs: number) {
    this.ssrc = ((options.ssrc ?? randomU32()) & ~1) >>> 0;
    this.#cname = options.cname ?? 'porthole';
    this.#recoveryMs = options.recoveryBufferMs ?? DEFAULT_RECOVERY_BUFFER_MS;
    this.#rtcpIntervalMs = options.rtcpIntervalMs ?? DEFAULT_RTCP_INTERVAL_MS;
    this.#payloadType = options.payloadType ?? RTP_PAYLOAD_TYPE_MP2T;
    this.#ntpOffsetMs = options.ntpOffsetMs ?? 0;
    const size = options.bufferPackets ?? DEFAULT_SENDER_BUFFER_PACKETS;
    this.#size = size;
    this.#mask = size - 1;
    this.#slots = new Array<Buffer>(size);
    this.#lengths = new Uint16Array(size);
    this.#tags = new Float64Array(size).fill(-1);
    this.#sentAt = new Float64Array(size);
    this.#resentAt = new Float64Array(size).fill(Number.NEGATIVE_INFINITY);
    this.#next = 0x10000 + ((options.initialSeq ?? randomU32()) & 0xffff);
    this.#nextRtcpMs = nowMs;
  }

  /** The 16-bit sequence number the next packet gets. */
  get nextSeq(): number {
    return this.#next & 0xffff;
  }

  /**
   * Packetises one payload (≤ 1 460 bytes; 7 TS packets is RIST's usual 1 316) and returns the
   * RTP datagram to send to the media destination. The Buffer belongs to the recovery ring.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` (`payload`) for an empty or oversized payload.
   */
  send(payload: Uint8Array, nowMs: number): Buffer {
    if (payload.length === 0 || payload.length > MAX_PAYLOAD_BYTES) {
      throw new InvalidOptionError(
        'payload',
        `an RTP payload is 1–${MAX_PAYLOAD_BYTES} bytes, got ${payload.length}`,
      );
    }
    const ext = this.#next++;
    const i = ext & this.#mask;
    let slot = this.#slots[i];
    if (slot === undefined) {
      slot = Buffer.allocUnsafe(RTP_HEADER_BYTES + MAX_PAYLOAD_BYTES);
      this.#slots[i] = slot;
    }
    writeRtpHeader(slot, this.#payloadType, ext, this.#rtpTimestamp(nowMs), this.ssrc);
    slot.set(payload, RTP_HEADER_BYTES);
    const length = RTP_HEADER_BYTES + payload.length;
    this.#lengths[i] = length;
    this.#tags[i] = ext;
    this.#sentAt[i] = nowMs;
    this.#resentAt[i] = Number.NEGATIVE_INFINITY;
    this.#sent++;
    this.#bytes += length;
    this.#rate.add(length, nowMs);
    return slot.subarray(0, length);
  }

  /** Takes the decoded packets of one RTCP datagram from a receiver. */
  receiveRtcp(packets: readonly RtcpPacket[], nowMs: number): void {
    for (const p of packets) {
      switch (p.type) {
        case 'nack':
          this.#nacks++;
          for (const seq of p.seqs) this.#retransmit(seq, nowMs);
          break;
        case 'echo-request':
          this.#out.push({
            data: this.#writer
              .receiverReport(this.ssrc)
              .sdes(this.ssrc, this.#cname)
              .echo(true, p.ssrc, p.ntpMsw, p.ntpLsw, 0)
              .finish(),
            rtcp: true,
          });
          break;
        case 'echo-response':
          this.#rtt.onEchoResponse(p.ntpMsw, p.ntpLsw, p.delayUs, nowMs);
          break;
        default:
          break;
      }
    }
  }

  /** Sends the periodic report when due. */
  poll(nowMs: number): void {
    if (nowMs < this.#nextRtcpMs) return;
    this.#nextRtcpMs = nowMs + this.#rtcpIntervalMs;
    const [msw, lsw] = toNtp(nowMs + this.#ntpOffsetMs);
    const [emsw, elsw] = toNtp(nowMs);
    this.#out.push({
      data: this.#writer
        .senderReport(this.ssrc, msw, lsw, this.#rtpTimestamp(nowMs), this.#sent, this.#bytes)
        .sdes(this.ssrc, this.#cname)
        .echo(false, this.ssrc, emsw, elsw)
        .finish(),
      rtcp: true,
    });
  }

  /** When {@link poll} has something to do next, ms. */
  nextWakeMs(): number {
    return this.#nextRtcpMs;
  }

  /** Retransmissions and RTCP to send since the last call. */
  drain(): RistTransmit[] {
    const out = this.#out;
    if (out.length === 0) return out;
    this.#out = [];
    return out;
  }

  /** A snapshot of the counters at `nowMs`. */
  stats(nowMs: number): RistSenderStats {
    let held = 0;
    for (let ext = this.#next - 1; ext >= this.#next - this.#size; ext--) {
      const i = ext & this.#mask;
      if (this.#tags[i] !== ext || nowMs - (this.#sentAt[i] as number) > this.#recoveryMs) break;
      held++;
    }
    return {
      ssrc: this.ssrc,
      sent: this.#sent,
      bytesSent: this.#bytes,
      nacksReceived: this.#nacks,
      retransmitsRequested: this.#requested,
      retransmitsSent: this.#resent,
      bytesRetransmitted: this.#resentBytes,
      retransmitsUnavailable: this.#unavailable,
      retransmitsSuppressed: this.#suppressed,
      rttMs: this.#rtt.smoothedMs,
      bitrateBps: this.#rate.bitsPerSecond(nowMs),
      bufferPackets: held,
    };
  }

  #rtpTimestamp(nowMs: number): number {
    return (Math.floor(nowMs * 90) + this.#tsOffset) >>> 0;
  }

  #retransmit(seq: number, nowMs: number): void {
    this.#requested++;
    const last = this.#next - 1;
    const ext = last - ((last - seq) & 0xffff);
    const i = ext & this.#mask;
    if (this.#tags[i] !== ext || nowMs - (this.#sentAt[i] as number) > this.#recoveryMs) {
      this.#unavailable++;
      return;
    }
    if (nowMs - (this.#resentAt[i] as number) < this.#rtt.boundedMs / 2) {
      this.#suppressed++;
      return;
    }
    this.#resentAt[i] = nowMs;
    const slot = this.#slots[i] as Buffer;
    slot.writeUInt32BE((this.ssrc | 1) >>> 0, 8);
    const length = this.#lengths[i] as number;
    this.#out.push({ data: slot.subarray(0, length), rtcp: false });
    this.#resent++;
    this.#resentBytes += length;
    this.#rate.add(length, nowMs);
  }
}
