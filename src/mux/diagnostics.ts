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
export type MuxDropReason = 'empty' | 'unclaimed' | 'handler-error';

/** Message of {@link MuxDiagnostics.DATAGRAM_DROPPED}. */
export interface MuxDatagramDroppedMessage {
  /** `empty`: zero length; `unclaimed`: no handler for its first byte; `handler-error`: the handler threw. */
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
