export type { PortAllocatorCounts, PortAllocatorOptions, PortParity } from './allocator.ts';
export {
  DEFAULT_COOLDOWN_MS,
  DEFAULT_FOREIGN_BACKOFF_MAX_MS,
  DEFAULT_FOREIGN_BACKOFF_MS,
  PortAllocator,
  PortState,
} from './allocator.ts';
export type { BindUdpSocketOptions, SocketFamily } from './bind-socket.ts';
export { bindUdpSocket, isPortSpecificBindError } from './bind-socket.ts';
export type {
  PortsDrainEndedMessage,
  PortsDrainEndReason,
  PortsExhaustedMessage,
  PortsHolderKind,
  PortsLeaseAcquiredMessage,
  PortsLeaseReleasedMessage,
} from './diagnostics.ts';
export { PortsDiagnostics } from './diagnostics.ts';
export type { DrainOptions } from './drain.ts';
export type { ExhaustionCounts, PortBindErrorCode, PortErrorCodeValue } from './errors.ts';
export { OwnerConflictError, PortBindError, PortErrorCode, PortRangeExhaustedError } from './errors.ts';
export type { EphemeralOverlap, KernelPortRanges } from './kernel-range.ts';
export { describeEphemeralOverlap, findEphemeralOverlap, readKernelPortRanges } from './kernel-range.ts';
export type { ReleaseOptions } from './lease.ts';
export { PortLease } from './lease.ts';
export type {
  BindFailureCounts,
  BindOptions,
  PortPoolOptions,
  PortPoolStats,
  ReserveOptions,
} from './pool.ts';
export { PortPool } from './pool.ts';
export { MAX_PORT, validatePort } from './port-number.ts';
export type { PortRange } from './range.ts';
export { formatPortRange, parsePortRange, partitionPortRange } from './range.ts';
export type { HeldPorts, ReservationState } from './reservation.ts';
export { PortReservation } from './reservation.ts';
export type { PortSurvey, SurveyOptions } from './survey.ts';
export { surveyPortRange } from './survey.ts';
