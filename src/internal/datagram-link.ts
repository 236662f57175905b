/**
 * A datagram path to one peer, as protocols above a transport see it: send a datagram, be handed
 * the datagrams that arrive. A Demux registration plus a remote address is one (`demuxLink` in
 * mux/); a punch link is one (direct, predicted or relayed through TURN). ARQ conversations run
 * over any of them.
 * @module
 */

/** Stops a {@link DatagramLink.onDatagram} handler; idempotent. */
export interface DatagramLinkRegistration {
  remove(): void;
}

/** A datagram path to one peer (datagram semantics: sends may be lost, reordered or duplicated). */
export interface DatagramLink {
  /**
   * Sends one datagram to the peer, fire and forget. `data` may be sent on a later tick: do not
   * modify it afterwards. May throw when the link is closed.
   */
  send(data: Uint8Array): void;
  /**
   * Hands every datagram received from the peer to `handler` (synchronously, in arrival order)
   * until the registration is removed. One handler at a time: a link may throw InvalidStateError
   * (`ERR_INVALID_STATE`) for a second one. `data` is the received Buffer (not a copy).
   */
  onDatagram(handler: (data: Buffer) => void): DatagramLinkRegistration;
}
