/**
 * porthole/rist — RIST (VSF TR-06-1 Simple profile, TR-06-2 Main profile) sender and receiver with NACK-based
 * recovery on the media transport, interoperable with librist. See docs/rist.md.
 * @module
 */
export {
  DEFAULT_LATENCY_MS,
  DEFAULT_MAX_RETRIES,
  DEFAULT_RECOVERY_BUFFER_MS,
  DEFAULT_REORDER_MS,
  DEFAULT_RTCP_INTERVAL_MS,
  MAX_PAYLOAD_BYTES,
  RTP_PAYLOAD_TYPE_MP2T,
  TS_PACKET_BYTES,
  TS_PACKETS_PER_RTP,
} from './constants.ts';
export type {
  RistDroppedMessage,
  RistDropReason,
  RistFlowMessage,
  RistLossMessage,
} from './diagnostics.ts';
export { RistDiagnostics } from './diagnostics.ts';
export type { RistParseCodeValue } from './errors.ts';
export { RistParseCode } from './errors.ts';
export type { GreBody, GreBodyScratch, GreHeader, GreHeaderScratch } from './gre.ts';
export {
  DEFAULT_VIRTUAL_DST_PORT,
  DEFAULT_VIRTUAL_SRC_PORT,
  decodeGre,
  decodeGreBody,
  decodeGreInto,
  encodeKeepalive,
  GRE_FIRST_BYTES,
  GreProtocol,
  greBodyScratch,
  greHeaderScratch,
  readGreBody,
  writeGreHeader,
} from './gre.ts';
export type {
  KnownFlow,
  MainFramingStats,
  MainProfileOptions,
  Unwrapped,
  VirtualPorts,
} from './main-framing.ts';
export { MainFraming } from './main-framing.ts';
export type { RistProfile, RistProfileOptions, RistReceiverOptions, RistSenderOptions } from './options.ts';
export type { PskBits } from './psk.ts';
export { derivePskKey, PSK_PBKDF2_ITERATIONS, PskCipher, PskOpener, PskSealer, pskCrypt } from './psk.ts';
export type { RistReceiverStats } from './receiver.ts';
export { RistReceiver } from './receiver.ts';
export type { RistReceived, RistReceiverCoreOptions, RistReceiverFlowStats } from './receiver-core.ts';
export { RistReceiverCore } from './receiver-core.ts';
export type { ReportBlock, RtcpPacket } from './rtcp.ts';
export { decodeRtcp, MAX_NACKED_SEQS } from './rtcp.ts';
export type { ReportBlockInit } from './rtcp-writer.ts';
export { RtcpWriter } from './rtcp-writer.ts';
export type { RtpPacket } from './rtp.ts';
export { decodeRtp, RTP_HEADER_BYTES, writeRtpHeader } from './rtp.ts';
export type { RistSenderDriverStats } from './sender.ts';
export { RistSender } from './sender.ts';
export type { RistSenderCoreOptions, RistSenderStats, RistTransmit } from './sender-core.ts';
export { RistSenderCore } from './sender-core.ts';
export { SequenceExtender } from './sequence.ts';
export { TsPacker } from './ts-packer.ts';
