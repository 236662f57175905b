/**
 * What a node tells the tracker every second (the dashboard's data), and its wire form: the body
 * of a REPORT frame (docs/live.md, "Tracker"). The tracker keeps the latest one per node, as the
 * bytes it received (bounded: at most {@link NODE_REPORT_MAX_BYTES}), and decodes it for `swarm()`.
 *
 * ```
 *  0  version 1          1  role           2  NAT class      3  neighbour count (≤ 24)
 *  4  uploadBps u32      8  downloadBps u32
 * 12  bytesFromEdge f64  20 bytesFromPeers f64  28 bytesUp f64
 * 36  continuity u16 (÷ 65535)   38 latencyP50Ms u32   42 latencyP95Ms u32
 * 46  stalls u32  50 bans u32  54 chunksPlayed u32  58 chunksMissed u32
 * 62  per neighbour: id (u8 length + ASCII), path kind u8, rxBps u32, txBps u32
 * ```
 * @module
 */
import { ParseError } from '../errors/index.ts';
import { FrameReader } from '../internal/frame-reader.ts';
import { LiveParseCode } from './errors.ts';
import { TRACKER_NAT_CLASSES, type TrackerNatClass, type TrackerRoleValue } from './tracker-wire.ts';

/** Most neighbours in a report. */
export const NODE_REPORT_MAX_NEIGHBOURS = 24;
const FIXED = 62;
/** Largest encoded report. */
export const NODE_REPORT_MAX_BYTES = FIXED + NODE_REPORT_MAX_NEIGHBOURS * (1 + 64 + 9);
const PATHS = ['direct', 'predicted', 'relay', 'edge'] as const;
const ROLES: readonly TrackerRoleValue[] = ['peer', 'edge', 'source'];

/** How a node reaches one neighbour. */
export type NeighbourPathKind = (typeof PATHS)[number];

/** One neighbour in a {@link NodeReport}. */
export interface NodeReportNeighbour {
  readonly id: string;
  readonly pathKind: NeighbourPathKind;
  readonly rxBps: number;
  readonly txBps: number;
}

/** A node's latest figures (rates in bits/s, counters since it started). */
export interface NodeReport {
  readonly role: TrackerRoleValue;
  readonly natClass: TrackerNatClass;
  readonly uploadBps: number;
  readonly downloadBps: number;
  readonly bytesFromEdge: number;
  readonly bytesFromPeers: number;
  readonly bytesUp: number;
  /** Share of chunks played in time, 0..1. */
  readonly continuity: number;
  readonly latencyP50Ms: number;
  readonly latencyP95Ms: number;
  readonly stalls: number;
  readonly bans: number;
  readonly chunksPlayed: number;
  readonly chunksMissed: number;
  /** At most {@link NODE_REPORT_MAX_NEIGHBOURS} (more are left out by the encoder). */
  readonly neighbours: readonly NodeReportNeighbour[];
}

const u32 = (v: number): number => (Number.isFinite(v) && v > 0 ? Math.min(Math.round(v), 0xffffffff) : 0);
const f64 = (v: number): number => (Number.isFinite(v) && v > 0 ? v : 0);

/** The wire form of `report` (numbers clamped to their fields; ids past 64 bytes cut). */
export function encodeNodeReport(report: NodeReport): Buffer {
  const neighbours = report.neighbours.slice(0, NODE_REPORT_MAX_NEIGHBOURS);
  let size = FIXED;
  for (const n of neighbours) size += 1 + Math.min(n.id.length, 64) + 9;
  const out = Buffer.allocUnsafe(size);
  out[0] = 1;
  out[1] = Math.max(0, ROLES.indexOf(report.role));
  out[2] = Math.max(0, TRACKER_NAT_CLASSES.indexOf(report.natClass));
  out[3] = neighbours.length;
  out.writeUInt32BE(u32(report.uploadBps), 4);
  out.writeUInt32BE(u32(report.downloadBps), 8);
  out.writeDoubleBE(f64(report.bytesFromEdge), 12);
  out.writeDoubleBE(f64(report.bytesFromPeers), 20);
  out.writeDoubleBE(f64(report.bytesUp), 28);
  out.writeUInt16BE(Math.round(Math.min(1, f64(report.continuity)) * 65535), 36);
  out.writeUInt32BE(u32(report.latencyP50Ms), 38);
  out.writeUInt32BE(u32(report.latencyP95Ms), 42);
  out.writeUInt32BE(u32(report.stalls), 46);
  out.writeUInt32BE(u32(report.bans), 50);
  out.writeUInt32BE(u32(report.chunksPlayed), 54);
  out.writeUInt32BE(u32(report.chunksMissed), 58);
  let o = FIXED;
  for (const n of neighbours) {
    const id = n.id.slice(0, 64);
    out[o] = id.length;
    o += 1 + out.write(id, o + 1, 'latin1');
    out[o++] = Math.max(0, PATHS.indexOf(n.pathKind));
    out.writeUInt32BE(u32(n.rxBps), o);
    out.writeUInt32BE(u32(n.txBps), o + 4);
    o += 8;
  }
  return out.subarray(0, o);
}

/**
 * Decodes a report.
 * @throws ParseError with a `LiveParseCode` and the offset where it failed.
 */
export function decodeNodeReport(data: Buffer): NodeReport {
  if (data.length > NODE_REPORT_MAX_BYTES) {
    throw new ParseError(LiveParseCode.BAD_LENGTH, `report of ${data.length} bytes`, NODE_REPORT_MAX_BYTES);
  }
  const r = new FrameReader(data, 0, LiveParseCode.TRUNCATED);
  const version = r.u8('version');
  if (version !== 1) throw new ParseError(LiveParseCode.BAD_VERSION, `report version ${version}`, 0);
  const role = ROLES[r.u8('role')];
  if (role === undefined) throw new ParseError(LiveParseCode.BAD_VALUE, 'report: unknown role', 1);
  const natClass = TRACKER_NAT_CLASSES[r.u8('NAT class')];
  if (natClass === undefined) throw new ParseError(LiveParseCode.BAD_VALUE, 'report: unknown NAT class', 2);
  const count = r.u8('neighbour count');
  if (count > NODE_REPORT_MAX_NEIGHBOURS)
    throw new ParseError(LiveParseCode.BAD_LENGTH, `${count} neighbours`, 3);
  const uploadBps = r.u32('uploadBps');
  const downloadBps = r.u32('downloadBps');
  const counters = [0, 0, 0].map((_, i) => {
    const v = r.bytes(8, 'byte counter').readDoubleBE(0);
    if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER))
      throw new ParseError(LiveParseCode.BAD_VALUE, 'report: byte counter out of range', 12 + 8 * i);
    return v;
  });
  const continuity = r.u16('continuity') / 65535;
  const rest = [r.u32('p50'), r.u32('p95'), r.u32('stalls'), r.u32('bans'), r.u32('played'), r.u32('missed')];
  const neighbours: NodeReportNeighbour[] = [];
  for (let i = 0; i < count; i++) {
    const at = r.offset;
    const n = r.u8('id length');
    if (n === 0 || n > 64) throw new ParseError(LiveParseCode.BAD_LENGTH, `neighbour id of ${n} bytes`, at);
    const id = r.bytes(n, 'id').toString('latin1');
    const pathAt = r.offset;
    const pathKind = PATHS[r.u8('path kind')];
    if (pathKind === undefined)
      throw new ParseError(LiveParseCode.BAD_VALUE, 'report: unknown path kind', pathAt);
    neighbours.push({ id, pathKind, rxBps: r.u32('rxBps'), txBps: r.u32('txBps') });
  }
  r.end(LiveParseCode.TRAILING);
  return {
    role,
    natClass,
    uploadBps,
    downloadBps,
    bytesFromEdge: counters[0]!,
    bytesFromPeers: counters[1]!,
    bytesUp: counters[2]!,
    continuity,
    latencyP50Ms: rest[0]!,
    latencyP95Ms: rest[1]!,
    stalls: rest[2]!,
    bans: rest[3]!,
    chunksPlayed: rest[4]!,
    chunksMissed: rest[5]!,
    neighbours,
  };
}
