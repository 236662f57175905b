/**
 * A bounds-checked cursor over a received frame. Every read checks the remaining length first
 * and throws {@link ParseError} with the offset, so a codec never slices past the end and says
 * where a frame fell short.
 * @module
 */
import { ParseError } from '../errors/index.ts';

/** Reads fields from a Buffer, never past its end. Slices are views of the input, not copies. */
export class FrameReader {
  readonly #data: Buffer;
  readonly #code: string;
  #offset: number;

  /**
   * @param offset where reading starts.
   * @param code the `ParseError` code thrown when a field runs past the end.
   */
  constructor(data: Buffer, offset: number, code: string) {
    this.#data = data;
    this.#offset = offset;
    this.#code = code;
  }

  /** Current offset into the frame. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.#data.length - this.#offset;
  }

  #need(bytes: number, what: string): number {
    const at = this.#offset;
    if (!(bytes >= 0) || this.#data.length - at < bytes) {
      throw new ParseError(this.#code, `frame ends inside ${what} (needs ${bytes} bytes)`, at);
    }
    this.#offset = at + bytes;
    return at;
  }

  /** One unsigned byte. */
  u8(what: string): number {
    return this.#data[this.#need(1, what)]!;
  }

  /** A big-endian unsigned 16-bit field. */
  u16(what: string): number {
    return this.#data.readUInt16BE(this.#need(2, what));
  }

  /** A big-endian unsigned 32-bit field. */
  u32(what: string): number {
    return this.#data.readUInt32BE(this.#need(4, what));
  }

  /** A little-endian unsigned 16-bit field. */
  u16le(what: string): number {
    return this.#data.readUInt16LE(this.#need(2, what));
  }

  /** A little-endian unsigned 32-bit field. */
  u32le(what: string): number {
    return this.#data.readUInt32LE(this.#need(4, what));
  }

  /** A slice (not a copy) of the next `length` bytes. */
  bytes(length: number, what: string): Buffer {
    const at = this.#need(length, what);
    return this.#data.subarray(at, at + length);
  }

  /** Skips `length` bytes. */
  skip(length: number, what: string): void {
    this.#need(length, what);
  }

  /** Throws `code` when bytes are left over. */
  end(code: string): void {
    if (this.remaining !== 0) {
      throw new ParseError(code, `${this.remaining} unexpected bytes after the frame`, this.#offset);
    }
  }
}
