/**
 * MPEG-TS over RTP (RFC 2250 §2: an integral number of 188-byte TS packets per RTP payload,
 * payload type 33 "MP2T", RFC 3551 §6) on an even/odd port pair from a {@link PortPool}, reserved
 * under the ingest's owner id: start reserves the pair (a second start for the same id is refused
 * with `ERR_PORT_OWNER_EXISTS`), RTP is read on the even port, RTCP on the odd one is counted and
 * ignored, and close() releases the reservation — the sockets close and the ports cool down in the
 * pool. No probe-and-release: the ports are bound from the moment they are chosen.
 *
 * ```
 *  RTP (RFC 3550 §5.1): V=2 P X CC(4) | M PT(7) | sequence u16 | timestamp u32 | SSRC u32 |
 *                       CSRC × CC | [extension: profile u16, length u16 (words), data] | payload | [padding]
 * ```
 * @module
 */
import type { Socket } from 'node:dgram';
import { ParseError } from '../errors/index.ts';
import { demuxOf } from '../mux/index.ts';
import type { PortPool, PortReservation } from '../ports/index.ts';
import { MpegTsParseCode } from './errors.ts';
import { QueuedTsInput } from './source-input.ts';
import { validateInteger } from './source-options.ts';

/** RTP payload type of MPEG-TS (RFC 3551 §6). */
export const RTP_PAYLOAD_TYPE_MP2T = 33;
/** Every first byte: the ingest's sockets carry only RTP and RTCP. */
const ALL_BYTES = { first: 0, last: 255 } as const;

/** Where the payload of an RTP packet lies. */
export interface RtpPayload {
  readonly payloadType: number;
  readonly sequence: number;
  readonly start: number;
  readonly end: number;
}

/**
 * Reads an RTP header (RFC 3550 §5.1, §5.3.1 extension, padding).
 * @throws ParseError `ERR_LIVE_TS_TRUNCATED` (a header, CSRC list, extension or padding past the
 *   packet), `ERR_LIVE_TS_SYNC` (at 0: an RTP version other than 2).
 */
export function readRtpPayload(data: Uint8Array): RtpPayload {
  if (data.length < 12)
    throw new ParseError(MpegTsParseCode.TRUNCATED, 'an RTP header needs 12 bytes', data.length);
  const b0 = data[0]!;
  if (b0 >>> 6 !== 2) throw new ParseError(MpegTsParseCode.SYNC, `RTP version ${b0 >>> 6}`, 0);
  let start = 12 + (b0 & 0x0f) * 4;
  if (start > data.length) throw new ParseError(MpegTsParseCode.TRUNCATED, 'CSRC list past the packet', 0);
  if ((b0 & 0x10) !== 0) {
    if (start + 4 > data.length)
      throw new ParseError(MpegTsParseCode.TRUNCATED, 'extension header past the packet', start);
    const lengthAt = start + 2;
    start += 4 + ((data[lengthAt]! << 8) | data[lengthAt + 1]!) * 4;
    if (start > data.length)
      throw new ParseError(MpegTsParseCode.TRUNCATED, 'extension past the packet', lengthAt);
  }
  let end = data.length;
  if ((b0 & 0x20) !== 0) {
    const padding = data[data.length - 1]!;
    if (padding === 0 || end - padding < start) {
      throw new ParseError(MpegTsParseCode.TRUNCATED, 'padding past the payload', data.length - 1);
    }
    end -= padding;
  }
  return { payloadType: data[1]! & 0x7f, sequence: (data[2]! << 8) | data[3]!, start, end };
}

/** Settings of {@link openRtpInput}. */
export interface RtpInputOptions {
  /** The pool the even/odd pair comes from. */
  readonly pool: PortPool;
  /** The ingest's owner id (one ingest per id at a time). */
  readonly owner: string;
  /** Payload type to accept, 0–127. Default 33 (MP2T). */
  readonly payloadType?: number;
  readonly signal?: AbortSignal;
}

/** An RTP ingest on a reserved pair; see the module doc. */
export class RtpTsInput extends QueuedTsInput {
  readonly kind = 'rtp';
  readonly #reservation: PortReservation;
  readonly #payloadType: number;
  readonly #registrations: { remove(): void }[] = [];
  #expected = -1;
  /** RTCP packets seen on the odd port. */
  rtcp = 0;
  /** RTP packets taken. */
  packets = 0;

  /** @internal Made by {@link openRtpInput}. */
  constructor(reservation: PortReservation, payloadType: number) {
    super();
    this.#reservation = reservation;
    this.#payloadType = payloadType;
    const [rtp, rtcp] = reservation.sockets as [Socket, Socket];
    this.#registrations.push(demuxOf(rtp).register(ALL_BYTES, (data) => this.#rtp(data)));
    this.#registrations.push(
      demuxOf(rtcp).register(ALL_BYTES, () => {
        this.rtcp++;
      }),
    );
  }

  /** The owner id the pair is reserved under. */
  get owner(): string {
    return this.#reservation.owner;
  }

  /** The RTP port (even); RTCP is `port + 1`. */
  get port(): number {
    return this.#reservation.port;
  }

  #rtp(data: Buffer): void {
    let rtp: RtpPayload;
    try {
      rtp = readRtpPayload(data);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.malformed++;
      return;
    }
    if (rtp.payloadType !== this.#payloadType) {
      this.malformed++;
      return;
    }
    if (this.#expected >= 0 && rtp.sequence !== this.#expected) {
      const gap = (rtp.sequence - this.#expected) & 0xffff;
      if (gap > 0x8000) return; // late or duplicate: its packets already went by
      this.lost += gap;
    }
    this.#expected = (rtp.sequence + 1) & 0xffff;
    this.packets++;
    this.write(data.subarray(rtp.start, rtp.end));
  }

  protected async stop(): Promise<void> {
    for (const r of this.#registrations) r.remove();
    await this.#reservation.release();
  }
}

/**
 * Reserves an even/odd pair from `pool` under `owner` and receives MPEG-TS over RTP on it.
 * @throws OwnerConflictError `ERR_PORT_OWNER_EXISTS` when `owner` already has an ingest;
 *   PortRangeExhaustedError `ERR_PORT_RANGE_EXHAUSTED` when no pair is free; InvalidOptionError.
 */
export async function openRtpInput(options: RtpInputOptions): Promise<RtpTsInput> {
  const payloadType = validateInteger('payloadType', options.payloadType, RTP_PAYLOAD_TYPE_MP2T, 0, 127);
  const reservation = await options.pool.reserve({
    owner: options.owner,
    count: 2,
    parity: 'even',
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return new RtpTsInput(reservation, payloadType);
}
