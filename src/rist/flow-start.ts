/**
 * Where a flow began, from the sender report's packet count (RFC 3550 §6.4.1): a receiver's flow
 * starts at the first packet that arrives, so without this a lost first packet is never known.
 *
 * 1. An SR with a packet count N > 0 arrives while the flow runs (librist's sender writes 0: it
 *    is never used then). The N originals sent before that SR are the sender's first N numbers.
 * 2. The first packet whose RTP timestamp is later than the SR's (it was sent after the SR:
 *    same clock, RFC 3550 §6.4.1) has number X ≥ first + N, so the flow began at or before X − N.
 *    Taking X − N asks only for packets that were sent; a loss right after the SR makes it late
 *    by that many (never early). That packet may have arrived before the SR (the Simple profile's
 *    RTCP travels on another port: the receiver core looks among the packets it holds) or come
 *    after it (this class waits for it).
 * 3. Every report until output begins gives an estimate (a later one can reach further back,
 *    when a loss right after an earlier report made that one late); the receiver core decides
 *    whether it can still ask (nothing output yet, at most {@link MAX_START_RECOVERY_PACKETS}
 *    before its first packet in all).
 * @module
 */

/** See the module doc; extended sequence numbers. */
export class FlowStart {
  #count = 0;
  #srTimestamp = 0;
  #pending = false;
  #done = false;

  /** Whether estimating ended (output began). */
  get done(): boolean {
    return this.#done;
  }

  /** Takes a sender report of the running flow. */
  onSenderReport(packetCount: number, rtpTimestamp: number): void {
    if (this.#done || packetCount === 0) return;
    this.#count = packetCount;
    this.#srTimestamp = rtpTimestamp;
    this.#pending = true;
  }

  /**
   * Takes an original packet that moved the highest number to `ext`; returns the estimated
   * first number of the flow once per report, else −1.
   */
  onOriginal(ext: number, rtpTimestamp: number): number {
    if (!this.#pending) return -1;
    if (((rtpTimestamp - this.#srTimestamp) | 0) <= 0) return -1; // sent before (or with) the SR
    this.#pending = false;
    return ext - this.#count;
  }

  /** Takes a report whose estimate the receiver made itself (a later packet was there already). */
  settle(): void {
    this.#pending = false;
  }

  /** Stops estimating (output began: too late to put packets before it). */
  finish(): void {
    this.#pending = false;
    this.#done = true;
  }
}
