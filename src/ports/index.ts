export type { BindUdpSocketOptions, SocketFamily } from './bind-socket.ts';
export { bindUdpSocket, isPortSpecificBindError } from './bind-socket.ts';
export type { ExhaustionCounts } from './errors.ts';
export { OwnerConflictError, PortBindError, PortRangeExhaustedError } from './errors.ts';
