/**
 * The KCP segment: its in-memory form and its 24-byte little-endian header.
 *
 * ```
 *  0               4       5       6               8
 *  +---------------+-------+-------+---------------+
 *  |     conv      |  cmd  |  frg  |      wnd      |
 *  +---------------+-------+-------+---------------+
 *  |      ts       |      sn       |      una      |
 *  +---------------+---------------+---------------+
 *  |      len      |  data (len bytes) ...
 *  +---------------+-------------------------------
 *  8              12              16              20   24
 * ```
 *
 * All integers are little-endian (ikcp.c `ikcp_encode_seg`). A datagram carries one or more
 * segments back to back.
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { KCP_OVERHEAD, KcpCommand } from './constants.ts';
import { ArqErrorCode } from './errors.ts';

const EMPTY = Buffer.alloc(0);

/** One KCP segment (ikcp.c `IKCPSEG`). Fields are u32 unless noted. */
export class KcpSegment {
  conv = 0;
  /** Command byte, see {@link KcpCommand}. */
  cmd = 0;
  /** Fragments that follow this one in the same message (0 = last); u8. */
  frg = 0;
  /** Sender's free receive window, segments; u16. */
  wnd = 0;
  /** Sender's clock when (re)transmitted, ms. */
  ts = 0;
  sn = 0;
  /** Sender's next expected sn (everything below is received). */
  una = 0;
  /** When to retransmit, ms (sender only). */
  resendts = 0;
  /** Current retransmission timeout of this segment, ms (sender only). */
  rto = 0;
  /** Times a later sn was acknowledged while this one was not (sender only). */
  fastack = 0;
  /** Transmissions so far (sender only). */
  xmit = 0;
  /** Payload. A slice of a received datagram, or a private copy on the sending side. */
  data: Buffer = EMPTY;
}

/** A decoded segment header, as {@link decodeSegmentHeader} returns it. */
export interface KcpSegmentHeader {
  readonly conv: number;
  readonly cmd: number;
  readonly frg: number;
  readonly wnd: number;
  readonly ts: number;
  readonly sn: number;
  readonly una: number;
  readonly len: number;
}

/** Writes the 24-byte header of `seg` (with `len` = `seg.data.length`) at `offset`; returns the end. */
export function encodeSegmentHeader(seg: KcpSegment, target: Buffer, offset: number): number {
  target.writeUInt32LE(seg.conv >>> 0, offset);
  target[offset + 4] = seg.cmd;
  target[offset + 5] = seg.frg;
  target.writeUInt16LE(seg.wnd & 0xffff, offset + 6);
  target.writeUInt32LE(seg.ts >>> 0, offset + 8);
  target.writeUInt32LE(seg.sn >>> 0, offset + 12);
  target.writeUInt32LE(seg.una >>> 0, offset + 16);
  target.writeUInt32LE(seg.data.length, offset + 20);
  return offset + KCP_OVERHEAD;
}

/** Encodes one segment (header + data) into a new Buffer. Used by tests and tools, not the hot path. */
export function encodeSegment(seg: KcpSegment): Buffer {
  const out = Buffer.allocUnsafe(KCP_OVERHEAD + seg.data.length);
  const end = encodeSegmentHeader(seg, out, 0);
  seg.data.copy(out, end);
  return out;
}

/**
 * Decodes the segment header at `offset` and checks it against the datagram.
 * @throws ParseError `ERR_ARQ_TRUNCATED` when fewer than 24 bytes remain,
 *   `ERR_ARQ_BAD_COMMAND` for a `cmd` other than 81–84 (at offset + 4),
 *   `ERR_ARQ_BAD_LENGTH` when `len` exceeds the bytes after the header (at offset + 20).
 */
export function decodeSegmentHeader(data: Uint8Array, offset = 0): KcpSegmentHeader {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!Number.isInteger(offset) || offset < 0 || buf.length - offset < KCP_OVERHEAD) {
    throw new ParseError(ArqErrorCode.TRUNCATED, 'a KCP segment header needs 24 bytes', Math.max(0, offset));
  }
  const cmd = buf[offset + 4]!;
  if (!isKcpCommand(cmd)) {
    throw new ParseError(ArqErrorCode.BAD_COMMAND, `unknown KCP command ${cmd}`, offset + 4);
  }
  const len = buf.readUInt32LE(offset + 20);
  if (len > buf.length - offset - KCP_OVERHEAD) {
    throw new ParseError(
      ArqErrorCode.BAD_LENGTH,
      `KCP segment length ${len} exceeds the datagram`,
      offset + 20,
    );
  }
  return {
    conv: buf.readUInt32LE(offset),
    cmd,
    frg: buf[offset + 5]!,
    wnd: buf.readUInt16LE(offset + 6),
    ts: buf.readUInt32LE(offset + 8),
    sn: buf.readUInt32LE(offset + 12),
    una: buf.readUInt32LE(offset + 16),
    len,
  };
}

/** Whether `cmd` is one of the four KCP commands. Never throws. */
export function isKcpCommand(cmd: number): boolean {
  return cmd >= KcpCommand.PUSH && cmd <= KcpCommand.WINS;
}

/** The conversation id of the segment at `offset`, or -1 when fewer than 24 bytes remain. Never throws. */
export function readConv(data: Buffer, offset = 0): number {
  if (data.length - offset < KCP_OVERHEAD || offset < 0) return -1;
  return data.readUInt32LE(offset);
}
