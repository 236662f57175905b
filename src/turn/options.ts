import { InvalidOptionError } from '../errors/index.ts';
import {
  makeSoftware,
  type StunAddress,
  type StunAttributeInit,
  type StunDestination,
  type StunRetransmitOptions,
} from '../stun/index.ts';
import {
  DEFAULT_CHANNEL_REFRESH_MS,
  DEFAULT_MAX_CHANNELS,
  DEFAULT_MAX_PERMISSIONS,
  DEFAULT_PERMISSION_REFRESH_MS,
  DEFAULT_REFRESH_RATIO,
  TURN_CHANNEL_LIFETIME_MS,
  TURN_CHANNEL_MAX,
  TURN_CHANNEL_MIN,
  TURN_PERMISSION_LIFETIME_MS,
} from './constants.ts';
import type { TurnError } from './errors.ts';

/**
 * Settings, events and states of the sans-I/O TURN allocation, and the validation of its options.
 * @module
 */

/** A relayed peer: where data came from or goes to (the peer's transport address). */
export type TurnPeer = StunAddress;

/** Settings of a `TurnAllocation`. */
export interface TurnAllocationOptions {
  /** The TURN server's transport address (numeric IP). */
  readonly server: StunDestination;
  readonly username: string;
  readonly password: string;
  /** LIFETIME asked for in Allocate and Refresh, seconds. Default: none (the server's default, 600). */
  readonly lifetimeS?: number;
  /** Refresh the allocation at this fraction of the granted lifetime, 0 < r < 1. Default 0.8. */
  readonly refreshRatio?: number;
  /** Refresh a permission this long after its last success, < 300 000. Default 240 000. RFC 8656 §9. */
  readonly permissionRefreshMs?: number;
  /** Refresh a channel binding this long after its last success, < 600 000. Default 480 000. RFC 8656 §12. */
  readonly channelRefreshMs?: number;
  /** Most permissions (peer IPs). Default 64. */
  readonly maxPermissions?: number;
  /** Most channel bindings, ≤ 4096. Default 64. */
  readonly maxChannels?: number;
  /** Retransmission of requests. Default RFC 8489 §6.2.1 (500 ms, 7, 16). */
  readonly retransmit?: StunRetransmitOptions;
  /** Retransmission of the closing Refresh. Default `{ rtoMs: 500, rc: 3, rm: 4 }` (3.5 s). */
  readonly closeRetransmit?: StunRetransmitOptions;
  /** SOFTWARE attribute on requests. Default none. */
  readonly software?: string;
  /** Receives relayed data (Data indications and ChannelData); `data` is a slice of the datagram. */
  readonly onData?: (data: Buffer, peer: TurnPeer) => void;
}

/** What the driver must act on, from `TurnAllocation.poll`. */
export type TurnEvent =
  /** Operation `op` (allocate, createPermission, bindChannel) succeeded. */
  | { readonly type: 'done'; readonly op: number }
  /** Operation `op` failed (TurnError, TimeoutError, ClosedError). */
  | { readonly type: 'failed'; readonly op: number; readonly error: Error }
  /** The allocation expired or was refused a refresh; every operation fails from now on. */
  | { readonly type: 'lost'; readonly error: TurnError }
  /** close() finished (Refresh 0 answered or timed out). */
  | { readonly type: 'closed' };

/** The result of `TurnAllocation.poll`. */
export interface TurnPollResult {
  /** Datagrams to send to the server, in order. */
  readonly datagrams: Buffer[];
  readonly events: TurnEvent[];
  /** When to call poll next (same clock as `nowMs`); `Infinity` when nothing is scheduled. */
  readonly nextWakeMs: number;
}

/** Allocation states. */
export type TurnStateType = 'idle' | 'allocating' | 'allocated' | 'closing' | 'closed' | 'failed';

/** Default retransmission of the closing Refresh: sends at 0, 0.5, 1.5 s, gives up at 3.5 s. */
export const DEFAULT_CLOSE_RETRANSMIT: StunRetransmitOptions = { rtoMs: 500, rc: 3, rm: 4 };

/** Options after validation, with defaults applied. */
export interface ResolvedTurnOptions {
  readonly server: StunDestination;
  readonly username: string;
  readonly password: string;
  readonly lifetimeS: number | undefined;
  readonly refreshRatio: number;
  readonly permissionRefreshMs: number;
  readonly channelRefreshMs: number;
  readonly maxPermissions: number;
  readonly maxChannels: number;
  readonly retransmit: StunRetransmitOptions | undefined;
  readonly closeRetransmit: StunRetransmitOptions;
  readonly software: StunAttributeInit | undefined;
  readonly onData: ((data: Buffer, peer: TurnPeer) => void) | undefined;
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `${name} must be an integer ${min}-${max}, not ${value}`);
  }
  return value;
}

/**
 * Validates `options` and applies the defaults.
 * @throws InvalidOptionError `ERR_INVALID_OPTION`.
 */
export function resolveTurnOptions(options: TurnAllocationOptions): ResolvedTurnOptions {
  const ratio = options.refreshRatio ?? DEFAULT_REFRESH_RATIO;
  if (!(ratio > 0 && ratio < 1)) {
    throw new InvalidOptionError('refreshRatio', `refreshRatio must be between 0 and 1, not ${ratio}`);
  }
  if (typeof options.username !== 'string' || typeof options.password !== 'string') {
    throw new InvalidOptionError(
      typeof options.username !== 'string' ? 'username' : 'password',
      'username and password must be strings',
    );
  }
  checkInt('server.port', options.server.port, 1, 65535);
  return {
    server: options.server,
    username: options.username,
    password: options.password,
    lifetimeS:
      options.lifetimeS === undefined ? undefined : checkInt('lifetimeS', options.lifetimeS, 1, 0xffffffff),
    refreshRatio: ratio,
    permissionRefreshMs: checkInt(
      'permissionRefreshMs',
      options.permissionRefreshMs ?? DEFAULT_PERMISSION_REFRESH_MS,
      1,
      TURN_PERMISSION_LIFETIME_MS - 1,
    ),
    channelRefreshMs: checkInt(
      'channelRefreshMs',
      options.channelRefreshMs ?? DEFAULT_CHANNEL_REFRESH_MS,
      1,
      TURN_CHANNEL_LIFETIME_MS - 1,
    ),
    maxPermissions: checkInt('maxPermissions', options.maxPermissions ?? DEFAULT_MAX_PERMISSIONS, 1, 1e6),
    maxChannels: checkInt(
      'maxChannels',
      options.maxChannels ?? DEFAULT_MAX_CHANNELS,
      1,
      TURN_CHANNEL_MAX - TURN_CHANNEL_MIN + 1,
    ),
    retransmit: options.retransmit,
    closeRetransmit: options.closeRetransmit ?? DEFAULT_CLOSE_RETRANSMIT,
    software: options.software === undefined ? undefined : makeSoftware(options.software),
    onData: options.onData,
  };
}
