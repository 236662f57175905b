/**
 * The `node:diagnostics_channel` channels of the ports layer. Names follow
 * `porthole:<layer>:<event>`; see docs/diagnostics.md. Subscribe by name:
 * `diagnostics_channel.subscribe(PortsDiagnostics.LEASE_ACQUIRED, onMessage)`.
 * @module
 */
import { diagnosticChannel } from '../internal/diagnostics-channel.ts';
import type { PortParity } from './allocator.ts';

/** Channel names of the ports layer. */
export const PortsDiagnostics = {
  /** A lease or a reservation bound its ports. Message: {@link PortsLeaseAcquiredMessage}. */
  LEASE_ACQUIRED: 'porthole:ports:lease-acquired',
  /** A lease or a reservation gave its ports back. Message: {@link PortsLeaseReleasedMessage}. */
  LEASE_RELEASED: 'porthole:ports:lease-released',
  /** A draining socket closed and its port went on to cool down. Message: {@link PortsDrainEndedMessage}. */
  DRAIN_ENDED: 'porthole:ports:drain-ended',
  /** A request found no free ports (PortRangeExhaustedError). Message: {@link PortsExhaustedMessage}. */
  EXHAUSTED: 'porthole:ports:exhausted',
} as const;

/** What holds the ports: a {@link PortLease} of this process or a reservation for another one. */
export type PortsHolderKind = 'lease' | 'reservation';

/** Message of {@link PortsDiagnostics.LEASE_ACQUIRED}. */
export interface PortsLeaseAcquiredMessage {
  readonly kind: PortsHolderKind;
  /** The ports, lowest first. */
  readonly ports: readonly number[];
  /** The reservation's owner id (reservations only). */
  readonly owner?: string;
  /** The address the sockets are bound to. */
  readonly host: string;
}

/** Message of {@link PortsDiagnostics.LEASE_RELEASED}. */
export interface PortsLeaseReleasedMessage {
  readonly kind: PortsHolderKind;
  readonly ports: readonly number[];
  readonly owner?: string;
  /** Whether the sockets stay bound to drain (see `DrainOptions`) before the ports cool down. */
  readonly drain: boolean;
}

/** Why a draining socket stopped draining. */
export type PortsDrainEndReason = 'idle' | 'max-age' | 'evicted' | 'closed';

/** Message of {@link PortsDiagnostics.DRAIN_ENDED}. */
export interface PortsDrainEndedMessage {
  readonly port: number;
  /** `idle`: `drain.idleMs` without a datagram; `max-age`: `drain.maxMs` reached; `evicted`: over `drain.maxSockets`; `closed`: the pool closed. */
  readonly reason: PortsDrainEndReason;
  /** Milliseconds the socket drained. */
  readonly drainedMs: number;
}

/** Message of {@link PortsDiagnostics.EXHAUSTED}. */
export interface PortsExhaustedMessage {
  /** Ports asked for. */
  readonly count: number;
  readonly parity: PortParity;
  /** The range, as `formatPortRange` writes it (`first-last`, or one port). */
  readonly range: string;
  /** Ports of the range leased or reserved, cooling (or draining), and held by other processes. */
  readonly used: number;
  readonly cooling: number;
  readonly foreign: number;
}

export const leaseAcquiredChannel = diagnosticChannel<PortsLeaseAcquiredMessage>(
  PortsDiagnostics.LEASE_ACQUIRED,
);
export const leaseReleasedChannel = diagnosticChannel<PortsLeaseReleasedMessage>(
  PortsDiagnostics.LEASE_RELEASED,
);
export const drainEndedChannel = diagnosticChannel<PortsDrainEndedMessage>(PortsDiagnostics.DRAIN_ENDED);
export const exhaustedChannel = diagnosticChannel<PortsExhaustedMessage>(PortsDiagnostics.EXHAUSTED);
