import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/errors/index.ts';
import { FrameReader } from '../../src/internal/frame-reader.ts';

describe('internal/FrameReader', () => {
  it('reads big- and little-endian fields in order and slices without copying', () => {
    const data = Buffer.from('01020304050607080910111213141516aabb', 'hex');
    const r = new FrameReader(data, 0, 'ERR_T');
    assert.equal(r.u8('a'), 0x01);
    assert.equal(r.u16('b'), 0x0203);
    assert.equal(r.u32('c'), 0x04050607);
    assert.equal(r.u16le('d'), 0x0908);
    assert.equal(r.u32le('e'), 0x13121110);
    r.skip(3, 'f');
    assert.equal(r.offset, 16);
    assert.equal(r.remaining, 2);
    const tail = r.bytes(2, 'g');
    assert.deepEqual([...tail], [0xaa, 0xbb]);
    tail[0] = 0;
    assert.equal(data[16], 0, 'a slice of the input, not a copy');
    r.end('ERR_LEFT');
  });

  it('throws the given code at the offset where a field runs past the end', () => {
    const table: [string, (r: FrameReader) => unknown, number][] = [
      ['u8', (r) => r.u8('x'), 3],
      ['u16', (r) => r.u16('x'), 3],
      ['u32', (r) => r.u32('x'), 3],
      ['u32le', (r) => r.u32le('x'), 3],
      ['bytes', (r) => r.bytes(2, 'x'), 3],
      ['negative length', (r) => r.bytes(-1, 'x'), 3],
    ];
    for (const [name, read, at] of table) {
      const r = new FrameReader(Buffer.alloc(3), 3, 'ERR_SHORT');
      assert.throws(
        () => read(r),
        (error: unknown) => error instanceof ParseError && error.code === 'ERR_SHORT' && error.offset === at,
        name,
      );
      assert.equal(r.offset, 3, `${name} consumes nothing when it throws`);
    }
    const r = new FrameReader(Buffer.alloc(4), 1, 'ERR_SHORT');
    assert.throws(() => r.u32('x'), { code: 'ERR_SHORT' });
  });

  it('end() throws its code when bytes are left over', () => {
    const r = new FrameReader(Buffer.alloc(3), 1, 'ERR_SHORT');
    assert.throws(() => r.end('ERR_LEFT'), { code: 'ERR_LEFT' });
  });
});
