/**
 * The receiving half of one RIST flow, sans I/O: the recovery/reorder buffer with a fixed
 * latency, NACK generation, RTT measurement and the periodic receiver RTCP (TR-06-1 §5.2–5.3).
 *
 * 1. Each RTP packet gets an extended sequence number (sequence.ts) and a slot in a ring of
 *    `bufferPackets`; its output time is its arrival + `latencyMs`.
 * 2. A jump in the sequence marks every skipped number missing; its output time is the time the
 *    gap was seen + `latencyMs`, and its first NACK waits `reorderMs` (reordering is not loss).
 * 3. A missing packet is NACKed again after an RTT (bounded to [rttMinMs, rttMaxMs], ×1.25) or
 *    more: its tries left are spread over the time left before its output time, at most
 *    `maxRetries` tries, never after its output time.
 * 4. Output is in order: a packet is released at its output time; a packet still missing then is
 *    given up and reported as a hole (`lost` item). Nothing waits past the latency.
 * 5. A flow starts at its first arriving packet; the sender report's packet count tells where it
 *    really began (flow-start.ts), and up to {@link MAX_START_RECOVERY_PACKETS} lost first packets
 *    are marked missing and NACKed like a gap, if nothing was output yet.
 * 6. Every `rtcpIntervalMs` a receiver report, SDES CNAME and echo request go to the sender; an
 *    echo request from the sender is answered at once.
 * @module
 */
import {
  DEFAULT_LATENCY_MS,
  DEFAULT_MAX_RETRIES,
  DEFAULT_RECEIVER_BUFFER_PACKETS,
  DEFAULT_REORDER_MS,
  DEFAULT_RTCP_INTERVAL_MS,
  DEFAULT_RTT_MAX_MS,
  DEFAULT_RTT_MIN_MS,
  MAX_START_RECOVERY_PACKETS,
  RTP_CLOCK_HZ,
} from './constants.ts';
import { FlowStart } from './flow-start.ts';
import { RateMeter } from './rate-meter.ts';
import type { RtcpPacket } from './rtcp.ts';
import { ntpMiddle, RtcpWriter, toNtp } from './rtcp-writer.ts';
import type { RtpPacket } from './rtp.ts';
import { RttEstimator } from './rtt.ts';
import { SequenceExtender } from './sequence.ts';

/** Settings of a {@link RistReceiverCore}; every field has a default. */
export interface RistReceiverCoreOptions {
  /** Output delay and recovery window, ms. Default 1 000. */
  readonly latencyMs?: number;
  /** Wait before the first NACK of a gap, ms. Default 15. */
  readonly reorderMs?: number;
  /** Most NACKs per packet. Default 10. */
  readonly maxRetries?: number;
  /** Bounds of the RTT that spaces retries, ms. Defaults 5 and 500. */
  readonly rttMinMs?: number;
  readonly rttMaxMs?: number;
  /** Slots of the buffer, a power of two. Default 16 384. */
  readonly bufferPackets?: number;
  /** Interval of receiver reports and echo requests, ms. Default 100. */
  readonly rtcpIntervalMs?: number;
  /** NACK flavour: RIST range NACK (`range`, librist's default) or RFC 4585 generic NACK (`bitmask`). */
  readonly nackFormat?: 'range' | 'bitmask';
  /** SDES CNAME. Default `porthole`. */
  readonly cname?: string;
}

/** What a receiver outputs, in sequence order. */
export type RistReceived =
  /** A packet's payload (a slice of the received datagram). */
  | { readonly type: 'data'; readonly ssrc: number; readonly seq: number; readonly payload: Buffer }
  /** `count` packets from `seq` on that could not be recovered within the latency. */
  | { readonly type: 'lost'; readonly ssrc: number; readonly seq: number; readonly count: number };

/** Counters of one receiving flow (librist's and SRT's names where they exist). */
export interface RistReceiverFlowStats {
  /** The flow's SSRC (even: the original packets' SSRC). */
  readonly ssrc: number;
  /** RTP packets that arrived (originals, retransmissions, duplicates). */
  readonly received: number;
  readonly bytesReceived: number;
  /** Packets released in order. */
  readonly delivered: number;
  /** Packets seen missing (a gap in the sequence). */
  readonly lost: number;
  /** Missing packets that arrived in time (retransmitted or reordered). */
  readonly recovered: number;
  /** Missing packets given up at their output time. */
  readonly unrecovered: number;
  /** Retransmissions that arrived (SSRC LSB set), useful or not. */
  readonly retransmitsReceived: number;
  /** Sequence numbers NACKed (each retry counts). */
  readonly retransmitsRequested: number;
  /** RTCP datagrams carrying NACKs. */
  readonly nacksSent: number;
  /** Packets that arrived twice. */
  readonly duplicates: number;
  /** Originals that arrived after a later packet (not retransmitted). */
  readonly reordered: number;
  /** Packets that arrived after their output time. */
  readonly late: number;
  /** Packets pushed out early because the buffer was full. */
  readonly overflowed: number;
  /** First packets of the flow that never arrived, found from the sender report and asked for. */
  readonly startMissing: number;
  /** Packets waiting in the buffer now (held or missing). */
  readonly bufferPackets: number;
  /** Smoothed RTT from echo responses, ms (NaN before one). */
  readonly rttMs: number;
  /** RFC 3550 interarrival jitter of the originals (what the RR carries), ms. */
  readonly jitterMs: number;
  /** Received bitrate, bits/s (payload and headers of RTP). */
  readonly bitrateBps: number;
  /** The sender's CNAME, '' before its SDES. */
  readonly cname: string;
}

const MISSING = 1;
const HELD = 2;
const DONE = 3;
const GIVEN_UP = 4;

function positive(value: number | undefined, fallback: number): number {
  return value === undefined ? fallback : value;
}

/** See the module doc. One instance per flow (sender SSRC). */
export class RistReceiverCore {
  readonly latencyMs: number;
  readonly #reorderMs: number;
  readonly #maxRetries: number;
  readonly #rtcpIntervalMs: number;
  readonly #nackFormat: 'range' | 'bitmask';
  readonly #cname: string;
  readonly #size: number;
  readonly #mask: number;
  readonly #tags: Float64Array;
  readonly #state: Uint8Array;
  readonly #deadline: Float64Array;
  readonly #nextNack: Float64Array;
  readonly #tries: Uint8Array;
  readonly #payloads: (Buffer | undefined)[];
  /** RTP timestamps of the packets held (to tell which were sent after a sender report). */
  readonly #stamps: Uint32Array;
  readonly #seq = new SequenceExtender();
  readonly #rtt: RttEstimator;
  readonly #rate = new RateMeter();
  readonly #writer = new RtcpWriter();
  readonly #start = new FlowStart();
  #missing: number[] = [];
  #nextNackMin = Number.POSITIVE_INFINITY;
  #started = false;
  #nextOut = 0;
  #firstExt = 0;
  #highest = -1;
  #ssrc = 0;
  #peerCname = '';
  #nextRtcpMs: number;
  #lastSrMiddle = 0;
  #lastSrAtMs = Number.NaN;
  #out: RistReceived[] = [];
  #rtcpOut: Buffer[] = [];
  #holeSeq = 0;
  #holeCount = 0;
  #lastPacketMs: number;
  #lostAtLastReport = 0;
  /** RFC 3550 §6.4.1 jitter estimate in RTP timestamp units, and the last transit time (NaN: none). */
  #jitter = 0;
  #lastTransit = Number.NaN;
  #expectedAtLastReport = 0;
  #received = 0;
  #bytes = 0;
  #delivered = 0;
  #lost = 0;
  #recovered = 0;
  #unrecovered = 0;
  #retransmitsReceived = 0;
  #requested = 0;
  #nacksSent = 0;
  #duplicates = 0;
  #reordered = 0;
  #late = 0;
  #overflowed = 0;
  #startMissing = 0;

  constructor(options: RistReceiverCoreOptions, nowMs: number) {
    this.latencyMs = positive(options.latencyMs, DEFAULT_LATENCY_MS);
    this.#reorderMs = positive(options.reorderMs, DEFAULT_REORDER_MS);
    this.#maxRetries = positive(options.maxRetries, DEFAULT_MAX_RETRIES);
    this.#rtcpIntervalMs = positive(options.rtcpIntervalMs, DEFAULT_RTCP_INTERVAL_MS);
    this.#nackFormat = options.nackFormat ?? 'range';
    this.#cname = options.cname ?? 'porthole';
    this.#rtt = new RttEstimator(
      positive(options.rttMinMs, DEFAULT_RTT_MIN_MS),
      positive(options.rttMaxMs, DEFAULT_RTT_MAX_MS),
    );
    const size = positive(options.bufferPackets, DEFAULT_RECEIVER_BUFFER_PACKETS);
    this.#size = size;
    this.#mask = size - 1;
    this.#tags = new Float64Array(size).fill(-1);
    this.#state = new Uint8Array(size);
    this.#deadline = new Float64Array(size);
    this.#nextNack = new Float64Array(size);
    this.#tries = new Uint8Array(size);
    this.#payloads = new Array<Buffer | undefined>(size).fill(undefined);
    this.#stamps = new Uint32Array(size);
    this.#nextRtcpMs = nowMs;
    this.#lastPacketMs = nowMs;
  }

  /** The flow's SSRC (even), 0 before the first packet. */
  get ssrc(): number {
    return this.#ssrc;
  }

  /** When a packet (RTP or RTCP) of this flow last arrived, ms. */
  get lastHeardMs(): number {
    return this.#lastPacketMs;
  }

  /** Takes one decoded RTP packet of this flow. */
  receiveRtp(packet: RtpPacket, nowMs: number): void {
    this.#lastPacketMs = nowMs;
    this.#received++;
    this.#bytes += packet.payload.length + 12;
    this.#rate.add(packet.payload.length + 12, nowMs);
    if (packet.retransmit) this.#retransmitsReceived++;
    else this.#updateJitter(packet.timestamp, nowMs);
    if (this.#ssrc === 0) this.#ssrc = (packet.ssrc & ~1) >>> 0;
    const ext = this.#seq.extend(packet.seq);
    if (!this.#started) {
      this.#started = true;
      this.#nextOut = ext;
      this.#firstExt = ext;
      this.#highest = ext - 1;
    }
    if (ext < this.#nextOut) {
      const i = ext & this.#mask;
      if (this.#tags[i] === ext && this.#state[i] === DONE) this.#duplicates++;
      else this.#late++;
      return;
    }
    if (ext <= this.#highest) {
      const i = ext & this.#mask;
      const state = this.#state[i];
      if (state !== MISSING) {
        this.#duplicates++;
        return;
      }
      this.#recovered++;
      if (!packet.retransmit) this.#reordered++;
      this.#state[i] = HELD;
      this.#payloads[i] = packet.payload;
      this.#stamps[i] = packet.timestamp;
      this.#release(nowMs);
      return;
    }
    if (ext - this.#highest > this.#size) this.#jump(ext, nowMs);
    while (ext - this.#nextOut >= this.#size) this.#forceOut();
    const deadline = nowMs + this.latencyMs;
    for (let m = this.#highest + 1; m < ext; m++) {
      const i = m & this.#mask;
      this.#tags[i] = m;
      this.#state[i] = MISSING;
      this.#payloads[i] = undefined;
      this.#deadline[i] = deadline;
      this.#nextNack[i] = nowMs + this.#reorderMs;
      this.#tries[i] = 0;
      this.#missing.push(m);
      this.#lost++;
      if (nowMs + this.#reorderMs < this.#nextNackMin) this.#nextNackMin = nowMs + this.#reorderMs;
    }
    const i = ext & this.#mask;
    this.#tags[i] = ext;
    this.#state[i] = HELD;
    this.#payloads[i] = packet.payload;
    this.#stamps[i] = packet.timestamp;
    this.#deadline[i] = deadline;
    this.#highest = ext;
    this.#seq.update(packet.seq);
    if (!packet.retransmit && !this.#start.done) {
      const first = this.#start.onOriginal(ext, packet.timestamp);
      if (first >= 0) this.#recoverStart(first, nowMs);
    }
    this.#release(nowMs);
  }

  /** Takes the decoded packets of one RTCP datagram from this flow's sender. */
  receiveRtcp(packets: readonly RtcpPacket[], nowMs: number): void {
    this.#lastPacketMs = nowMs;
    for (const p of packets) {
      switch (p.type) {
        case 'sr':
          if (this.#ssrc === 0) this.#ssrc = (p.ssrc & ~1) >>> 0;
          this.#lastSrMiddle = ntpMiddle(p.ntpMsw, p.ntpLsw);
          if (this.#started && !this.#start.done) this.#onSenderReport(p.packetCount, p.rtpTimestamp, nowMs);
          this.#lastSrAtMs = nowMs;
          break;
        case 'sdes':
          if (this.#ssrc === 0) this.#ssrc = (p.ssrc & ~1) >>> 0;
          this.#peerCname = p.cname;
          break;
        case 'echo-request':
          this.#rtcpOut.push(
            this.#writer
              .receiverReport(this.#ssrc)
              .sdes(this.#ssrc, this.#cname)
              .echo(true, p.ssrc, p.ntpMsw, p.ntpLsw, 0)
              .finish(),
          );
          break;
        case 'echo-response':
          this.#rtt.onEchoResponse(p.ntpMsw, p.ntpLsw, p.delayUs, nowMs);
          break;
        default:
          break;
      }
    }
  }

  /** Releases what is due, sends due NACKs and the periodic report. */
  poll(nowMs: number): void {
    this.#release(nowMs);
    if (nowMs >= this.#nextNackMin) this.#sendNacks(nowMs);
    if (nowMs >= this.#nextRtcpMs && this.#ssrc !== 0) {
      this.#nextRtcpMs = nowMs + this.#rtcpIntervalMs;
      const [msw, lsw] = toNtp(nowMs);
      this.#rtcpOut.push(
        this.#writer
          .receiverReport(this.#ssrc, this.#reportBlock(nowMs))
          .sdes(this.#ssrc, this.#cname)
          .echo(false, this.#ssrc, msw, lsw)
          .finish(),
      );
    }
  }

  /** When {@link poll} has something to do next, ms. */
  nextWakeMs(): number {
    let wake = this.#ssrc === 0 ? Number.POSITIVE_INFINITY : this.#nextRtcpMs;
    if (this.#nextNackMin < wake) wake = this.#nextNackMin;
    if (this.#started && this.#nextOut <= this.#highest) {
      const head = this.#deadline[this.#nextOut & this.#mask] as number;
      if (head < wake) wake = head;
    }
    return wake;
  }

  /** The RTCP datagrams to send to the sender since the last call. */
  drainRtcp(): Buffer[] {
    const out = this.#rtcpOut;
    if (out.length === 0) return out;
    this.#rtcpOut = [];
    return out;
  }

  /** What was released since the last call, in order. */
  drainOutput(): RistReceived[] {
    this.#closeHole();
    const out = this.#out;
    if (out.length === 0) return out;
    this.#out = [];
    return out;
  }

  /** A snapshot of the counters at `nowMs`. */
  stats(nowMs: number): RistReceiverFlowStats {
    return {
      ssrc: this.#ssrc,
      received: this.#received,
      bytesReceived: this.#bytes,
      delivered: this.#delivered,
      lost: this.#lost,
      recovered: this.#recovered,
      unrecovered: this.#unrecovered,
      retransmitsReceived: this.#retransmitsReceived,
      retransmitsRequested: this.#requested,
      nacksSent: this.#nacksSent,
      duplicates: this.#duplicates,
      reordered: this.#reordered,
      late: this.#late,
      overflowed: this.#overflowed,
      startMissing: this.#startMissing,
      bufferPackets: this.#started ? this.#highest - this.#nextOut + 1 : 0,
      rttMs: this.#rtt.smoothedMs,
      jitterMs: (this.#jitter * 1000) / RTP_CLOCK_HZ,
      bitrateBps: this.#rate.bitsPerSecond(nowMs),
      cname: this.#peerCname,
    };
  }

  /**
   * RFC 3550 §6.4.1 / A.8: J += (|D(i−1, i)| − J) / 16, D the change of transit time (arrival on
   * the RTP clock − RTP timestamp, modulo 2^32). Retransmissions are left out: their timestamps
   * are the originals'.
   */
  #updateJitter(timestamp: number, nowMs: number): void {
    const arrival = Math.floor((nowMs * RTP_CLOCK_HZ) / 1000) % 0x1_0000_0000;
    const transit = (arrival - timestamp) | 0;
    if (!Number.isNaN(this.#lastTransit)) {
      const d = Math.abs((transit - this.#lastTransit) | 0);
      this.#jitter += (d - this.#jitter) / 16;
    }
    this.#lastTransit = transit;
  }

  #reportBlock(nowMs: number) {
    const expected = this.#started ? this.#highest - this.#firstExt + 1 : 0;
    const lost = this.#unrecovered;
    const dExpected = expected - this.#expectedAtLastReport;
    const dLost = lost - this.#lostAtLastReport;
    this.#expectedAtLastReport = expected;
    this.#lostAtLastReport = lost;
    return {
      ssrc: this.#ssrc,
      fractionLost: dExpected > 0 && dLost > 0 ? Math.min(255, Math.floor((dLost * 256) / dExpected)) : 0,
      cumulativeLost: lost,
      highestSeq: Math.max(0, this.#highest - 0x10000) >>> 0,
      jitter: Math.floor(this.#jitter) >>> 0,
      lastSr: this.#lastSrMiddle,
      delaySinceLastSr: Number.isNaN(this.#lastSrAtMs)
        ? 0
        : Math.floor(((nowMs - this.#lastSrAtMs) * 65536) / 1000),
    };
  }

  #release(nowMs: number): void {
    while (this.#nextOut <= this.#highest) {
      const i = this.#nextOut & this.#mask;
      if ((this.#deadline[i] as number) > nowMs) return;
      this.#outputHead();
    }
  }

  /** Outputs or gives up the head slot and advances. */
  #outputHead(): void {
    const i = this.#nextOut & this.#mask;
    if (this.#state[i] === HELD) {
      this.#closeHole();
      this.#out.push({
        type: 'data',
        ssrc: this.#ssrc,
        seq: this.#nextOut & 0xffff,
        payload: this.#payloads[i] as Buffer,
      });
      this.#payloads[i] = undefined;
      this.#state[i] = DONE;
      this.#delivered++;
    } else {
      if (this.#holeCount === 0) this.#holeSeq = this.#nextOut & 0xffff;
      this.#holeCount++;
      this.#unrecovered++;
      this.#state[i] = GIVEN_UP;
    }
    this.#nextOut++;
  }

  #forceOut(): void {
    this.#overflowed++;
    this.#outputHead();
  }

  /** A jump of more than the buffer: release what is held, report the skipped span as one hole. */
  #jump(ext: number, nowMs: number): void {
    while (this.#nextOut <= this.#highest) this.#outputHead();
    const skipped = ext - this.#highest - 1;
    this.#closeHole();
    this.#out.push({ type: 'lost', ssrc: this.#ssrc, seq: (this.#highest + 1) & 0xffff, count: skipped });
    this.#lost += skipped;
    this.#unrecovered += skipped;
    this.#highest = ext - 1;
    this.#nextOut = ext;
    this.#missing = [];
    this.#nextNackMin = Number.POSITIVE_INFINITY;
    this.#lastPacketMs = nowMs;
  }

  /**
   * A sender report of the running flow (flow-start.ts): when a packet sent after it is here
   * already (RTP overtook the report: the Simple profile's two ports), the flow's start is known
   * now; otherwise the next original tells.
   */
  #onSenderReport(packetCount: number, rtpTimestamp: number, nowMs: number): void {
    if (this.#nextOut !== this.#firstExt) {
      this.#start.finish(); // output began: too late to put packets before it
      return;
    }
    if (packetCount === 0) return;
    for (let m = this.#firstExt; m <= this.#highest; m++) {
      const i = m & this.#mask;
      if (this.#state[i] !== HELD || (((this.#stamps[i] as number) - rtpTimestamp) | 0) <= 0) continue;
      this.#start.settle();
      this.#recoverStart(m - packetCount, nowMs);
      return;
    }
    this.#start.onSenderReport(packetCount, rtpTimestamp);
  }

  /**
   * The flow began at `first`, before the first packet that arrived: marks the numbers in between
   * missing (output before that packet, so by its deadline) and NACKs them at the next poll. Not
   * when output began, when the gaps exceed {@link MAX_START_RECOVERY_PACKETS} in all (a receiver
   * that joined a running stream) or when the buffer cannot hold them.
   */
  #recoverStart(first: number, nowMs: number): void {
    const seen = this.#firstExt;
    const count = seen - first;
    if (count <= 0 || this.#nextOut !== seen) return;
    if (count + this.#startMissing > MAX_START_RECOVERY_PACKETS) return;
    if (this.#highest - first + 1 > this.#size) return;
    const deadline = this.#deadline[seen & this.#mask] as number;
    const added: number[] = [];
    for (let m = first; m < seen; m++) {
      const i = m & this.#mask;
      this.#tags[i] = m;
      this.#state[i] = MISSING;
      this.#payloads[i] = undefined;
      this.#deadline[i] = deadline;
      this.#nextNack[i] = nowMs;
      this.#tries[i] = 0;
      added.push(m);
    }
    this.#missing = added.concat(this.#missing);
    this.#lost += count;
    this.#startMissing += count;
    this.#nextOut = first;
    this.#firstExt = first;
    if (nowMs < this.#nextNackMin) this.#nextNackMin = nowMs;
  }

  #closeHole(): void {
    if (this.#holeCount === 0) return;
    this.#out.push({ type: 'lost', ssrc: this.#ssrc, seq: this.#holeSeq, count: this.#holeCount });
    this.#holeCount = 0;
  }

  #retryIntervalMs(): number {
    const rtt = this.#rtt.boundedMs;
    return Math.max(rtt * 1.25, rtt + 5);
  }

  /**
   * When to ask again with `left` tries left: one retry interval later at least, and the tries
   * spread over the time before the packet's output time (less one interval, for the answer to
   * arrive). A short latency keeps RTT-paced retries; a long one keeps tries for its end, so a
   * sender that cannot answer for a while is still asked in time — librist 0.2.7's sender ignores
   * a re-request of a packet within its buffer length (1 s by default) of the last one it took.
   */
  #nextTryMs(nowMs: number, deadline: number, left: number): number {
    const interval = this.#retryIntervalMs();
    return nowMs + Math.max(interval, (deadline - nowMs - interval) / left);
  }

  #sendNacks(nowMs: number): void {
    const due: number[] = [];
    const missing = this.#missing;
    let kept = 0;
    let nextMin = Number.POSITIVE_INFINITY;
    for (const m of missing) {
      const i = m & this.#mask;
      if (m < this.#nextOut || this.#tags[i] !== m || this.#state[i] !== MISSING) continue;
      let next = this.#nextNack[i] as number;
      if (next <= nowMs) {
        if ((this.#tries[i] as number) < this.#maxRetries && nowMs < (this.#deadline[i] as number)) {
          due.push(m & 0xffff);
          this.#requested++;
          this.#tries[i] = (this.#tries[i] as number) + 1;
          const left = this.#maxRetries - (this.#tries[i] as number);
          next =
            left > 0 ? this.#nextTryMs(nowMs, this.#deadline[i] as number, left) : Number.POSITIVE_INFINITY;
        } else {
          next = Number.POSITIVE_INFINITY;
        }
        this.#nextNack[i] = next;
      }
      if (next === Number.POSITIVE_INFINITY) continue; // given up on asking; the deadline reports it
      missing[kept++] = m;
      if (next < nextMin) nextMin = next;
    }
    missing.length = kept;
    this.#nextNackMin = nextMin;
    for (let from = 0; from < due.length; ) {
      this.#writer.receiverReport(this.#ssrc).sdes(this.#ssrc, this.#cname);
      from += this.#writer.nack(this.#nackFormat, this.#ssrc, from === 0 ? due : due.slice(from));
      this.#rtcpOut.push(this.#writer.finish());
      this.#nacksSent++;
    }
  }
}
