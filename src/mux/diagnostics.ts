/**
 * The `node:diagnostics_channel` channels of the mux layer (`porthole:mux:<event>`, see
 * docs/diagnostics.md).
 * @module
 */
import { diagnosticChannel } from '../internal/diagnostics-channel.ts';
import type { Endpoint } from '../internal/endpoint.ts';

/** Channel names of the mux layer. */
export const MuxDiagnostics = {
  /** A {@link Demux} dropped a datagram. Message: {@link MuxDatagramDroppedMessage}. */
  DATAGRAM_DROPPED: 'porthole:mux:datagram-dropped',
} as const;

/** Why a demux dropped a datagram (each has a counter in `DemuxStats`). */
export type MuxDropReason =
  | 'empty'
  | 'unclaimed'
  | 'handler-error'
  | 'stun-too-short'
  | 'stun-unclaimed-request'
  | 'stun-unclaimed-indication'
  | 'stun-unclaimed-response';

/** Message of {@link MuxDiagnostics.DATAGRAM_DROPPED}. */
export interface MuxDatagramDroppedMessage {
  /**
   * `empty`: zero length; `unclaimed`: no handler for its first byte; `handler-error`: the handler
   * threw. From the STUN sub-router (bytes 0–3, counted in `StunRouterStats`): `stun-too-short`
   * (under a 20-byte header), `stun-unclaimed-request` (no server route), `stun-unclaimed-indication`,
   * `stun-unclaimed-response` (no route claimed its transaction ID: late, duplicate or forged).
   */
  readonly reason: MuxDropReason;
  /** The first byte (undefined for `empty`). */
  readonly firstByte: number | undefined;
  /** Datagram length in bytes. */
  readonly size: number;
  readonly from: Endpoint;
  /** What the handler threw (`handler-error` only). */
  readonly error?: unknown;
}

export const datagramDroppedChannel = diagnosticChannel<MuxDatagramDroppedMessage>(
  MuxDiagnostics.DATAGRAM_DROPPED,
);

/** Publishes a drop of a non-empty datagram; call only when `datagramDroppedChannel.hasSubscribers`. */
export function publishDrop(reason: MuxDropReason, data: Buffer, from: Endpoint): void {
  datagramDroppedChannel.publish({
    reason,
    firstByte: data[0],
    size: data.length,
    from: { address: from.address, port: from.port },
  });
}
