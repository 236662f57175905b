import type { RemoteInfo } from 'node:dgram';
import type { Endpoint as InternalEndpoint } from '../internal/endpoint.ts';
import type { PortPool, SocketFamily } from '../ports/index.ts';

/**
 * How a stream learns its remote address from inbound datagrams.
 * - `first`: the first source becomes the peer and stays it; datagrams from other sources are
 *   still delivered (they do not move the peer).
 * - `strict`: only the learned (or configured) peer is accepted; other sources are dropped and
 *   counted as `unexpectedSource`.
 * - `follow`: like `strict`, but a new source takes over once the peer has been silent for
 *   {@link TransportOptions.followAfterSilenceMs} (NAT rebinding on the remote side).
 */
export const LatchPolicy = {
  FIRST: 'first',
  STRICT: 'strict',
  FOLLOW: 'follow',
} as const;
/** One of the {@link LatchPolicy} values. */
export type LatchPolicyType = (typeof LatchPolicy)[keyof typeof LatchPolicy];

/** Default SO_RCVBUF and SO_SNDBUF of every transport socket: 2 MiB (bursts of HD video). */
export const DEFAULT_SOCKET_BUFFER_BYTES = 2 * 1024 * 1024;
/** Default capacity of one async iterator's queue, in datagrams (drop-oldest beyond it). */
export const DEFAULT_QUEUE_CAPACITY = 1024;
/** Default silence after which `follow` lets a new source replace the peer: 2 000 ms. */
export const DEFAULT_FOLLOW_AFTER_SILENCE_MS = 2_000;
/** Default number of OS probes for an ephemeral even/odd pair without a pool. */
export const DEFAULT_PAIR_PROBE_ATTEMPTS = 16;

/** A remote UDP endpoint: an IP address (no host names: resolve them first) and a port, 1–65535. */
export type Endpoint = InternalEndpoint;

/** One received datagram: the Buffer the socket received (not a copy) and its source. */
export interface ReceivedDatagram {
  readonly data: Buffer;
  readonly from: RemoteInfo;
}

/**
 * Receives one datagram of one stream. `data` is the Buffer the socket received (never copied),
 * `from` its source. What a handler throws is caught and counted (`handlerErrors`).
 */
export type StreamHandler = (data: Buffer, from: RemoteInfo) => void;

/** Settings shared by every {@link MediaTransport} factory. All optional. */
export interface TransportOptions {
  /** Address learning policy of both streams. Default `'first'`. */
  readonly latch?: LatchPolicyType;
  /** Silence in ms after which `follow` accepts a new source. Default 2 000. */
  readonly followAfterSilenceMs?: number;
  /** Peers known in advance (a sender addressing a receiver's well-known ports). */
  readonly remote?: { readonly media?: Endpoint; readonly rtcp?: Endpoint };
  /**
   * Simple-profile inference (VSF TR-06-1 §5.1, RFC 3550 §11): a pair's media peer is the RTCP
   * source port − 1 and its RTCP peer the media source port + 1 until a datagram shows the real
   * one. Default true.
   */
  readonly inferPeers?: boolean;
  /** SO_RCVBUF in bytes; 0 keeps the system's. Default 2 MiB. */
  readonly recvBufferSize?: number;
  /** SO_SNDBUF in bytes; 0 keeps the system's. Default 2 MiB. */
  readonly sendBufferSize?: number;
  /** Capacity in datagrams of each async iterator's queue (drop-oldest). Default 1 024. */
  readonly queueCapacity?: number;
  /** Callback for every accepted media datagram (no allocation beyond dgram's own). */
  readonly onMedia?: StreamHandler;
  /** Callback for every accepted RTCP datagram. */
  readonly onRtcp?: StreamHandler;
  /** Clock in ms (tests). Default `performance.now`. */
  readonly now?: () => number;
  /** Aborts the bind of a factory. */
  readonly signal?: AbortSignal;
}

/** Settings of the ephemeral factories. */
export interface EphemeralOptions extends TransportOptions {
  /**
   * The pool that chooses the ports (and the local address and family); the sender's port range
   * and outgoing address are those of the pool. Default: the OS chooses.
   */
  readonly pool?: PortPool;
  /** `udp4` or `udp6`; default the host's family, or `udp4` without a host. */
  readonly family?: SocketFamily;
  /** OS probes for an even/odd pair without a pool. Default 16. */
  readonly pairProbeAttempts?: number;
}
