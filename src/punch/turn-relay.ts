/**
 * The TURN side of a punching link (RFC 8656): a {@link RelayProvider} that allocates a relayed
 * address on the peer's one data socket (through its `Demux`, next to broker, punch and data
 * frames), announces it as a `relay` candidate through the broker, and, when punching fails, binds
 * a channel to the other side's relayed address (ChannelBind also installs the permission,
 * RFC 8656 §12) and carries the link's datagrams as ChannelData.
 *
 * Both sides relay: A's data leaves A's allocation toward B's relayed address, so each side needs
 * a permission for the other's relayed address — which is what `open()` installs on each side.
 * @module
 */
import { debuglog } from 'node:util';
import {
  type AbortOptions,
  ClosedError,
  InvalidOptionError,
  InvalidStateError,
  PortholeError,
  throwIfAborted,
} from '../errors/index.ts';
import type { Demux } from '../mux/index.ts';
import type { NatEndpoint } from '../nat/index.ts';
import type { TurnPeer } from '../turn/index.ts';
import { TurnClient, type TurnClientOptions, type TurnClientStats } from '../turn/index.ts';
import type { Introduction } from './broker-client-core.ts';
import type { Candidate } from './candidates.ts';
import { PunchErrorCode } from './error-codes.ts';
import type { RelayChannel, RelayProvider } from './link.ts';

const debug = debuglog('porthole:punch');

/** Default cap on relayed channels open at once (one per link on the relay): 64. */
export const DEFAULT_MAX_RELAY_CHANNELS = 64;

/** Settings of a {@link TurnRelayProvider}: the TURN server and credentials, TURN tuning. */
export interface TurnRelayOptions
  extends Omit<TurnClientOptions, 'demux' | 'onData' | 'signal' | 'maxQueued'> {
  /** Most links on the relay at once (then `open` rejects `ERR_PUNCH_RELAY_FULL`). Default 64. */
  readonly maxChannels?: number;
}

/** Counters of a {@link TurnRelayProvider}. */
export interface TurnRelayStats {
  /** Channels open now (links on the relay). */
  readonly channels: number;
  readonly opened: number;
  /** Relayed datagrams from an address no open channel belongs to. */
  readonly droppedUnknownPeer: number;
  /** `open()` refused because the peer announced no relay candidate. */
  readonly noCandidate: number;
  /** Relayed sends that threw (allocation lost, datagram over 65535 bytes): dropped. */
  readonly sendErrors: number;
  /** The TURN client's counters (null before `attach`). */
  readonly turn: TurnClientStats | null;
}

/**
 * A {@link RelayProvider} backed by one TURN allocation per {@link PunchPeer}: pass a fresh one as
 * `PunchPeer.open({ relay })` (it serves one peer; `attach` twice throws).
 */
export class TurnRelayProvider implements RelayProvider {
  readonly #options: TurnRelayOptions;
  readonly #maxChannels: number;
  /** Open channels by the peer's relayed port, then address (no string built per datagram). */
  readonly #channels = new Map<number, Map<string, (data: Buffer) => void>>();
  #open = 0;
  #client: TurnClient | null = null;
  #attached = false;
  #lost: Error | null = null;
  #c = { opened: 0, droppedUnknownPeer: 0, noCandidate: 0, sendErrors: 0 };

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` for a bad `maxChannels`. */
  constructor(options: TurnRelayOptions) {
    const max = options.maxChannels ?? DEFAULT_MAX_RELAY_CHANNELS;
    if (!Number.isInteger(max) || max < 1) {
      throw new InvalidOptionError('maxChannels', `maxChannels must be a positive integer, not ${max}`);
    }
    this.#options = options;
    this.#maxChannels = max;
  }

  /** The relayed address (null before `attach` or after `detach`). */
  get relayedAddress(): NatEndpoint | null {
    const client = this.#client;
    return client === null
      ? null
      : { address: client.relayedAddress.address, port: client.relayedAddress.port };
  }

  /**
   * Allocates on the data socket's demux (RFC 8656 §7) and returns the relay candidate.
   * Rejects as `TurnClient.allocate` (`ERR_TURN_AUTH_FAILED`, `ERR_TIMEOUT`, …) and
   * `ERR_INVALID_STATE` when called twice.
   */
  async attach(demux: Demux, options: AbortOptions = {}): Promise<readonly Candidate[]> {
    const { signal } = options;
    throwIfAborted(signal);
    if (this.#attached) {
      throw new InvalidStateError('a TurnRelayProvider serves one PunchPeer; it is attached already');
    }
    this.#attached = true;
    const { maxChannels: _max, ...turn } = this.#options;
    this.#client = await TurnClient.allocate({
      ...turn,
      demux,
      onData: this.#onData,
      onLost: (error) => {
        this.#lost = error;
        this.#options.onLost?.(error);
      },
      ...(signal === undefined ? {} : { signal }),
    });
    const relayed = this.#client.relayedAddress;
    debug('TURN relay candidate %s:%d', relayed.address, relayed.port);
    return [{ kind: 'relay', address: relayed.address, port: relayed.port }];
  }

  /** Deletes the allocation (Refresh 0). Idempotent. */
  async detach(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    this.#channels.clear();
    this.#open = 0;
    await client?.close();
  }

  /**
   * Binds a channel to the peer's relayed address (its `relay` candidate) and returns the link's
   * relayed channel. Rejects `ERR_PUNCH_RELAY_NO_CANDIDATE` (the peer announced no relay candidate),
   * `ERR_PUNCH_RELAY_FULL`, `ERR_CLOSED` (not attached), `ERR_TURN_ALLOCATION_LOST`, and as
   * `TurnClient.bindChannel`.
   */
  async open(
    introduction: Introduction,
    onData: (data: Buffer) => void,
    options: AbortOptions = {},
  ): Promise<RelayChannel> {
    const { signal } = options;
    throwIfAborted(signal);
    const client = this.#client;
    if (client === null) throw new ClosedError('TURN relay');
    if (this.#lost !== null) throw this.#lost;
    const peer = introduction.candidates.find((c) => c.kind === 'relay');
    if (peer === undefined) {
      this.#c.noCandidate++;
      throw new PortholeError(
        PunchErrorCode.RELAY_NO_CANDIDATE,
        `${introduction.peerId} announced no relay candidate (give both peers a TURN relay)`,
      );
    }
    const byAddress = this.#channels.get(peer.port);
    if (byAddress?.has(peer.address) !== true && this.#open >= this.#maxChannels) {
      throw new PortholeError(
        PunchErrorCode.RELAY_FULL,
        `${this.#maxChannels} relayed channels already open`,
      );
    }
    const to = { address: peer.address, port: peer.port };
    await client.bindChannel(to, signal === undefined ? {} : { signal });
    this.#c.opened++;
    this.#set(peer, onData);
    let open = true;
    return {
      send: (data: Buffer): void => {
        if (!open || this.#client !== client) return;
        try {
          client.send(data, to);
        } catch (error) {
          // The allocation is gone (ERR_INVALID_STATE) or the datagram too big: dropped, counted.
          this.#c.sendErrors++;
          debug('relayed send failed: %o', error);
        }
      },
      close: (): void => {
        if (!open) return;
        open = false;
        this.#delete(to, onData);
      },
    };
  }

  #set(peer: NatEndpoint, onData: (data: Buffer) => void): void {
    let byAddress = this.#channels.get(peer.port);
    if (byAddress === undefined) {
      byAddress = new Map();
      this.#channels.set(peer.port, byAddress);
    }
    if (!byAddress.has(peer.address)) this.#open++;
    byAddress.set(peer.address, onData);
  }

  #delete(peer: NatEndpoint, onData: (data: Buffer) => void): void {
    const byAddress = this.#channels.get(peer.port);
    if (byAddress?.get(peer.address) !== onData) return;
    byAddress.delete(peer.address);
    this.#open--;
    if (byAddress.size === 0) this.#channels.delete(peer.port);
  }

  stats(): TurnRelayStats {
    return { channels: this.#open, ...this.#c, turn: this.#client?.stats() ?? null };
  }

  readonly #onData = (data: Buffer, from: TurnPeer): void => {
    const deliver = this.#channels.get(from.port)?.get(from.address);
    if (deliver === undefined) {
      this.#c.droppedUnknownPeer++;
      return;
    }
    deliver(data);
  };
}
