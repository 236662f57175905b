/**
 * The tracker core's options, defaults, counters, node record and events.
 * @module
 */
import { InvalidOptionError } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import type { TrackerChannel, TrackerNode } from './tracker-channel.ts';

/** Default cap on nodes (all channels). */
export const DEFAULT_TRACKER_MAX_NODES = 100_000;
/** Default cap on channels. */
export const DEFAULT_TRACKER_MAX_CHANNELS = 1024;
/** Default cap on nodes in one channel. */
export const DEFAULT_TRACKER_MAX_NODES_PER_CHANNEL = 50_000;
/** Default cap on nodes joined from one IP address (a CGNAT address carries many). */
export const DEFAULT_TRACKER_MAX_NODES_PER_ADDRESS = 256;
/** Default silence after which a node expires: 30 s (six missed 5 s keepalives). */
export const DEFAULT_TRACKER_NODE_TIMEOUT_MS = 30_000;
/** Default distinct reporters after which a peer is flagged as a polluter and no longer sampled. */
export const DEFAULT_TRACKER_FORGED_THRESHOLD = 3;
/** How often silent nodes are looked for, ms. */
export const TRACKER_SWEEP_INTERVAL_MS = 1000;

/** Options of a {@link TrackerCore}. */
export interface TrackerCoreOptions {
  /** The operator's token secret (≥ 16 bytes). */
  readonly secret: Buffer;
  readonly maxNodes?: number;
  readonly maxChannels?: number;
  readonly maxNodesPerChannel?: number;
  readonly maxNodesPerAddress?: number;
  readonly nodeTimeoutMs?: number;
  readonly forgedThreshold?: number;
  /** Whether a peer may be offered now (the driver: registered at the broker). Default: every peer. */
  readonly usable?: (peerId: string) => boolean;
  readonly random?: () => number;
  readonly randomBytes?: (size: number) => Buffer;
}

/** A node joined at this instance. */
export interface LocalNode extends TrackerNode {
  readonly channel: TrackerChannel;
  readonly session: string;
  readonly address: Endpoint;
  /** The broker credential (its token's MAC); null for a source that proved the key. */
  readonly key: Buffer | null;
  readonly joinSeq: number;
  report: Buffer | null;
  reportAtMs: number;
  forgedBy: Set<string> | null;
}

/** What the core tells its driver (and the store). */
export type TrackerEvent =
  | { readonly type: 'joined'; readonly node: LocalNode }
  | { readonly type: 'left'; readonly node: LocalNode; readonly reason: 'leave' | 'expired' | 'replaced' }
  | { readonly type: 'channel'; readonly channel: TrackerChannel }
  | { readonly type: 'flagged'; readonly channel: TrackerChannel; readonly peerId: string };

/** Counters of a {@link TrackerCore}; every refusal and drop has one. */
export interface TrackerStats {
  readonly nodes: number;
  readonly channels: number;
  readonly joins: number;
  readonly leaves: number;
  readonly expired: number;
  readonly replaced: number;
  readonly challenges: number;
  readonly refusedAuth: number;
  readonly refusedExpired: number;
  readonly refusedFull: number;
  readonly refusedChannels: number;
  readonly refusedChannelFull: number;
  readonly refusedPerAddress: number;
  readonly keepalives: number;
  readonly samples: number;
  readonly reports: number;
  readonly reportsDropped: number;
  readonly forgedReports: number;
  readonly forgedDropped: number;
  readonly flagged: number;
  readonly notJoined: number;
  readonly malformed: number;
  readonly unexpected: number;
}

export type TrackerCounters = { -readonly [K in keyof TrackerStats]: number };

/** `value` when a positive number, `fallback` when undefined. @throws InvalidOptionError naming `name`. */
export function positiveOption(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new InvalidOptionError(name, `${name} must be a positive number`);
  return value;
}
