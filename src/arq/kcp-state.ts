/**
 * The mutable state of one KCP control block (ikcp.c `ikcpcb`). Internal to arq/: {@link Kcp}
 * is the public face; `kcp-input.ts` and `kcp-flush.ts` implement the reference's algorithms on it.
 * Field names follow ikcp.c in camelCase; u32 fields hold values within 0–2^32-1.
 * @module
 */
import {
  KCP_DEAD_LINK,
  KCP_FASTACK_LIMIT,
  KCP_INTERVAL_DEFAULT_MS,
  KCP_MTU_DEFAULT,
  KCP_OVERHEAD,
  KCP_RTO_DEFAULT_MS,
  KCP_RTO_MIN_MS,
  KCP_THRESH_INIT,
  KCP_WND_RCV,
  KCP_WND_SND,
} from './constants.ts';
import { KcpCounters } from './kcp-counters.ts';
import { KcpSegment } from './segment.ts';

/**
 * Receives every datagram a KCP control block emits. The Buffer is new and owned by the sink.
 * The sink must not call back into the same control block synchronously (deliver later).
 */
export interface KcpOutputSink {
  /** `datagram` starts with `headroomBytes` bytes left for the caller (zero), then KCP segments. */
  onKcpOutput(datagram: Buffer): void;
}

const EMPTY = Buffer.alloc(0);

/** State of one control block; see the module doc. */
export class KcpState {
  /** Conversation id, u32. */
  readonly conv: number;
  readonly sink: KcpOutputSink;
  readonly headroom: number;
  readonly ackListLimit: number;
  readonly sendQueueLimit: number;
  readonly counters = new KcpCounters();
  mtu = KCP_MTU_DEFAULT;
  mss = KCP_MTU_DEFAULT - KCP_OVERHEAD;
  state = 0;
  sndUna = 0;
  sndNxt = 0;
  rcvNxt = 0;
  ssthresh = KCP_THRESH_INIT;
  rxRttval = 0;
  rxSrtt = 0;
  rxRto = KCP_RTO_DEFAULT_MS;
  rxMinrto = KCP_RTO_MIN_MS;
  sndWnd = KCP_WND_SND;
  rcvWnd = KCP_WND_RCV;
  rmtWnd = KCP_WND_RCV;
  cwnd = 0;
  incr = 0;
  probe = 0;
  current = 0;
  interval = KCP_INTERVAL_DEFAULT_MS;
  tsFlush = KCP_INTERVAL_DEFAULT_MS;
  nodelay = 0;
  updated = false;
  tsProbe = 0;
  probeWait = 0;
  deadLink = KCP_DEAD_LINK;
  /** Retransmissions after timeouts, all segments (ikcp.c `kcp->xmit`). */
  xmit = 0;
  fastresend = 0;
  fastlimit = KCP_FASTACK_LIMIT;
  nocwnd = false;
  stream = false;
  sndQueue: KcpSegment[] = [];
  rcvQueue: KcpSegment[] = [];
  sndBuf: KcpSegment[] = [];
  rcvBuf: KcpSegment[] = [];
  /** Pending acknowledgements as pairs (sn, ts). */
  ackList: number[] = [];
  /** Times each acknowledgement of an out-of-order segment is sent again; 0 is the reference. */
  ackRepeat = 0;
  /** Acknowledgements to send again, as triples (sn, ts, repeats left). */
  ackRepeats: number[] = [];
  /** Scratch buffer of the flush in progress (shared between control blocks, see kcp-flush.ts). */
  buffer: Buffer = EMPTY;
  ptr = 0;

  /** Scratch segment for acks and probes. */
  readonly ctl = new KcpSegment();

  constructor(
    conv: number,
    sink: KcpOutputSink,
    headroom: number,
    ackListLimit: number,
    sendQueueLimit: number,
  ) {
    this.conv = conv;
    this.sink = sink;
    this.headroom = headroom;
    this.ackListLimit = ackListLimit;
    this.sendQueueLimit = sendQueueLimit;
  }
}
