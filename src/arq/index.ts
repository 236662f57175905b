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
export type { KcpOptions, KcpQueueSizes } from './kcp.ts';
export { Kcp, KcpSendResult } from './kcp.ts';
export type { KcpStats } from './kcp-counters.ts';
export type { KcpInputResultType } from './kcp-input.ts';
export { KcpInputResult } from './kcp-input.ts';
export type { KcpOutputSink } from './kcp-state.ts';
export type { KcpSegmentHeader } from './segment.ts';
export { decodeSegmentHeader, encodeSegment, encodeSegmentHeader, isKcpCommand, KcpSegment, readConv } from './segment.ts';
