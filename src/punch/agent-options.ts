/**
 * Options of a punching agent and their one validator, shared by {@link AgentCore}'s constructor
 * and `PunchPeer.open` (which checks the tuning before any link exists).
 * @module
 */
import { InvalidOptionError } from '../errors/index.ts';
import type { NatClassType } from '../nat/index.ts';
import { validatePort } from '../ports/index.ts';
import { LinkRole, type LinkRoleType, PUNCH_SECRET_BYTES, SESSION_ID_BYTES } from './broker-wire.ts';
import type { Candidate } from './candidates.ts';
import {
  DEFAULT_PREDICTION_FALLBACK_MS,
  DEFAULT_PREDICTION_PACE_MS,
  DEFAULT_PREDICTION_PORT_RANGE,
  DEFAULT_PREDICTION_PROBES,
  DEFAULT_PREDICTION_SOCKETS,
  type PredictionOptions,
  type PredictionPortRange,
} from './prediction.ts';

/** Default gap between probes on the data socket: 20 ms. */
export const DEFAULT_PUNCH_PACE_MS = 20;
/** Default re-probe interval of one candidate while punching: 200 ms. */
export const DEFAULT_PUNCH_RECHECK_MS = 200;
/** Default time to get a path before giving up: 10 s. */
export const DEFAULT_PUNCH_TIMEOUT_MS = 10_000;
/** Default keepalive on the path: 15 s, the most allowed (Linux forgets idle UDP mappings after 30 s). */
export const DEFAULT_LINK_KEEPALIVE_MS = 15_000;
/** Default unanswered keepalive transmissions before the path counts as lost: 5 (1 s apart). */
export const DEFAULT_KEEPALIVE_TRIES = 5;

/** Default probes per round to a host candidate never heard from. */
export const DEFAULT_MAX_SILENT_PROBES = 3;

/**
 * Which private (RFC 1918, shared, link-local, ULA) remote host candidates are probed:
 * `same-public-address` (default) only when the remote's server-reflexive IP is ours (one site,
 * one NAT: the private address can be the peer's; otherwise it is someone else's LAN); `always`;
 * `never`.
 */
export type PrivateCandidatePolicy = 'same-public-address' | 'always' | 'never';

/** The punching tuning: every field optional, with the defaults above. */
export interface PunchTuning {
  /** Gap between probes on the data socket, ms. Default {@link DEFAULT_PUNCH_PACE_MS}. */
  readonly paceMs?: number;
  /** Re-probe interval of one candidate, ms. Default {@link DEFAULT_PUNCH_RECHECK_MS}. */
  readonly recheckMs?: number;
  /** Time to get a path before giving up, ms. Default {@link DEFAULT_PUNCH_TIMEOUT_MS}. */
  readonly punchTimeoutMs?: number;
  /** Keepalive on the path, ms, ≤ 15 000. Default {@link DEFAULT_LINK_KEEPALIVE_MS}. */
  readonly keepaliveMs?: number;
  /** Unanswered keepalives (1 s apart) before the path is lost. Default {@link DEFAULT_KEEPALIVE_TRIES}. */
  readonly keepaliveTries?: number;
  /** TTL of the first probe to each candidate (some NATs punish unsolicited inbound), 1–255; off by default. */
  readonly lowTtl?: number;
  /** Prediction settings, or false to never predict. */
  readonly prediction?: PredictionOptions | false;
  /** Private remote host candidates: see {@link PrivateCandidatePolicy}. Default `same-public-address`. */
  readonly privateCandidates?: PrivateCandidatePolicy;
  /**
   * Probes per punching round to a host candidate never heard from (the broker cannot verify host
   * candidates: an introduction must not aim probes at third parties). Default
   * {@link DEFAULT_MAX_SILENT_PROBES}.
   */
  readonly maxSilentProbes?: number;
}

/** Options of an {@link AgentCore}: the introduction plus tuning. */
export interface AgentCoreOptions extends PunchTuning {
  readonly linkId: Buffer;
  readonly role: LinkRoleType;
  readonly secret: Buffer;
  readonly localNat?: NatClassType;
  readonly remoteNat?: NatClassType;
  readonly remoteCandidates: readonly Candidate[];
  /** Address family of the data socket: candidates of the other family are skipped. Default `udp4`. */
  readonly family?: 'udp4' | 'udp6';
  /** Uniform random in [0, 1) (prediction's port choice). Default `Math.random`. */
  readonly random?: () => number;
  /**
   * Our public IP as the broker saw it (for `privateCandidates: 'same-public-address'`); when
   * unknown, private candidates are probed as with `always`.
   */
  readonly localPublicAddress?: string;
}

/** {@link PunchTuning} with every default filled in. */
export interface ResolvedPunchTuning {
  readonly paceMs: number;
  readonly recheckMs: number;
  readonly punchTimeoutMs: number;
  readonly keepaliveMs: number;
  readonly keepaliveTries: number;
  readonly lowTtl: number | undefined;
  readonly privateCandidates: PrivateCandidatePolicy;
  readonly maxSilentProbes: number;
  readonly prediction: {
    readonly sockets: number;
    readonly probes: number;
    readonly paceMs: number;
    readonly fallbackMs: number;
    readonly portRange: PredictionPortRange;
  };
}

/**
 * Checks the tuning and fills in the defaults; `prefix` names the options in messages
 * (`'punch.'` for `PunchPeerOptions.punch`).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming the option.
 */
export function resolvePunchTuning(options: PunchTuning, prefix = ''): ResolvedPunchTuning {
  const num = (v: number | undefined, d: number, name: string, max = Number.POSITIVE_INFINITY): number => {
    const x = v ?? d;
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0 || x > max) {
      throw new InvalidOptionError(`${prefix}${name}`, `${prefix}${name} must be > 0 and ≤ ${max}, got ${x}`);
    }
    return x;
  };
  const p = options.prediction === false ? {} : (options.prediction ?? {});
  return {
    paceMs: num(options.paceMs, DEFAULT_PUNCH_PACE_MS, 'paceMs'),
    recheckMs: num(options.recheckMs, DEFAULT_PUNCH_RECHECK_MS, 'recheckMs'),
    punchTimeoutMs: num(options.punchTimeoutMs, DEFAULT_PUNCH_TIMEOUT_MS, 'punchTimeoutMs'),
    keepaliveMs: num(
      options.keepaliveMs,
      DEFAULT_LINK_KEEPALIVE_MS,
      'keepaliveMs',
      DEFAULT_LINK_KEEPALIVE_MS,
    ),
    keepaliveTries: num(options.keepaliveTries, DEFAULT_KEEPALIVE_TRIES, 'keepaliveTries'),
    lowTtl: options.lowTtl === undefined ? undefined : num(options.lowTtl, 1, 'lowTtl', 255),
    privateCandidates: privatePolicy(options.privateCandidates, prefix),
    maxSilentProbes: num(options.maxSilentProbes, DEFAULT_MAX_SILENT_PROBES, 'maxSilentProbes'),
    prediction: {
      sockets: num(p.sockets, DEFAULT_PREDICTION_SOCKETS, 'prediction.sockets', 256),
      probes: num(p.probes, DEFAULT_PREDICTION_PROBES, 'prediction.probes', 65_536),
      paceMs: num(p.paceMs, DEFAULT_PREDICTION_PACE_MS, 'prediction.paceMs'),
      fallbackMs: num(p.fallbackMs, DEFAULT_PREDICTION_FALLBACK_MS, 'prediction.fallbackMs'),
      portRange: checkPortRange(
        p.portRange ?? DEFAULT_PREDICTION_PORT_RANGE,
        `${prefix}prediction.portRange`,
      ),
    },
  };
}

function privatePolicy(value: unknown, prefix: string): PrivateCandidatePolicy {
  if (value === undefined) return 'same-public-address';
  if (value === 'same-public-address' || value === 'always' || value === 'never') return value;
  throw new InvalidOptionError(
    `${prefix}privateCandidates`,
    `${prefix}privateCandidates must be same-public-address, always or never, got ${String(value)}`,
  );
}

function checkPortRange(range: PredictionPortRange, option: string): PredictionPortRange {
  validatePort(range?.min, `${option}.min`, 1);
  validatePort(range.max, `${option}.max`, 1);
  if (range.min > range.max) {
    throw new InvalidOptionError(option, `${option}.min must not exceed ${option}.max`);
  }
  return range;
}

/**
 * Checks the introduction fields of an agent (link id, secret, role).
 * @throws InvalidOptionError `ERR_INVALID_OPTION`.
 */
export function checkAgentIdentity(options: Pick<AgentCoreOptions, 'linkId' | 'secret' | 'role'>): void {
  const bad = (option: string, why: string): never => {
    throw new InvalidOptionError(option, why);
  };
  if (!Buffer.isBuffer(options.linkId) || options.linkId.length !== SESSION_ID_BYTES)
    bad('linkId', 'linkId must be 8 bytes');
  if (!Buffer.isBuffer(options.secret) || options.secret.length !== PUNCH_SECRET_BYTES)
    bad('secret', 'secret must be 32 bytes');
  if (options.role !== LinkRole.INITIATOR && options.role !== LinkRole.RESPONDER)
    bad('role', 'role must be 0 or 1');
}
