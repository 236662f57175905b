/**
 * The `node:diagnostics_channel` channels of the transport layer (`porthole:transport:<event>`, see
 * docs/diagnostics.md).
 * @module
 */
import type { RemoteInfo } from 'node:dgram';
import { diagnosticChannel } from '../internal/diagnostics-channel.ts';
import type { Endpoint } from '../internal/endpoint.ts';

/** Channel names of the transport layer. */
export const TransportDiagnostics = {
  /** A stream learned (latched onto) its peer from an accepted datagram. Message: {@link TransportPeerLearnedMessage}. */
  PEER_LEARNED: 'porthole:transport:peer-learned',
  /** A stream dropped a datagram. Message: {@link TransportDatagramDroppedMessage}. */
  DATAGRAM_DROPPED: 'porthole:transport:datagram-dropped',
} as const;

/** Message of {@link TransportDiagnostics.PEER_LEARNED}. */
export interface TransportPeerLearnedMessage {
  /** `media` or `rtcp`. */
  readonly stream: 'media' | 'rtcp';
  /** The new peer: the source of the datagram that taught it. */
  readonly peer: Endpoint;
  /** True when it replaced a learned or configured peer (`latch: 'follow'` after silence). */
  readonly replaced: boolean;
  /** The stream's local port. */
  readonly localPort: number;
}

/** Why a stream dropped a datagram (each counted in `StreamDrops`). */
export type TransportDropReason = 'unexpected-source' | 'queue-full' | 'malformed';

/** Message of {@link TransportDiagnostics.DATAGRAM_DROPPED}. */
export interface TransportDatagramDroppedMessage {
  readonly stream: 'media' | 'rtcp';
  /**
   * `unexpected-source`: refused by the latch policy (`strict`, or `follow` before the silence);
   * `queue-full`: it arrived at an iterator `queueCapacity` behind, which evicted its oldest queued
   * datagram (`from` and `size` are the arriving one's); `malformed`: a single-socket datagram too
   * short to tell RTP from RTCP.
   */
  readonly reason: TransportDropReason;
  readonly from: Endpoint;
  readonly size: number;
  readonly localPort: number;
}

export const peerLearnedChannel = diagnosticChannel<TransportPeerLearnedMessage>(
  TransportDiagnostics.PEER_LEARNED,
);
export const datagramDroppedChannel = diagnosticChannel<TransportDatagramDroppedMessage>(
  TransportDiagnostics.DATAGRAM_DROPPED,
);

/** Publishes a drop; call only when `datagramDroppedChannel.hasSubscribers`. */
export function publishDrop(
  stream: 'media' | 'rtcp',
  reason: TransportDropReason,
  data: Buffer,
  from: RemoteInfo,
  localPort: number,
): void {
  datagramDroppedChannel.publish({
    stream,
    reason,
    from: { address: from.address, port: from.port },
    size: data.length,
    localPort,
  });
}
