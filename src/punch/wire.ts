/**
 * Wire format of hole punching (`PortholeFrame.PUNCH`, 0x04): authenticated probes and replies,
 * and the data frames of an established link.
 *
 * ```
 *  0        1        2        3
 * +--------+--------+--------+--------+
 * |  0x04  | ver=1  |  type  | flags  |   type 1 PROBE, 2 REPLY, 3 DATA, 4 CLOSE
 * +--------+--------+--------+--------+   flags: bit 0 NOMINATE, bit 1 KEEPALIVE, bit 2 PREDICTED
 * |           link id (8 bytes)       |
 * |                                   |
 * +--------+--------+--------+--------+   DATA ends the header here: payload follows.
 * | sender |   0    |   0    |   0    |   sender: 0 initiator, 1 responder
 * +--------+--------+--------+--------+
 * |            sequence               |   REPLY: the sequence of the probe it answers
 * +-----------------------------------+
 * | family | port (2) | address (4/16) |   PROBE: the address it was sent to;
 * +-----------------------------------+   REPLY: the address the probe came from; CLOSE: absent
 * | HMAC-SHA256(secret, bytes 0..here), first 16 bytes |
 * +-----------------------------------+
 * ```
 * The HMAC covers link id, sender, sequence and the address, keyed with the punch secret the
 * broker handed out, so a third party can neither make a path (RFC 8445 §7.2.2 plays the same
 * role with MESSAGE-INTEGRITY) nor close one. CLOSE tells the peer the link is over (so it
 * does not re-punch a path nobody answers any more).
 *
 * This file is the one place that knows the layout: the peer routes by {@link punchLinkHash} /
 * {@link hasPunchLinkId} and the link tells DATA from control by {@link isPunchData}.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ParseError } from '../errors/index.ts';
import { FrameReader } from '../internal/frame-reader.ts';
import { PortholeFrame } from '../mux/index.ts';
import type { NatEndpoint } from '../nat/index.ts';
import { PUNCH_WIRE_VERSION, SESSION_ID_BYTES } from './broker-wire.ts';
import { endpointSize, readEndpoint, writeEndpoint } from './candidates.ts';
import { PunchErrorCode } from './error-codes.ts';

/** Bytes of the truncated HMAC-SHA256 on probes and replies. */
export const PUNCH_MAC_BYTES = 16;
/** Bytes of a DATA frame header. */
export const PUNCH_DATA_HEADER_BYTES = 12;
/** Bytes of a CLOSE frame: header, sender, sequence and MAC. */
export const PUNCH_CLOSE_BYTES = 20 + PUNCH_MAC_BYTES;
const LINK_ID_OFFSET = 4;

/** Punch frame types. */
export const PunchMessage = { PROBE: 1, REPLY: 2, DATA: 3, CLOSE: 4 } as const;
/** Punch flags. */
export const PunchFlag = {
  NOMINATE: 1,
  KEEPALIVE: 2,
  /** On a NOMINATE: the initiator's pair exists through port prediction, so both ends label it `predicted`. */
  PREDICTED: 4,
} as const;

/** A probe or a reply. */
export interface PunchCheck {
  readonly type: 1 | 2;
  readonly flags: number;
  readonly linkId: Buffer;
  readonly sender: 0 | 1;
  readonly seq: number;
  readonly address: NatEndpoint;
}

/** A CLOSE: the sender ends the link. */
export interface PunchClose {
  readonly type: 4;
  readonly linkId: Buffer;
  readonly sender: 0 | 1;
  readonly seq: number;
}

/** A decoded punch frame; `signed` and `mac` are slices of the datagram for {@link verifyPunch}. */
export type PunchFrame =
  | (PunchCheck & { readonly signed: Buffer; readonly mac: Buffer })
  | (PunchClose & { readonly signed: Buffer; readonly mac: Buffer })
  | { readonly type: 3; readonly linkId: Buffer; readonly payload: Buffer };

function mac(secret: Buffer, signed: Buffer): Buffer {
  return createHmac('sha256', secret).update(signed).digest();
}

/** Encodes and signs a probe or reply with `secret`. */
export function encodePunch(check: PunchCheck, secret: Buffer): Buffer {
  const body = 20 + endpointSize(check.address);
  const out = Buffer.alloc(body + PUNCH_MAC_BYTES);
  out[0] = PortholeFrame.PUNCH;
  out[1] = PUNCH_WIRE_VERSION;
  out[2] = check.type;
  out[3] = check.flags & 7;
  check.linkId.copy(out, 4, 0, SESSION_ID_BYTES);
  out[12] = check.sender;
  out.writeUInt32BE(check.seq >>> 0, 16);
  writeEndpoint(out, 20, check.address);
  mac(secret, out.subarray(0, body)).copy(out, body, 0, PUNCH_MAC_BYTES);
  return out;
}

/** Encodes and signs a CLOSE with `secret`. */
export function encodePunchClose(close: Omit<PunchClose, 'type'>, secret: Buffer): Buffer {
  const out = Buffer.alloc(PUNCH_CLOSE_BYTES);
  out[0] = PortholeFrame.PUNCH;
  out[1] = PUNCH_WIRE_VERSION;
  out[2] = PunchMessage.CLOSE;
  close.linkId.copy(out, LINK_ID_OFFSET, 0, SESSION_ID_BYTES);
  out[12] = close.sender;
  out.writeUInt32BE(close.seq >>> 0, 16);
  mac(secret, out.subarray(0, 20)).copy(out, 20, 0, PUNCH_MAC_BYTES);
  return out;
}

/**
 * A number from the link id of a punch frame (its first four bytes), for routing by a map
 * without allocating; -1 when the datagram is too short to carry a link id. Confirm the match
 * with {@link hasPunchLinkId}. Never throws.
 */
export function punchLinkHash(data: Uint8Array): number {
  if (data.length < PUNCH_DATA_HEADER_BYTES) return -1;
  return (
    ((data[LINK_ID_OFFSET]! << 24) |
      (data[LINK_ID_OFFSET + 1]! << 16) |
      (data[LINK_ID_OFFSET + 2]! << 8) |
      data[LINK_ID_OFFSET + 3]!) >>>
    0
  );
}

/** The same {@link punchLinkHash} of a link id itself. */
export function linkIdHash(linkId: Buffer): number {
  return linkId.readUInt32BE(0);
}

/** Whether the punch frame `data` carries `linkId`. Never throws. */
export function hasPunchLinkId(data: Buffer, linkId: Buffer): boolean {
  return (
    data.length >= PUNCH_DATA_HEADER_BYTES &&
    data.compare(linkId, 0, SESSION_ID_BYTES, LINK_ID_OFFSET, LINK_ID_OFFSET + SESSION_ID_BYTES) === 0
  );
}

/** Whether the punch frame `data` is DATA (payload from {@link PUNCH_DATA_HEADER_BYTES} on). Never throws. */
export function isPunchData(data: Uint8Array): boolean {
  return data[2] === PunchMessage.DATA;
}

/** Whether `data` may be a CLOSE (type and size; decode and verify it to be sure). Never throws. */
export function mayBePunchClose(data: Uint8Array): boolean {
  return (
    data.length === PUNCH_CLOSE_BYTES && data[0] === PortholeFrame.PUNCH && data[2] === PunchMessage.CLOSE
  );
}

/** The 12-byte DATA header of a link; send `[header, payload]` without copying the payload. */
export function encodePunchDataHeader(linkId: Buffer): Buffer {
  const out = Buffer.alloc(PUNCH_DATA_HEADER_BYTES);
  out[0] = PortholeFrame.PUNCH;
  out[1] = PUNCH_WIRE_VERSION;
  out[2] = PunchMessage.DATA;
  linkId.copy(out, 4, 0, SESSION_ID_BYTES);
  return out;
}

/**
 * Decodes one punch frame without checking its MAC (see {@link verifyPunch}). Total: a frame or a
 * {@link ParseError}: `ERR_PUNCH_FRAME_TRUNCATED`, `ERR_PUNCH_FRAME_TYPE`, `ERR_PUNCH_FRAME_VERSION`,
 * `ERR_PUNCH_FRAME_BAD_FIELD`, `ERR_PUNCH_FRAME_BAD_ADDRESS`, `ERR_PUNCH_FRAME_TRAILING`.
 */
export function decodePunch(data: Buffer): PunchFrame {
  const r = new FrameReader(data, 0, PunchErrorCode.FRAME_TRUNCATED);
  if (r.u8('frame type') !== PortholeFrame.PUNCH)
    throw new ParseError(PunchErrorCode.FRAME_TYPE, 'not a punch frame', 0);
  const version = r.u8('version');
  if (version !== PUNCH_WIRE_VERSION)
    throw new ParseError(PunchErrorCode.FRAME_VERSION, `version ${version}`, 1);
  const type = r.u8('message type');
  const flags = r.u8('flags');
  const linkId = r.bytes(SESSION_ID_BYTES, 'link id');
  if (type === PunchMessage.DATA) {
    if (flags !== 0) throw new ParseError(PunchErrorCode.FRAME_BAD_FIELD, 'DATA flags not zero', 3);
    return { type, linkId, payload: data.subarray(PUNCH_DATA_HEADER_BYTES) };
  }
  if (type !== PunchMessage.PROBE && type !== PunchMessage.REPLY && type !== PunchMessage.CLOSE) {
    throw new ParseError(PunchErrorCode.FRAME_TYPE, `unknown punch message ${type}`, 2);
  }
  if (flags > (type === PunchMessage.CLOSE ? 0 : 7)) {
    throw new ParseError(PunchErrorCode.FRAME_BAD_FIELD, 'unknown flags', 3);
  }
  const sender = r.u8('sender');
  if (sender > 1) throw new ParseError(PunchErrorCode.FRAME_BAD_FIELD, 'unknown sender role', 12);
  if (r.u8('reserved') !== 0 || r.u8('reserved') !== 0 || r.u8('reserved') !== 0) {
    throw new ParseError(PunchErrorCode.FRAME_BAD_FIELD, 'reserved bytes not zero', r.offset - 1);
  }
  const seq = r.u32('sequence');
  if (type === PunchMessage.CLOSE) {
    const signed = data.subarray(0, r.offset);
    const tag = r.bytes(PUNCH_MAC_BYTES, 'HMAC');
    r.end(PunchErrorCode.FRAME_TRAILING);
    return { type, linkId, sender: sender as 0 | 1, seq, signed, mac: tag };
  }
  const address = readEndpoint(r);
  const signedEnd = r.offset;
  const tag = r.bytes(PUNCH_MAC_BYTES, 'HMAC');
  r.end(PunchErrorCode.FRAME_TRAILING);
  return {
    type,
    flags,
    linkId,
    sender: sender as 0 | 1,
    seq,
    address,
    signed: data.subarray(0, signedEnd),
    mac: tag,
  };
}

/** Whether the frame's HMAC is right for `secret` (constant-time compare). Never throws. */
export function verifyPunch(
  frame: { readonly signed: Buffer; readonly mac: Buffer },
  secret: Buffer,
): boolean {
  const expected = mac(secret, frame.signed);
  return (
    frame.mac.length === PUNCH_MAC_BYTES && timingSafeEqual(expected.subarray(0, PUNCH_MAC_BYTES), frame.mac)
  );
}
