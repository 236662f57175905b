/**
 * Output of a KCP control block: ikcp.c `ikcp_flush` — acknowledgements, window probes, new
 * segments into the window, retransmissions (timeout and fast), congestion window update.
 * @module
 */
import {
  KCP_ASK_SEND,
  KCP_ASK_TELL,
  KCP_OVERHEAD,
  KCP_PROBE_INIT_MS,
  KCP_PROBE_LIMIT_MS,
  KCP_THRESH_MIN,
  KcpCommand,
  timeDiff,
} from './constants.ts';
import { wndUnused } from './kcp-input.ts';
import type { KcpState } from './kcp-state.ts';
import { encodeSegmentHeader } from './segment.ts';

/** ikcp.c `ikcp_flush` at the state's current clock. */
export function kcpFlush(s: KcpState): void {
  if (!s.updated) return;
  // One scratch buffer serves every control block (flushes are synchronous); a flush that starts
  // while another is running (a sink that flushes another block) gets its own.
  const shared = !scratchBusy;
  if (shared) scratchBusy = true;
  s.buffer = shared ? scratch : Buffer.allocUnsafe(SCRATCH_BYTES);
  try {
    flushInto(s);
  } finally {
    if (shared) {
      scratch = s.buffer;
      scratchBusy = false;
    }
    s.buffer = EMPTY;
  }
}

const SCRATCH_BYTES = 4096;
const EMPTY = Buffer.alloc(0);
let scratch: Buffer = Buffer.allocUnsafe(SCRATCH_BYTES);
let scratchBusy = false;

function flushInto(s: KcpState): void {
  const current = s.current;
  const c = s.counters;
  // ikcp.c 2.x `prior_cwnd`: the congestion window before this flush sets the threshold after a timeout.
  const priorCwnd = s.cwnd;
  s.ptr = s.headroom;
  const ctl = s.ctl;
  ctl.conv = s.conv;
  ctl.cmd = KcpCommand.ACK;
  ctl.frg = 0;
  ctl.wnd = wndUnused(s);
  ctl.una = s.rcvNxt;
  ctl.sn = 0;
  ctl.ts = 0;
  const acks = s.ackList;
  for (let i = 0; i < acks.length; i += 2) {
    reserve(s, KCP_OVERHEAD);
    ctl.sn = acks[i]!;
    ctl.ts = acks[i + 1]!;
    s.ptr = encodeSegmentHeader(ctl, s.buffer, s.ptr);
  }
  c.acksSent += acks.length / 2;
  if (s.ackRepeat > 0 && acks.length > 0) repeatAcks(s, acks);
  acks.length = 0;
  // 1. Window probing when the remote window is zero (ikcp.c: probe_wait 5 s growing ×1.5 to 120 s).
  if (s.rmtWnd === 0) {
    if (s.probeWait === 0) {
      s.probeWait = KCP_PROBE_INIT_MS;
      s.tsProbe = (current + s.probeWait) >>> 0;
    } else if (timeDiff(current, s.tsProbe) >= 0) {
      if (s.probeWait < KCP_PROBE_INIT_MS) s.probeWait = KCP_PROBE_INIT_MS;
      s.probeWait += Math.floor(s.probeWait / 2);
      if (s.probeWait > KCP_PROBE_LIMIT_MS) s.probeWait = KCP_PROBE_LIMIT_MS;
      s.tsProbe = (current + s.probeWait) >>> 0;
      s.probe |= KCP_ASK_SEND;
    }
  } else {
    s.tsProbe = 0;
    s.probeWait = 0;
  }
  if (s.probe & KCP_ASK_SEND) {
    ctl.cmd = KcpCommand.WASK;
    reserve(s, KCP_OVERHEAD);
    s.ptr = encodeSegmentHeader(ctl, s.buffer, s.ptr);
  }
  if (s.probe & KCP_ASK_TELL) {
    ctl.cmd = KcpCommand.WINS;
    reserve(s, KCP_OVERHEAD);
    s.ptr = encodeSegmentHeader(ctl, s.buffer, s.ptr);
  }
  s.probe = 0;
  // 2. Move segments from the queue into the window.
  let cwnd = Math.min(s.sndWnd, s.rmtWnd);
  if (!s.nocwnd) cwnd = Math.min(s.cwnd, cwnd);
  while (timeDiff(s.sndNxt, s.sndUna + cwnd) < 0) {
    const seg = s.sndQueue.shift();
    if (seg === undefined) break;
    seg.conv = s.conv;
    seg.cmd = KcpCommand.PUSH;
    seg.wnd = ctl.wnd;
    seg.ts = current;
    seg.sn = s.sndNxt;
    s.sndNxt = (s.sndNxt + 1) >>> 0;
    seg.una = s.rcvNxt;
    seg.resendts = current;
    seg.rto = s.rxRto;
    seg.fastack = 0;
    seg.xmit = 0;
    s.sndBuf.push(seg);
  }
  // 3. Send new segments, retransmit timed-out ones, fast-retransmit skipped ones.
  const resent = s.fastresend > 0 ? s.fastresend : 0xffffffff;
  const rtomin = s.nodelay === 0 ? s.rxRto >> 3 : 0;
  let change = 0;
  let lost = false;
  for (const seg of s.sndBuf) {
    let needsend = false;
    if (seg.xmit === 0) {
      needsend = true;
      seg.xmit++;
      seg.rto = s.rxRto;
      seg.resendts = (current + seg.rto + rtomin) >>> 0;
    } else if (timeDiff(current, seg.resendts) >= 0) {
      needsend = true;
      seg.xmit++;
      s.xmit++;
      c.timeoutRetransmits++;
      if (s.nodelay === 0) seg.rto += Math.max(seg.rto, s.rxRto);
      else seg.rto += Math.floor((s.nodelay < 2 ? seg.rto : s.rxRto) / 2);
      seg.resendts = (current + seg.rto) >>> 0;
      lost = true;
    } else if (seg.fastack >= resent) {
      if (seg.xmit <= s.fastlimit || s.fastlimit <= 0) {
        needsend = true;
        seg.xmit++;
        seg.fastack = 0;
        seg.resendts = (current + seg.rto) >>> 0;
        change++;
        c.fastRetransmits++;
      }
    }
    if (needsend) {
      seg.ts = current;
      seg.wnd = ctl.wnd;
      seg.una = s.rcvNxt;
      reserve(s, KCP_OVERHEAD + seg.data.length);
      s.ptr = encodeSegmentHeader(seg, s.buffer, s.ptr);
      s.ptr += seg.data.copy(s.buffer, s.ptr);
      c.segmentsSent++;
      if (seg.xmit >= s.deadLink) s.state = -1;
    }
  }
  emit(s);
  // 4. Congestion window after fast retransmission and timeouts.
  if (change) {
    const inflight = (s.sndNxt - s.sndUna) >>> 0;
    s.ssthresh = Math.max(KCP_THRESH_MIN, Math.floor(inflight / 2));
    s.cwnd = s.ssthresh + resent;
    s.incr = s.cwnd * s.mss;
  }
  if (lost) {
    s.ssthresh = Math.max(KCP_THRESH_MIN, Math.floor(priorCwnd / 2));
    s.cwnd = 1;
    s.incr = s.mss;
  }
  if (s.cwnd < 1) {
    s.cwnd = 1;
    s.incr = s.mss;
  }
}

/**
 * porthole's receiver-side extension (off in the reference): KCP acknowledges each segment once and
 * has no SACK, so when the ack of a segment that arrived above a gap is lost, `una` cannot cover it
 * until the gap fills, and the sender's fast resend sends it again for nothing — at 10% loss both
 * ways that is most of the bandwidth overhead. While a gap is open, the acks of out-of-order
 * segments ride again, `ackRepeat` times, behind the new acks of later ack datagrams (never in a
 * datagram of their own). A reference sender accepts them: a repeated ack finds its segment gone
 * (ignored) or removes it (the point); its RTT sample is late by the gap between two ack flushes.
 * Placed after the new acks, they never move the sender's fast-ack mark (`maxack`).
 */
function repeatAcks(s: KcpState, fresh: readonly number[]): void {
  const repeats = s.ackRepeats;
  const ctl = s.ctl;
  let kept = 0;
  for (let i = 0; i < repeats.length; i += 3) {
    const sn = repeats[i]!;
    // Below rcv_nxt the una of every segment covers it; nothing to repeat.
    if (timeDiff(sn, s.rcvNxt) < 0) continue;
    reserve(s, KCP_OVERHEAD);
    ctl.sn = sn;
    ctl.ts = repeats[i + 1]!;
    s.ptr = encodeSegmentHeader(ctl, s.buffer, s.ptr);
    s.counters.acksRepeated++;
    const left = repeats[i + 2]! - 1;
    if (left > 0) {
      repeats[kept++] = sn;
      repeats[kept++] = ctl.ts;
      repeats[kept++] = left;
    }
  }
  repeats.length = kept;
  for (let i = 0; i < fresh.length; i += 2) {
    const sn = fresh[i]!;
    if (timeDiff(sn, s.rcvNxt) <= 0) continue;
    // Bounded like the ack list (O(1): at the cap, later acks are simply not repeated).
    if (repeats.length >= s.ackListLimit * 3) break;
    repeats.push(sn, fresh[i + 1]!, s.ackRepeat);
  }
}

function reserve(s: KcpState, need: number): void {
  if (s.ptr - s.headroom + need > s.mtu) emit(s);
  if (s.ptr + need > s.buffer.length) {
    const grown = Buffer.allocUnsafe(Math.max(2 * s.buffer.length, s.ptr + need));
    s.buffer.copy(grown, 0, 0, s.ptr);
    s.buffer = grown;
  }
}

function emit(s: KcpState): void {
  const end = s.ptr;
  if (end === s.headroom) return;
  const out = Buffer.allocUnsafe(end);
  if (s.headroom > 0) out.fill(0, 0, s.headroom);
  s.buffer.copy(out, s.headroom, s.headroom, end);
  s.ptr = s.headroom;
  s.counters.datagramsSent++;
  s.counters.bytesSent += end - s.headroom;
  s.sink.onKcpOutput(out);
}
