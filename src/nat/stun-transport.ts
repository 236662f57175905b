import { randomBytes } from 'node:crypto';
import type { RemoteInfo, Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { debuglog } from 'node:util';
import {
  type AbortOptions,
  ClosedError,
  InvalidOptionError,
  PortholeError,
  TimeoutError,
} from '../errors/index.ts';
import { wildcardAddress } from '../internal/endpoint.ts';
import { type Demux, demuxOf } from '../mux/index.ts';
import { type BindUdpSocketOptions, bindUdpSocket } from '../ports/index.ts';
import { StunClient, type StunRetransmitOptions } from '../stun/index.ts';
import type { NatEndpoint } from './behavior.ts';
import { NatErrorCode } from './errors.ts';
import type { BindingProbe, BindingResult, DiscoveryTransport } from './transport.ts';

const debug = debuglog('porthole:nat');

/** Default cap on the sockets one transport opens (2 for discovery + lifetime trials). */
export const DEFAULT_MAX_DISCOVERY_SOCKETS = 24;
/** Default retransmission of discovery requests: RFC 8489 timing, shortened (about 4 s in all). */
export const DEFAULT_DISCOVERY_RETRANSMIT: Required<StunRetransmitOptions> = { rtoMs: 250, rc: 5, rm: 8 };

/** Offset and length of the transaction ID in a STUN header. RFC 8489 §5. */
const TXID_START = 8;
const TXID_END = 20;

/** Settings of a {@link StunDiscoveryTransport}; all optional. */
export interface StunDiscoveryTransportOptions {
  /** `udp4` (default) or `udp6`; must match the server's address family. */
  readonly family?: 'udp4' | 'udp6';
  /** Local address the sockets bind to. Default `0.0.0.0` / `::`. */
  readonly localAddress?: string;
  /** Most sockets opened. Default {@link DEFAULT_MAX_DISCOVERY_SOCKETS}. */
  readonly maxSockets?: number;
  /** Retransmission of every request. Default {@link DEFAULT_DISCOVERY_RETRANSMIT}. */
  readonly retransmit?: StunRetransmitOptions;
  /** Binds a socket (tests). Default ports/ `bindUdpSocket`. */
  readonly bindSocket?: (options: BindUdpSocketOptions) => Promise<Socket>;
}

/** Counters of a {@link StunDiscoveryTransport}. */
export interface StunDiscoveryTransportStats {
  /** Sockets opened so far. */
  readonly sockets: number;
  /** Datagrams shorter than a STUN header: dropped. */
  readonly droppedShort: number;
  /** Datagrams no client claimed (not STUN, malformed, stray or late responses): dropped. */
  readonly droppedUnmatched: number;
  /** Hairpinned probes received. */
  readonly hairpinsReceived: number;
}

interface Endpoint {
  readonly socket: Socket;
  readonly demux: Demux;
  readonly client: StunClient;
  readonly port: number;
}

/**
 * The {@link DiscoveryTransport} over real UDP: one socket (bound through ports/) and one
 * {@link StunClient} per index, opened on first use. Responses are matched to the socket they
 * arrive on, so RESPONSE-PORT and hairpin probes can tell where a datagram landed. Close it when
 * done (idempotent, also `await using`).
 */
export class StunDiscoveryTransport implements DiscoveryTransport {
  readonly #family: 'udp4' | 'udp6';
  readonly #localAddress: string;
  readonly #maxSockets: number;
  readonly #retransmit: StunRetransmitOptions;
  readonly #bind: (options: BindUdpSocketOptions) => Promise<Socket>;
  readonly #endpoints: (Promise<Endpoint> | undefined)[] = [];
  readonly #opened: Endpoint[] = [];
  /** Transaction ID (hex) → index of the socket its response arrived on (undefined: not yet). */
  readonly #arrivals = new Map<string, number | undefined>();
  /** Transaction ID (hex) of a hairpin probe → the socket expected to receive it. */
  readonly #hairpins = new Map<string, { readonly to: number; readonly arrived: () => void }>();
  readonly #localAddresses: ReadonlySet<string>;
  #closed = false;
  #droppedShort = 0;
  #droppedUnmatched = 0;
  #hairpinsReceived = 0;

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` on bad options. */
  constructor(options: StunDiscoveryTransportOptions = {}) {
    this.#family = options.family ?? 'udp4';
    this.#localAddress = options.localAddress ?? wildcardAddress(this.#family);
    this.#maxSockets = options.maxSockets ?? DEFAULT_MAX_DISCOVERY_SOCKETS;
    if (!Number.isInteger(this.#maxSockets) || this.#maxSockets < 2 || this.#maxSockets > 256) {
      throw new InvalidOptionError('maxSockets', `maxSockets must be 2–256, got ${this.#maxSockets}`);
    }
    this.#retransmit = { ...DEFAULT_DISCOVERY_RETRANSMIT, ...options.retransmit };
    this.#bind = options.bindSocket ?? bindUdpSocket;
    const addresses = new Set<string>();
    for (const list of Object.values(networkInterfaces())) {
      for (const info of list ?? []) addresses.add(info.address);
    }
    if (options.localAddress !== undefined) addresses.add(options.localAddress);
    this.#localAddresses = addresses;
  }

  async localPort(socketIndex: number, options: AbortOptions = {}): Promise<number> {
    return (await this.#open(socketIndex, options.signal)).port;
  }

  isLocalAddress(address: string): boolean {
    return this.#localAddresses.has(address);
  }

  /**
   * Sends one Binding request. Resolves `'timeout'` when no response came to the socket that
   * should receive it. Rejects with `ERR_NAT_SERVER_ERROR` on an error response,
   * `ERR_NAT_BAD_RESPONSE` on a success response without a mapped address, `ERR_CLOSED`,
   * `ERR_ABORTED`, or the client's errors.
   */
  async bindingRequest(probe: BindingProbe, options: AbortOptions = {}): Promise<BindingResult | 'timeout'> {
    const { signal } = options;
    const sender = await this.#open(probe.socketIndex, signal);
    const receiver = probe.receiveOn ?? probe.socketIndex;
    await this.#open(receiver, signal);
    const transactionId = randomBytes(TXID_END - TXID_START);
    const key = transactionId.toString('hex');
    this.#arrivals.set(key, undefined);
    try {
      const response = await sender.client.binding({
        to: probe.server,
        changeIp: probe.changeIp,
        changePort: probe.changePort,
        ...(probe.responsePort === undefined ? {} : { responsePort: probe.responsePort }),
        transactionId,
        ...this.#retransmit,
        ...(signal === undefined ? {} : { signal }),
      });
      if (this.#arrivals.get(key) !== receiver) return 'timeout';
      if (response.error !== undefined) {
        throw new PortholeError(
          NatErrorCode.SERVER_ERROR,
          `the STUN server answered ${response.error.code} ${response.error.reason} to a Binding request`,
        );
      }
      if (response.mapped === undefined) {
        throw new PortholeError(
          NatErrorCode.BAD_RESPONSE,
          'a Binding response carried no (XOR-)MAPPED-ADDRESS',
        );
      }
      return {
        mapped: endpoint(response.mapped),
        otherAddress: response.otherAddress === undefined ? null : endpoint(response.otherAddress),
        origin: endpoint(response.responseOrigin ?? response.from),
      };
    } catch (error) {
      if (error instanceof TimeoutError) return 'timeout';
      throw error;
    } finally {
      this.#arrivals.delete(key);
    }
  }

  /**
   * RFC 5780 §4.5: socket `from` sends a Binding request to `target`; resolves true as soon as
   * socket `to` receives it, false when the request's retransmissions run out.
   */
  async probeHairpin(
    from: number,
    to: number,
    target: NatEndpoint,
    options: AbortOptions = {},
  ): Promise<boolean> {
    const { signal } = options;
    const sender = await this.#open(from, signal);
    await this.#open(to, signal);
    const transactionId = randomBytes(TXID_END - TXID_START);
    const key = transactionId.toString('hex');
    const stop = new AbortController();
    const onAbort = (): void => stop.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let arrived = false;
    this.#hairpins.set(key, {
      to,
      arrived: () => {
        arrived = true;
        stop.abort();
      },
    });
    try {
      await sender.client.binding({ to: target, transactionId, ...this.#retransmit, signal: stop.signal });
      return arrived; // Something answered as if it were a STUN server: not our own request.
    } catch (error) {
      if (arrived) return true;
      if (error instanceof TimeoutError) return false;
      throw error;
    } finally {
      this.#hairpins.delete(key);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** A snapshot of the counters. */
  stats(): StunDiscoveryTransportStats {
    // The demuxes drop what never reaches #route: too short for STUN, or not STUN at all.
    let short = this.#droppedShort;
    let unmatched = this.#droppedUnmatched;
    for (const { demux } of this.#opened) {
      const d = demux.stats();
      short += d.stun.tooShort + d.droppedEmpty;
      unmatched += d.droppedUnclaimed;
    }
    return {
      sockets: this.#opened.length,
      droppedShort: short,
      droppedUnmatched: unmatched,
      hairpinsReceived: this.#hairpinsReceived,
    };
  }

  /**
   * Closes every client and socket (idempotent); resolves once the sockets are closed. Requests in
   * flight reject with `ERR_CLOSED`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closing: Promise<void>[] = [];
    for (const { client, socket, demux } of this.#opened.splice(0)) {
      void client.close();
      demux.detach();
      closing.push(
        new Promise<void>((resolve) => {
          try {
            socket.close(() => resolve());
          } catch {
            resolve(); // already closed
          }
        }),
      );
    }
    await Promise.all(closing);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #open(index: number, signal: AbortSignal | undefined): Promise<Endpoint> {
    if (this.#closed) return Promise.reject(new ClosedError('NAT discovery transport'));
    if (!Number.isInteger(index) || index < 0 || index >= this.#maxSockets) {
      return Promise.reject(
        new InvalidOptionError('index', `socket index ${index} is outside 0–${this.#maxSockets - 1}`),
      );
    }
    let opening = this.#endpoints[index];
    if (opening === undefined) {
      opening = this.#bindEndpoint(index, signal);
      this.#endpoints[index] = opening;
      opening.catch(() => {
        this.#endpoints[index] = undefined;
      });
    }
    return opening;
  }

  async #bindEndpoint(index: number, signal: AbortSignal | undefined): Promise<Endpoint> {
    const socket = await this.#bind({
      family: this.#family,
      address: this.#localAddress,
      port: 0,
      ...(signal === undefined ? {} : { signal }),
    });
    if (this.#closed) {
      socket.close();
      throw new ClosedError('NAT discovery transport');
    }
    const demux = demuxOf(socket);
    // Registered before the client's own route, so it sees every datagram first (hairpins, arrivals).
    demux.registerStun({
      request: (data, from) => this.#route(index, data, from),
      response: (data, from) => this.#route(index, data, from),
    });
    const client = new StunClient({ demux });
    socket.on('error', (error) => debug('socket %d: %s', index, error.message));
    const opened: Endpoint = { socket, demux, client, port: socket.address().port };
    this.#opened.push(opened);
    return opened;
  }

  /**
   * Notes where a datagram landed, then offers it to every client (transaction IDs are unique).
   * Always claims it: nothing on these sockets is anyone else's.
   */
  #route(index: number, data: Buffer, from: RemoteInfo): boolean {
    if (data.length < TXID_END) {
      this.#droppedShort++;
      return true;
    }
    const key = data.toString('hex', TXID_START, TXID_END);
    const hairpin = this.#hairpins.get(key);
    if (hairpin !== undefined) {
      if (hairpin.to === index) {
        this.#hairpinsReceived++;
        hairpin.arrived();
      } else {
        this.#droppedUnmatched++;
      }
      return true;
    }
    if (this.#arrivals.has(key) && this.#arrivals.get(key) === undefined) this.#arrivals.set(key, index);
    for (const { client } of this.#opened) {
      if (client.handleDatagram(data, from)) return true;
    }
    this.#droppedUnmatched++;
    return true;
  }
}

function endpoint(address: { readonly address: string; readonly port: number }): NatEndpoint {
  return { address: address.address, port: address.port };
}
