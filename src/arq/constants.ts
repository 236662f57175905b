/**
 * Constants of the KCP protocol, with the values of the reference implementation (ikcp.c by
 * skywind3000). Changing any of them breaks wire or behaviour compatibility with it.
 * @module
 */

/** Bytes of one KCP segment header: conv(4) cmd(1) frg(1) wnd(2) ts(4) sn(4) una(4) len(4). */
export const KCP_OVERHEAD = 24;
/** Minimum retransmission timeout in no-delay mode, ms (ikcp.c `IKCP_RTO_NDL`). */
export const KCP_RTO_NODELAY_MIN_MS = 30;
/** Minimum retransmission timeout in normal mode, ms (ikcp.c `IKCP_RTO_MIN`). */
export const KCP_RTO_MIN_MS = 100;
/** Retransmission timeout before any RTT sample, ms (ikcp.c `IKCP_RTO_DEF`). */
export const KCP_RTO_DEFAULT_MS = 200;
/** Upper bound of the retransmission timeout, ms (ikcp.c `IKCP_RTO_MAX`). */
export const KCP_RTO_MAX_MS = 60_000;
/** Default send window, segments (ikcp.c `IKCP_WND_SND`). */
export const KCP_WND_SND = 32;
/**
 * Default and minimum receive window, segments (ikcp.c `IKCP_WND_RCV`). A message must have
 * fewer fragments than this.
 */
export const KCP_WND_RCV = 128;
/** Largest receive window the 16-bit `wnd` field can advertise, segments. */
export const KCP_WND_MAX = 0xffff;
/** Default MTU: the largest datagram KCP emits, bytes (ikcp.c `IKCP_MTU_DEF`). */
export const KCP_MTU_DEFAULT = 1400;
/** Smallest MTU the reference accepts, bytes (ikcp.c `ikcp_setmtu`). */
export const KCP_MTU_MIN = 50;
/** Default flush interval, ms (ikcp.c `IKCP_INTERVAL`); settable within 10–5000. */
export const KCP_INTERVAL_DEFAULT_MS = 100;
/** Smallest flush interval, ms (ikcp.c `ikcp_interval`). */
export const KCP_INTERVAL_MIN_MS = 10;
/** Largest flush interval, ms (ikcp.c `ikcp_interval`). */
export const KCP_INTERVAL_MAX_MS = 5000;
/** Transmissions of one segment after which the link counts as dead (ikcp.c `IKCP_DEADLINK`). */
export const KCP_DEAD_LINK = 20;
/** Initial slow-start threshold, segments (ikcp.c `IKCP_THRESH_INIT`). */
export const KCP_THRESH_INIT = 2;
/** Smallest slow-start threshold, segments (ikcp.c `IKCP_THRESH_MIN`). */
export const KCP_THRESH_MIN = 2;
/** First window-probe wait when the remote window is zero, ms (ikcp.c 2.x `IKCP_PROBE_INIT`; 1.7.x had 7000). */
export const KCP_PROBE_INIT_MS = 5000;
/** Largest window-probe wait, ms (ikcp.c `IKCP_PROBE_LIMIT`). */
export const KCP_PROBE_LIMIT_MS = 120_000;
/** Fast retransmissions allowed per segment, counted in transmissions (ikcp.c `IKCP_FASTACK_LIMIT`). */
export const KCP_FASTACK_LIMIT = 5;

/** KCP segment commands (the `cmd` byte). */
export const KcpCommand = {
  /** Data (ikcp.c `IKCP_CMD_PUSH`). */
  PUSH: 81,
  /** Acknowledgement of one `sn` (ikcp.c `IKCP_CMD_ACK`). */
  ACK: 82,
  /** Window probe: asks the peer for its window (ikcp.c `IKCP_CMD_WASK`). */
  WASK: 83,
  /** Window size: answers a probe (ikcp.c `IKCP_CMD_WINS`). */
  WINS: 84,
} as const;
/** One of the {@link KcpCommand} values. */
export type KcpCommandType = (typeof KcpCommand)[keyof typeof KcpCommand];

/** Probe flag: send a WASK in the next flush (ikcp.c `IKCP_ASK_SEND`). */
export const KCP_ASK_SEND = 1;
/** Probe flag: send a WINS in the next flush (ikcp.c `IKCP_ASK_TELL`). */
export const KCP_ASK_TELL = 2;

/** Signed difference `later - earlier` of two 32-bit wrapping timestamps or sequence numbers. */
export function timeDiff(later: number, earlier: number): number {
  return (later - earlier) | 0;
}
