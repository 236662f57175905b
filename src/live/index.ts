/**
 * P2P live streaming core: channels and signed chunks, buffer maps, the peer protocol, and the
 * sans-I/O scheduler, playout and peer cores. Guide: docs/live.md.
 * @module
 */

export type { LiveArqNodeEvents, LiveArqNodeOptions } from './arq-node.ts';
export { LIVE_CONTROL_CONV, LIVE_DATA_CONV, LiveArqNode } from './arq-node.ts';
export { BufferMap } from './buffer-map.ts';
export type { ChannelKey, ChannelSigner } from './channel.ts';
export { createChannel, deriveChannelId, openChannel } from './channel.ts';
export type { Chunk, ChunkInit } from './chunk.ts';
export { CHUNK_PAYLOAD_OFFSET, decodeChunk, peekChunkSeq, signChunk, verifyChunk } from './chunk.ts';
export {
  BUFFER_MAP_MAX_CHUNKS,
  BUFFER_WINDOW_DEFAULT_CHUNKS,
  CHANNEL_ID_BYTES,
  CHUNK_DURATION_DEFAULT_MS,
  CHUNK_FLAG_DISCONTINUITY,
  CHUNK_FLAG_RANDOM_ACCESS,
  CHUNK_HEADER_BYTES,
  CHUNK_MAX_PAYLOAD_BYTES,
  CHUNK_VERSION,
  PEER_PROTOCOL_VERSION,
  SIGNATURE_BYTES,
  TS_PACKET_BYTES,
} from './constants.ts';
export type { ChunkRejectionType, LiveParseCodeType } from './errors.ts';
export { ChunkRejection, LiveErrorCode, LiveParseCode } from './errors.ts';
export type { Candidate, NatClassValue, NeighbourSelectorOptions, PathKind } from './neighbours.ts';
export { NatClass, NeighbourSelector, pathKindBetween } from './neighbours.ts';
export type { LivePeerEvent, LivePeerOptions, LiveTransmit } from './peer-core.ts';
export { LivePeerCore } from './peer-core.ts';
export type { LivePeerStats, NeighbourStats } from './peer-stats.ts';
export { LatencyHistogram } from './peer-stats.ts';
export type { PlayoutEvent, PlayoutOptions, PlayoutStats } from './playout.ts';
export { markDiscontinuity, Playout } from './playout.ts';
export type {
  ScheduledNeighbour,
  SchedulerAction,
  SchedulerOptions,
  SchedulerStrategyValue,
} from './scheduler.ts';
export { ChunkScheduler, SchedulerStrategy } from './scheduler.ts';
export type { EnqueueResult, UploadOptions } from './upload.ts';
export { UploadQueue } from './upload.ts';
export type {
  ByeReasonValue,
  PeerFrame,
  PeerFrameTypeValue,
  PeerRoleValue,
  RejectReasonValue,
} from './wire.ts';
export {
  ByeReason,
  CONTROL_FRAME_MAX_BYTES,
  decodePeerFrame,
  encodePeerFrame,
  HAVE_FLAG_RANDOM_ACCESS,
  PEER_ID_BYTES,
  PeerFrameType,
  PeerRole,
  peerFrameBytes,
  REQUEST_FLAG_URGENT,
  RejectReason,
} from './wire.ts';
