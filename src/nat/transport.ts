import type { AbortOptions } from '../errors/index.ts';
import type { NatEndpoint } from './behavior.ts';

/**
 * One Binding request of a discovery test. RFC 5780 §4.2: `changeIp` / `changePort` set the
 * CHANGE-REQUEST flags (§7.2); `responsePort` sets RESPONSE-PORT (§7.5) so that the response goes
 * to another port of the same NAT address, where socket `receiveOn` listens.
 */
export interface BindingProbe {
  /** Index of the local socket that sends the request (0-based, see `socketCount`). */
  readonly socketIndex: number;
  /** Where to send the request. */
  readonly server: NatEndpoint;
  readonly changeIp: boolean;
  readonly changePort: boolean;
  /** RESPONSE-PORT value; when set, the response is expected on socket `receiveOn`. */
  readonly responsePort?: number;
  /** Index of the socket that should receive the response (default `socketIndex`). */
  readonly receiveOn?: number;
}

/** A Binding success response, as far as discovery needs it. */
export interface BindingResult {
  /** XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS): the request's source as the server saw it. */
  readonly mapped: NatEndpoint;
  /** OTHER-ADDRESS (RFC 5780 §7.4), or CHANGED-ADDRESS of RFC 3489; null when absent. */
  readonly otherAddress: NatEndpoint | null;
  /** Where the response came from (RESPONSE-ORIGIN when present, else the datagram's source). */
  readonly origin: NatEndpoint;
}

/**
 * What discovery needs from the network. The real one ({@link StunDiscoveryTransport}) sends STUN
 * over UDP sockets it binds through ports/; tests script one in memory. A transport owns its
 * sockets: index 0 runs the mapping tests, 1 the filtering tests and sends the hairpin probe,
 * 2 and up are used once each by the lifetime probe.
 */
export interface DiscoveryTransport {
  /**
   * Sends one Binding request (with the transport's retransmissions) and resolves with the
   * response, or `'timeout'` when none came. Rejects only on a real failure (socket error, an
   * error response, abort).
   */
  bindingRequest(probe: BindingProbe, options?: AbortOptions): Promise<BindingResult | 'timeout'>;
  /** The local port of socket `socketIndex` (opening it if needed). */
  localPort(socketIndex: number, options?: AbortOptions): Promise<number>;
  /** Whether `address` is an address of this host (so a mapping onto it means no NAT). */
  isLocalAddress(address: string): boolean;
  /**
   * RFC 5780 §4.5: sends a datagram from socket `from` to `target` (socket `to`'s mapped
   * address) and resolves whether socket `to` received it. Absent: hairpinning is not tested.
   */
  probeHairpin?(from: number, to: number, target: NatEndpoint, options?: AbortOptions): Promise<boolean>;
}
