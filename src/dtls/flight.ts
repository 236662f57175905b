/**
 * A flight of handshake messages and its packing into datagrams (RFC 6347 §4.2.4, §4.1.1):
 * each message fragmented to fit the MTU, records packed back to back, new record sequence
 * numbers on every (re)transmission.
 * @module
 */
import { ContentType, HANDSHAKE_HEADER_BYTES, RECORD_HEADER_BYTES } from './constants.ts';
import { encodeFragment } from './handshake-header.ts';

/** One entry of a flight: a handshake message or a ChangeCipherSpec, with its write epoch. */
export interface FlightEntry {
  readonly kind: 'handshake' | 'ccs';
  readonly epoch: number;
  readonly type: number;
  readonly messageSeq: number;
  readonly body: Buffer;
}

/** Seals one record of `epoch` (the session's write side). */
export type RecordSealer = (type: number, epoch: number, plaintext: Buffer) => Buffer;
/** Bytes a record of `epoch` grows by under protection. */
export type RecordOverhead = (epoch: number) => number;

const CCS_BODY = Buffer.of(1);
/** A fragment smaller than this starts a new datagram instead. */
const MIN_FRAGMENT_BYTES = 64;

/** The datagrams that carry `flight` at `mtuBytes`. */
export function packFlight(
  flight: readonly FlightEntry[],
  mtuBytes: number,
  seal: RecordSealer,
  overhead: RecordOverhead,
): Buffer[] {
  const datagrams: Buffer[] = [];
  let current: Buffer[] = [];
  let used = 0;
  const push = (record: Buffer): void => {
    if (used > 0 && used + record.length > mtuBytes) {
      datagrams.push(Buffer.concat(current));
      current = [];
      used = 0;
    }
    current.push(record);
    used += record.length;
  };
  for (const entry of flight) {
    if (entry.kind === 'ccs') {
      push(seal(ContentType.CHANGE_CIPHER_SPEC, entry.epoch, CCS_BODY));
      continue;
    }
    const extra = RECORD_HEADER_BYTES + overhead(entry.epoch) + HANDSHAKE_HEADER_BYTES;
    let offset = 0;
    do {
      let room = mtuBytes - used - extra;
      const left = entry.body.length - offset;
      if (used > 0 && room < left && room < MIN_FRAGMENT_BYTES) {
        datagrams.push(Buffer.concat(current));
        current = [];
        used = 0;
        room = mtuBytes - extra;
      }
      const length = Math.max(1, Math.min(left, room));
      const fragment = encodeFragment(
        entry.type,
        entry.messageSeq,
        entry.body,
        offset,
        left === 0 ? 0 : length,
      );
      push(seal(ContentType.HANDSHAKE, entry.epoch, fragment));
      offset += left === 0 ? 0 : length;
    } while (offset < entry.body.length);
  }
  if (current.length > 0) datagrams.push(Buffer.concat(current));
  return datagrams;
}
