/**
 * The `node:diagnostics_channel` channels of the rist layer (`porthole:rist:<event>`, see
 * docs/diagnostics.md).
 * @module
 */
import { diagnosticChannel } from '../internal/diagnostics-channel.ts';
import type { Endpoint } from '../internal/endpoint.ts';

/** Channel names of the rist layer. */
export const RistDiagnostics = {
  /** A receiver started or forgot a flow (a sender's SSRC). Message: {@link RistFlowMessage}. */
  FLOW: 'porthole:rist:flow',
  /** A receiver gave up packets at their output time. Message: {@link RistLossMessage}. */
  LOSS: 'porthole:rist:loss',
  /** A receiver or sender dropped a datagram. Message: {@link RistDroppedMessage}. */
  DROPPED: 'porthole:rist:dropped',
} as const;

/** Message of {@link RistDiagnostics.FLOW}. */
export interface RistFlowMessage {
  readonly event: 'added' | 'removed';
  readonly ssrc: number;
  /** The source that started it (added) or was last heard (removed). */
  readonly from: Endpoint;
}

/** Message of {@link RistDiagnostics.LOSS}. */
export interface RistLossMessage {
  readonly ssrc: number;
  /** First 16-bit sequence number given up. */
  readonly seq: number;
  readonly count: number;
}

/**
 * Why a datagram was dropped: undecodable, a flow past `maxFlows`, the output queue full (oldest
 * dropped); Main profile: its protection refused (`auth`: in the clear with a secret set, or
 * encrypted without one), it did not decrypt to RIST (`decrypt`), a GRE protocol not carried
 * (`unsupported`), or no key could be derived this second (`key-rate`).
 */
export type RistDropReason =
  | 'malformed'
  | 'flow-limit'
  | 'queue-full'
  | 'auth'
  | 'decrypt'
  | 'unsupported'
  | 'key-rate';

/** Message of {@link RistDiagnostics.DROPPED}. */
export interface RistDroppedMessage {
  readonly reason: RistDropReason;
  readonly stream: 'media' | 'rtcp' | 'output';
  readonly size: number;
}

export const flowChannel = diagnosticChannel<RistFlowMessage>(RistDiagnostics.FLOW);
export const lossChannel = diagnosticChannel<RistLossMessage>(RistDiagnostics.LOSS);
export const droppedChannel = diagnosticChannel<RistDroppedMessage>(RistDiagnostics.DROPPED);
