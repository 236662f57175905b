/**
 * The `node:diagnostics_channel` channels of the turn layer (`porthole:turn:<event>`, see
 * docs/diagnostics.md). They fire in the sans-I/O `TurnAllocation`, so `TurnClient` and any other
 * driver publish the same events. The allocation's STUN transactions also appear on the
 * `porthole:stun:transaction-*` channels.
 * @module
 */
import { diagnosticChannel } from '../internal/diagnostics-channel.ts';
import type { Endpoint } from '../internal/endpoint.ts';

/** Channel names of the turn layer. */
export const TurnDiagnostics = {
  /** The server granted the allocation. Message: {@link TurnAllocationCreatedMessage}. */
  ALLOCATION_CREATED: 'porthole:turn:allocation-created',
  /** A Refresh succeeded (the allocation lives on). Message: {@link TurnAllocationRefreshedMessage}. */
  ALLOCATION_REFRESHED: 'porthole:turn:allocation-refreshed',
  /** Allocating failed, or a live allocation was lost. Message: {@link TurnAllocationFailedMessage}. */
  ALLOCATION_FAILED: 'porthole:turn:allocation-failed',
  /** The allocation is closed (deleted with LIFETIME 0, or closed before it existed). Message: {@link TurnAllocationClosedMessage}. */
  ALLOCATION_CLOSED: 'porthole:turn:allocation-closed',
  /** A CreatePermission succeeded. Message: {@link TurnPermissionInstalledMessage}. */
  PERMISSION_INSTALLED: 'porthole:turn:permission-installed',
  /** A ChannelBind succeeded. Message: {@link TurnChannelBoundMessage}. */
  CHANNEL_BOUND: 'porthole:turn:channel-bound',
  /** A CreatePermission or ChannelBind failed. Message: {@link TurnOperationFailedMessage}. */
  OPERATION_FAILED: 'porthole:turn:operation-failed',
} as const;

/** Message of {@link TurnDiagnostics.ALLOCATION_CREATED}. */
export interface TurnAllocationCreatedMessage {
  readonly server: Endpoint;
  /** XOR-RELAYED-ADDRESS. */
  readonly relayed: Endpoint;
  /** XOR-MAPPED-ADDRESS: the client as the server sees it. */
  readonly mapped: Endpoint | undefined;
  /** Lifetime granted, seconds. */
  readonly lifetimeS: number;
}

/** Message of {@link TurnDiagnostics.ALLOCATION_REFRESHED}. */
export interface TurnAllocationRefreshedMessage {
  readonly server: Endpoint;
  readonly relayed: Endpoint | undefined;
  readonly lifetimeS: number;
}

/** Message of {@link TurnDiagnostics.ALLOCATION_FAILED}. */
export interface TurnAllocationFailedMessage {
  readonly server: Endpoint;
  /** `allocate`: the Allocate failed; `lost`: a live allocation was lost (refresh failed, expired). */
  readonly phase: 'allocate' | 'lost';
  /** The error's `code` (`ERR_TURN_AUTH_FAILED`, `ERR_TIMEOUT`, …). */
  readonly errorCode: string | undefined;
  /** The server's STUN error status (401, 437, 486, …), when it answered with one. */
  readonly status: number | undefined;
  readonly message: string;
}

/** Message of {@link TurnDiagnostics.ALLOCATION_CLOSED}. */
export interface TurnAllocationClosedMessage {
  readonly server: Endpoint;
  readonly relayed: Endpoint | undefined;
}

/** Message of {@link TurnDiagnostics.PERMISSION_INSTALLED}. */
export interface TurnPermissionInstalledMessage {
  readonly server: Endpoint;
  /** The peer IP the permission admits (any port). */
  readonly ip: string;
  /** True for a refresh of an installed permission. */
  readonly refresh: boolean;
}

/** Message of {@link TurnDiagnostics.CHANNEL_BOUND}. */
export interface TurnChannelBoundMessage {
  readonly server: Endpoint;
  /** The channel number, 0x4000–0x4FFF. */
  readonly channel: number;
  readonly peer: Endpoint;
  /** True for a refresh of a confirmed binding. */
  readonly refresh: boolean;
}

/** Message of {@link TurnDiagnostics.OPERATION_FAILED}. */
export interface TurnOperationFailedMessage {
  readonly server: Endpoint;
  readonly operation: 'permission' | 'channel';
  /** The peer IP (permission) or peer (channel). */
  readonly peer: Endpoint | string;
  readonly errorCode: string | undefined;
  readonly status: number | undefined;
  /** True when an installed permission or confirmed channel stays (a failed refresh is retried). */
  readonly kept: boolean;
}

export const allocationCreatedChannel = diagnosticChannel<TurnAllocationCreatedMessage>(
  TurnDiagnostics.ALLOCATION_CREATED,
);
export const allocationRefreshedChannel = diagnosticChannel<TurnAllocationRefreshedMessage>(
  TurnDiagnostics.ALLOCATION_REFRESHED,
);
export const allocationFailedChannel = diagnosticChannel<TurnAllocationFailedMessage>(
  TurnDiagnostics.ALLOCATION_FAILED,
);
export const allocationClosedChannel = diagnosticChannel<TurnAllocationClosedMessage>(
  TurnDiagnostics.ALLOCATION_CLOSED,
);
export const permissionInstalledChannel = diagnosticChannel<TurnPermissionInstalledMessage>(
  TurnDiagnostics.PERMISSION_INSTALLED,
);
export const channelBoundChannel = diagnosticChannel<TurnChannelBoundMessage>(TurnDiagnostics.CHANNEL_BOUND);
export const operationFailedChannel = diagnosticChannel<TurnOperationFailedMessage>(
  TurnDiagnostics.OPERATION_FAILED,
);

/** `{address, port}` of an address-like value, or undefined. */
export function endpointOf(
  a: { readonly address: string; readonly port: number } | undefined,
): Endpoint | undefined {
  return a === undefined ? undefined : { address: a.address, port: a.port };
}

/** The `code` and `status` of an error, for messages. */
export function errorFields(error: Error): { errorCode: string | undefined; status: number | undefined } {
  const { code, status } = error as { code?: unknown; status?: unknown };
  return {
    errorCode: typeof code === 'string' ? code : undefined,
    status: typeof status === 'number' ? status : undefined,
  };
}

type Address = { readonly address: string; readonly port: number };

// Publishers, each called only when its channel has subscribers (the allocation checks first).

export function publishCreated(
  server: Address,
  relayed: Address,
  mapped: Address | undefined,
  lifetimeS: number,
): void {
  allocationCreatedChannel.publish({
    server: endpointOf(server)!,
    relayed: endpointOf(relayed)!,
    mapped: endpointOf(mapped),
    lifetimeS,
  });
}

export function publishRefreshed(server: Address, relayed: Address | undefined, lifetimeS: number): void {
  allocationRefreshedChannel.publish({
    server: endpointOf(server)!,
    relayed: endpointOf(relayed),
    lifetimeS,
  });
}

export function publishFailed(server: Address, phase: 'allocate' | 'lost', error: Error): void {
  allocationFailedChannel.publish({
    server: endpointOf(server)!,
    phase,
    ...errorFields(error),
    message: error.message,
  });
}

export function publishClosed(server: Address, relayed: Address | undefined): void {
  allocationClosedChannel.publish({ server: endpointOf(server)!, relayed: endpointOf(relayed) });
}

export function publishPermission(server: Address, ip: string, refresh: boolean): void {
  permissionInstalledChannel.publish({ server: endpointOf(server)!, ip, refresh });
}

export function publishChannel(server: Address, channel: number, peer: Address, refresh: boolean): void {
  channelBoundChannel.publish({ server: endpointOf(server)!, channel, peer: endpointOf(peer)!, refresh });
}

export function publishOperationFailed(
  server: Address,
  operation: 'permission' | 'channel',
  peer: Address | string,
  error: Error,
  kept: boolean,
): void {
  operationFailedChannel.publish({
    server: endpointOf(server)!,
    operation,
    peer: typeof peer === 'string' ? peer : endpointOf(peer)!,
    ...errorFields(error),
    kept,
  });
}
