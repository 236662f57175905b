/**
 * porthole's conversation control frame (muxed framing only). KCP has no FIN, so the end of a
 * conversation travels outside KCP, in porthole's own frame range (`PortholeFrame.ARQ_CONTROL`):
 *
 * ```
 *  0       1       2                               6                               10
 *  +-------+-------+-------------------------------+-------------------------------+
 *  | 0x07  | type  |        conv (u32 LE)          |         sn (u32 LE)           |
 *  +-------+-------+-------------------------------+-------------------------------+
 * ```
 *
 * - FIN (1): the sender will send no more data; `sn` is its `snd_nxt`, i.e. every data segment
 *   it ever sent has a lower sn. Sent once all its data is acknowledged; repeated until FIN_ACK.
 * - FIN_ACK (2): answers a FIN, echoing its `sn`. Sent statelessly, also for unknown conversations.
 * - RST (3): the sender dropped the conversation (destroyed, dead link, endpoint closed); `sn` 0.
 *
 * Bytes after the tenth are ignored (room for later fields).
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { PortholeFrame } from '../mux/index.ts';
import { ArqErrorCode } from './errors.ts';

/** Bytes of a control frame. */
export const ARQ_CONTROL_FRAME_BYTES = 10;

/** Control frame types (byte 1). */
export const ArqControlType = {
  FIN: 1,
  FIN_ACK: 2,
  RST: 3,
} as const;
/** One of the {@link ArqControlType} values. */
export type ArqControlTypeValue = (typeof ArqControlType)[keyof typeof ArqControlType];

/** A decoded control frame. */
export interface ArqControlFrame {
  readonly type: ArqControlTypeValue;
  readonly conv: number;
  readonly sn: number;
}

/** Encodes one control frame into a new 10-byte Buffer. */
export function encodeControlFrame(type: ArqControlTypeValue, conv: number, sn: number): Buffer {
  const out = Buffer.allocUnsafe(ARQ_CONTROL_FRAME_BYTES);
  out[0] = PortholeFrame.ARQ_CONTROL;
  out[1] = type;
  out.writeUInt32LE(conv >>> 0, 2);
  out.writeUInt32LE(sn >>> 0, 6);
  return out;
}

/**
 * Decodes a control frame (starting with its 0x07 frame byte).
 * @throws ParseError `ERR_ARQ_CONTROL_TRUNCATED` below 10 bytes, `ERR_ARQ_CONTROL_FRAME` when byte 0
 *   is not 0x07, `ERR_ARQ_CONTROL_TYPE` for an unknown type (at byte 1).
 */
export function decodeControlFrame(data: Buffer): ArqControlFrame {
  if (data.length < ARQ_CONTROL_FRAME_BYTES) {
    throw new ParseError(ArqErrorCode.CONTROL_TRUNCATED, 'an ARQ control frame needs 10 bytes', data.length);
  }
  if (data[0] !== PortholeFrame.ARQ_CONTROL) {
    throw new ParseError(ArqErrorCode.CONTROL_FRAME, `byte ${data[0]} is not an ARQ control frame`, 0);
  }
  const type = data[1]!;
  if (type !== ArqControlType.FIN && type !== ArqControlType.FIN_ACK && type !== ArqControlType.RST) {
    throw new ParseError(ArqErrorCode.CONTROL_TYPE, `unknown ARQ control type ${type}`, 1);
  }
  return { type, conv: data.readUInt32LE(2), sn: data.readUInt32LE(6) };
}
