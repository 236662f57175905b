/**
 * Settings of an {@link ArqEndpoint}: defaults are the reference KCP's; {@link ARQ_TURBO} is the
 * low-latency preset (the reference's "fastest" settings).
 * @module
 */
import { InvalidOptionError } from '../errors/index.ts';
import type { DatagramLink, Demux } from '../mux/index.ts';
import {
  KCP_DEAD_LINK,
  KCP_INTERVAL_DEFAULT_MS,
  KCP_MTU_DEFAULT,
  KCP_MTU_MIN,
  KCP_WND_MAX,
  KCP_WND_RCV,
  KCP_WND_SND,
} from './constants.ts';
import type { ArqSettings } from './conversation.ts';
import type { ArqMode } from './stream.ts';

/** Who may open a conversation towards this endpoint. */
export type ArqAcceptPolicy = 'never' | 'known-peers' | 'any';

/** KCP tuning shared by every conversation of an endpoint. All optional. */
export interface ArqTuning {
  /** `message` (default) or `stream`. */
  readonly mode?: ArqMode;
  /** ikcp `nodelay`: 0 (default) normal, 1 no-delay (min RTO 30 ms, backoff ×1.5), 2 (backoff by RTO/2). */
  readonly noDelay?: 0 | 1 | 2;
  /** Flush interval, ms, 10–5000. Default 100 (ikcp `interval`). */
  readonly intervalMs?: number;
  /** Duplicate acks that trigger a fast retransmission; 0 (default) off (ikcp `resend`). */
  readonly fastResend?: number;
  /** Congestion window on (default true; ikcp `nc` = !congestionControl). */
  readonly congestionControl?: boolean;
  /** Send window, segments, 1–65535. Default 32. */
  readonly sendWindow?: number;
  /** Receive window, segments, 128–65535. Default 128. */
  readonly receiveWindow?: number;
  /** Largest datagram, bytes, including the frame byte in muxed framing. Default 1400. */
  readonly mtu?: number;
  /** Transmissions of one segment that declare the link dead (ikcp `dead_link`). Default 20. */
  readonly deadLinkTransmissions?: number;
  /** Declare the link dead after this long without any datagram from the peer, ms; 0 (default) off. */
  readonly idleTimeoutMs?: number;
  /**
   * The same for conversations a peer opened (accepted), ms; 0 off. Default `idleTimeoutMs` when
   * that is set, else {@link ARQ_ACCEPTED_IDLE_TIMEOUT_MS} (60 s): a stranger's conversation that
   * goes silent does not hold its slot for ever.
   */
  readonly acceptedIdleTimeoutMs?: number;
  /** Flush right after each write instead of at the next interval. Default true. */
  readonly flushOnWrite?: boolean;
  /** Flush acknowledgements right after each received datagram. Default false (batched per interval). */
  readonly ackNoDelay?: boolean;
  /**
   * Times the ack of a segment that arrived above a gap rides again in later ack datagrams, 0–4.
   * Default 0 (the reference). Saves the spurious retransmissions lost acks cause under loss;
   * any KCP sender accepts it. See docs/arq.md "Ack repetition".
   */
  readonly ackRepeat?: number;
  /** Segments queued + in flight beyond which write callbacks are held (backpressure). Default 2 × sendWindow. */
  readonly maxWaitSegments?: number;
  /** Readable high-water mark: messages (message mode) or bytes (stream mode). Default 64 / 65536. */
  readonly readableHighWaterMark?: number;
  /** Writable high-water mark, bytes. Default 65536. */
  readonly writableHighWaterMark?: number;
}

/** How KCP segments travel on a demux (docs/arq.md "Framing"). */
export type ArqFraming = 'muxed' | 'raw';

/** Settings of an {@link ArqEndpoint}. Exactly one of `demux` and `link`. */
export interface ArqEndpointOptions extends ArqTuning {
  /**
   * The socket's demux (`demuxOf(socket)`): conversations with any remote address. With muxed
   * framing (default) on frames 0x06 (segments) and 0x07 (control); with raw framing on every
   * byte (the socket then carries only what the reference KCP sends).
   */
  readonly demux?: Demux;
  /** Framing on `demux`. Default `'muxed'`. Over a `link` it is always muxed. */
  readonly framing?: ArqFraming;
  /**
   * Or one datagram link to one peer (a punch link, `demuxLink(...)`, anything with `send` and
   * `onDatagram`): conversations over it in muxed framing; `open(conv)` takes no remote.
   */
  readonly link?: DatagramLink;
  /** Accept policy for unknown conversations. Default `never` (refused and counted). */
  readonly accept?: ArqAcceptPolicy;
  /** Most conversations at once; more are refused and counted. Default {@link ARQ_MAX_CONVERSATIONS}. */
  readonly maxConversations?: number;
  /**
   * Most accepted conversations from one IP address (any port); more are refused and counted
   * (`refusedPerAddress`), so one source cannot take every slot. Default
   * {@link ARQ_MAX_CONVERSATIONS_PER_ADDRESS}.
   */
  readonly maxConversationsPerAddress?: number;
  /** Clock in ms (tests). Default `performance.now`. */
  readonly now?: () => number;
}

/** Default `maxConversations`. */
export const ARQ_MAX_CONVERSATIONS = 16_384;
/** Default `maxConversationsPerAddress`: accepted conversations per source IP. */
export const ARQ_MAX_CONVERSATIONS_PER_ADDRESS = 64;
/** Default silence deadline of accepted conversations, ms (when `idleTimeoutMs` is not set). */
export const ARQ_ACCEPTED_IDLE_TIMEOUT_MS = 60_000;

/**
 * The low-latency preset: the reference's fastest settings (no-delay, 10 ms interval, fast resend
 * after 2 skipping acks, no congestion window) plus `ackNoDelay` (acknowledge, and fast-retransmit,
 * as soon as a datagram arrives instead of at the next interval) and `ackRepeat: 1` (the acks of
 * segments above a gap ride once more, so a lost ack does not cost a spurious retransmission).
 * Both additions change timing and redundancy only: the peer may be any KCP implementation.
 */
export const ARQ_TURBO: ArqTuning = {
  noDelay: 1,
  intervalMs: 10,
  fastResend: 2,
  congestionControl: false,
  ackNoDelay: true,
  ackRepeat: 1,
};

/**
 * Validates `options` and fills in defaults.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming the first bad setting.
 */
export function resolveSettings(options: ArqEndpointOptions): ArqSettings {
  const mode = options.mode ?? 'message';
  if (mode !== 'message' && mode !== 'stream') invalid('mode', mode);
  const sendWindow = int('sendWindow', options.sendWindow ?? KCP_WND_SND, 1, KCP_WND_MAX);
  int('maxConversations', options.maxConversations ?? 1, 1, 1 << 24);
  int('maxConversationsPerAddress', options.maxConversationsPerAddress ?? 1, 1, 1 << 24);
  const idleTimeoutMs = int('idleTimeoutMs', options.idleTimeoutMs ?? 0, 0, 2 ** 31 - 1);
  if (options.accept !== undefined && !['never', 'known-peers', 'any'].includes(options.accept)) {
    invalid('accept', options.accept);
  }
  return {
    mode,
    nodelay: int('noDelay', options.noDelay ?? 0, 0, 2),
    intervalMs: int('intervalMs', options.intervalMs ?? KCP_INTERVAL_DEFAULT_MS, 10, 5000),
    fastResend: int('fastResend', options.fastResend ?? 0, 0, 1000),
    congestionControl: options.congestionControl ?? true,
    sendWindow,
    receiveWindow: int('receiveWindow', options.receiveWindow ?? KCP_WND_RCV, KCP_WND_RCV, KCP_WND_MAX),
    mtu: int('mtu', options.mtu ?? KCP_MTU_DEFAULT, KCP_MTU_MIN + 1, 65_507),
    deadLinkTransmissions: int(
      'deadLinkTransmissions',
      options.deadLinkTransmissions ?? KCP_DEAD_LINK,
      1,
      1000,
    ),
    idleTimeoutMs,
    acceptedIdleTimeoutMs: int(
      'acceptedIdleTimeoutMs',
      options.acceptedIdleTimeoutMs ?? (idleTimeoutMs > 0 ? idleTimeoutMs : ARQ_ACCEPTED_IDLE_TIMEOUT_MS),
      0,
      2 ** 31 - 1,
    ),
    flushOnWrite: options.flushOnWrite ?? true,
    ackNoDelay: options.ackNoDelay ?? false,
    ackRepeat: int('ackRepeat', options.ackRepeat ?? 0, 0, 4),
    maxWaitSegments: int('maxWaitSegments', options.maxWaitSegments ?? 2 * sendWindow, 1, 1 << 24),
    readableHighWaterMark: int(
      'readableHighWaterMark',
      options.readableHighWaterMark ?? (mode === 'message' ? 64 : 65_536),
      1,
      2 ** 31 - 1,
    ),
    writableHighWaterMark: int(
      'writableHighWaterMark',
      options.writableHighWaterMark ?? 65_536,
      1,
      2 ** 31 - 1,
    ),
  };
}

function int(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    invalid(name, value, `an integer within ${min}-${max}`);
  return value;
}

function invalid(name: string, value: unknown, expected = 'a documented value'): never {
  throw new InvalidOptionError(name, `ARQ option ${name}=${String(value)} must be ${expected}`);
}
