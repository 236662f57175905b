/**
 * Options of the RIST sender and receiver and their validation (done once, in the factory).
 * @module
 */
import type { DtlsClientRoleOptions, DtlsServerRoleOptions } from '../dtls/index.ts';
import { InvalidOptionError } from '../errors/index.ts';
import type { PortPool } from '../ports/index.ts';
import type { MulticastMembership, MulticastSettings } from '../transport/index.ts';
import { DEFAULT_FLOW_TIMEOUT_MS, DEFAULT_MAX_FLOWS } from './constants.ts';
import type { MainProfileOptions } from './main-framing.ts';
import { MAX_PASSPHRASE_BYTES } from './psk.ts';
import type { RistReceiverCoreOptions } from './receiver-core.ts';
import type { RistSenderCoreOptions } from './sender-core.ts';

/** Output items a receiver queues for a slow reader before it drops the oldest. */
export const DEFAULT_OUTPUT_QUEUE_CAPACITY = 8192;

/** The RIST profile: Simple (TR-06-1, an even/odd pair) or Main (TR-06-2, GRE on one port). */
export type RistProfile = 'simple' | 'main';

/** Settings of the profile, shared by sender and receiver. */
export interface RistProfileOptions extends MainProfileOptions {
  /** Default `'simple'`. `secret`, `encryption` and `keyRotation` need `'main'`. */
  readonly profile?: RistProfile;
}

/** Settings of a {@link RistReceiver}. */
export interface RistReceiverOptions extends RistReceiverCoreOptions, RistProfileOptions {
  /**
   * Main profile: DTLS instead of PSK (the transport's single-socket DTLS server: `certificate`,
   * `clientAuth`, `psk`, …); one sender, the first whose ClientHello passes the cookie check.
   */
  readonly dtls?: DtlsServerRoleOptions;
  /** Senders (SSRCs) served at once; more are dropped and counted. Default 16. */
  readonly maxFlows?: number;
  /** A flow silent for this long is forgotten, ms. Default 10 000. */
  readonly flowTimeoutMs?: number;
  /** Output items queued for the reader (drop-oldest). Default 8 192. */
  readonly queueCapacity?: number;
  /** Joins this multicast group (bind the wildcard address, or the group's). */
  readonly multicast?: MulticastMembership;
  /** Clock, ms. Default `performance.now`. */
  readonly now?: () => number;
  /** Aborts the bind. */
  readonly signal?: AbortSignal;
}

/** Settings of a {@link RistSender}. */
export interface RistSenderOptions extends RistSenderCoreOptions, RistProfileOptions {
  /** Main profile: DTLS instead of PSK (the transport's DTLS client: `fingerprints`, `ca`, …); `connect` completes the handshake. */
  readonly dtls?: DtlsClientRoleOptions;
  /** Main profile: the virtual destination port of the data (RTCP: + 1). Default 1968 (librist's). */
  readonly virtualPort?: number;
  /** Local address to bind (default: the wildcard of the destination's family). */
  readonly host?: string;
  /** A PortPool the sender's two ports come from. */
  readonly pool?: PortPool;
  /** Multicast TTL, interface and loopback, for a group destination. */
  readonly multicast?: MulticastSettings;
  /** Clock, ms. Default `performance.now`. */
  readonly now?: () => number;
  /** Aborts the bind. */
  readonly signal?: AbortSignal;
}

function checkInteger(option: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(option, `${option} must be an integer ${min}–${max}, got ${value}`);
  }
}

function checkPowerOfTwo(option: string, value: number | undefined): void {
  checkInteger(option, value, 64, 1 << 20);
  if (value !== undefined && (value & (value - 1)) !== 0) {
    throw new InvalidOptionError(option, `${option} must be a power of two, got ${value}`);
  }
}

/**
 * Validates receiver options; returns the driver's own settings.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming the option.
 */
export function validateReceiverOptions(options: RistReceiverOptions): {
  maxFlows: number;
  flowTimeoutMs: number;
  queueCapacity: number;
} {
  checkInteger('latencyMs', options.latencyMs, 1, 60_000);
  checkInteger('reorderMs', options.reorderMs, 0, 10_000);
  checkInteger('maxRetries', options.maxRetries, 0, 255);
  validateProfileOptions(options);
  checkDtls(options);
  checkInteger('rttMinMs', options.rttMinMs, 1, 10_000);
  checkInteger('rttMaxMs', options.rttMaxMs, options.rttMinMs ?? 1, 10_000);
  checkPowerOfTwo('bufferPackets', options.bufferPackets);
  checkInteger('rtcpIntervalMs', options.rtcpIntervalMs, 1, 10_000);
  checkInteger('maxFlows', options.maxFlows, 1, 10_000);
  checkInteger('flowTimeoutMs', options.flowTimeoutMs, 100, 3_600_000);
  checkInteger('queueCapacity', options.queueCapacity, 1, 1 << 20);
  if (
    options.nackFormat !== undefined &&
    options.nackFormat !== 'range' &&
    options.nackFormat !== 'bitmask'
  ) {
    throw new InvalidOptionError('nackFormat', `nackFormat must be "range" or "bitmask"`);
  }
  return {
    maxFlows: options.maxFlows ?? DEFAULT_MAX_FLOWS,
    flowTimeoutMs: options.flowTimeoutMs ?? DEFAULT_FLOW_TIMEOUT_MS,
    queueCapacity: options.queueCapacity ?? DEFAULT_OUTPUT_QUEUE_CAPACITY,
  };
}

/**
 * Validates sender options.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming the option.
 */
export function validateSenderOptions(options: RistSenderOptions): void {
  validateProfileOptions(options);
  checkDtls(options);
  checkInteger('virtualPort', options.virtualPort, 1, 65_534);
  checkInteger('ssrc', options.ssrc, 0, 0xffff_ffff);
  checkInteger('recoveryBufferMs', options.recoveryBufferMs, 1, 60_000);
  checkPowerOfTwo('bufferPackets', options.bufferPackets);
  checkInteger('rtcpIntervalMs', options.rtcpIntervalMs, 1, 10_000);
  checkInteger('payloadType', options.payloadType, 0, 127);
  checkInteger('initialSeq', options.initialSeq, 0, 0xffff);
}

/**
 * Validates `profile`, `secret`, `encryption` and `keyRotation`.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming the option.
 */
export function validateProfileOptions(options: RistProfileOptions): void {
  const { profile, secret, encryption, keyRotation } = options;
  if (profile !== undefined && profile !== 'simple' && profile !== 'main') {
    throw new InvalidOptionError('profile', `profile must be "simple" or "main", got "${String(profile)}"`);
  }
  const main = profile === 'main';
  if (secret !== undefined) {
    if (!main)
      throw new InvalidOptionError(
        'secret',
        'secret needs profile "main" (the Simple profile has no encryption)',
      );
    const bytes = typeof secret === 'string' ? Buffer.byteLength(secret) : 0;
    if (bytes < 1 || bytes > MAX_PASSPHRASE_BYTES || secret.includes('\0')) {
      throw new InvalidOptionError('secret', `secret must be 1–${MAX_PASSPHRASE_BYTES} bytes without NUL`);
    }
  }
  if (encryption !== undefined) {
    if (encryption !== 128 && encryption !== 256) {
      throw new InvalidOptionError('encryption', `encryption must be 128 or 256, got ${String(encryption)}`);
    }
    if (secret === undefined) throw new InvalidOptionError('encryption', 'encryption needs a secret');
  }
  if (keyRotation !== undefined && secret === undefined) {
    throw new InvalidOptionError('keyRotation', 'keyRotation needs a secret');
  }
  checkInteger('keyRotation', keyRotation, 0, 0xffff_ffff);
}

function checkDtls(options: RistProfileOptions & { readonly dtls?: object }): void {
  if (options.dtls === undefined) return;
  if (options.profile !== 'main') throw new InvalidOptionError('dtls', 'dtls needs profile "main"');
  if (options.secret !== undefined) {
    throw new InvalidOptionError(
      'dtls',
      'dtls and secret exclude each other (the Main profile protects with one)',
    );
  }
}
