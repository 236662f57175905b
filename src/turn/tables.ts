import type { StunAddress } from '../stun/index.ts';
import { TURN_CHANNEL_MAX, TURN_CHANNEL_MIN } from './constants.ts';

/**
 * The client's view of an allocation's permissions (per peer IP, RFC 8656 §9) and channel bindings
 * (per peer transport address, RFC 8656 §12), with the times they are due for a refresh. Bounded by
 * the caller's caps; lookups by peer allocate nothing.
 * @module
 */

/** A permission the client asked for. */
export interface TurnPermission {
  readonly ip: string;
  /** A success response arrived at least once. */
  installed: boolean;
  /** A CreatePermission for it is in flight. */
  inFlight: boolean;
  /** When to send the next CreatePermission (same clock as `nowMs`). */
  refreshAt: number;
  /** When the server forgets it (300 s after the last success). */
  expiresAt: number;
}

/** A channel binding the client asked for. */
export interface TurnChannel {
  readonly number: number;
  readonly peer: StunAddress;
  /** A success response arrived: ChannelData may be sent (RFC 8656 §12.1). */
  confirmed: boolean;
  inFlight: boolean;
  refreshAt: number;
  expiresAt: number;
}

/** Channel bindings indexed by number and by peer (address, then port). */
export class TurnChannelTable {
  readonly #byNumber = new Map<number, TurnChannel>();
  readonly #byPeer = new Map<string, Map<number, TurnChannel>>();
  #next = TURN_CHANNEL_MIN;

  get size(): number {
    return this.#byNumber.size;
  }

  byNumber(channel: number): TurnChannel | undefined {
    return this.#byNumber.get(channel);
  }

  byPeer(address: string, port: number): TurnChannel | undefined {
    return this.#byPeer.get(address)?.get(port);
  }

  /** Adds a binding for `peer` on the next free number (the caller checks its cap first). */
  add(peer: StunAddress, nowMs: number): TurnChannel {
    while (this.#byNumber.has(this.#next)) this.#advance();
    const channel: TurnChannel = {
      number: this.#next,
      peer,
      confirmed: false,
      inFlight: false,
      refreshAt: nowMs,
      expiresAt: nowMs,
    };
    this.#advance();
    this.#byNumber.set(channel.number, channel);
    let ports = this.#byPeer.get(peer.address);
    if (ports === undefined) {
      ports = new Map();
      this.#byPeer.set(peer.address, ports);
    }
    ports.set(peer.port, channel);
    return channel;
  }

  delete(channel: TurnChannel): void {
    this.#byNumber.delete(channel.number);
    const ports = this.#byPeer.get(channel.peer.address);
    ports?.delete(channel.peer.port);
    if (ports?.size === 0) this.#byPeer.delete(channel.peer.address);
  }

  values(): IterableIterator<TurnChannel> {
    return this.#byNumber.values();
  }

  clear(): void {
    this.#byNumber.clear();
    this.#byPeer.clear();
  }

  #advance(): void {
    this.#next = this.#next === TURN_CHANNEL_MAX ? TURN_CHANNEL_MIN : this.#next + 1;
  }
}
