/**
 * Turns a byte stream (pipe reads, UDP or RTP payloads) into whole, aligned 188-byte MPEG-TS
 * packets, recovering sync after garbage: a position is taken as a packet start when it and the
 * next {@link SYNC_CONFIRM_PACKETS} − 1 packet positions all hold 0x47 (or the data ends first).
 * Never throws for any input; what it skips is counted.
 * @module
 */
import { TS_PACKET_BYTES, TS_SYNC_BYTE } from './constants.ts';

/** Sync bytes in a row, 188 bytes apart, that lock (or re-lock) the reader. */
export const SYNC_CONFIRM_PACKETS = 3;

/** Counters of a {@link TsPacketReader}. */
export interface TsReaderStats {
  /** Whole packets delivered. */
  readonly packets: number;
  /** Bytes thrown away while looking for sync. */
  readonly skippedBytes: number;
  /** Times sync was lost after it had been found. */
  readonly resyncs: number;
}

/** See the module doc. */
export class TsPacketReader {
  #carry: Buffer = Buffer.alloc(0);
  #synced = false;
  #packets = 0;
  #skipped = 0;
  #resyncs = 0;

  /**
   * Feeds `data` and calls `onPackets` with each run of whole packets found (a Buffer whose length
   * is a multiple of 188; a slice of `data` when it was aligned, else a copy). Bytes of an
   * unfinished packet are kept for the next call (at most 3 packets' worth).
   */
  push(data: Uint8Array, onPackets: (packets: Buffer) => void): void {
    let buf: Buffer;
    if (this.#carry.length === 0) {
      buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
    } else {
      buf = Buffer.concat([this.#carry, data]);
      this.#carry = Buffer.alloc(0);
    }
    const length = buf.length;
    let pos = 0;
    while (pos < length) {
      if (!this.#synced) {
        const found = this.#findSync(buf, pos);
        if (found < 0) {
          // Keep the tail that might still start a packet (a 0x47 not yet confirmed).
          const keep = this.#tailCandidate(buf, pos);
          this.#skipped += keep - pos;
          this.#keep(buf, keep);
          return;
        }
        this.#skipped += found - pos;
        pos = found;
        this.#synced = true;
      }
      const start = pos;
      while (pos + TS_PACKET_BYTES <= length && buf[pos] === TS_SYNC_BYTE) pos += TS_PACKET_BYTES;
      if (pos > start) {
        this.#packets += (pos - start) / TS_PACKET_BYTES;
        onPackets(buf.subarray(start, pos));
      }
      if (pos + TS_PACKET_BYTES > length) {
        if (pos < length && buf[pos] !== TS_SYNC_BYTE) {
          this.#synced = false;
          this.#resyncs++;
          continue;
        }
        this.#keep(buf, pos);
        return;
      }
      // A packet position without its sync byte: sync lost.
      this.#synced = false;
      this.#resyncs++;
      this.#skipped++;
      pos++;
    }
  }

  /** Forgets a partial packet and the sync (an input restarted). */
  reset(): void {
    this.#carry = Buffer.alloc(0);
    this.#synced = false;
  }

  /** A snapshot of the counters. */
  stats(): TsReaderStats {
    return { packets: this.#packets, skippedBytes: this.#skipped, resyncs: this.#resyncs };
  }

  /** The first position ≥ `from` confirmed as a packet start, or -1 (not decidable yet). */
  #findSync(buf: Buffer, from: number): number {
    const need = SYNC_CONFIRM_PACKETS * TS_PACKET_BYTES;
    for (let i = buf.indexOf(TS_SYNC_BYTE, from); i >= 0; i = buf.indexOf(TS_SYNC_BYTE, i + 1)) {
      if (buf.length - i < need) return -1;
      let ok = true;
      for (let k = 1; k < SYNC_CONFIRM_PACKETS; k++) {
        if (buf[i + k * TS_PACKET_BYTES] !== TS_SYNC_BYTE) {
          ok = false;
          break;
        }
      }
      if (ok) return i;
    }
    return -1;
  }

  /** Where to keep bytes from when no sync is confirmed: the first 0x47 in the last 3 packets. */
  #tailCandidate(buf: Buffer, from: number): number {
    const floor = Math.max(from, buf.length - SYNC_CONFIRM_PACKETS * TS_PACKET_BYTES + 1);
    const i = buf.indexOf(TS_SYNC_BYTE, floor);
    return i < 0 ? buf.length : i;
  }

  #keep(buf: Buffer, from: number): void {
    this.#carry = from >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(from));
  }
}
