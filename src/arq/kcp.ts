/**
 * The KCP control block (ikcp.c `ikcpcb`), sans-I/O: it reads no clock and owns no socket.
 * The caller feeds received datagrams to {@link Kcp.input}, passes the time to
 * {@link Kcp.update}, and receives datagrams to send through a {@link KcpOutputSink}.
 *
 * Every rule follows the reference ikcp.c (with `IKCP_FASTACK_CONSERVE`), so the same settings
 * and inputs produce the same bytes. Additions, each off the reference's normal path: caps on the
 * ack list and the send queue (hostile input cannot grow memory), counters, and
 * {@link Kcp.advanceClock} (sets the clock without flushing, for precise RTT samples).
 * @module
 */
import { InvalidOptionError } from '../errors/index.ts';
import {
  KCP_ASK_TELL,
  KCP_INTERVAL_MAX_MS,
  KCP_INTERVAL_MIN_MS,
  KCP_MTU_MIN,
  KCP_OVERHEAD,
  KCP_RTO_MIN_MS,
  KCP_RTO_NODELAY_MIN_MS,
  KCP_WND_MAX,
  KCP_WND_RCV,
  timeDiff,
} from './constants.ts';
import type { KcpStats } from './kcp-counters.ts';
import { kcpFlush } from './kcp-flush.ts';
import { type KcpInputResultType, kcpInput, moveReceived } from './kcp-input.ts';
import { type KcpOutputSink, KcpState } from './kcp-state.ts';
import { KcpSegment } from './segment.ts';

/** Settings of a {@link Kcp} beyond the reference's setters. All optional. */
export interface KcpOptions {
  /** Bytes reserved in front of every output datagram (muxed framing uses 1). Default 0. */
  readonly headroomBytes?: number;
  /** Most pending acknowledgements kept between flushes; more are dropped and counted. Default 4096. */
  readonly ackListLimit?: number;
  /** Most segments waiting in the send queue; `send` beyond it returns QUEUE_FULL. Default 8192. */
  readonly sendQueueLimit?: number;
}

/** What {@link Kcp.send} returns when it queues nothing. */
export const KcpSendResult = {
  /** The message needs ≥ 128 fragments (ikcp.c returns -2). */
  TOO_LARGE: -2,
  /** The send queue is at `sendQueueLimit`. */
  QUEUE_FULL: -3,
} as const;

/** Default cap of the pending-acknowledgement list. */
export const KCP_ACK_LIST_LIMIT_DEFAULT = 4096;
/** Default cap of the send queue, segments. */
export const KCP_SEND_QUEUE_LIMIT_DEFAULT = 8192;

/** A KCP conversation's state machine. See the module doc. */
export class Kcp {
  /** Conversation id, u32. */
  readonly conv: number;
  readonly #s: KcpState;

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` for a conv outside u32 or a bad option. */
  constructor(conv: number, sink: KcpOutputSink, options: KcpOptions = {}) {
    if (!Number.isInteger(conv) || conv < 0 || conv > 0xffffffff) {
      throw new InvalidOptionError('conv', `conv ${conv} must be an integer within 0-4294967295`);
    }
    this.conv = conv;
    this.#s = new KcpState(
      conv,
      sink,
      checkInt('headroomBytes', options.headroomBytes ?? 0, 0, 64),
      checkInt('ackListLimit', options.ackListLimit ?? KCP_ACK_LIST_LIMIT_DEFAULT, 1, 1 << 20),
      checkInt('sendQueueLimit', options.sendQueueLimit ?? KCP_SEND_QUEUE_LIMIT_DEFAULT, 1, 1 << 24),
    );
  }

  // ---- settings (ikcp.c ikcp_nodelay, ikcp_interval, ikcp_wndsize, ikcp_setmtu) ----

  /**
   * ikcp.c `ikcp_nodelay`: `nodelay` 0 normal, 1 no-delay (min RTO 30 ms, backoff ×1.5), 2 (backoff
   * by half the current RTO); `interval` ms clamped to 10–5000; `resend` duplicate acks that trigger a
   * fast retransmission (0 off); `nc` true turns congestion control off. Negative values keep the setting.
   */
  setNoDelay(nodelay: number, interval: number, resend: number, nc: boolean | number): void {
    if (nodelay >= 0) {
      this.#s.nodelay = nodelay | 0;
      this.#s.rxMinrto = nodelay ? KCP_RTO_NODELAY_MIN_MS : KCP_RTO_MIN_MS;
    }
    if (interval >= 0) this.setInterval(interval);
    if (resend >= 0) this.#s.fastresend = resend | 0;
    if (typeof nc === 'boolean') this.#s.nocwnd = nc;
    else if (nc >= 0) this.#s.nocwnd = nc !== 0;
  }

  /** Flush interval in ms, clamped to 10–5000 (ikcp.c `ikcp_interval`). Default 100. */
  setInterval(intervalMs: number): void {
    this.#s.interval = Math.min(KCP_INTERVAL_MAX_MS, Math.max(KCP_INTERVAL_MIN_MS, Math.trunc(intervalMs)));
  }

  /**
   * Send and receive windows in segments (ikcp.c `ikcp_wndsize`): values ≤ 0 keep the setting; the
   * receive window is at least 128. Defaults 32 and 128.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` for a window above 65535.
   */
  setWindow(sndWnd: number, rcvWnd: number): void {
    if (sndWnd > KCP_WND_MAX || rcvWnd > KCP_WND_MAX) {
      throw new InvalidOptionError(
        sndWnd > KCP_WND_MAX ? 'sndWnd' : 'rcvWnd',
        `KCP windows must be at most ${KCP_WND_MAX} segments`,
      );
    }
    if (sndWnd > 0) this.#s.sndWnd = sndWnd | 0;
    if (rcvWnd > 0) this.#s.rcvWnd = Math.max(rcvWnd | 0, KCP_WND_RCV);
  }

  /**
   * Largest datagram in bytes (ikcp.c `ikcp_setmtu`); segments carry up to `mtu - 24` bytes. Default 1400.
   * @throws InvalidOptionError `ERR_INVALID_OPTION` below 50 or above 65507.
   */
  setMtu(mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < KCP_MTU_MIN || mtu > 65_507) {
      throw new InvalidOptionError('mtu', `KCP mtu ${mtu} must be an integer within 50-65507`);
    }
    this.#s.mtu = mtu;
    this.#s.mss = mtu - KCP_OVERHEAD;
  }

  /** Stream mode (ikcp.c `kcp->stream`): messages merge into full segments, boundaries are lost. */
  setStreamMode(stream: boolean): void {
    this.#s.stream = stream;
  }

  /** Transmissions of one segment that mark the link dead (ikcp.c `dead_link`). Default 20. */
  setDeadLink(xmit: number): void {
    this.#s.deadLink = Math.max(1, xmit | 0);
  }

  /** Fast retransmissions allowed per segment, in transmissions; ≤ 0 unlimited. Default 5. */
  setFastLimit(limit: number): void {
    this.#s.fastlimit = limit | 0;
  }

  /**
   * Times the acknowledgement of an out-of-order segment is sent again in later ack datagrams
   * while the gap below it is open (0–4; 0, the default, is the reference's behaviour). A
   * porthole extension that any KCP sender accepts; it saves the spurious retransmissions a lost
   * ack causes above a gap. See kcp-flush.ts `repeatAcks`.
   */
  setAckRepeat(times: number): void {
    this.#s.ackRepeat = checkInt('ackRepeat', times, 0, 4);
    if (times === 0) this.#s.ackRepeats.length = 0;
  }

  // ---- user side ----

  /**
   * Queues one message (ikcp.c `ikcp_send`). In message mode it is cut into `mss`-byte fragments
   * (frg counts down to 0); in stream mode it first tops up the last queued segment.
   * @returns bytes queued, or {@link KcpSendResult} TOO_LARGE (≥ 128 fragments) / QUEUE_FULL.
   */
  send(data: Uint8Array): number {
    let len = data.length;
    let pos = 0;
    let sent = 0;
    const mss = this.#s.mss;
    if (this.#s.stream) {
      const old = this.#s.sndQueue[this.#s.sndQueue.length - 1];
      if (old !== undefined && old.data.length < mss) {
        const extend = Math.min(len, mss - old.data.length);
        const merged = Buffer.allocUnsafe(old.data.length + extend);
        old.data.copy(merged, 0);
        merged.set(data.subarray(0, extend), old.data.length);
        old.data = merged;
        old.frg = 0;
        len -= extend;
        pos = extend;
        sent = extend;
      }
      if (len <= 0) return sent;
    }
    let count = len <= mss ? 1 : Math.ceil(len / mss);
    if (count >= KCP_WND_RCV) {
      if (this.#s.stream && sent > 0) return sent;
      this.#s.counters.sendTooLarge++;
      return KcpSendResult.TOO_LARGE;
    }
    if (this.#s.sndQueue.length + count > this.#s.sendQueueLimit) {
      this.#s.counters.sendQueueFull++;
      return sent > 0 ? sent : KcpSendResult.QUEUE_FULL;
    }
    if (count === 0) count = 1;
    for (let i = 0; i < count; i++) {
      const size = Math.min(len, mss);
      const seg = new KcpSegment();
      seg.data = Buffer.allocUnsafe(size);
      seg.data.set(data.subarray(pos, pos + size));
      seg.frg = this.#s.stream ? 0 : count - i - 1;
      this.#s.sndQueue.push(seg);
      pos += size;
      len -= size;
      sent += size;
    }
    return sent;
  }

  /** Size of the next complete message, or -1 when none is complete (ikcp.c `ikcp_peeksize`). */
  peekSize(): number {
    const queue = this.#s.rcvQueue;
    const first = queue[0];
    if (first === undefined) return -1;
    if (first.frg === 0) return first.data.length;
    if (queue.length < first.frg + 1) return -1;
    let length = 0;
    for (const seg of queue) {
      length += seg.data.length;
      if (seg.frg === 0) break;
    }
    return length;
  }

  /**
   * Takes the next complete message (ikcp.c `ikcp_recv`), or `undefined` when none is complete.
   * A one-fragment message is a slice of the received datagram; longer ones are joined once.
   */
  recv(): Buffer | undefined {
    const queue = this.#s.rcvQueue;
    const size = this.peekSize();
    if (size < 0) return undefined;
    const recover = queue.length >= this.#s.rcvWnd;
    let count = 0;
    while (count < queue.length && queue[count]!.frg !== 0) count++;
    count++;
    const parts = queue.splice(0, count);
    const message = parts.length === 1 ? parts[0]!.data : joinSegments(parts, size);
    moveReceived(this.#s);
    if (queue.length < this.#s.rcvWnd && recover) this.#s.probe |= KCP_ASK_TELL;
    return message;
  }

  /** Segments waiting to be sent or acknowledged (ikcp.c `ikcp_waitsnd`). */
  waitSnd(): number {
    return this.#s.sndBuf.length + this.#s.sndQueue.length;
  }

  // ---- network side ----

  /**
   * Feeds one received datagram (ikcp.c `ikcp_input`): segments are processed in order until
   * the end or the first bad one. Never throws; every rejection is counted.
   */
  input(data: Buffer, offset = 0, end = data.length): KcpInputResultType {
    return kcpInput(this.#s, data, offset, end);
  }

  /** Sets the clock to `nowMs` (u32 ms) without flushing, so acks that follow measure RTT precisely. */
  advanceClock(nowMs: number): void {
    this.#s.current = nowMs >>> 0;
  }

  /**
   * ikcp.c `ikcp_update`: call at the time {@link check} names (or every interval); flushes when
   * the interval has elapsed. `nowMs` is a u32 millisecond clock (it may wrap).
   */
  update(nowMs: number): void {
    this.#s.current = nowMs >>> 0;
    if (!this.#s.updated) {
      this.#s.updated = true;
      this.#s.tsFlush = this.#s.current;
    }
    let slap = timeDiff(this.#s.current, this.#s.tsFlush);
    if (slap >= 10_000 || slap < -10_000) {
      this.#s.tsFlush = this.#s.current;
      slap = 0;
    }
    if (slap >= 0) {
      this.#s.tsFlush = (this.#s.tsFlush + this.#s.interval) >>> 0;
      if (timeDiff(this.#s.current, this.#s.tsFlush) >= 0)
        this.#s.tsFlush = (this.#s.current + this.#s.interval) >>> 0;
      this.flush();
    }
  }

  /**
   * ikcp.c `ikcp_check`: when (u32 ms) {@link update} must next be called, given no input or send
   * happens before. Returns `nowMs` when an update is due now.
   */
  check(nowMs: number): number {
    const current = nowMs >>> 0;
    if (!this.#s.updated) return current;
    let tsFlush = this.#s.tsFlush;
    const slap = timeDiff(current, tsFlush);
    if (slap >= 10_000 || slap < -10_000) tsFlush = current;
    if (timeDiff(current, tsFlush) >= 0) return current;
    const tmFlush = timeDiff(tsFlush, current);
    let tmPacket = 0x7fffffff;
    for (const seg of this.#s.sndBuf) {
      const diff = timeDiff(seg.resendts, current);
      if (diff <= 0) return current;
      if (diff < tmPacket) tmPacket = diff;
    }
    let minimal = Math.min(tmPacket, tmFlush);
    if (minimal >= this.#s.interval) minimal = this.#s.interval;
    return (current + minimal) >>> 0;
  }

  /**
   * Whether anything needs a future {@link update}: data queued or in flight, acknowledgements or
   * window probes pending, or a zero remote window. When false the conversation may sleep until
   * the next `input` or `send`.
   */
  needsUpdate(): boolean {
    return (
      this.#s.sndQueue.length > 0 ||
      this.#s.sndBuf.length > 0 ||
      this.#s.ackList.length > 0 ||
      this.#s.probe !== 0 ||
      this.#s.rmtWnd === 0
    );
  }

  /** ikcp.c `ikcp_flush`: emits acks, window probes, new and due segments at the current clock. */
  flush(): void {
    kcpFlush(this.#s);
  }

  // ---- observation ----

  /** -1 once a segment reached `dead_link` transmissions (ikcp.c `kcp->state`), else 0. */
  get state(): number {
    return this.#s.state;
  }

  /** Current retransmission timeout, ms (ikcp.c `rx_rto`). */
  get rto(): number {
    return this.#s.rxRto;
  }

  /** Smoothed RTT, ms (ikcp.c `rx_srtt`). */
  get srtt(): number {
    return this.#s.rxSrtt;
  }

  /** RTT variation, ms (ikcp.c `rx_rttval`). */
  get rttVar(): number {
    return this.#s.rxRttval;
  }

  /** Congestion window, segments. */
  get cwnd(): number {
    return this.#s.cwnd;
  }

  /** Slow-start threshold, segments. */
  get ssthresh(): number {
    return this.#s.ssthresh;
  }

  /** Oldest unacknowledged sn. */
  get sndUna(): number {
    return this.#s.sndUna;
  }

  /** Next sn to assign. */
  get sndNxt(): number {
    return this.#s.sndNxt;
  }

  /** Next sn expected from the peer. */
  get rcvNxt(): number {
    return this.#s.rcvNxt;
  }

  /** Peer's last advertised window, segments. */
  get remoteWindow(): number {
    return this.#s.rmtWnd;
  }

  /** Flush interval, ms. */
  get interval(): number {
    return this.#s.interval;
  }

  /** Largest payload of one segment, bytes (`mtu - 24`). */
  get mss(): number {
    return this.#s.mss;
  }

  /** Send window, segments. */
  get sendWindow(): number {
    return this.#s.sndWnd;
  }

  /** Receive window, segments. */
  get receiveWindow(): number {
    return this.#s.rcvWnd;
  }

  /** The clock of the last `update` or `advanceClock`, u32 ms. */
  get current(): number {
    return this.#s.current;
  }

  /** Largest message in message mode, bytes (127 fragments of `mss`). */
  get maxMessageBytes(): number {
    return (KCP_WND_RCV - 1) * this.#s.mss;
  }

  /** Sizes of the four queues and the pending-ack list. */
  queueSizes(): KcpQueueSizes {
    const s = this.#s;
    return {
      sndQueue: s.sndQueue.length,
      sndBuf: s.sndBuf.length,
      rcvBuf: s.rcvBuf.length,
      rcvQueue: s.rcvQueue.length,
      acks: s.ackList.length / 2,
    };
  }

  /** A snapshot of the counters. */
  stats(): KcpStats {
    return this.#s.counters.snapshot();
  }
}

/** Lengths of a control block's queues, as {@link Kcp.queueSizes} returns them. */
export interface KcpQueueSizes {
  readonly sndQueue: number;
  readonly sndBuf: number;
  readonly rcvBuf: number;
  readonly rcvQueue: number;
  readonly acks: number;
}

function joinSegments(parts: readonly KcpSegment[], size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const seg of parts) at += seg.data.copy(out, at);
  return out;
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `${name} ${value} must be an integer within ${min}-${max}`);
  }
  return value;
}
