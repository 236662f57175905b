/**
 * Groups an MPEG-TS byte stream into RTP payloads of whole TS packets (TR-06-1: 7 × 188 bytes):
 * bytes arrive in any chunking (a pipe, a file), payloads leave aligned to packets.
 * @module
 */
import { TS_PACKET_BYTES, TS_PACKETS_PER_RTP } from './constants.ts';

/** Bytes of one full payload. */
const FULL = TS_PACKET_BYTES * TS_PACKETS_PER_RTP;

/** See the module doc. */
export class TsPacker {
  readonly #pending = Buffer.allocUnsafe(FULL);
  #held = 0;

  /** Bytes waiting for a full payload. */
  get pendingBytes(): number {
    return this.#held;
  }

  /** Adds `data`; calls `emit` with each full payload (a fresh Buffer). */
  push(data: Uint8Array, emit: (payload: Buffer) => void): void {
    let at = 0;
    if (this.#held > 0) {
      const take = Math.min(FULL - this.#held, data.length);
      this.#pending.set(data.subarray(0, take), this.#held);
      this.#held += take;
      at = take;
      if (this.#held < FULL) return;
      emit(Buffer.from(this.#pending));
      this.#held = 0;
    }
    for (; at + FULL <= data.length; at += FULL) emit(Buffer.from(data.subarray(at, at + FULL)));
    if (at < data.length) {
      this.#pending.set(data.subarray(at), 0);
      this.#held = data.length - at;
    }
  }

  /** Emits what is held, cut to whole TS packets (a trailing partial packet is dropped). */
  flush(emit: (payload: Buffer) => void): void {
    const whole = this.#held - (this.#held % TS_PACKET_BYTES);
    if (whole > 0) emit(Buffer.from(this.#pending.subarray(0, whole)));
    this.#held = 0;
  }
}
