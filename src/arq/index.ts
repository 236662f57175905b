export { ARQ_AMPLIFICATION_FACTOR } from './address-validation.ts';
export type { KcpCommandType } from './constants.ts';
export {
  KCP_DEAD_LINK,
  KCP_INTERVAL_DEFAULT_MS,
  KCP_MTU_DEFAULT,
  KCP_OVERHEAD,
  KCP_WND_RCV,
  KCP_WND_SND,
  KcpCommand,
} from './constants.ts';
export type { ArqControlFrame, ArqControlTypeValue } from './control-frame.ts';
export {
  ARQ_CONTROL_FRAME_BYTES,
  ArqControlType,
  decodeControlFrame,
  encodeControlFrame,
} from './control-frame.ts';
export type {
  ArqCloseReason,
  ArqConversationClosedMessage,
  ArqConversationDeadMessage,
  ArqConversationOpenedMessage,
  ArqDatagramDroppedMessage,
  ArqDeadCause,
  ArqDropReason,
} from './diagnostics.ts';
export { ArqDiagnostics } from './diagnostics.ts';
export type { ArqEndpointEvents, ArqOpenOptions, ArqRemote } from './endpoint.ts';
export { ArqEndpoint } from './endpoint.ts';
export type { ArqEndpointStats } from './endpoint-counters.ts';
export type { ArqAcceptPolicy, ArqEndpointOptions, ArqTuning } from './endpoint-options.ts';
export {
  ARQ_ACCEPTED_IDLE_TIMEOUT_MS,
  ARQ_MAX_CONVERSATIONS,
  ARQ_MAX_CONVERSATIONS_PER_ADDRESS,
  ARQ_TURBO,
} from './endpoint-options.ts';
export type { ArqErrorCodeType, ArqErrorCodeValue } from './errors.ts';
export { ArqError, ArqErrorCode } from './errors.ts';
export type { KcpOptions, KcpQueueSizes } from './kcp.ts';
export { Kcp, KcpSendResult } from './kcp.ts';
export type { KcpStats } from './kcp-counters.ts';
export type { KcpInputResultType } from './kcp-input.ts';
export { KcpInputResult } from './kcp-input.ts';
export type { KcpOutputSink } from './kcp-state.ts';
export type { KcpSegmentHeader } from './segment.ts';
export {
  decodeSegmentHeader,
  encodeSegment,
  encodeSegmentHeader,
  isKcpCommand,
  KcpSegment,
  readConv,
} from './segment.ts';
export type { ArqConversationStats, ArqMode } from './stream.ts';
export { ArqStream } from './stream.ts';
