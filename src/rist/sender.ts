/**
 * RistSender: the Simple-profile sender (TR-06-1) on a MediaTransport — RTP to the receiver's
 * port P, RTCP to P + 1, NACKs answered from the recovery buffer. The destination may be a
 * multicast group (every receiver NACKs by unicast; retransmissions go to the group). A thin
 * driver: the transport's RTCP handler feeds one {@link RistSenderCore}, one CoreTimer wakes it.
 * With `profile: 'main'` (TR-06-2) everything goes over one socket to one port in GRE
 * ({@link MainFraming}: the reduced header, PSK encryption with a secret), a keepalive every second.
 * @module
 */
import type { RemoteInfo } from 'node:dgram';
import { isIP } from 'node:net';
import { ClosedError, InvalidOptionError, ParseError } from '../errors/index.ts';
import { CoreTimer } from '../internal/core-timer.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import type { DemuxRegistration } from '../mux/index.ts';
import { type EphemeralOptions, isMulticastAddress, MediaTransport } from '../transport/index.ts';
import { KEEPALIVE_INTERVAL_MS, NTP_UNIX_OFFSET_S } from './constants.ts';
import { droppedChannel } from './diagnostics.ts';
import { DEFAULT_VIRTUAL_DST_PORT, DEFAULT_VIRTUAL_SRC_PORT, GRE_FIRST_BYTES } from './gre.ts';
import { MainFraming, type MainFramingStats, type VirtualPorts } from './main-framing.ts';
import { type RistSenderOptions, validateSenderOptions } from './options.ts';
import { decodeRtcp } from './rtcp.ts';
import { RistSenderCore, type RistSenderStats } from './sender-core.ts';
import { TsPacker } from './ts-packer.ts';

/** A sender knows no flows: an RTCP compound proves a key, RTP never arrives. */
const noKnownFlow = (): boolean => false;

/** How long {@link RistSender.connect} waits after the first RTCP before it resolves, ms. */
export const HANDSHAKE_GRACE_MS = 20;

/** Counters of a {@link RistSender}: the core's and the driver's. */
export interface RistSenderDriverStats extends RistSenderStats {
  /** RTCP datagrams that did not decode. */
  readonly malformed: number;
  /** The Main profile's framing counters (undefined on the Simple profile). */
  readonly main: MainFramingStats | undefined;
}

/** See the module doc. */
export class RistSender implements AsyncDisposable {
  /** The transport it runs on. */
  readonly transport: MediaTransport;
  /** Where media goes (RTCP goes to its port + 1). */
  readonly destination: Endpoint;
  readonly #core: RistSenderCore;
  readonly #now: () => number;
  readonly #timer: CoreTimer;
  readonly #packer = new TsPacker();
  readonly #ownsTransport: boolean;
  #closing: Promise<void> | undefined;
  #malformed = 0;
  readonly #framing: MainFraming | undefined;
  readonly #registrations: DemuxRegistration[] = [];
  readonly #dataPorts: VirtualPorts;
  readonly #rtcpPorts: VirtualPorts;
  #nextKeepaliveMs = Number.POSITIVE_INFINITY;
  /** Where Main-profile datagrams go: the destination, or undefined over DTLS (its one peer). */
  #to: Endpoint | undefined;

  /**
   * Runs a sender on `transport` towards `destination` (RTCP to its port + 1; with `profile:
   * 'main'` everything to `destination` on one socket).
   * @throws InvalidOptionError `ERR_INVALID_OPTION` naming a bad option.
   */
  constructor(
    transport: MediaTransport,
    destination: Endpoint,
    options: RistSenderOptions = {},
    ownsTransport = false,
  ) {
    validateSenderOptions(options);
    this.transport = transport;
    this.destination = { address: destination.address, port: destination.port };
    this.#to = this.destination;
    this.#ownsTransport = ownsTransport;
    this.#now = options.now ?? (() => performance.now());
    const ntpOffsetMs = options.ntpOffsetMs ?? Date.now() - this.#now() + NTP_UNIX_OFFSET_S * 1000;
    this.#core = new RistSenderCore({ ...options, ntpOffsetMs }, this.#now());
    const virtualPort = options.virtualPort ?? DEFAULT_VIRTUAL_DST_PORT;
    this.#dataPorts = { src: DEFAULT_VIRTUAL_SRC_PORT, dst: virtualPort };
    this.#rtcpPorts = { src: DEFAULT_VIRTUAL_SRC_PORT, dst: virtualPort + 1 };
    this.#timer = new CoreTimer(
      this.#now,
      () => Math.min(this.#core.nextWakeMs(), this.#nextKeepaliveMs),
      (nowMs) => {
        if (this.#closing !== undefined) return;
        this.#core.poll(nowMs);
        if (this.#framing !== undefined && nowMs >= this.#nextKeepaliveMs) {
          this.#nextKeepaliveMs = nowMs + KEEPALIVE_INTERVAL_MS;
          this.#sendDatagram(this.#framing.keepalive());
        }
        this.#flush();
      },
    );
    if (options.profile === 'main') {
      this.#framing = new MainFraming(options);
      if (transport.dtls !== undefined) {
        // DTLS (connect ran the handshake): records to and from the one peer.
        this.#to = undefined;
        transport.media.setHandler(this.#onGre);
        transport.rtcp.setHandler(this.#onGre);
      } else {
        for (const b of GRE_FIRST_BYTES) {
          this.#registrations.push(transport.media.demux.register({ first: b, last: b }, this.#onGre));
        }
      }
      this.#nextKeepaliveMs = this.#now();
    } else {
      transport.rtcp.setHandler(this.#onRtcp);
    }
    this.#core.poll(this.#now());
    this.#flush();
  }

  /**
   * Binds two ephemeral ports and sends to `host:port` (media) and `host:port+1` (RTCP); with
   * `profile: 'main'` one ephemeral port, everything to `host:port` (with `dtls`, once the DTLS
   * handshake completed). `host` is an IP address, unicast or multicast.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` (`host`, `port`, …); PortBindError; (rejects)
   *   DtlsError `ERR_DTLS_HANDSHAKE_FAILED`, `ERR_DTLS_CERTIFICATE_REJECTED`, `ERR_DTLS_HANDSHAKE_TIMEOUT`.
   */
  static async connect(host: string, port: number, options: RistSenderOptions = {}): Promise<RistSender> {
    validateSenderOptions(options);
    const family = isIP(host) === 6 ? 'udp6' : isIP(host) === 4 ? 'udp4' : undefined;
    if (family === undefined)
      throw new InvalidOptionError('host', `host must be an IP address, got "${host}"`);
    const main = options.profile === 'main';
    if (main && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new InvalidOptionError('port', `port must be 1–65535, got ${port}`);
    }
    if (!main && (!Number.isInteger(port) || port < 1 || port > 65534 || port % 2 !== 0)) {
      throw new InvalidOptionError('port', `port must be even and 2–65534 (RTCP is port + 1), got ${port}`);
    }
    const transportOptions: EphemeralOptions = {
      remote: main
        ? { media: { address: host, port } }
        : { media: { address: host, port }, rtcp: { address: host, port: port + 1 } },
      ...(options.pool === undefined ? { family } : { pool: options.pool }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.now === undefined ? {} : { now: options.now }),
    };
    const transport = main
      ? await MediaTransport.listenEphemeralSingle(options.host, transportOptions)
      : await MediaTransport.listenEphemeral(options.host, transportOptions);
    try {
      if (isMulticastAddress(host) && options.multicast !== undefined)
        transport.setMulticast(options.multicast);
      if (main && options.dtls !== undefined) {
        transport.enableDtlsClient({ address: host, port }, options.dtls);
        await transport.handshake(options.signal === undefined ? {} : { signal: options.signal });
      }
      const sender = new RistSender(transport, { address: host, port }, options, true);
      // librist ignores data that arrives before the first SDES; the first report went out in the
      // constructor, on the other socket, so give it a head start.
      await new Promise<void>((resolve) => setTimeout(resolve, HANDSHAKE_GRACE_MS));
      return sender;
    } catch (error) {
      await transport.close();
      throw error;
    }
  }

  /** The 16-bit sequence number of the next packet. */
  get nextSeq(): number {
    return this.#core.nextSeq;
  }

  /**
   * Sends one RTP packet with `payload` (1–1 460 bytes; RIST sends 7 TS packets, 1 316 bytes).
   * @throws ClosedError `ERR_CLOSED`; InvalidOptionError `ERR_INVALID_OPTION` (`payload`).
   */
  send(payload: Uint8Array): void {
    if (this.#closing !== undefined) throw new ClosedError('RistSender');
    const datagram = this.#core.send(payload, this.#now());
    if (this.#framing === undefined) this.transport.sendMedia(datagram, this.destination);
    else this.transport.sendMedia(this.#framing.wrap(datagram, this.#dataPorts), this.#to);
  }

  /**
   * Sends an MPEG-TS byte stream in any chunking: whole 7-packet payloads leave at once, the
   * rest waits for more bytes or {@link flushTs}.
   * @throws ClosedError `ERR_CLOSED`.
   */
  writeTs(data: Uint8Array): void {
    if (this.#closing !== undefined) throw new ClosedError('RistSender');
    this.#packer.push(data, this.#sendPayload);
  }

  /** Sends the TS packets {@link writeTs} holds (fewer than 7). */
  flushTs(): void {
    if (this.#closing !== undefined) return;
    this.#packer.flush(this.#sendPayload);
  }

  /** A snapshot of the counters. */
  stats(): RistSenderDriverStats {
    return { ...this.#core.stats(this.#now()), malformed: this.#malformed, main: this.#framing?.stats() };
  }

  /** Stops the timer and closes the transport it made. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#timer.stop();
    this.transport.rtcp.setHandler(undefined);
    for (const r of this.#registrations) r.remove();
    if (this.#ownsTransport) await this.transport.close();
  }

  readonly #sendPayload = (payload: Buffer): void => {
    this.send(payload);
  };

  readonly #onRtcp = (data: Buffer, _from: RemoteInfo): void => {
    if (this.#closing !== undefined) return;
    let packets: ReturnType<typeof decodeRtcp>;
    try {
      packets = decodeRtcp(data);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.#malformed++;
      if (droppedChannel.hasSubscribers)
        droppedChannel.publish({ reason: 'malformed', stream: 'rtcp', size: data.length });
      return;
    }
    this.#core.receiveRtcp(packets, this.#now());
    this.#flush();
  };

  /** Main profile: one GRE datagram from the single socket (RTCP from the receiver). */
  readonly #onGre = (data: Buffer, from: RemoteInfo): void => {
    const framing = this.#framing;
    if (this.#closing !== undefined || framing === undefined) return;
    let unwrapped: ReturnType<MainFraming['unwrap']>;
    try {
      unwrapped = framing.unwrap(data, from, this.#now(), noKnownFlow);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.#malformed++;
      if (droppedChannel.hasSubscribers)
        droppedChannel.publish({ reason: 'malformed', stream: 'media', size: data.length });
      return;
    }
    if (unwrapped?.kind === 'rtcp') this.#onRtcp(unwrapped.packet, from);
  };

  #sendDatagram(data: Uint8Array): void {
    try {
      this.transport.sendMedia(data, this.#to);
    } catch {
      // Closed under us: the close path ends everything.
    }
  }

  #flush(): void {
    const rtcpTo = { address: this.destination.address, port: this.destination.port + 1 };
    const framing = this.#framing;
    for (const t of this.#core.drain()) {
      if (framing !== undefined) {
        this.#sendDatagram(framing.wrap(t.data, t.rtcp ? this.#rtcpPorts : this.#dataPorts));
        continue;
      }
      try {
        if (t.rtcp) this.transport.sendRtcp(t.data, rtcpTo);
        else this.transport.sendMedia(t.data, this.destination);
      } catch {
        // Closed under us: the close path ends everything.
      }
    }
    this.#timer.arm();
  }
}
