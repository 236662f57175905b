/**
 * A bounds-checked cursor over a received frame, shared by the broker and punch codecs. Every
 * read checks the remaining length first and throws {@link ParseError} with the offset.
 * @module
 */
import { ParseError } from '../errors/index.ts';

/** Reads big-endian fields from a Buffer, never past its end. */
export class FrameReader {
  readonly #data: Buffer;
  readonly #code: string;
  #offset: number;

  /** @param code the `ParseError` code thrown when a field runs past the end. */
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
    if (this.#data.length - at < bytes) {
      throw new ParseError(this.#code, `frame ends inside ${what} (needs ${bytes} bytes)`, at);
    }
    this.#offset = at + bytes;
    return at;
  }

  u8(what: string): number {
    return this.#data[this.#need(1, what)]!;
  }

  u16(what: string): number {
    return this.#data.readUInt16BE(this.#need(2, what));
  }

  u32(what: string): number {
    return this.#data.readUInt32BE(this.#need(4, what));
  }

  /** A slice (not a copy) of the next `length` bytes. */
  bytes(length: number, what: string): Buffer {
    const at = this.#need(length, what);
    return this.#data.subarray(at, at + length);
  }

  /** Throws `code` when bytes are left over. */
  end(code: string): void {
    if (this.remaining !== 0) {
      throw new ParseError(code, `${this.remaining} unexpected bytes after the frame`, this.#offset);
    }
  }
}
