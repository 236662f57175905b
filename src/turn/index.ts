/**
 * TURN client (RFC 8656): attributes, the ChannelData codec, the sans-I/O allocation and its
 * driver. See docs/turn.md.
 * @module
 */

export { TurnAllocation } from './allocation.ts';
export {
  getChannelNumber,
  getData,
  getEvenPort,
  getLifetime,
  getRequestedAddressFamily,
  getRequestedTransport,
  getReservationToken,
  getXorPeerAddress,
  getXorRelayedAddress,
  hasDontFragment,
  makeChannelNumber,
  makeData,
  makeDontFragment,
  makeEvenPort,
  makeLifetime,
  makeRequestedAddressFamily,
  makeRequestedTransport,
  makeReservationToken,
  makeXorPeerAddress,
  makeXorRelayedAddress,
} from './attributes.ts';
export type { ChannelData } from './channel-data.ts';
export {
  CHANNEL_DATA_HEADER_BYTES,
  CHANNEL_DATA_MAX_BYTES,
  checkChannelData,
  decodeChannelData,
  encodeChannelData,
  isChannelData,
} from './channel-data.ts';
export type { TurnClientOptions, TurnClientStats, TurnDatagram } from './client.ts';
export { DEFAULT_TURN_QUEUE, TurnClient } from './client.ts';
export {
  DEFAULT_CHANNEL_REFRESH_MS,
  DEFAULT_MAX_CHANNELS,
  DEFAULT_MAX_PERMISSIONS,
  DEFAULT_PERMISSION_REFRESH_MS,
  DEFAULT_REFRESH_RATIO,
  MAX_STALE_NONCE_RETRIES,
  TURN_CHANNEL_LIFETIME_MS,
  TURN_CHANNEL_MAX,
  TURN_CHANNEL_MIN,
  TURN_DEFAULT_LIFETIME_S,
  TURN_PERMISSION_LIFETIME_MS,
  TURN_TRANSPORT_UDP,
  TurnAttr,
  TurnMethod,
  TurnStatusCode,
} from './constants.ts';
export type {
  TurnAllocationClosedMessage,
  TurnAllocationCreatedMessage,
  TurnAllocationFailedMessage,
  TurnAllocationRefreshedMessage,
  TurnChannelBoundMessage,
  TurnOperationFailedMessage,
  TurnPermissionInstalledMessage,
} from './diagnostics.ts';
export { TurnDiagnostics } from './diagnostics.ts';
export type { TurnErrorCodeValue } from './errors.ts';
export { TurnError, TurnErrorCode } from './errors.ts';
export type { TurnAllocationOptions, TurnEvent, TurnPeer, TurnPollResult, TurnStateType } from './options.ts';
export { DEFAULT_CLOSE_RETRANSMIT } from './options.ts';
export type { TurnAllocationStats, TurnCounters } from './stats.ts';
