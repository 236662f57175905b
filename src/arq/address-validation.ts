/**
 * Address validation for conversations a stranger opened: until the peer proves it receives at its
 * address, a conversation sends at most {@link ARQ_AMPLIFICATION_FACTOR} × the bytes it received
 * from there (QUIC's rule, RFC 9000 §8.1), so a spoofed source cannot turn the endpoint into an
 * amplifier against a third party. Retransmissions count like first transmissions: a peer that never
 * acknowledges gets nothing beyond the bound.
 *
 * The proof: an ACK segment echoing the timestamp (`ts`) of a segment we sent. KCP receivers echo
 * `ts` verbatim (ikcp.c `ikcp_ack_push`), and an accepted conversation runs its KCP clock from a
 * random 32-bit offset, so the echo cannot be guessed off-path — only a peer that received the
 * segment knows it. Sans-I/O: the conversation feeds it every datagram in and asks it before every
 * datagram out.
 * @module
 */
import { KCP_OVERHEAD, KcpCommand } from './constants.ts';

/** Most bytes sent per byte received from an address that has not been validated. RFC 9000 §8.1. */
export const ARQ_AMPLIFICATION_FACTOR = 3;

/** Distinct `ts` values of our data segments kept to recognise the peer's echo. */
const TS_MEMORY = 32;

/** The per-conversation budget and proof check; see the module doc. */
export class AddressValidation {
  #receivedBytes = 0;
  #sentBytes = 0;
  readonly #ts = new Uint32Array(TS_MEMORY);
  #tsCount = 0;
  #tsNext = 0;
  #lastTs = -1;

  /** Bytes received from the address so far. */
  get receivedBytes(): number {
    return this.#receivedBytes;
  }

  /** Bytes sent to the address so far (within the budget). */
  get sentBytes(): number {
    return this.#sentBytes;
  }

  /**
   * Counts a datagram received from the address (`size` bytes in all) and looks for the proof in its
   * KCP segments from `offset` on (pass `offset < 0` for a non-KCP frame). Returns true when it
   * validates the address.
   */
  received(data: Buffer, offset: number, size = data.length): boolean {
    this.#receivedBytes += size;
    if (offset < 0 || this.#tsCount === 0) return false;
    let pos = offset;
    while (data.length - pos >= KCP_OVERHEAD) {
      const length = data.readUInt32LE(pos + 20);
      if (data[pos + 4] === KcpCommand.ACK && this.#knows(data.readUInt32LE(pos + 8))) return true;
      if (length > data.length - pos - KCP_OVERHEAD) break;
      pos += KCP_OVERHEAD + length;
    }
    return false;
  }

  /**
   * Whether a datagram of `bytes` may be sent now; when it may, it is charged to the budget.
   * Call {@link sentSegments} with the datagram's KCP bytes afterwards.
   */
  allow(bytes: number): boolean {
    if (this.#sentBytes + bytes > ARQ_AMPLIFICATION_FACTOR * this.#receivedBytes) return false;
    this.#sentBytes += bytes;
    return true;
  }

  /** Remembers the `ts` of the data segments in a datagram we are sending (KCP bytes from `offset`). */
  sentSegments(data: Buffer, offset: number): void {
    let pos = offset;
    while (data.length - pos >= KCP_OVERHEAD) {
      if (data[pos + 4] === KcpCommand.PUSH) this.#remember(data.readUInt32LE(pos + 8));
      pos += KCP_OVERHEAD + data.readUInt32LE(pos + 20);
    }
  }

  #remember(ts: number): void {
    if (ts === this.#lastTs) return;
    this.#lastTs = ts;
    this.#ts[this.#tsNext] = ts;
    this.#tsNext = (this.#tsNext + 1) % TS_MEMORY;
    if (this.#tsCount < TS_MEMORY) this.#tsCount++;
  }

  #knows(ts: number): boolean {
    for (let i = 0; i < this.#tsCount; i++) if (this.#ts[i] === ts) return true;
    return false;
  }
}
