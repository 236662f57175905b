/**
 * The hello extensions porthole reads and writes: supported_groups and ec_point_formats (RFC 8422
 * §5.1), signature_algorithms (RFC 5246 §7.4.1.4.1), use_srtp (RFC 5764 §4.1.1), ALPN (RFC 7301),
 * extended_master_secret (RFC 7627 §5.1), renegotiation_info (RFC 5746 §3.2), connection_id
 * (RFC 9146 §3). Others are skipped.
 * @module
 */
import { ExtensionType } from './constants.ts';
import { badHandshake, handshakeReader, readU16List, readVector, u16List, uint, vector } from './wire.ts';

/** The extensions of a hello message, decoded. */
export interface HelloExtensions {
  supportedGroups?: number[];
  pointFormats?: Buffer;
  signatureAlgorithms?: number[];
  srtp?: { profiles: number[]; mki: Buffer };
  alpn?: string[];
  extendedMasterSecret?: boolean;
  renegotiationInfo?: Buffer;
  /** RFC 9146 §3: the CID the sender wants in records sent to it (empty: none, but it sends ours). */
  connectionId?: Buffer;
}

/** Decodes `extensions<0..2^16-1>` (the caller read the outer length). Duplicates are refused. */
export function decodeExtensions(data: Buffer, base: number): HelloExtensions {
  const out: HelloExtensions = {};
  const seen = new Set<number>();
  const r = handshakeReader(data);
  while (r.remaining > 0) {
    const at = base + r.offset;
    const type = r.u16('extension type');
    const body = readVector(r, 2, 'extension data');
    if (seen.has(type)) badHandshake(`extension ${type} appears twice`, at);
    seen.add(type);
    const e = handshakeReader(body);
    switch (type) {
      case ExtensionType.SUPPORTED_GROUPS:
        out.supportedGroups = readU16List(e, 2, 'supported_groups');
        break;
      case ExtensionType.EC_POINT_FORMATS:
        out.pointFormats = readVector(e, 1, 'ec_point_formats', 1);
        break;
      case ExtensionType.SIGNATURE_ALGORITHMS:
        out.signatureAlgorithms = readU16List(e, 2, 'signature_algorithms', 2);
        break;
      case ExtensionType.USE_SRTP:
        out.srtp = { profiles: readU16List(e, 2, 'srtp profiles', 2), mki: readVector(e, 1, 'srtp mki') };
        break;
      case ExtensionType.ALPN: {
        const list = handshakeReader(readVector(e, 2, 'alpn list', 2));
        out.alpn = [];
        while (list.remaining > 0) out.alpn.push(readVector(list, 1, 'alpn protocol', 1).toString('utf8'));
        break;
      }
      case ExtensionType.EXTENDED_MASTER_SECRET:
        out.extendedMasterSecret = true;
        break;
      case ExtensionType.RENEGOTIATION_INFO:
        out.renegotiationInfo = readVector(e, 1, 'renegotiation_info');
        break;
      case ExtensionType.CONNECTION_ID:
        out.connectionId = readVector(e, 1, 'connection_id');
        break;
      default:
        continue;
    }
    if (e.remaining !== 0) badHandshake(`extension ${type} has ${e.remaining} trailing bytes`, at);
  }
  return out;
}

/** Encodes the extensions block, its 2-byte length included (empty block: nothing). */
export function encodeExtensions(ext: HelloExtensions): Buffer {
  const parts: Buffer[] = [];
  const add = (type: number, body: Buffer): void => {
    parts.push(uint(type, 2), vector(body, 2));
  };
  if (ext.renegotiationInfo !== undefined)
    add(ExtensionType.RENEGOTIATION_INFO, vector(ext.renegotiationInfo, 1));
  if (ext.extendedMasterSecret === true) add(ExtensionType.EXTENDED_MASTER_SECRET, Buffer.alloc(0));
  if (ext.supportedGroups !== undefined) add(ExtensionType.SUPPORTED_GROUPS, u16List(ext.supportedGroups));
  if (ext.pointFormats !== undefined) add(ExtensionType.EC_POINT_FORMATS, vector(ext.pointFormats, 1));
  if (ext.signatureAlgorithms !== undefined)
    add(ExtensionType.SIGNATURE_ALGORITHMS, u16List(ext.signatureAlgorithms));
  if (ext.srtp !== undefined)
    add(ExtensionType.USE_SRTP, Buffer.concat([u16List(ext.srtp.profiles), vector(ext.srtp.mki, 1)]));
  if (ext.alpn !== undefined)
    add(ExtensionType.ALPN, vector(Buffer.concat(ext.alpn.map((p) => vector(Buffer.from(p, 'utf8'), 1))), 2));
  if (ext.connectionId !== undefined) add(ExtensionType.CONNECTION_ID, vector(ext.connectionId, 1));
  if (parts.length === 0) return Buffer.alloc(0);
  return vector(Buffer.concat(parts), 2);
}
