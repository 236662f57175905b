/**
 * RistReceiver: the Simple-profile receiver (TR-06-1) on a MediaTransport pair — RTP on P,
 * RTCP on P+1 — serving up to `maxFlows` senders told apart by SSRC (address learning: each
 * flow's RTCP goes back to where that flow's RTCP came from). A thin driver: the transport's
 * handlers feed one {@link RistReceiverCore} per flow, one CoreTimer wakes them, the output is a
 * DatagramQueue read with `for await`. With `profile: 'main'` (TR-06-2) it runs on one socket:
 * a demux handler takes the GRE bytes, {@link MainFraming} unwraps (and decrypts), RTCP goes back
 * in GRE to where the flow's RTCP came from, a keepalive every second.
 * @module
 */
import type { RemoteInfo } from 'node:dgram';
import { type AbortOptions, ParseError } from '../errors/index.ts';
import { CoreTimer } from '../internal/core-timer.ts';
import { DatagramQueue, type DatagramReader, OverflowPolicy } from '../internal/datagram-queue.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import type { DemuxRegistration } from '../mux/index.ts';
import { MediaTransport } from '../transport/index.ts';
import { KEEPALIVE_INTERVAL_MS } from './constants.ts';
import { droppedChannel, flowChannel, lossChannel, type RistDropReason } from './diagnostics.ts';
import { GRE_FIRST_BYTES } from './gre.ts';
import { MainFraming, type MainFramingStats, type Unwrapped, type VirtualPorts } from './main-framing.ts';
import { type RistReceiverOptions, validateReceiverOptions } from './options.ts';
import { type RistReceived, RistReceiverCore, type RistReceiverFlowStats } from './receiver-core.ts';
import { decodeRtcp, rtcpSenderSsrc } from './rtcp.ts';
import { decodeRtp } from './rtp.ts';

/** Counters of a {@link RistReceiver}: the sums over its flows, the flows, and the driver's drops. */
export interface RistReceiverStats {
  readonly received: number;
  readonly delivered: number;
  readonly lost: number;
  readonly recovered: number;
  readonly unrecovered: number;
  readonly retransmitsRequested: number;
  readonly retransmitsReceived: number;
  readonly duplicates: number;
  readonly reordered: number;
  readonly late: number;
  readonly bufferPackets: number;
  readonly bitrateBps: number;
  /** The lowest flow RTT, ms (NaN before any). */
  readonly rttMs: number;
  readonly flows: readonly RistReceiverFlowStats[];
  /** Datagrams that did not decode (RTP or RTCP). */
  readonly malformed: number;
  /** Datagrams of a new SSRC refused because `maxFlows` flows were active. */
  readonly flowsRefused: number;
  /** Output items dropped because the reader fell `queueCapacity` behind. */
  readonly queueDropped: number;
  /** RTCP datagrams not sent: the flow's RTCP source was not known yet. */
  readonly rtcpNoPeer: number;
  /** The Main profile's framing counters (undefined on the Simple profile). */
  readonly main: MainFramingStats | undefined;
}

interface Flow {
  readonly core: RistReceiverCore;
  readonly ssrc: number;
  rtcpPeer: Endpoint | undefined;
  lastFrom: Endpoint;
  /** Main profile: the virtual ports of the flow's RTCP (replies swap them). */
  ports: VirtualPorts;
}

/** See the module doc. */
export class RistReceiver implements AsyncIterable<RistReceived>, AsyncDisposable {
  /** The transport it runs on (its ports, stats and demux). */
  readonly transport: MediaTransport;
  readonly #options: RistReceiverOptions;
  readonly #maxFlows: number;
  readonly #flowTimeoutMs: number;
  readonly #now: () => number;
  readonly #flows = new Map<number, Flow>();
  readonly #queue: DatagramQueue<RistReceived>;
  readonly #timer: CoreTimer;
  readonly #ownsTransport: boolean;
  #closing: Promise<void> | undefined;
  #malformed = 0;
  #refused = 0;
  #noPeer = 0;
  readonly #framing: MainFraming | undefined;
  readonly #registrations: DemuxRegistration[] = [];
  #nextKeepaliveMs = 0;
  #lastPorts: VirtualPorts = { src: 0, dst: 0 };
  #dtls = false;
  #dtlsError: unknown;

  /**
   * Runs a receiver on `transport` (a pair for the Simple profile, one socket for the Main).
   * @throws InvalidOptionError `ERR_INVALID_OPTION` naming a bad option.
   */
  constructor(transport: MediaTransport, options: RistReceiverOptions = {}, ownsTransport = false) {
    const resolved = validateReceiverOptions(options);
    this.transport = transport;
    this.#options = options;
    this.#ownsTransport = ownsTransport;
    this.#maxFlows = resolved.maxFlows;
    this.#flowTimeoutMs = resolved.flowTimeoutMs;
    this.#now = options.now ?? (() => performance.now());
    this.#queue = new DatagramQueue({
      capacity: resolved.queueCapacity,
      overflow: OverflowPolicy.DROP_OLDEST,
    });
    this.#timer = new CoreTimer(
      this.#now,
      () => this.#nextWakeMs(),
      (nowMs) => this.#poll(nowMs),
    );
    if (options.profile === 'main') {
      this.#framing = new MainFraming(options);
      if (options.dtls !== undefined) {
        // DTLS: GRE datagrams arrive as records on the media stream, replies go to the one peer.
        this.#dtls = true;
        transport.enableDtlsServer(options.dtls);
        transport.media.setHandler(this.#onGre);
        transport.rtcp.setHandler(this.#onGre);
        transport.handshake().catch((error: unknown) => {
          this.#dtlsError = error;
        });
      } else {
        for (const b of GRE_FIRST_BYTES) {
          this.#registrations.push(transport.media.demux.register({ first: b, last: b }, this.#onGre));
        }
      }
      this.#nextKeepaliveMs = this.#now();
    } else {
      transport.media.setHandler(this.#onMedia);
      transport.rtcp.setHandler(this.#onRtcp);
    }
    if (options.multicast !== undefined) transport.joinMulticast(options.multicast);
  }

  /**
   * Binds the Simple-profile pair `port` (even) and `port + 1` on `host` — with `profile:
   * 'main'` the one port `port` (0: the OS chooses) — and receives there.
   * @throws InvalidOptionError `ERR_INVALID_OPTION`; PortBindError `ERR_PORT_IN_USE`, ….
   */
  static async listen(host: string, port: number, options: RistReceiverOptions = {}): Promise<RistReceiver> {
    validateReceiverOptions(options);
    const transportOptions = {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.now === undefined ? {} : { now: options.now }),
    };
    const transport =
      options.profile === 'main'
        ? await MediaTransport.listenSingle(host, port, transportOptions)
        : await MediaTransport.listenPair(host, port, transportOptions);
    try {
      return new RistReceiver(transport, options, true);
    } catch (error) {
      await transport.close();
      throw error;
    }
  }

  /** Main profile with DTLS: why the handshake failed (undefined while none did). */
  get dtlsError(): unknown {
    return this.#dtlsError;
  }

  /** Local ports `{ media, rtcp }`. */
  get ports(): { readonly media: number; readonly rtcp: number } {
    return this.transport.ports;
  }

  /** Reads the output in order: `data` items and `lost` holes. `break` ends this reader only. */
  packets(options: AbortOptions = {}): DatagramReader<RistReceived> {
    return this.#queue.reader(options.signal === undefined ? {} : { signal: options.signal });
  }

  [Symbol.asyncIterator](): AsyncIterator<RistReceived> {
    return this.packets();
  }

  /** A snapshot of the counters. */
  stats(): RistReceiverStats {
    const nowMs = this.#now();
    const flows = [...this.#flows.values()].map((f) => f.core.stats(nowMs));
    const sum = (key: keyof RistReceiverFlowStats): number =>
      flows.reduce((total, f) => total + (f[key] as number), 0);
    const rtts = flows.map((f) => f.rttMs).filter((v) => !Number.isNaN(v));
    return {
      received: sum('received'),
      delivered: sum('delivered'),
      lost: sum('lost'),
      recovered: sum('recovered'),
      unrecovered: sum('unrecovered'),
      retransmitsRequested: sum('retransmitsRequested'),
      retransmitsReceived: sum('retransmitsReceived'),
      duplicates: sum('duplicates'),
      reordered: sum('reordered'),
      late: sum('late'),
      bufferPackets: sum('bufferPackets'),
      bitrateBps: sum('bitrateBps'),
      rttMs: rtts.length === 0 ? Number.NaN : Math.min(...rtts),
      flows,
      malformed: this.#malformed,
      flowsRefused: this.#refused,
      queueDropped: this.#queue.dropped,
      rtcpNoPeer: this.#noPeer,
      main: this.#framing?.stats(),
    };
  }

  /** Stops receiving; the reader gets what is queued, then ends. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#timer.stop();
    this.transport.media.setHandler(undefined);
    this.transport.rtcp.setHandler(undefined);
    for (const r of this.#registrations) r.remove();
    this.#queue.end();
    if (this.#ownsTransport) await this.transport.close();
  }

  #drop(reason: RistDropReason, stream: 'media' | 'rtcp', size: number): void {
    if (droppedChannel.hasSubscribers) droppedChannel.publish({ reason, stream, size });
  }

  #flow(ssrc: number, from: RemoteInfo, stream: 'media' | 'rtcp', size: number): Flow | undefined {
    const key = (ssrc & ~1) >>> 0;
    let flow = this.#flows.get(key);
    if (flow !== undefined) return flow;
    if (this.#flows.size >= this.#maxFlows) {
      this.#refused++;
      this.#drop('flow-limit', stream, size);
      return undefined;
    }
    flow = {
      core: new RistReceiverCore(this.#options, this.#now()),
      ssrc: key,
      rtcpPeer: undefined,
      lastFrom: { address: from.address, port: from.port },
      ports: this.#lastPorts,
    };
    this.#flows.set(key, flow);
    if (flowChannel.hasSubscribers) flowChannel.publish({ event: 'added', ssrc: key, from: flow.lastFrom });
    return flow;
  }

  readonly #onMedia = (data: Buffer, from: RemoteInfo): void => {
    if (this.#closing !== undefined) return;
    let packet: ReturnType<typeof decodeRtp>;
    try {
      packet = decodeRtp(data);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.#malformed++;
      this.#drop('malformed', 'media', data.length);
      return;
    }
    const flow = this.#flow(packet.ssrc, from, 'media', data.length);
    if (flow === undefined) return;
    flow.core.receiveRtp(packet, this.#now());
    this.#flush(flow);
  };

  readonly #onRtcp = (data: Buffer, from: RemoteInfo): void => {
    if (this.#closing !== undefined) return;
    let packets: ReturnType<typeof decodeRtcp>;
    try {
      packets = decodeRtcp(data);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.#malformed++;
      this.#drop('malformed', 'rtcp', data.length);
      return;
    }
    const ssrc = rtcpSenderSsrc(data);
    if (ssrc === undefined) return;
    const flow = this.#flow(ssrc, from, 'rtcp', data.length);
    if (flow === undefined) return;
    if (flow.rtcpPeer?.port !== from.port || flow.rtcpPeer.address !== from.address) {
      flow.rtcpPeer = { address: from.address, port: from.port };
    }
    flow.ports = this.#lastPorts;
    flow.core.receiveRtcp(packets, this.#now());
    this.#flush(flow);
  };

  /** Main profile: one GRE datagram from the single socket. */
  readonly #onGre = (data: Buffer, from: RemoteInfo): void => {
    const framing = this.#framing;
    if (this.#closing !== undefined || framing === undefined) return;
    let unwrapped: ReturnType<MainFraming['unwrap']>;
    try {
      unwrapped = framing.unwrap(data, from, this.#now(), this.#knownFlow);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.#malformed++;
      this.#drop('malformed', 'media', data.length);
      return;
    }
    if (unwrapped !== undefined) this.#dispatch(unwrapped, from);
    for (const held of framing.drainReleased()) this.#dispatch(held, from);
  };

  readonly #knownFlow = (ssrc: number, from: Endpoint): boolean => {
    const flow = this.#flows.get(ssrc);
    return flow !== undefined && flow.lastFrom.address === from.address && flow.lastFrom.port === from.port;
  };

  #dispatch(unwrapped: Unwrapped, from: RemoteInfo): void {
    if (unwrapped.kind === 'keepalive') return;
    if (this.#lastPorts.src !== unwrapped.srcPort || this.#lastPorts.dst !== unwrapped.dstPort) {
      this.#lastPorts = { src: unwrapped.srcPort, dst: unwrapped.dstPort };
    }
    if (unwrapped.kind === 'rtp') this.#onMedia(unwrapped.packet, from);
    else this.#onRtcp(unwrapped.packet, from);
  }

  #sendRtcp(datagram: Buffer, flow: Flow, to: Endpoint): void {
    if (this.#framing === undefined) this.transport.sendRtcp(datagram, to);
    else
      this.transport.sendMedia(
        this.#framing.wrap(datagram, { src: flow.ports.dst, dst: flow.ports.src }),
        this.#dtls ? undefined : to,
      );
  }

  #flush(flow: Flow): void {
    for (const datagram of flow.core.drainRtcp()) {
      if (flow.rtcpPeer === undefined) {
        this.#noPeer++;
        continue;
      }
      try {
        this.#sendRtcp(datagram, flow, flow.rtcpPeer);
      } catch {
        // Closed under us: the close path ends everything.
      }
    }
    for (const item of flow.core.drainOutput()) {
      if (item.type === 'lost' && lossChannel.hasSubscribers) {
        lossChannel.publish({ ssrc: item.ssrc, seq: item.seq, count: item.count });
      }
      if (!this.#queue.push(item)) this.#drop('queue-full', 'media', 0);
    }
    this.#timer.arm();
  }

  #nextWakeMs(): number {
    let wake =
      this.#framing !== undefined && this.#flows.size > 0 ? this.#nextKeepaliveMs : Number.POSITIVE_INFINITY;
    for (const flow of this.#flows.values()) {
      const at = Math.min(flow.core.nextWakeMs(), flow.core.lastHeardMs + this.#flowTimeoutMs);
      if (at < wake) wake = at;
    }
    return wake;
  }

  #poll(nowMs: number): void {
    if (this.#closing !== undefined) return;
    for (const [key, flow] of this.#flows) {
      if (nowMs - flow.core.lastHeardMs >= this.#flowTimeoutMs) {
        this.#flows.delete(key);
        if (flowChannel.hasSubscribers)
          flowChannel.publish({ event: 'removed', ssrc: key, from: flow.lastFrom });
        continue;
      }
      flow.core.poll(nowMs);
      this.#flush(flow);
    }
    if (this.#framing !== undefined && nowMs >= this.#nextKeepaliveMs) {
      this.#nextKeepaliveMs = nowMs + KEEPALIVE_INTERVAL_MS;
      for (const flow of this.#flows.values()) {
        if (flow.rtcpPeer === undefined) continue;
        try {
          this.transport.sendMedia(this.#framing.keepalive(), this.#dtls ? undefined : flow.rtcpPeer);
        } catch {
          // Closed under us.
        }
      }
    }
    this.#timer.arm();
  }
}
