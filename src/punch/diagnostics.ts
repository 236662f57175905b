/**
 * The `node:diagnostics_channel` channels of the punch layer (`porthole:punch:<event>`, see
 * docs/diagnostics.md). Link ids are hex.
 * @module
 */
import { diagnosticChannel } from '../internal/diagnostics-channel.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import type { NatClassType } from '../nat/index.ts';

/** Channel names of the punch layer. */
export const PunchDiagnostics = {
  /** A link's path changed (found, moved, lost). Message: {@link PunchPathChangedMessage}. */
  PATH_CHANGED: 'porthole:punch:path-changed',
  /** Punching found no path by its deadline. Message: {@link PunchFailedMessage}. */
  PUNCH_FAILED: 'porthole:punch:punch-failed',
  /** A peer's broker client got its registration answered. Message: {@link PunchRegisteredMessage}. */
  REGISTERED: 'porthole:punch:registered',
  /** A peer's broker client received an introduction to another peer. Message: {@link PunchIntroducedMessage}. */
  INTRODUCED: 'porthole:punch:introduced',
  /** A broker decided a REGISTER. Message: {@link PunchBrokerRegistrationMessage}. */
  BROKER_REGISTRATION: 'porthole:punch:broker-registration',
  /** A broker introduced two registered peers to each other. Message: {@link PunchBrokerIntroductionMessage}. */
  BROKER_INTRODUCTION: 'porthole:punch:broker-introduction',
} as const;

/** The kind of a link's path; `none` when it has none (lost, or the link closed). */
export type PunchPathKind = 'direct' | 'predicted' | 'relay' | 'none';

/** Message of {@link PunchDiagnostics.PATH_CHANGED}. */
export interface PunchPathChangedMessage {
  readonly peerId: string;
  readonly linkId: string;
  readonly kind: PunchPathKind;
  /** The peer's address on the new path (undefined for `relay` and `none`). */
  readonly remote: Endpoint | undefined;
}

/** Message of {@link PunchDiagnostics.PUNCH_FAILED}. */
export interface PunchFailedMessage {
  readonly peerId: string;
  readonly linkId: string;
  /** Why punching failed (the `PunchFailedError` message's reason). */
  readonly reason: string;
  /** Whether the link has a relay to fall back on (then it opens or keeps it instead of failing). */
  readonly relay: boolean;
}

/** Message of {@link PunchDiagnostics.REGISTERED}. */
export interface PunchRegisteredMessage {
  readonly peerId: string;
  readonly broker: Endpoint;
  /** `ok`, or `refused` (the broker answered with another status: auth, full). */
  readonly status: 'ok' | 'refused';
  /** This peer's address as the broker saw it (server-reflexive), when told. */
  readonly observed: Endpoint | undefined;
}

/** Message of {@link PunchDiagnostics.INTRODUCED}. */
export interface PunchIntroducedMessage {
  /** This peer's own id. */
  readonly peerId: string;
  /** The peer it was introduced to. */
  readonly remotePeerId: string;
  readonly linkId: string;
  readonly role: 'initiator' | 'responder';
  readonly remoteNat: NatClassType;
  /** Candidates the broker sent (srflx, host, relay). */
  readonly candidates: number;
}

/** Message of {@link PunchDiagnostics.BROKER_REGISTRATION}. */
export interface PunchBrokerRegistrationMessage {
  readonly peerId: string;
  readonly from: Endpoint;
  /** `ok` (new or re-registration), `rejected-auth` (the `authorize` hook said no), `full` (`maxPeers`). */
  readonly status: 'ok' | 'rejected-auth' | 'full';
  readonly natClass: NatClassType;
  /** Peers registered after it. */
  readonly peers: number;
}

/** Message of {@link PunchDiagnostics.BROKER_INTRODUCTION}. */
export interface PunchBrokerIntroductionMessage {
  readonly linkId: string;
  /** The peer whose CONNECT asked for it, and the one it named. */
  readonly initiator: { readonly peerId: string; readonly address: Endpoint };
  readonly responder: { readonly peerId: string; readonly address: Endpoint };
}

export const pathChangedChannel = diagnosticChannel<PunchPathChangedMessage>(PunchDiagnostics.PATH_CHANGED);
export const punchFailedChannel = diagnosticChannel<PunchFailedMessage>(PunchDiagnostics.PUNCH_FAILED);
export const registeredChannel = diagnosticChannel<PunchRegisteredMessage>(PunchDiagnostics.REGISTERED);
export const introducedChannel = diagnosticChannel<PunchIntroducedMessage>(PunchDiagnostics.INTRODUCED);
export const brokerRegistrationChannel = diagnosticChannel<PunchBrokerRegistrationMessage>(
  PunchDiagnostics.BROKER_REGISTRATION,
);
export const brokerIntroductionChannel = diagnosticChannel<PunchBrokerIntroductionMessage>(
  PunchDiagnostics.BROKER_INTRODUCTION,
);

type Address = { readonly address: string; readonly port: number };
const copy = (a: Address): Endpoint => ({ address: a.address, port: a.port });

// Publishers, each called only when its channel has subscribers.

export function publishPath(
  peerId: string,
  linkId: Buffer,
  kind: PunchPathKind,
  remote: Address | null,
): void {
  pathChangedChannel.publish({
    peerId,
    linkId: linkId.toString('hex'),
    kind,
    remote: remote === null || kind === 'relay' || kind === 'none' ? undefined : copy(remote),
  });
}

export function publishBrokerRegistration(
  peerId: string,
  from: Address,
  status: PunchBrokerRegistrationMessage['status'],
  natClass: NatClassType,
  peers: number,
): void {
  brokerRegistrationChannel.publish({ peerId, from: copy(from), status, natClass, peers });
}

export function publishBrokerIntroduction(
  linkId: Buffer,
  initiator: { readonly peerId: string; readonly address: Address },
  responder: { readonly peerId: string; readonly address: Address },
): void {
  brokerIntroductionChannel.publish({
    linkId: linkId.toString('hex'),
    initiator: { peerId: initiator.peerId, address: copy(initiator.address) },
    responder: { peerId: responder.peerId, address: copy(responder.address) },
  });
}
