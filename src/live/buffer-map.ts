/**
 * The buffer map: which chunks a node holds within a sliding window of sequence numbers.
 * A node sends its whole map once (on connect) and a HAVE per chunk after that; the receiver
 * applies both to its copy of the neighbour's map. Sequence numbers do not wrap (u32 at four
 * chunks a second lasts 34 years); the window only moves forward.
 *
 * Wire form (inside a BUFFER_MAP frame, see wire.ts):
 * ```
 *  0               4       6
 *  +---------------+-------+-----------------------+-------------------------------+
 *  |   base (u32)  | count | held: ceil(count/8) B | random access: ceil(count/8) B |
 *  +---------------+-------+-----------------------+-------------------------------+
 * ```
 * Bit i (most significant bit first) says whether chunk base + i is held (and whether it starts
 * with a random-access point, which a joiner needs); count ≤ 4096.
 * @module
 */
import { InvalidOptionError } from '../errors/index.ts';
import { BUFFER_MAP_MAX_CHUNKS, BUFFER_WINDOW_DEFAULT_CHUNKS } from './constants.ts';

/** A sliding window of held sequence numbers, as a ring of bits. Fixed memory: `capacity` bits. */
export class BufferMap {
  /** Most chunks the window spans. */
  readonly capacity: number;
  readonly #bits: Uint8Array;
  readonly #rap: Uint8Array;
  #base = 0;
  #newest = -1;
  #count = 0;

  /** @throws ConfigError `ERR_INVALID_OPTION` unless 8 ≤ capacity ≤ 4096 and a multiple of 8. */
  constructor(capacity: number = BUFFER_WINDOW_DEFAULT_CHUNKS) {
    if (
      !Number.isInteger(capacity) ||
      capacity < 8 ||
      capacity > BUFFER_MAP_MAX_CHUNKS ||
      capacity % 8 !== 0
    ) {
      throw new InvalidOptionError('capacity', 'capacity: a multiple of 8 from 8 to 4096');
    }
    this.capacity = capacity;
    this.#bits = new Uint8Array(capacity / 8);
    this.#rap = new Uint8Array(capacity / 8);
  }

  /** Lowest sequence number inside the window. */
  get base(): number {
    return this.#base;
  }

  /** Highest sequence number held, -1 when none. */
  get newest(): number {
    return this.#newest;
  }

  /** Chunks held inside the window. */
  get size(): number {
    return this.#count;
  }

  /** Whether `seq` is held (false outside the window). */
  has(seq: number): boolean {
    if (seq < this.#base || seq >= this.#base + this.capacity) return false;
    const i = seq % this.capacity;
    return (this.#bits[i >>> 3]! & (0x80 >>> (i & 7))) !== 0;
  }

  /** Whether `seq` is held and starts with a random-access point. */
  isRandomAccess(seq: number): boolean {
    if (!this.has(seq)) return false;
    const i = seq % this.capacity;
    return (this.#rap[i >>> 3]! & (0x80 >>> (i & 7))) !== 0;
  }

  /** The newest held chunk that starts with a random-access point, -1 when none. */
  newestRandomAccess(): number {
    for (let s = this.#newest; s >= this.#base && s >= 0; s--) if (this.isRandomAccess(s)) return s;
    return -1;
  }

  /**
   * Marks `seq` held, sliding the window forward when `seq` is past its end. Returns false (and
   * changes nothing) for a `seq` below the window.
   */
  add(seq: number, randomAccess = false): boolean {
    if (seq < this.#base) return false;
    if (seq >= this.#base + this.capacity) this.advance(seq - this.capacity + 1);
    const i = seq % this.capacity;
    const mask = 0x80 >>> (i & 7);
    const byte = this.#bits[i >>> 3]!;
    if ((byte & mask) === 0) {
      this.#bits[i >>> 3] = byte | mask;
      this.#count++;
    }
    if (randomAccess) this.#rap[i >>> 3]! |= mask;
    else this.#rap[i >>> 3]! &= ~mask;
    if (seq > this.#newest) this.#newest = seq;
    return true;
  }

  /** Forgets `seq`. */
  delete(seq: number): void {
    if (!this.has(seq)) return;
    const i = seq % this.capacity;
    this.#bits[i >>> 3]! &= ~(0x80 >>> (i & 7));
    this.#rap[i >>> 3]! &= ~(0x80 >>> (i & 7));
    this.#count--;
  }

  /** Moves the window's base up to `base`, forgetting everything below it. */
  advance(base: number): void {
    if (base <= this.#base) return;
    if (base - this.#base >= this.capacity) {
      this.#bits.fill(0);
      this.#rap.fill(0);
      this.#count = 0;
    } else {
      for (let s = this.#base; s < base; s++) this.delete(s);
    }
    this.#base = base;
  }

  /**
   * Replaces the contents with the chunks of a decoded map: `count` bits of `bitmap` from `base`,
   * random-access bits from `rapBitmap`. Keeps the newest `capacity` chunks when it is larger.
   */
  assign(base: number, count: number, bitmap: Uint8Array, rapBitmap?: Uint8Array): void {
    this.#bits.fill(0);
    this.#rap.fill(0);
    this.#count = 0;
    this.#newest = -1;
    const first = Math.max(0, count - this.capacity);
    this.#base = base + first;
    for (let i = first; i < count; i++) {
      const mask = 0x80 >>> (i & 7);
      if ((bitmap[i >>> 3]! & mask) !== 0)
        this.add(base + i, rapBitmap !== undefined && (rapBitmap[i >>> 3]! & mask) !== 0);
    }
  }

  /** The bitmaps from `base` to the newest held chunk, for a BUFFER_MAP frame. */
  snapshot(): { base: number; count: number; bitmap: Buffer; rapBitmap: Buffer } {
    const count = this.#newest < this.#base ? 0 : this.#newest - this.#base + 1;
    const bitmap = Buffer.alloc(Math.ceil(count / 8));
    const rapBitmap = Buffer.alloc(bitmap.length);
    for (let i = 0; i < count; i++) {
      if (this.has(this.#base + i)) bitmap[i >>> 3]! |= 0x80 >>> (i & 7);
      if (this.isRandomAccess(this.#base + i)) rapBitmap[i >>> 3]! |= 0x80 >>> (i & 7);
    }
    return { base: this.#base, count, bitmap, rapBitmap };
  }
}
