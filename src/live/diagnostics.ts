/**
 * The `node:diagnostics_channel` channels of the live layer (`porthole:live:<event>`, see
 * docs/diagnostics.md). The tracker's: join decisions, drops (every refused or malformed
 * datagram), nodes leaving, expiring or flagged as polluters. Built only when someone listens.
 * @module
 */
import { diagnosticChannel, diagnosticEndpoint } from '../internal/diagnostics-channel.ts';
import type { Endpoint } from '../internal/endpoint.ts';

/** Channel names of the live layer. */
export const LiveDiagnostics = {
  /** A tracker decided a JOIN. Message: {@link TrackerJoinMessage}. */
  TRACKER_JOIN: 'porthole:live:tracker-join',
  /** A tracker dropped or refused a datagram. Message: {@link TrackerDropMessage}. */
  TRACKER_DROP: 'porthole:live:tracker-drop',
  /** A node left a tracker, expired or was replaced; or a peer was flagged. Message: {@link TrackerNodeMessage}. */
  TRACKER_NODE: 'porthole:live:tracker-node',
  /** An ingest server dropped a message or refused a publisher. Message: {@link IngestDropMessage}. */
  INGEST_DROP: 'porthole:live:ingest-drop',
  /** A chunk publisher dropped a chunk for an edge. Message: {@link PublisherDropMessage}. */
  PUBLISHER_DROP: 'porthole:live:publisher-drop',
} as const;

/** Message of {@link LiveDiagnostics.TRACKER_JOIN}. */
export interface TrackerJoinMessage {
  readonly peerId: string;
  readonly from: Endpoint;
  /** `ok`, `refused`, `expired`, `full`, `full-address`, `full-channels`, `full-channel`. */
  readonly outcome: string;
}

/** Message of {@link LiveDiagnostics.TRACKER_DROP}. */
export interface TrackerDropMessage {
  /** `malformed`, `unexpected`, `not-joined`, `report-unknown-session`, `report-malformed`, `store`. */
  readonly reason: string;
  readonly from: Endpoint | undefined;
}

/** Message of {@link LiveDiagnostics.TRACKER_NODE}. */
export interface TrackerNodeMessage {
  readonly peerId: string;
  /** Hex channel id. */
  readonly channelId: string;
  /** `leave`, `expired`, `replaced`, `flagged`. */
  readonly event: string;
}

export const trackerJoinChannel = diagnosticChannel<TrackerJoinMessage>(LiveDiagnostics.TRACKER_JOIN);
export const trackerDropChannel = diagnosticChannel<TrackerDropMessage>(LiveDiagnostics.TRACKER_DROP);
export const trackerNodeChannel = diagnosticChannel<TrackerNodeMessage>(LiveDiagnostics.TRACKER_NODE);

/** Publishes a join decision (call behind `trackerJoinChannel.hasSubscribers`). */
export function publishTrackerJoin(peerId: string, from: Endpoint, outcome: string): void {
  trackerJoinChannel.publish({ peerId, from: diagnosticEndpoint(from), outcome });
}

/** Publishes a drop (call behind `trackerDropChannel.hasSubscribers`). */
export function publishTrackerDrop(reason: string, from: Endpoint | undefined): void {
  trackerDropChannel.publish({ reason, from: from === undefined ? undefined : diagnosticEndpoint(from) });
}

/** Publishes a node event (call behind `trackerNodeChannel.hasSubscribers`). */
export function publishTrackerNode(peerId: string, channelId: string, event: string): void {
  trackerNodeChannel.publish({ peerId, channelId, event });
}

/** Message of {@link LiveDiagnostics.INGEST_DROP}. */
export interface IngestDropMessage {
  /** `forged` (failed verification: the publisher is reset), `malformed`, `refused-source` (`maxSources`), `stranger`. */
  readonly reason: string;
  readonly from: Endpoint;
}

/** Message of {@link LiveDiagnostics.PUBLISHER_DROP}. */
export interface PublisherDropMessage {
  /** `slow`: the oldest queued chunk made room (the edge is slow or away). */
  readonly reason: string;
  readonly edge: Endpoint;
  /** Sequence number of the dropped chunk. */
  readonly seq: number;
}

export const ingestDropChannel = diagnosticChannel<IngestDropMessage>(LiveDiagnostics.INGEST_DROP);
export const publisherDropChannel = diagnosticChannel<PublisherDropMessage>(LiveDiagnostics.PUBLISHER_DROP);

/** Publishes an ingest drop (call behind `ingestDropChannel.hasSubscribers`). */
export function publishIngestDrop(reason: string, from: Endpoint): void {
  ingestDropChannel.publish({ reason, from: diagnosticEndpoint(from) });
}

/** Publishes a publisher drop (call behind `publisherDropChannel.hasSubscribers`). */
export function publishPublisherDrop(edge: Endpoint, seq: number): void {
  publisherDropChannel.publish({ reason: 'slow', edge: diagnosticEndpoint(edge), seq });
}
