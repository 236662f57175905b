/**
 * Input processing of a KCP control block: ikcp.c `ikcp_input` and the static functions it uses
 * (`ikcp_parse_una`, `ikcp_parse_ack`, `ikcp_parse_fastack`, `ikcp_update_ack`, `ikcp_ack_push`,
 * `ikcp_parse_data`), with `IKCP_FASTACK_CONSERVE`.
 * @module
 */
import { KCP_ASK_TELL, KCP_OVERHEAD, KCP_RTO_MAX_MS, KcpCommand, timeDiff } from './constants.ts';
import type { KcpState } from './kcp-state.ts';
import { KcpSegment } from './segment.ts';

/** What {@link kcpInput} returns: the reference's codes (ikcp.c `ikcp_input`). */
export const KcpInputResult = {
  OK: 0,
  /** Shorter than one header, or a segment of another conversation (rest of datagram ignored). */
  REJECTED: -1,
  /** A segment's `len` exceeds the bytes left in the datagram (rest ignored). */
  BAD_LENGTH: -2,
  /** A segment's `cmd` is not 81–84 (rest ignored). */
  BAD_COMMAND: -3,
} as const;
/** One of the {@link KcpInputResult} values. */
export type KcpInputResultType = (typeof KcpInputResult)[keyof typeof KcpInputResult];

/** ikcp.c `ikcp_input`: processes segments in order until the end or the first bad one. */
export function kcpInput(s: KcpState, data: Buffer, offset: number, end: number): KcpInputResultType {
  const c = s.counters;
  c.inputDatagrams++;
  const prevUna = s.sndUna;
  let maxack = 0;
  let latestTs = 0;
  let flag = false;
  let pos = offset;
  if (end - pos < KCP_OVERHEAD) {
    c.rejectedShort++;
    return KcpInputResult.REJECTED;
  }
  while (end - pos >= KCP_OVERHEAD) {
    const conv = data.readUInt32LE(pos);
    if (conv !== s.conv) {
      c.rejectedConv++;
      return KcpInputResult.REJECTED;
    }
    const cmd = data[pos + 4]!;
    const frg = data[pos + 5]!;
    const wnd = data.readUInt16LE(pos + 6);
    const ts = data.readUInt32LE(pos + 8);
    const sn = data.readUInt32LE(pos + 12);
    const una = data.readUInt32LE(pos + 16);
    const len = data.readUInt32LE(pos + 20);
    pos += KCP_OVERHEAD;
    if (len > end - pos) {
      c.rejectedLength++;
      return KcpInputResult.BAD_LENGTH;
    }
    if (cmd < KcpCommand.PUSH || cmd > KcpCommand.WINS) {
      c.rejectedCommand++;
      return KcpInputResult.BAD_COMMAND;
    }
    c.inputSegments++;
    s.rmtWnd = wnd;
    parseUna(s, una);
    shrinkBuf(s);
    if (cmd === KcpCommand.ACK) {
      c.inputAcks++;
      const rtt = timeDiff(s.current, ts);
      if (rtt >= 0) updateAck(s, rtt);
      parseAck(s, sn);
      shrinkBuf(s);
      if (!flag) {
        flag = true;
        maxack = sn;
        latestTs = ts;
      } else if (timeDiff(sn, maxack) > 0 && timeDiff(ts, latestTs) > 0) {
        maxack = sn;
        latestTs = ts;
      }
    } else if (cmd === KcpCommand.PUSH) {
      if (timeDiff(sn, s.rcvNxt + s.rcvWnd) < 0) {
        ackPush(s, sn, ts);
        if (timeDiff(sn, s.rcvNxt) >= 0) {
          const seg = new KcpSegment();
          seg.conv = conv;
          seg.cmd = cmd;
          seg.frg = frg;
          seg.wnd = wnd;
          seg.ts = ts;
          seg.sn = sn;
          seg.una = una;
          seg.data = data.subarray(pos, pos + len);
          parseData(s, seg);
        } else {
          c.duplicateSegments++;
        }
      } else {
        c.outOfWindowSegments++;
      }
    } else if (cmd === KcpCommand.WASK) {
      s.probe |= KCP_ASK_TELL;
    }
    pos += len;
  }
  if (flag) parseFastack(s, maxack, latestTs);
  if (timeDiff(s.sndUna, prevUna) > 0 && s.cwnd < s.rmtWnd) {
    const mss = s.mss;
    if (s.cwnd < s.ssthresh) {
      s.cwnd++;
      s.incr += mss;
    } else {
      if (s.incr < mss) s.incr = mss;
      s.incr += Math.floor((mss * mss) / s.incr) + Math.floor(mss / 16);
      if ((s.cwnd + 1) * mss <= s.incr) s.cwnd = Math.floor((s.incr + mss - 1) / mss);
    }
    if (s.cwnd > s.rmtWnd) {
      s.cwnd = s.rmtWnd;
      s.incr = s.rmtWnd * mss;
    }
  }
  return KcpInputResult.OK;
}

function updateAck(s: KcpState, rtt: number): void {
  if (s.rxSrtt === 0) {
    s.rxSrtt = rtt;
    s.rxRttval = Math.floor(rtt / 2);
  } else {
    const delta = Math.abs(rtt - s.rxSrtt);
    s.rxRttval = Math.floor((3 * s.rxRttval + delta) / 4);
    s.rxSrtt = Math.floor((7 * s.rxSrtt + rtt) / 8);
    if (s.rxSrtt < 1) s.rxSrtt = 1;
  }
  const rto = s.rxSrtt + Math.max(s.interval, 4 * s.rxRttval);
  s.rxRto = Math.min(Math.max(s.rxMinrto, rto), KCP_RTO_MAX_MS);
}

function shrinkBuf(s: KcpState): void {
  const first = s.sndBuf[0];
  s.sndUna = first === undefined ? s.sndNxt : first.sn;
}

function parseAck(s: KcpState, sn: number): void {
  if (timeDiff(sn, s.sndUna) < 0 || timeDiff(sn, s.sndNxt) >= 0) return;
  const buf = s.sndBuf;
  for (let i = 0; i < buf.length; i++) {
    const seg = buf[i]!;
    if (sn === seg.sn) {
      buf.splice(i, 1);
      return;
    }
    if (timeDiff(sn, seg.sn) < 0) return;
  }
}

function parseUna(s: KcpState, una: number): void {
  const buf = s.sndBuf;
  let n = 0;
  while (n < buf.length && timeDiff(una, buf[n]!.sn) > 0) n++;
  if (n > 0) buf.splice(0, n);
}

function parseFastack(s: KcpState, sn: number, ts: number): void {
  if (timeDiff(sn, s.sndUna) < 0 || timeDiff(sn, s.sndNxt) >= 0) return;
  for (const seg of s.sndBuf) {
    if (timeDiff(sn, seg.sn) < 0) break;
    if (sn !== seg.sn && timeDiff(ts, seg.ts) >= 0) seg.fastack++;
  }
}

function ackPush(s: KcpState, sn: number, ts: number): void {
  if (s.ackList.length >= s.ackListLimit * 2) {
    s.counters.acksDropped++;
    return;
  }
  s.ackList.push(sn, ts);
}

function parseData(s: KcpState, seg: KcpSegment): void {
  const sn = seg.sn;
  if (timeDiff(sn, s.rcvNxt + s.rcvWnd) >= 0 || timeDiff(sn, s.rcvNxt) < 0) return;
  const buf = s.rcvBuf;
  let i = buf.length - 1;
  for (; i >= 0; i--) {
    const other = buf[i]!;
    if (other.sn === sn) {
      s.counters.duplicateSegments++;
      return;
    }
    if (timeDiff(sn, other.sn) > 0) break;
  }
  buf.splice(i + 1, 0, seg);
  moveReceived(s);
}

/** Moves in-order segments from rcv_buf to rcv_queue while the queue is below the window. */
export function moveReceived(s: KcpState): void {
  const buf = s.rcvBuf;
  let n = 0;
  while (n < buf.length && buf[n]!.sn === s.rcvNxt && s.rcvQueue.length < s.rcvWnd) {
    s.rcvQueue.push(buf[n]!);
    s.rcvNxt = (s.rcvNxt + 1) >>> 0;
    n++;
  }
  if (n > 0) buf.splice(0, n);
}

/** Free receive window advertised in `wnd` (ikcp.c `ikcp_wnd_unused`). */
export function wndUnused(s: KcpState): number {
  return s.rcvQueue.length < s.rcvWnd ? s.rcvWnd - s.rcvQueue.length : 0;
}
