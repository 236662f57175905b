/**
 * Chunks in pieces: the partial chunks a node is receiving (head verified, pieces arriving, each
 * verified against the head before it is kept) and the transfers it streams from them (every
 * piece forwarded to the requesters as soon as it is verified). Bounded: at most `maxPartial`
 * chunks in assembly, at most `maxStreamsPerChunk` requesters streamed per chunk; what is refused
 * is counted. Sans-I/O, no clock.
 * @module
 */
import { type Chunk, type ChunkHead, chunkOf, pieceLength, verifyPiece } from './chunk.ts';

/** A chunk whose head is verified and whose pieces are arriving. */
export interface PartialChunk {
  readonly head: ChunkHead;
  /** The verified pieces as received (slices of their frames, not copies); forwarded as they are. */
  readonly pieces: (Buffer | undefined)[];
  /** Bytes of the whole chunk (head and payload). */
  readonly bytes: number;
  got: number;
  /** When its head arrived (the clock of {@link PieceAssembly.start}'s caller), ms. */
  readonly startedAtMs: number;
}

/** Checks piece `index` against a verified head; default {@link verifyPiece}. */
export type PieceVerifier = (head: ChunkHead, index: number, piece: Buffer) => boolean;

/** What {@link PieceAssembly.add} made of a piece. */
export type PieceResult = 'kept' | 'complete' | 'duplicate' | 'forged';

/** Default most chunks in assembly at once (16 × 62.5 KB at 2 Mbit/s). */
export const PARTIAL_CHUNKS_DEFAULT = 16;

/** The partial chunks of one node. */
export class PieceAssembly {
  readonly maxPartial: number;
  readonly #partials = new Map<number, PartialChunk>();
  readonly #verify: PieceVerifier;
  /** Heads refused because `maxPartial` chunks were in assembly. */
  refused = 0;

  constructor(maxPartial = PARTIAL_CHUNKS_DEFAULT, verify: PieceVerifier = verifyPiece) {
    this.maxPartial = maxPartial;
    this.#verify = verify;
  }

  get size(): number {
    return this.#partials.size;
  }

  get(seq: number): PartialChunk | undefined {
    return this.#partials.get(seq);
  }

  /** Starts assembling the chunk of a verified `head` at `nowMs`; undefined (counted) when `maxPartial` are in assembly. */
  start(head: ChunkHead, nowMs: number): PartialChunk | undefined {
    if (this.#partials.size >= this.maxPartial) {
      this.refused++;
      return undefined;
    }
    const partial: PartialChunk = {
      head,
      pieces: new Array<Buffer | undefined>(head.pieceCount).fill(undefined),
      bytes: head.head.length + head.payloadBytes,
      got: 0,
      startedAtMs: nowMs,
    };
    this.#partials.set(head.seq, partial);
    return partial;
  }

  /** Verifies piece `index` of `p` and keeps it; `complete` when it was the last one missing. */
  add(p: PartialChunk, index: number, piece: Buffer): PieceResult {
    if (index >= p.head.pieceCount) return 'forged';
    if (p.pieces[index] !== undefined) return 'duplicate';
    if (!this.#verify(p.head, index, piece)) return 'forged';
    p.pieces[index] = piece;
    p.got++;
    return p.got === p.head.pieceCount ? 'complete' : 'kept';
  }

  /**
   * The finished chunk of `p` (every piece held), forgotten here. Head and pieces are joined in
   * one copy, or none when they are adjacent slices of one buffer already (a chunk whose pieces
   * came in one receive buffer).
   */
  finish(p: PartialChunk): Chunk {
    this.#partials.delete(p.head.seq);
    const pieces = p.pieces as Buffer[];
    const first = p.head.head;
    let end = first.byteOffset + first.length;
    let adjacent = true;
    for (const piece of pieces) {
      if (piece.buffer !== first.buffer || piece.byteOffset !== end) {
        adjacent = false;
        break;
      }
      end += piece.length;
    }
    const bytes = adjacent
      ? Buffer.from(first.buffer, first.byteOffset, p.bytes)
      : Buffer.concat([first, ...pieces], p.bytes);
    return chunkOf(p.head, bytes.subarray(first.length), bytes);
  }

  /** Forgets every partial chunk below `seq`. */
  evictBelow(seq: number): void {
    for (const s of this.#partials.keys()) if (s < seq) this.#partials.delete(s);
  }
}

/** The pieces of a whole chunk, as slices of its bytes. */
export function piecesOf(chunk: Chunk): Buffer[] {
  const out = new Array<Buffer>(chunk.pieceCount);
  for (let i = 0; i < chunk.pieceCount; i++) {
    const from = i * chunk.pieceBytes;
    out[i] = chunk.payload.subarray(from, from + pieceLength(chunk, i));
  }
  return out;
}

/** Transfers streamed from partial chunks: who still gets each new piece. */
export class PieceStreams {
  readonly maxStreamsPerChunk: number;
  readonly #bySeq = new Map<number, string[]>();
  /** Streams refused because a chunk had `maxStreamsPerChunk` already. */
  refused = 0;

  constructor(maxStreamsPerChunk: number) {
    this.maxStreamsPerChunk = maxStreamsPerChunk;
  }

  /** Requesters of `seq` to forward each new piece to (undefined when none). */
  of(seq: number): readonly string[] | undefined {
    return this.#bySeq.get(seq);
  }

  /** `to` gets the rest of `seq` as its pieces arrive; false (counted) when the chunk is at its cap. */
  add(seq: number, to: string): boolean {
    let list = this.#bySeq.get(seq);
    if (list === undefined) {
      list = [];
      this.#bySeq.set(seq, list);
    }
    if (list.includes(to)) return true;
    if (list.length >= this.maxStreamsPerChunk) {
      this.refused++;
      return false;
    }
    list.push(to);
    return true;
  }

  /** `to` no longer wants `seq` (a CANCEL). */
  remove(seq: number, to: string): void {
    const list = this.#bySeq.get(seq);
    const i = list?.indexOf(to) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.#bySeq.delete(seq);
  }

  /** `to` is gone: every stream to it ends. */
  removeAll(to: string): void {
    for (const seq of [...this.#bySeq.keys()]) this.remove(seq, to);
  }

  /** The chunk is complete (every piece sent) or given up: its streams end. */
  end(seq: number): void {
    this.#bySeq.delete(seq);
  }
}
