export type { AcquiredSockets, SocketShape } from './acquire-sockets.ts';
export type {
  TransportDatagramDroppedMessage,
  TransportDropReason,
  TransportPeerLearnedMessage,
} from './diagnostics.ts';
export { TransportDiagnostics } from './diagnostics.ts';
export type { TransportErrorCodeValue } from './errors.ts';
export { TransportErrorCode } from './errors.ts';
export type { RebindOptions, TransportDrops, TransportStats } from './media-transport.ts';
export { MediaTransport } from './media-transport.ts';
export type { MulticastMembership, MulticastSettings } from './multicast.ts';
export { isMulticastAddress } from './multicast.ts';
export type {
  Endpoint,
  EphemeralOptions,
  LatchPolicyType,
  ReceivedDatagram,
  StreamHandler,
  TransportOptions,
} from './options.ts';
export {
  DEFAULT_FOLLOW_AFTER_SILENCE_MS,
  DEFAULT_PAIR_PROBE_ATTEMPTS,
  DEFAULT_QUEUE_CAPACITY,
  DEFAULT_SOCKET_BUFFER_BYTES,
  LatchPolicy,
} from './options.ts';
export type { LatchVerdictType, Peer, PeerOriginType } from './peer-latch.ts';
export { LatchVerdict, PeerLatch, PeerOrigin } from './peer-latch.ts';
export { BUFFER_CLAMPED_WARNING } from './socket-buffers.ts';
export type { DatagramsOptions, StreamDrops, StreamKind, StreamStats } from './transport-stream.ts';
export { TransportStream } from './transport-stream.ts';
