/**
 * Reassembly of fragmented handshake messages and their ordering by message_seq (RFC 6347 §4.2.3),
 * bounded: a message larger than `maxMessageBytes`, or buffering past `maxBytes` / `maxFragments`
 * in total, or a message_seq more than {@link HANDSHAKE_LOOKAHEAD} ahead, is dropped and counted.
 * @module
 */
import { HANDSHAKE_LOOKAHEAD } from './constants.ts';
import type { HandshakeFragment } from './handshake-header.ts';

/** A whole handshake message. */
export interface HandshakeMessage {
  readonly type: number;
  readonly messageSeq: number;
  readonly body: Buffer;
}

/** Limits of a {@link Reassembler}. */
export interface ReassemblyLimits {
  readonly maxMessageBytes: number;
  readonly maxBytes: number;
  readonly maxFragments: number;
}

interface Partial {
  readonly type: number;
  readonly body: Buffer;
  /** Covered byte ranges, sorted, disjoint: [start, end) pairs flattened. */
  ranges: number[];
  fragments: number;
}

/** What {@link Reassembler.add} did with a fragment. */
export type AddResult = 'buffered' | 'old' | 'dropped';

/** See the module doc. */
export class Reassembler {
  readonly #limits: ReassemblyLimits;
  readonly #pending = new Map<number, Partial>();
  #next = 0;
  #bytes = 0;
  #fragments = 0;
  /** Fragments dropped by a limit or an inconsistency. */
  dropped = 0;

  constructor(limits: ReassemblyLimits) {
    this.#limits = limits;
  }

  /** The message_seq expected next. */
  get nextSeq(): number {
    return this.#next;
  }

  /** Sets the message_seq expected next (a server that starts at the ClientHello's). */
  set nextSeq(seq: number) {
    this.#next = seq;
  }

  /** Takes one fragment: `old` when its message was already delivered (a retransmission). */
  add(f: HandshakeFragment): AddResult {
    if (f.messageSeq < this.#next) return 'old';
    if (f.messageSeq >= this.#next + HANDSHAKE_LOOKAHEAD || f.length > this.#limits.maxMessageBytes) {
      this.dropped++;
      return 'dropped';
    }
    let p = this.#pending.get(f.messageSeq);
    if (p === undefined) {
      if (this.#bytes + f.length > this.#limits.maxBytes) {
        this.dropped++;
        return 'dropped';
      }
      p = { type: f.type, body: Buffer.alloc(f.length), ranges: [], fragments: 0 };
      this.#pending.set(f.messageSeq, p);
      this.#bytes += f.length;
    } else if (p.type !== f.type || p.body.length !== f.length) {
      this.dropped++;
      return 'dropped';
    }
    if (this.#fragments >= this.#limits.maxFragments) {
      this.dropped++;
      return 'dropped';
    }
    if (f.body.length === 0 && f.length !== 0) return 'buffered';
    f.body.copy(p.body, f.fragmentOffset);
    p.ranges = merge(p.ranges, f.fragmentOffset, f.fragmentOffset + f.body.length);
    p.fragments++;
    this.#fragments++;
    return 'buffered';
  }

  /** The next message in order once it is whole, and advances past it; undefined otherwise. */
  take(): HandshakeMessage | undefined {
    const p = this.#pending.get(this.#next);
    if (p === undefined) return undefined;
    const whole =
      p.body.length === 0 || (p.ranges.length === 2 && p.ranges[0] === 0 && p.ranges[1] === p.body.length);
    if (!whole) return undefined;
    this.#pending.delete(this.#next);
    this.#bytes -= p.body.length;
    this.#fragments -= p.fragments;
    const message = { type: p.type, messageSeq: this.#next, body: p.body };
    this.#next++;
    return message;
  }

  /** Bytes buffered now. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  /** Forgets every partial message. */
  clear(): void {
    this.#pending.clear();
    this.#bytes = 0;
    this.#fragments = 0;
  }
}

function merge(ranges: number[], start: number, end: number): number[] {
  if (end <= start) return ranges;
  const out: number[] = [];
  let s = start;
  let e = end;
  let placed = false;
  for (let i = 0; i < ranges.length; i += 2) {
    const rs = ranges[i]!;
    const re = ranges[i + 1]!;
    if (re < s) out.push(rs, re);
    else if (rs > e) {
      if (!placed) {
        out.push(s, e);
        placed = true;
      }
      out.push(rs, re);
    } else {
      s = Math.min(s, rs);
      e = Math.max(e, re);
    }
  }
  if (!placed) out.push(s, e);
  return out;
}
