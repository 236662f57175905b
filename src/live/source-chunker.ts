/**
 * Cuts an MPEG-TS stream into signed chunks aligned to random-access points. Sans-I/O: give it
 * whole packets and the wall clock, take signed chunks.
 *
 * 1. The PAT gives the PMT PID, the PMT the video PID, its codec and the PCR PID (sections CRC-checked).
 * 2. A video PES start is a random-access point when its adaptation field sets the
 *    random_access_indicator, or when the first VCL NAL unit of its access unit is an H.264 IDR or
 *    an HEVC IRAP picture (the decision may take a few packets: the cut is made where the PES began).
 * 3. A chunk ends before each random-access point, before the first video PES start once the chunk
 *    spans `chunkDurationMs` of media time (PCR; wall clock without one), before a packet that would
 *    take it past `maxPayloadBytes`, and where the PCR jumps (a discontinuity).
 * 4. A chunk that starts at a random-access point begins with copies of the latest PAT and PMT, so
 *    a viewer joining there can decode; the continuity counters of the PAT and PMT PIDs are
 *    renumbered across the output so the copies are no continuity errors.
 * 5. Each chunk is signed (`signChunk`): random-access and discontinuity flags, the media duration,
 *    the wall-clock time it was cut (Unix ms).
 * @module
 */
import { ParseError } from '../errors/index.ts';
import type { ChannelSigner } from './channel.ts';
import { signChunk } from './chunk.ts';
import {
  CHUNK_DURATION_DEFAULT_MS,
  CHUNK_FLAG_DISCONTINUITY,
  CHUNK_FLAG_RANDOM_ACCESS,
  CHUNK_MAX_PAYLOAD_BYTES,
  TS_PACKET_BYTES,
} from './constants.ts';
import {
  createTsPacketInfo,
  hasPayload,
  PAT_PID,
  peekPid,
  readTsPacket,
  setContinuityCounter,
} from './mpegts-packet.ts';
import {
  AccessUnitKind,
  AccessUnitScanner,
  codecOfStreamType,
  readPesHeader,
  VideoCodec,
  type VideoCodecType,
} from './mpegts-pes.ts';
import { isVideoStreamType, parsePat, parsePmt, SectionAssembler } from './mpegts-psi.ts';
import { validateInteger } from './source-options.ts';

/** PCR ticks per millisecond (27 MHz). */
const PCR_PER_MS = 27_000;
/** The PCR wraps at 2^33 × 300 ticks (about 26.5 hours). */
const PCR_WRAP = 2 ** 33 * 300;
/** A PCR step larger than this, or backwards, is a discontinuity, ms. */
const PCR_JUMP_MS = 5_000;
/** Elementary-stream bytes scanned for the first VCL NAL unit before the access unit counts as not random-access. */
const MAX_SCAN_BYTES = 64 * 1024;
/** PIDs below this carry tables (PAT, CAT, SDT, ...: ISO/IEC 13818-1 Table 2-3), not media. */
const FIRST_MEDIA_PID = 0x20;
/** PSI packets kept for the copies of one table. */
const MAX_PSI_PACKETS = 8;

/** Settings of a {@link TsChunker}. */
export interface TsChunkerOptions {
  /** The channel that signs the chunks. */
  readonly channel: ChannelSigner;
  /** Target media duration of a chunk, ms, 20–10,000. Default {@link CHUNK_DURATION_DEFAULT_MS}. */
  readonly chunkDurationMs?: number;
  /** Largest payload, bytes, at least 4 packets. Default {@link CHUNK_MAX_PAYLOAD_BYTES}. */
  readonly maxPayloadBytes?: number;
  /** Sequence number of the first chunk. Default ⌊first cut's wall clock / chunkDurationMs⌋ mod 2^32. */
  readonly firstSeq?: number;
}

/** Counters of a {@link TsChunker}. */
export interface TsChunkerStats {
  /** Chunks signed. */
  readonly chunks: number;
  /** Payload bytes signed. */
  readonly bytes: number;
  /** Chunks that start at a random-access point. */
  readonly randomAccess: number;
  /** Chunks flagged discontinuous. */
  readonly discontinuities: number;
  /** Chunks cut because they reached `maxPayloadBytes`. */
  readonly sizeCuts: number;
  /** Packets taken. */
  readonly packets: number;
  /** Packets dropped as malformed (bad adaptation field, transport error bit). */
  readonly malformedPackets: number;
  /** PAT/PMT sections that failed to parse (CRC, lengths). */
  readonly psiErrors: number;
  /** The video PID (-1 until a PMT named one). */
  readonly videoPid: number;
  /** The video codec. */
  readonly codec: VideoCodecType;
  /** Next sequence number. */
  readonly nextSeq: number;
}

interface Pending {
  /** Byte index in the working buffer where the access unit's first packet sits. */
  readonly index: number;
  /** Media clock (PCR ticks) at that packet, -1 unknown. */
  readonly pcr: number;
}

/** See the module doc. */
export class TsChunker {
  readonly #channel: ChannelSigner;
  readonly #durationMs: number;
  readonly #max: number;
  readonly #work: Buffer;
  #length = 0;
  #seq: number;
  #seqSet: boolean;
  readonly #out: Buffer[] = [];
  readonly #info = createTsPacketInfo();
  readonly #scanner = new AccessUnitScanner();
  readonly #patAssembler = new SectionAssembler();
  readonly #pmtAssembler = new SectionAssembler();
  #patPackets: Buffer[] = [];
  #pmtPackets: Buffer[] = [];
  #collectingPat: Buffer[] = [];
  #collectingPmt: Buffer[] = [];
  #pmtPid = -1;
  #videoPid = -1;
  #pcrPid = -1;
  #codec: VideoCodecType = VideoCodec.OTHER;
  #patCc = 0;
  #pmtCc = 0;
  #pcr = -1;
  /** The media clock, 27 MHz: the video's DTS × 300 when there is video, else the PCR. -1 unknown. */
  #media = -1;
  /** Media time between the last two random-access points, 27 MHz ticks (-1 unknown). */
  #rapInterval = -1;
  #lastRap = -1;
  #pending: Pending | undefined;
  // The chunk being built.
  #startRap = false;
  #startPcr = -1;
  #startWallMs = -1;
  #discontinuity = false;
  // Counters.
  #chunks = 0;
  #bytes = 0;
  #raps = 0;
  #discontinuities = 0;
  #sizeCuts = 0;
  #packets = 0;
  #malformed = 0;
  #psiErrors = 0;

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` for an option out of range. */
  constructor(options: TsChunkerOptions) {
    this.#channel = options.channel;
    this.#durationMs = validateInteger(
      'chunkDurationMs',
      options.chunkDurationMs,
      CHUNK_DURATION_DEFAULT_MS,
      20,
      10_000,
    );
    const max = validateInteger(
      'maxPayloadBytes',
      options.maxPayloadBytes,
      CHUNK_MAX_PAYLOAD_BYTES,
      4 * TS_PACKET_BYTES,
      CHUNK_MAX_PAYLOAD_BYTES,
    );
    this.#max = max - (max % TS_PACKET_BYTES);
    this.#work = Buffer.allocUnsafe(this.#max);
    this.#seqSet = options.firstSeq !== undefined;
    this.#seq = validateInteger('firstSeq', options.firstSeq, 0, 0, 2 ** 32 - 1);
  }

  /** Takes whole 188-byte packets (`packets.length` a multiple of 188; a partial tail is ignored). */
  push(packets: Uint8Array, nowMs: number): void {
    const end = packets.length - (packets.length % TS_PACKET_BYTES);
    for (let at = 0; at < end; at += TS_PACKET_BYTES) this.#packet(packets, at, nowMs);
  }

  /** Cuts the chunk being built (the input ended or paused). */
  flush(nowMs: number): void {
    this.#resolvePending(AccessUnitKind.OTHER, nowMs);
    this.#cut(this.#length, false, this.#media, nowMs);
  }

  /**
   * The input restarted: the next chunk carries the discontinuity flag, and what was learnt of
   * the stream (tables, PIDs, clock) is forgotten. Call {@link flush} first to keep what was built.
   */
  markDiscontinuity(): void {
    this.#discontinuity = true;
    this.#length = 0;
    this.#pending = undefined;
    this.#patPackets = [];
    this.#pmtPackets = [];
    this.#collectingPat = [];
    this.#collectingPmt = [];
    this.#patAssembler.reset();
    this.#pmtAssembler.reset();
    this.#pmtPid = -1;
    this.#videoPid = -1;
    this.#pcrPid = -1;
    this.#pcr = -1;
    this.#media = -1;
    this.#rapInterval = -1;
    this.#lastRap = -1;
    this.#startPcr = -1;
    this.#startRap = false;
    this.#startWallMs = -1;
  }

  /** The chunks signed since the last call. */
  takeChunks(): Buffer[] {
    return this.#out.splice(0);
  }

  /** A snapshot of the counters. */
  stats(): TsChunkerStats {
    return {
      chunks: this.#chunks,
      bytes: this.#bytes,
      randomAccess: this.#raps,
      discontinuities: this.#discontinuities,
      sizeCuts: this.#sizeCuts,
      packets: this.#packets,
      malformedPackets: this.#malformed,
      psiErrors: this.#psiErrors,
      videoPid: this.#videoPid,
      codec: this.#codec,
      nextSeq: this.#seq,
    };
  }

  #packet(data: Uint8Array, at: number, nowMs: number): void {
    const info = this.#info;
    try {
      readTsPacket(data, at, info);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.#malformed++;
      return;
    }
    if (info.transportError) {
      this.#malformed++;
      return;
    }
    this.#packets++;
    if (this.#startWallMs < 0) this.#startWallMs = nowMs;
    const pid = info.pid;
    const payloadEnd = info.payloadStart + info.payloadLength;
    if (pid === PAT_PID || pid === this.#pmtPid) this.#psi(data, at, pid, payloadEnd);
    if (pid === this.#pcrPid && info.pcr >= 0) this.#clock(info.pcr, nowMs);
    if (this.#length + TS_PACKET_BYTES > this.#max) this.#resolvePending(AccessUnitKind.OTHER, nowMs);
    if (this.#length + TS_PACKET_BYTES > this.#max) {
      this.#sizeCuts++;
      this.#cut(this.#length, false, this.#media, nowMs);
    }
    if (pid === this.#videoPid && info.payloadLength > 0) {
      if (info.payloadUnitStart) {
        this.#resolvePending(AccessUnitKind.OTHER, nowMs);
        this.#videoStart(data, payloadEnd, nowMs);
      } else if (this.#pending !== undefined) {
        const kind = this.#scanner.feed(data, info.payloadStart, payloadEnd);
        if (kind === AccessUnitKind.UNKNOWN && this.#scanner.scanned > MAX_SCAN_BYTES) {
          this.#resolvePending(AccessUnitKind.OTHER, nowMs);
        } else if (kind !== AccessUnitKind.UNKNOWN) {
          this.#resolvePending(kind, nowMs);
        }
      }
    } else if (this.#videoPid < 0 && info.payloadUnitStart && pid !== PAT_PID && pid !== this.#pmtPid) {
      // No video known: cut on time at any PES start.
      if (this.#elapsedMs(this.#media, nowMs) >= this.#durationMs)
        this.#cut(this.#length, false, this.#media, nowMs);
    }
    this.#work.set(data.subarray(at, at + TS_PACKET_BYTES), this.#length);
    this.#length += TS_PACKET_BYTES;
  }

  /** A video PES starts in the packet being read (about to be appended at `#length`). */
  #videoStart(data: Uint8Array, payloadEnd: number, nowMs: number): void {
    const info = this.#info;
    let esStart = -1;
    try {
      const pes = readPesHeader(data, info.payloadStart, payloadEnd);
      esStart = pes.esStart;
      if (pes.dts >= 0) this.#media = pes.dts * 300;
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
    }
    if (info.randomAccess) {
      this.#pending = { index: this.#length, pcr: this.#media };
      this.#resolvePending(AccessUnitKind.RANDOM_ACCESS, nowMs);
      return;
    }
    this.#scanner.reset(esStart < 0 ? VideoCodec.OTHER : this.#codec);
    const kind = esStart < 0 ? AccessUnitKind.OTHER : this.#scanner.feed(data, esStart, payloadEnd);
    if (kind === AccessUnitKind.UNKNOWN) {
      this.#pending = { index: this.#length, pcr: this.#media };
      return;
    }
    this.#pending = { index: this.#length, pcr: this.#media };
    this.#resolvePending(kind, nowMs);
  }

  /** Decides the pending access unit: cut before it when it is random access, or when the chunk is long enough. */
  #resolvePending(kind: number, nowMs: number): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    if (kind === AccessUnitKind.RANDOM_ACCESS) {
      if (this.#lastRap >= 0 && pending.pcr >= 0) this.#rapInterval = pending.pcr - this.#lastRap;
      this.#lastRap = pending.pcr;
      this.#cut(pending.index, true, pending.pcr, nowMs);
    } else if (this.#elapsedMs(pending.pcr, nowMs) >= this.#durationMs && !this.#rapIsNear(pending.pcr)) {
      this.#cut(pending.index, false, pending.pcr, nowMs);
    }
  }

  /**
   * Whether the next random-access point (predicted from the last GOP) comes less than half a
   * chunk after `media`: the rest of the GOP then joins this chunk instead of making a runt.
   */
  #rapIsNear(media: number): boolean {
    if (this.#rapInterval <= 0 || this.#lastRap < 0 || media < 0) return false;
    const sinceRap = pcrDeltaMs(this.#lastRap, media);
    const untilRap = this.#rapInterval / PCR_PER_MS - sinceRap;
    return untilRap > 0 && untilRap < this.#durationMs / 2;
  }

  /** Media time since the chunk began, ms (wall clock when there is no PCR). */
  #elapsedMs(pcr: number, nowMs: number): number {
    if (pcr >= 0 && this.#startPcr >= 0) return pcrDeltaMs(this.#startPcr, pcr);
    return this.#startWallMs < 0 ? 0 : nowMs - this.#startWallMs;
  }

  /**
   * Ends the chunk being built at byte `index` of the working buffer (signing what precedes it
   * when it holds more than tables) and starts the next one with the bytes after it.
   */
  #cut(index: number, rap: boolean, pcr: number, nowMs: number): void {
    if (hasMedia(this.#work, 0, index, this.#pmtPid)) this.#emit(index, pcr, nowMs);
    // The next chunk: [PAT, PMT copies when it is a random-access point] + work[index..length).
    const tail = this.#length - index;
    const tables = rap ? [...this.#patPackets, ...this.#pmtPackets] : [];
    const prefix =
      this.#patPackets.length > 0 && this.#pmtPackets.length > 0 ? tables.length * TS_PACKET_BYTES : 0;
    const room = prefix + tail <= this.#max;
    const lead = room ? prefix : 0;
    if (tail > 0) this.#work.copy(this.#work, lead, index, this.#length);
    if (lead > 0) for (let i = 0; i < tables.length; i++) this.#work.set(tables[i]!, i * TS_PACKET_BYTES);
    this.#length = lead + tail;
    this.#startRap = rap && lead > 0;
    this.#startPcr = pcr;
    this.#startWallMs = nowMs;
  }

  #emit(length: number, pcr: number, nowMs: number): void {
    const payload = this.#work.subarray(0, length);
    this.#renumberTables(payload);
    let durationMs = this.#startPcr >= 0 && pcr >= 0 ? Math.round(pcrDeltaMs(this.#startPcr, pcr)) : -1;
    if (durationMs <= 0 || durationMs > PCR_JUMP_MS) durationMs = Math.round(nowMs - this.#startWallMs);
    if (!this.#seqSet) {
      this.#seq = Math.floor(nowMs / this.#durationMs) % 2 ** 32;
      this.#seqSet = true;
    }
    const flags =
      (this.#startRap ? CHUNK_FLAG_RANDOM_ACCESS : 0) | (this.#discontinuity ? CHUNK_FLAG_DISCONTINUITY : 0);
    const chunk = signChunk(this.#channel, {
      seq: this.#seq,
      timestampMs: Math.max(0, Math.floor(nowMs)),
      durationMs: Math.max(1, Math.min(durationMs, 2 ** 32 - 1)),
      flags,
      payload,
    });
    this.#out.push(chunk);
    this.#seq = (this.#seq + 1) % 2 ** 32;
    this.#chunks++;
    this.#bytes += length;
    if (this.#startRap) this.#raps++;
    if (this.#discontinuity) this.#discontinuities++;
    this.#discontinuity = false;
  }

  /** Gives the PAT and PMT packets of `payload` consecutive continuity counters (ours, across chunks). */
  #renumberTables(payload: Buffer): void {
    for (let at = 0; at < payload.length; at += TS_PACKET_BYTES) {
      const pid = peekPid(payload, at);
      if (!hasPayload(payload, at)) continue;
      if (pid === PAT_PID) {
        setContinuityCounter(payload, at, this.#patCc);
        this.#patCc = (this.#patCc + 1) & 0x0f;
      } else if (pid === this.#pmtPid) {
        setContinuityCounter(payload, at, this.#pmtCc);
        this.#pmtCc = (this.#pmtCc + 1) & 0x0f;
      }
    }
  }

  /** A packet of the PAT or the PMT PID. */
  #psi(data: Uint8Array, at: number, pid: number, payloadEnd: number): void {
    const info = this.#info;
    if (info.payloadLength === 0) return;
    const isPat = pid === PAT_PID;
    const copy = Buffer.from(data.subarray(at, at + TS_PACKET_BYTES));
    const collecting = isPat ? this.#collectingPat : this.#collectingPmt;
    if (info.payloadUnitStart) collecting.length = 0;
    if (collecting.length < MAX_PSI_PACKETS) collecting.push(copy);
    const assembler = isPat ? this.#patAssembler : this.#pmtAssembler;
    const section = assembler.push(data.subarray(info.payloadStart, payloadEnd), info.payloadUnitStart);
    if (section === undefined) return;
    try {
      if (isPat) {
        const pat = parsePat(section);
        const program = pat.programs[0];
        this.#patPackets = collecting.splice(0);
        if (program !== undefined && program.pmtPid !== this.#pmtPid) {
          this.#pmtPid = program.pmtPid;
          this.#pmtPackets = [];
          this.#pmtAssembler.reset();
        }
      } else {
        const pmt = parsePmt(section);
        this.#pmtPackets = collecting.splice(0);
        this.#pcrPid = pmt.pcrPid;
        const video = pmt.streams.find((s) => isVideoStreamType(s.streamType));
        this.#videoPid = video?.pid ?? -1;
        this.#codec = video === undefined ? VideoCodec.OTHER : codecOfStreamType(video.streamType);
      }
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.#psiErrors++;
      collecting.length = 0;
    }
  }

  /** A PCR: a jump backwards or of more than {@link PCR_JUMP_MS} cuts the chunk and flags the next. */
  #clock(pcr: number, nowMs: number): void {
    const last = this.#pcr;
    this.#pcr = pcr;
    if (this.#videoPid < 0) this.#media = pcr;
    if (last < 0) {
      if (this.#startPcr < 0 && this.#videoPid < 0) this.#startPcr = pcr;
      return;
    }
    if (pcrDeltaMs(last, pcr) > PCR_JUMP_MS) {
      this.#resolvePending(AccessUnitKind.OTHER, nowMs);
      this.#cut(this.#length, false, this.#media, nowMs);
      this.#discontinuity = true;
      this.#startPcr = -1;
      this.#media = -1;
      this.#lastRap = -1;
      this.#rapInterval = -1;
    }
  }
}

/** Forward PCR distance from `a` to `b`, ms, modulo the wrap (a step backwards is huge). */
function pcrDeltaMs(a: number, b: number): number {
  let d = b - a;
  if (d < 0) d += PCR_WRAP;
  return d / PCR_PER_MS;
}

/** Whether `buf[from..to)` holds a packet other than the PAT and the PMT. */
function hasMedia(buf: Buffer, from: number, to: number, pmtPid: number): boolean {
  for (let at = from; at < to; at += TS_PACKET_BYTES) {
    const pid = peekPid(buf, at);
    if (pid >= FIRST_MEDIA_PID && pid !== pmtPid) return true;
  }
  return false;
}
