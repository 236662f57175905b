/**
 * The RIST Main profile's GRE-in-UDP framing (VSF TR-06-2 §5 on RFC 8086 / RFC 2784 / RFC 2890),
 * as librist 0.2 sends it:
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |C| |K|S|Reserved0|H|RVer | Ver |         Protocol Type         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Checksum (C)             |       Reserved1 (C)           |
 * |                       Key / nonce (K)                         |
 * |                     Sequence number (S)                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | reduced overhead header (0x88B6): virtual source | dest port  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   RTP or RTCP (the second byte tells them apart: ≥ 200 RTCP)  |
 * ```
 *
 * Without a secret the header is the 4 bytes alone (flags 0); with one, K and S are set, the key
 * field carries the PSK nonce, S a per-peer datagram counter, H says AES-256, RVer the RIST GRE
 * version (1: the counter is the top of the AES-CTR IV). Protocol 0x88B5 is the TR-06-2
 * keepalive (a MAC address, capability bits, optional JSON). The newer VSF protocol type 0xCCE0
 * (a type/subtype word before the reduced header) is read too.
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { RistParseCode } from './errors.ts';

/** GRE protocol types RIST uses. */
export const GreProtocol = {
  /** The reduced overhead header (virtual ports) then RTP or RTCP. */
  REDUCED: 0x88b6,
  /** TR-06-2 keepalive. */
  KEEPALIVE: 0x88b5,
  /** A full IPv4 + UDP header (librist's out-of-band data): not carried by porthole. */
  FULL: 0x0800,
  /** EAPOL (librist's SRP authentication): not carried by porthole. */
  EAPOL: 0x888e,
  /** The VSF protocol type (a type/subtype word follows). */
  VSF: 0xcce0,
} as const;

/** VSF subtypes after protocol type 0xCCE0. */
const VSF_SUBTYPE_REDUCED = 0x0000;
const VSF_SUBTYPE_KEEPALIVE = 0x8000;

/** GRE flag bits of the first byte. */
const FLAG_C = 0x80;
const FLAG_K = 0x20;
const FLAG_S = 0x10;
/** H bit (AES-256) in the second byte. */
const FLAG_H = 0x40;

/** Size of the plain GRE header, bytes. */
export const GRE_HEADER_BYTES = 4;
/** Size of the GRE header with key (nonce) and sequence, bytes. */
export const GRE_KEY_SEQ_HEADER_BYTES = 12;
/** Size of the reduced overhead header, bytes. */
export const REDUCED_HEADER_BYTES = 4;
/** Size of the keepalive body before its JSON, bytes. */
export const KEEPALIVE_BYTES = 8;
/** The RIST GRE version porthole sends with a key (librist 0.2: 1). */
export const RIST_GRE_VERSION = 1;
/** librist's default virtual destination port (its data goes to it, RTCP to it + 1). */
export const DEFAULT_VIRTUAL_DST_PORT = 1968;
/** librist's default virtual source port. */
export const DEFAULT_VIRTUAL_SRC_PORT = 1971;

/**
 * First bytes of the GRE datagrams a Main-profile socket takes (flags C = 0; K and S either):
 * the demux routes these to the framing. 0x80 and up (a checksum) would be RTP's range.
 */
export const GRE_FIRST_BYTES: readonly number[] = [0x00, 0x10, 0x20, 0x30];

/** What a GRE header says. `offset` is where its body (after the GRE header) starts. */
export interface GreHeader {
  readonly protocol: number;
  /** The K bit: the body is encrypted, `nonce` is its PSK nonce. */
  readonly keyed: boolean;
  /** The key field as 4 bytes (the nonce; 0 without K), read big-endian. */
  readonly nonce: number;
  /** The S field (0 without S). */
  readonly seq: number;
  /** The RIST GRE version (RVer, 0–7). */
  readonly version: number;
  /** The H bit: AES-256. */
  readonly aes256: boolean;
  readonly offset: number;
}

/** A {@link GreHeader} to decode into again and again ({@link decodeGreInto}). */
export type GreHeaderScratch = { -readonly [K in keyof GreHeader]: GreHeader[K] };

/** A fresh {@link GreHeaderScratch}. */
export function greHeaderScratch(): GreHeaderScratch {
  return { protocol: 0, keyed: false, nonce: 0, seq: 0, version: 0, aes256: false, offset: 0 };
}

/**
 * Reads the GRE header of one datagram (the body is not looked at).
 * @throws ParseError `ERR_RIST_TRUNCATED` (shorter than its flags announce), `ERR_RIST_VERSION`
 * (GRE version not 0).
 */
export function decodeGre(data: Uint8Array): GreHeader {
  return decodeGreInto(data, greHeaderScratch());
}

/** {@link decodeGre} into `out` (no allocation); returns `out`. Same errors. */
export function decodeGreInto(data: Uint8Array, out: GreHeaderScratch): GreHeaderScratch {
  if (data.length < GRE_HEADER_BYTES) {
    throw new ParseError(RistParseCode.TRUNCATED, 'GRE header shorter than 4 bytes', data.length);
  }
  const f1 = data[0] as number;
  const f2 = data[1] as number;
  if ((f2 & 0x07) !== 0) throw new ParseError(RistParseCode.VERSION, 'GRE version is not 0', 1);
  const protocol = ((data[2] as number) << 8) | (data[3] as number);
  let offset = GRE_HEADER_BYTES + ((f1 & FLAG_C) !== 0 ? 4 : 0);
  const keyed = (f1 & FLAG_K) !== 0;
  const hasSeq = (f1 & FLAG_S) !== 0;
  const end = offset + (keyed ? 4 : 0) + (hasSeq ? 4 : 0);
  if (end > data.length) {
    throw new ParseError(RistParseCode.TRUNCATED, 'GRE key or sequence field past the end', data.length);
  }
  let nonce = 0;
  if (keyed) {
    nonce = readU32(data, offset);
    offset += 4;
  }
  let seq = 0;
  if (hasSeq) {
    seq = readU32(data, offset);
    offset += 4;
  }
  out.protocol = protocol;
  out.keyed = keyed;
  out.nonce = nonce;
  out.seq = seq;
  out.version = (f2 >> 3) & 0x07;
  out.aes256 = (f2 & FLAG_H) !== 0;
  out.offset = offset;
  return out;
}

/** The body of a GRE datagram once decrypted, told apart. */
export type GreBody =
  | {
      readonly kind: 'rtp' | 'rtcp';
      readonly srcPort: number;
      readonly dstPort: number;
      /** Offset of the RTP or RTCP packet in the body. */
      readonly offset: number;
    }
  | {
      readonly kind: 'keepalive';
      readonly mac: string;
      readonly capabilities: number;
      readonly offset: number;
    }
  | { readonly kind: 'unsupported'; readonly protocol: number };

/**
 * What {@link readGreBody} found: `kind`, and for `rtp`/`rtcp` the virtual ports and the offset
 * of the packet (from the start of the datagram), for `keepalive` where its MAC starts and its
 * capabilities, for `unsupported` the protocol.
 */
export interface GreBodyScratch {
  kind: 'rtp' | 'rtcp' | 'keepalive' | 'unsupported';
  srcPort: number;
  dstPort: number;
  offset: number;
  macAt: number;
  capabilities: number;
  protocol: number;
}

/** A fresh {@link GreBodyScratch}. */
export function greBodyScratch(): GreBodyScratch {
  return { kind: 'unsupported', srcPort: 0, dstPort: 0, offset: 0, macAt: 0, capabilities: 0, protocol: 0 };
}

/**
 * Tells what the (decrypted) `body` of a GRE datagram of `protocol` is.
 * @throws ParseError `ERR_RIST_TRUNCATED` (a reduced or keepalive header past the end, or no
 * room for an RTP/RTCP header), `ERR_RIST_VERSION` (the inner packet's version is not 2).
 */
export function decodeGreBody(protocol: number, body: Uint8Array): GreBody {
  const b = readGreBody(protocol, body, 0, greBodyScratch());
  if (b.kind === 'unsupported') return { kind: 'unsupported', protocol: b.protocol };
  if (b.kind === 'keepalive') {
    const mac = Buffer.from(body.buffer, body.byteOffset + b.macAt, 6).toString('hex');
    return { kind: 'keepalive', mac, capabilities: b.capabilities, offset: b.offset };
  }
  return { kind: b.kind, srcPort: b.srcPort, dstPort: b.dstPort, offset: b.offset };
}

/**
 * {@link decodeGreBody} of the body that starts at `start` in `data`, into `out` (no
 * allocation); offsets in `out` count from the start of `data`, those of errors from `start`.
 */
export function readGreBody(
  protocol: number,
  data: Uint8Array,
  start: number,
  out: GreBodyScratch,
): GreBodyScratch {
  const length = data.length - start;
  let at = start;
  let kind = protocol;
  if (protocol === GreProtocol.VSF) {
    if (length < 4) throw new ParseError(RistParseCode.TRUNCATED, 'VSF type past the end', length);
    const type = ((data[at] as number) << 8) | (data[at + 1] as number);
    const subtype = ((data[at + 2] as number) << 8) | (data[at + 3] as number);
    at += 4;
    if (type === 0 && subtype === VSF_SUBTYPE_REDUCED) kind = GreProtocol.REDUCED;
    else if (type === 0 && subtype === VSF_SUBTYPE_KEEPALIVE) kind = GreProtocol.KEEPALIVE;
    else {
      out.kind = 'unsupported';
      out.protocol = (type << 16) | subtype;
      return out;
    }
  }
  if (kind === GreProtocol.KEEPALIVE) {
    if (data.length < at + KEEPALIVE_BYTES) {
      throw new ParseError(RistParseCode.TRUNCATED, 'keepalive shorter than 8 bytes', length);
    }
    out.kind = 'keepalive';
    out.macAt = at;
    out.capabilities = ((data[at + 6] as number) << 8) | (data[at + 7] as number);
    out.offset = at + KEEPALIVE_BYTES;
    return out;
  }
  if (kind !== GreProtocol.REDUCED) {
    out.kind = 'unsupported';
    out.protocol = protocol;
    return out;
  }
  // Reduced header, then at least an RTCP header's 8 bytes (an RTP header is checked by decodeRtp).
  if (data.length < at + REDUCED_HEADER_BYTES + 8) {
    throw new ParseError(RistParseCode.TRUNCATED, 'reduced header and RTP/RTCP past the end', length);
  }
  const inner = at + REDUCED_HEADER_BYTES;
  if ((data[inner] as number) >> 6 !== 2) {
    throw new ParseError(RistParseCode.VERSION, 'RTP/RTCP version in a GRE body is not 2', inner - start);
  }
  out.kind = (data[inner + 1] as number) >= 200 ? 'rtcp' : 'rtp';
  out.srcPort = ((data[at] as number) << 8) | (data[at + 1] as number);
  out.dstPort = ((data[at + 2] as number) << 8) | (data[at + 3] as number);
  out.offset = inner;
  return out;
}

/**
 * Writes a GRE header (plus, for `REDUCED`, the reduced header) at the start of `out` and
 * returns its length: 4 + 4 bytes in the clear, 12 + 4 with a key (`nonce`, `seq`, `aes256`).
 */
export function writeGreHeader(
  out: Uint8Array,
  protocol: number,
  key: { readonly nonce: number; readonly seq: number; readonly aes256: boolean } | undefined,
  ports?: { readonly src: number; readonly dst: number },
): number {
  let at: number;
  if (key === undefined) {
    out[0] = 0;
    out[1] = 0;
    at = GRE_HEADER_BYTES;
  } else {
    out[0] = FLAG_K | FLAG_S;
    out[1] = (RIST_GRE_VERSION << 3) | (key.aes256 ? FLAG_H : 0);
    writeU32(out, 4, key.nonce);
    writeU32(out, 8, key.seq);
    at = GRE_KEY_SEQ_HEADER_BYTES;
  }
  out[2] = protocol >> 8;
  out[3] = protocol & 0xff;
  if (ports !== undefined) {
    out[at] = ports.src >> 8;
    out[at + 1] = ports.src & 0xff;
    out[at + 2] = ports.dst >> 8;
    out[at + 3] = ports.dst & 0xff;
    at += REDUCED_HEADER_BYTES;
  }
  return at;
}

/** A TR-06-2 keepalive datagram (always in the clear): `mac` (6 bytes), `capabilities` (16 bits). */
export function encodeKeepalive(mac: Uint8Array, capabilities: number): Buffer {
  const out = Buffer.alloc(GRE_HEADER_BYTES + KEEPALIVE_BYTES);
  writeGreHeader(out, GreProtocol.KEEPALIVE, undefined);
  out.set(mac.subarray(0, 6), GRE_HEADER_BYTES);
  out[GRE_HEADER_BYTES + 6] = (capabilities >> 8) & 0xff;
  out[GRE_HEADER_BYTES + 7] = capabilities & 0xff;
  return out;
}

function readU32(data: Uint8Array, at: number): number {
  return (
    (((data[at] as number) << 24) |
      ((data[at + 1] as number) << 16) |
      ((data[at + 2] as number) << 8) |
      (data[at + 3] as number)) >>>
    0
  );
}

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = (value >>> 24) & 0xff;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}
