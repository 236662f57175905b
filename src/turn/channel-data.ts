import { InvalidOptionError, ParseError } from '../errors/index.ts';
import { TURN_CHANNEL_MAX, TURN_CHANNEL_MIN } from './constants.ts';
import { TurnErrorCode } from './errors.ts';

/**
 * The ChannelData message (RFC 8656 §12.4): a 4-byte header and the application data.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Channel Number        |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * /                       Application Data                        /
 * +-------------------------------+
 * ```
 * Over UDP the padding to a multiple of 4 bytes is not required; a received message may carry it.
 * @module
 */

/** Size of the ChannelData header in bytes. RFC 8656 §12.4. */
export const CHANNEL_DATA_HEADER_BYTES = 4;
/** Most application bytes in one ChannelData message (16-bit length field). RFC 8656 §12.4. */
export const CHANNEL_DATA_MAX_BYTES = 0xffff;

/** A decoded ChannelData message. */
export interface ChannelData {
  /** Channel number, 0x4000–0x4FFF. */
  readonly channel: number;
  /** The application data: a slice of the received Buffer, not a copy. */
  readonly data: Buffer;
}

/** Whether `data` starts like a ChannelData message (first two bits 01). Never throws. RFC 8656 §12.4. */
export function isChannelData(data: Uint8Array): boolean {
  return data.length >= CHANNEL_DATA_HEADER_BYTES && (data[0]! & 0xc0) === 0x40;
}

/**
 * The application data length of the ChannelData message in `data`, after checking the header,
 * channel number, length and padding; the data is `data.subarray(4, 4 + length)`. Allocates nothing
 * (the receive path's check). Total: a length or a ParseError.
 * @throws ParseError `ERR_TURN_CHANNEL_TRUNCATED`, `ERR_TURN_CHANNEL_BAD_NUMBER`, `ERR_TURN_CHANNEL_BAD_LENGTH`.
 */
export function checkChannelData(data: Uint8Array): number {
  if (data.length < CHANNEL_DATA_HEADER_BYTES) {
    throw new ParseError(
      TurnErrorCode.CHANNEL_TRUNCATED,
      'a ChannelData message needs a 4-byte header',
      data.length,
    );
  }
  const channel = (data[0]! << 8) | data[1]!;
  if (channel < TURN_CHANNEL_MIN || channel > TURN_CHANNEL_MAX) {
    throw new ParseError(
      TurnErrorCode.CHANNEL_BAD_NUMBER,
      `channel number 0x${channel.toString(16)} is outside 0x4000-0x4FFF`,
      0,
    );
  }
  const length = (data[2]! << 8) | data[3]!;
  const end = CHANNEL_DATA_HEADER_BYTES + length;
  if (data.length < end) {
    throw new ParseError(
      TurnErrorCode.CHANNEL_TRUNCATED,
      `length says ${length} bytes of data, the datagram has ${data.length - CHANNEL_DATA_HEADER_BYTES}`,
      data.length,
    );
  }
  if (data.length > ((end + 3) & ~3)) {
    throw new ParseError(
      TurnErrorCode.CHANNEL_BAD_LENGTH,
      `${data.length - end} bytes after ${length} bytes of data (padding is at most 3)`,
      end,
    );
  }
  return length;
}

/**
 * Decodes one ChannelData message. RFC 8656 §12.4.
 * @throws ParseError as {@link checkChannelData}.
 */
export function decodeChannelData(data: Buffer): ChannelData {
  const length = checkChannelData(data);
  return { channel: data.readUInt16BE(0), data: data.subarray(CHANNEL_DATA_HEADER_BYTES, 4 + length) };
}

/**
 * Encodes `payload` on `channel` into one Buffer sized once, without padding (UDP). RFC 8656 §12.4.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` for a channel outside 0x4000–0x4FFF or more than 65535 bytes.
 */
export function encodeChannelData(channel: number, payload: Uint8Array): Buffer {
  if (!Number.isInteger(channel) || channel < TURN_CHANNEL_MIN || channel > TURN_CHANNEL_MAX) {
    throw new InvalidOptionError('channel', `a channel number is 0x4000-0x4FFF, not ${channel}`);
  }
  if (payload.length > CHANNEL_DATA_MAX_BYTES) {
    throw new InvalidOptionError(
      'payload',
      `ChannelData carries at most ${CHANNEL_DATA_MAX_BYTES} bytes, not ${payload.length}`,
    );
  }
  const out = Buffer.allocUnsafe(CHANNEL_DATA_HEADER_BYTES + payload.length);
  out.writeUInt16BE(channel, 0);
  out.writeUInt16BE(payload.length, 2);
  out.set(payload, CHANNEL_DATA_HEADER_BYTES);
  return out;
}
