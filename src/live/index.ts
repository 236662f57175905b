/**
 * P2P live streaming core: channels and signed chunks, buffer maps, the peer protocol, and the
 * sans-I/O scheduler, playout and peer cores. Guide: docs/live.md.
 * @module
 */

export type { LiveArqNodeEvents, LiveArqNodeOptions } from './arq-node.ts';
export { LINK_BACKLOG_MAX_BYTES, LIVE_CONTROL_CONV, LIVE_DATA_CONV, LiveArqNode } from './arq-node.ts';
export { BufferMap } from './buffer-map.ts';
export type { ChannelKey, ChannelSigner } from './channel.ts';
export { createChannel, deriveChannelId, openChannel } from './channel.ts';
export type { Chunk, ChunkHead, ChunkInit } from './chunk.ts';
export {
  CHUNK_PAYLOAD_OFFSET,
  decodeChunk,
  decodeChunkHead,
  peekChunkSeq,
  pieceLength,
  signChunk,
  verifyChunk,
  verifyChunkHead,
  verifyPiece,
} from './chunk.ts';
export {
  BUFFER_MAP_MAX_CHUNKS,
  BUFFER_WINDOW_DEFAULT_CHUNKS,
  CHANNEL_ID_BYTES,
  CHUNK_DURATION_DEFAULT_MS,
  CHUNK_FLAG_DISCONTINUITY,
  CHUNK_FLAG_RANDOM_ACCESS,
  CHUNK_HEADER_BYTES,
  CHUNK_MAX_PAYLOAD_BYTES,
  CHUNK_MAX_PIECES,
  CHUNK_PIECE_DEFAULT_PACKETS,
  CHUNK_VERSION,
  PEER_PROTOCOL_VERSION,
  SIGNATURE_BYTES,
  TS_PACKET_BYTES,
} from './constants.ts';
export { DASHBOARD_COOKIE, isLoopbackHost } from './dashboard-auth.ts';
export type { DashboardSubject, SwarmDashboard, SwarmDashboardOptions } from './dashboard-demo.ts';
export { startSwarmDashboard } from './dashboard-demo.ts';
export type { FeedLink, FeedMessage, FeedNode, FeedPoint } from './dashboard-feed.ts';
export { DashboardFeed, FEED_HISTORY_POINTS, FEED_MAX_NODES } from './dashboard-feed.ts';
export type {
  DashboardActions,
  DashboardImpairment,
  DashboardOptions,
  DashboardStats,
} from './dashboard-server.ts';
export { Dashboard } from './dashboard-server.ts';
export type { Impairment, ImpairOptions, ImpairStats } from './demo-impair.ts';
export { impairSocket, parseImpair } from './demo-impair.ts';
export type { ChildLine } from './demo-process.ts';
export { DemoChild, PORTHOLE_MAIN } from './demo-process.ts';
export type { DemoPeer, LiveDemoOptions } from './demo-swarm.ts';
export { LiveDemo } from './demo-swarm.ts';
export type { ViewModel, ViewPeer } from './demo-view.ts';
export { DemoView, renderView } from './demo-view.ts';
export type {
  IngestDropMessage,
  PublisherDropMessage,
  TrackerDropMessage,
  TrackerJoinMessage,
  TrackerNodeMessage,
} from './diagnostics.ts';
export { LiveDiagnostics } from './diagnostics.ts';
export type { LiveEdgeOptions, LiveEdgeStats } from './edge.ts';
export { EDGE_MAX_PEERS_DEFAULT, EDGE_WINDOW_DEFAULT_S, LiveEdge } from './edge.ts';
export type { TokenAdmissionOptions } from './edge-admit.ts';
export { ADMIT_CLOCK_SKEW_MS, admitCredential, peekTokenClaims, tokenAdmission } from './edge-admit.ts';
export type { LiveEdgeErrorCodeValue } from './edge-errors.ts';
export { LiveEdgeErrorCode } from './edge-errors.ts';
export type {
  EdgeAdmitCheck,
  EdgeAdmitResult,
  EdgeCredential,
  EdgeLink,
  EdgeLinkTableOptions,
  EdgeLinkTableStats,
} from './edge-links.ts';
export { EDGE_ADMIT_EVERY_MS, EDGE_DEAD_AFTER_MS, EDGE_LINK_IDLE_MS, EdgeLinkTable } from './edge-links.ts';
export type { AdmitStatusValue, EdgeAdmitFrame } from './edge-wire.ts';
export {
  AdmitStatus,
  decodeAdmitFrame,
  EDGE_TOKEN_MAX_BYTES,
  encodeAdmit,
  encodeAdmitted,
} from './edge-wire.ts';
export type {
  ChunkRejectionType,
  LiveParseCodeType,
  LiveSourceErrorCodeType,
  LiveTokenCodeType,
  LiveTrackerCodeType,
  MpegTsParseCodeType,
} from './errors.ts';
export {
  ChunkRejection,
  LiveErrorCode,
  LiveParseCode,
  LiveSourceErrorCode,
  LiveTokenCode,
  LiveTrackerCode,
  MpegTsParseCode,
} from './errors.ts';
export type { FfmpegInputOptions, TestPatternOptions } from './ffmpeg.ts';
export { FfmpegInput, findFfmpeg, openTestPattern, testPatternArgs } from './ffmpeg.ts';
export {
  INGEST_CONV_TAG,
  INGEST_HEARTBEAT_MS,
  INGEST_IDLE_TIMEOUT_MS,
  INGEST_MAX_PAYLOAD_BYTES,
  INGEST_MTU_BYTES,
} from './ingest-protocol.ts';
export type {
  ChunkPublisherOptions,
  ChunkPublisherStats,
  EdgeAddress,
  PublisherEdgeStats,
} from './ingest-publisher.ts';
export { ChunkPublisher, PUBLISHER_QUEUE_DEFAULT_CHUNKS } from './ingest-publisher.ts';
export { openRistInput, parseRistInputSpec, type RistInputOptions, RistTsInput } from './ingest-rist.ts';
export type { IngestServerEvents, IngestServerOptions, IngestServerStats } from './ingest-server.ts';
export { INGEST_MAX_SOURCES_DEFAULT, IngestServer } from './ingest-server.ts';
export type { CreateLoggerOptions, LogSink, MetricField } from './log.ts';
export { createLogger, formatLogLine, metricFields } from './log.ts';
export type { NatClassLabel, PathLabel, Sample, SeriesSpec, StatLeaf } from './metrics-collect.ts';
export {
  CHANNEL_LABELS_MAX,
  ChannelLabels,
  ComponentStats,
  NAT_CLASS_LABELS,
  PATH_LABELS,
  scrapeCounter,
  scrapeGauge,
  statLeaves,
} from './metrics-collect.ts';
export type { DiagnosticsMetrics, DiagnosticsMetricsOptions } from './metrics-diagnostics.ts';
export { collectDiagnosticsMetrics, DIAGNOSTICS_MEMORY_MAX } from './metrics-diagnostics.ts';
export type { NodeMetricsOptions } from './metrics-node.ts';
export { collectNodeMetrics, LIVE_DROP_REASONS } from './metrics-node.ts';
export type { ProcessMetrics, ProcessMetricsOptions } from './metrics-process.ts';
export { startProcessMetrics } from './metrics-process.ts';
export type {
  MetricsProcess,
  MetricsRegistryOptions,
  MetricsServer,
  ServeMetricsOptions,
} from './metrics-server.ts';
export { createMetricsRegistry, metricsHandler, serveMetrics, serveMetricsFlag } from './metrics-server.ts';
export type { SourceStatsView } from './metrics-source.ts';
export { collectSourceMetrics, EDGE_LABELS_MAX } from './metrics-source.ts';
export type {
  SwarmAggregate,
  SwarmChannelView,
  SwarmNeighbourView,
  SwarmNodeView,
  SwarmReportView,
  SwarmView,
} from './metrics-swarm.ts';
export { aggregateChannel } from './metrics-swarm.ts';
export type { TrackerMetricsOptions } from './metrics-tracker.ts';
export { collectTrackerMetrics } from './metrics-tracker.ts';
export type { TsPacketInfo } from './mpegts-packet.ts';
export { createTsPacketInfo, NULL_PID, PAT_PID, readTsPacket } from './mpegts-packet.ts';
export type { AccessUnitKindType, PesHeader, VideoCodecType } from './mpegts-pes.ts';
export { AccessUnitKind, AccessUnitScanner, readPesHeader, VideoCodec } from './mpegts-pes.ts';
export type { Pat, PatProgram, Pmt, PmtStream } from './mpegts-psi.ts';
export { crc32Mpeg, parsePat, parsePmt, SectionAssembler } from './mpegts-psi.ts';
export type { TsReaderStats } from './mpegts-reader.ts';
export { TsPacketReader } from './mpegts-reader.ts';
export type { Candidate, NatClassValue, NeighbourSelectorOptions, PathKind } from './neighbours.ts';
export { NatClass, NeighbourSelector, pathKindBetween } from './neighbours.ts';
export type { OutputSpec, OutputStats, PlayedChunk, PlayoutOutput } from './output.ts';
export { HTTP_OUTPUT_PATH, HttpOutput } from './output-http.ts';
export { StreamOutput } from './output-stream.ts';
export { UdpOutput } from './output-udp.ts';
export type { LivePeerProcessStats, LivePeerStartOptions } from './peer.ts';
export { LivePeer } from './peer.ts';
export type { LivePeerEvent, LivePeerOptions, LiveTransmit } from './peer-core.ts';
export { LivePeerCore } from './peer-core.ts';
export type { LivePolluterStats } from './peer-polluter.ts';
export { LivePolluter } from './peer-polluter.ts';
export type { PeerNodeReport, ReportNeighbour } from './peer-report.ts';
export type { PeerSession, SessionEdge } from './peer-session.ts';
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
export type { TsChunkerOptions, TsChunkerStats } from './source-chunker.ts';
export { TsChunker } from './source-chunker.ts';
export type { FileInputOptions } from './source-file.ts';
export { FileTsInput, StreamTsInput } from './source-file.ts';
export type { TsInput, TsInputStats } from './source-input.ts';
export type { InputSpec, OpenInputOptions } from './source-input-spec.ts';
export { openInput, parseInputSpec, RTP_INGEST_DEFAULT_RANGE } from './source-input-spec.ts';
export type { LoadedChannelKey } from './source-key.ts';
export { decodeChannelKey, encodeChannelKey, loadChannelKey } from './source-key.ts';
export type { EdgeDirectory, LiveSourceOptions, LiveSourceStats } from './source-process.ts';
export { LiveSource, SOURCE_RESTART_DELAY_DEFAULT_MS } from './source-process.ts';
export type { RtpInputOptions, RtpPayload } from './source-rtp.ts';
export { openRtpInput, RTP_PAYLOAD_TYPE_MP2T, RtpTsInput, readRtpPayload } from './source-rtp.ts';
export type { UdpInputOptions } from './source-udp.ts';
export { isMulticastAddress, openUdpInput, UdpTsInput } from './source-udp.ts';
export type { IssueTokenOptions, TokenClaims, TokenRoleValue } from './token.ts';
export {
  issueToken,
  isTokenPeerId,
  TOKEN_MIN_SECRET_BYTES,
  TOKEN_VERSION,
  TokenError,
  verifyToken,
} from './token.ts';
export type {
  SwarmChannel,
  SwarmNode,
  SwarmSnapshot,
  TrackerListenOptions,
  TrackerOptions,
  TrackerRedisStoreOptions,
  TrackerRunStats,
} from './tracker.ts';
export { Tracker } from './tracker.ts';
export type { TrackerClientStats } from './tracker-client-core.ts';
export { TrackerCore } from './tracker-core.ts';
export type { LocalNode, TrackerCoreOptions, TrackerEvent, TrackerStats } from './tracker-options.ts';
export {
  DEFAULT_TRACKER_FORGED_THRESHOLD,
  DEFAULT_TRACKER_MAX_CHANNELS,
  DEFAULT_TRACKER_MAX_NODES,
  DEFAULT_TRACKER_MAX_NODES_PER_ADDRESS,
  DEFAULT_TRACKER_MAX_NODES_PER_CHANNEL,
  DEFAULT_TRACKER_NODE_TIMEOUT_MS,
} from './tracker-options.ts';
export type { NeighbourPathKind, NodeReport, NodeReportNeighbour } from './tracker-report.ts';
export { decodeNodeReport, encodeNodeReport, NODE_REPORT_MAX_NEIGHBOURS } from './tracker-report.ts';
export type { TrackerCandidate, TrackerSessionEvents, TrackerSessionOptions } from './tracker-session.ts';
export { DEFAULT_TRACKER_PORT, TrackerError, TrackerSession } from './tracker-session.ts';
export type { TrackerEdge, TrackerFrame, TrackerNatClass, TrackerRoleValue } from './tracker-wire.ts';
export {
  decodeTrackerFrame,
  encodeTrackerFrame,
  TRACKER_FRAME,
  TRACKER_WIRE_VERSION,
  TrackerMessage,
  TrackerStatus,
} from './tracker-wire.ts';
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
  isDataFrameType,
  PEER_ID_BYTES,
  PeerFrameType,
  PeerRole,
  peerFrameBytes,
  REQUEST_FLAG_AHEAD,
  REQUEST_FLAG_RESUME,
  REQUEST_FLAG_URGENT,
  RejectReason,
} from './wire.ts';
