export type { DatagramLink, DatagramLinkRegistration } from '../internal/datagram-link.ts';
export type { DatagramHandler, DemuxRegistration, DemuxStats } from './demux.ts';
export { Demux, demuxOf } from './demux.ts';
export type { MuxDatagramDroppedMessage, MuxDropReason } from './diagnostics.ts';
export { MuxDiagnostics } from './diagnostics.ts';
export type { MuxErrorCodeValue } from './errors.ts';
export { MuxErrorCode } from './errors.ts';
export type { DemuxLink } from './link.ts';
export { demuxLink } from './link.ts';
export type { ByteRange, PortholeFrameType } from './ranges.ts';
export {
  DTLS_RANGE,
  frameRange,
  PORTHOLE_RANGE,
  PortholeFrame,
  RTP_RANGE,
  STUN_RANGE,
  TURN_CHANNEL_RANGE,
  ZRTP_RANGE,
} from './ranges.ts';
export type { StunClaimHandler, StunRoute, StunRouterStats } from './stun-router.ts';
