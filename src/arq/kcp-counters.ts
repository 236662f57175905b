/**
 * Counters of one KCP control block: what it sent, what it received, and what it refused.
 * @module
 */

/** A snapshot of {@link KcpCounters}. */
export interface KcpStats {
  /** Datagrams passed to `input`. */
  readonly inputDatagrams: number;
  /** Segments accepted by `input` (any command). */
  readonly inputSegments: number;
  /** ACK segments received. */
  readonly inputAcks: number;
  /** Datagrams shorter than one 24-byte header. */
  readonly rejectedShort: number;
  /** Segments of another conversation (the rest of their datagram is ignored). */
  readonly rejectedConv: number;
  /** Segments whose `len` exceeds their datagram. */
  readonly rejectedLength: number;
  /** Segments with a command other than 81–84. */
  readonly rejectedCommand: number;
  /** PUSH segments at or beyond `rcv_nxt + rcv_wnd` (not acknowledged, dropped). */
  readonly outOfWindowSegments: number;
  /** PUSH segments already received (acknowledged again, dropped). */
  readonly duplicateSegments: number;
  /** Acknowledgements not queued because the ack list was at its cap. */
  readonly acksDropped: number;
  /** `send` calls refused: the message needs 128 or more fragments. */
  readonly sendTooLarge: number;
  /** `send` calls refused: the send queue was at its cap. */
  readonly sendQueueFull: number;
  /** Datagrams emitted. */
  readonly datagramsSent: number;
  /** Bytes emitted (KCP bytes, without headroom). */
  readonly bytesSent: number;
  /** Data segments transmitted (first transmissions and retransmissions). */
  readonly segmentsSent: number;
  /** ACK segments emitted (first acknowledgements; repeats are counted in `acksRepeated`). */
  readonly acksSent: number;
  /** Acknowledgements of out-of-order segments sent again (see `Kcp.setAckRepeat`). */
  readonly acksRepeated: number;
  /** Retransmissions after a timeout. */
  readonly timeoutRetransmits: number;
  /** Fast retransmissions (duplicate acks). */
  readonly fastRetransmits: number;
}

/** Mutable counters behind {@link KcpStats}. */
export class KcpCounters implements KcpStats {
  inputDatagrams = 0;
  inputSegments = 0;
  inputAcks = 0;
  rejectedShort = 0;
  rejectedConv = 0;
  rejectedLength = 0;
  rejectedCommand = 0;
  outOfWindowSegments = 0;
  duplicateSegments = 0;
  acksDropped = 0;
  sendTooLarge = 0;
  sendQueueFull = 0;
  datagramsSent = 0;
  bytesSent = 0;
  segmentsSent = 0;
  acksSent = 0;
  acksRepeated = 0;
  timeoutRetransmits = 0;
  fastRetransmits = 0;

  /** A copy that later counting does not change. */
  snapshot(): KcpStats {
    return { ...this };
  }
}
