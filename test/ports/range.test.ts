import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeEphemeralOverlap,
  findEphemeralOverlap,
  formatPortRange,
  parsePortRange,
  partitionPortRange,
  readKernelPortRanges,
} from '../../src/ports/index.ts';
import { warnOnceIfEphemeral } from '../../src/ports/kernel-range.ts';

describe('port ranges', () => {
  it('parses ranges and single ports', () => {
    assert.deepEqual(parsePortRange('40000-40999'), { first: 40000, last: 40999 });
    assert.deepEqual(parsePortRange(' 5004 '), { first: 5004, last: 5004 });
    assert.deepEqual(parsePortRange({ first: 1, last: 65535 }), { first: 1, last: 65535 });
    assert.equal(formatPortRange({ first: 7, last: 7 }), '7');
  });

  it('refuses empty, reversed and out-of-bounds ranges with ERR_INVALID_OPTION on `range`', () => {
    for (const bad of ['', 'abc', '10-', '-10', '0', '0-5', '65536', '9-8', '1.5-3']) {
      assert.throws(() => parsePortRange(bad), { code: 'ERR_INVALID_OPTION', option: 'range' }, bad);
    }
    assert.throws(() => parsePortRange({ first: 2.5, last: 3 }), {
      code: 'ERR_INVALID_OPTION',
      option: 'range',
    });
    // What plain JavaScript can pass: nothing at all, or a number (issue 11, item 9).
    for (const bad of [undefined, 40000, null] as unknown as string[]) {
      assert.throws(
        () => parsePortRange(bad),
        (e: unknown) =>
          e instanceof Error &&
          (e as { code?: string }).code === 'ERR_INVALID_OPTION' &&
          (e as { option?: string }).option === 'range' &&
          e.message.startsWith('range is required') &&
          !e.message.includes('undefined-undefined'),
        String(bad),
      );
    }
  });

  it('partitions into disjoint, covering, pair-aligned parts', () => {
    for (const [first, last, n] of [
      [40000, 40999, 3],
      [40001, 40010, 2],
      [10, 13, 4],
      [5000, 5000, 1],
    ] as const) {
      const parts = partitionPortRange({ first, last }, n);
      assert.equal(parts.length, n);
      assert.equal(parts[0]!.first, first);
      assert.equal(parts.at(-1)!.last, last);
      for (let i = 1; i < n; i++) assert.equal(parts[i]!.first, parts[i - 1]!.last + 1);
      for (const p of parts) assert.ok(p.first <= p.last);
      // Every part but the first starts on an even port while each still gets a pair (docs/ports.md).
      if (last - first + 1 >= 2 * n + 1)
        for (const p of parts.slice(1)) assert.equal(p.first % 2, 0, `${p.first}`);
    }
    assert.throws(() => partitionPortRange({ first: 1, last: 3 }, 4), {
      code: 'ERR_INVALID_OPTION',
      option: 'count',
    });
    assert.throws(() => partitionPortRange({ first: 1, last: 3 }, 0), {
      code: 'ERR_INVALID_OPTION',
      option: 'count',
    });
  });
});

describe('kernel ephemeral range check', () => {
  const fakeProc = (ephemeral: string, reserved: string) => (path: string) =>
    path.endsWith('ip_local_port_range') ? ephemeral : reserved;

  it('reads the kernel ranges, including reserved lists', () => {
    const k = readKernelPortRanges(fakeProc('32768\t60999\n', '40000-40099,50000\n'));
    assert.deepEqual(k.ephemeral, { first: 32768, last: 60999 });
    assert.deepEqual(k.reserved, [
      { first: 40000, last: 40099 },
      { first: 50000, last: 50000 },
    ]);
    const none = readKernelPortRanges(() => {
      throw new Error('ENOENT');
    });
    assert.equal(none.ephemeral, undefined);
  });

  it('finds the overlap and the unreserved part, and advises ip_local_reserved_ports', () => {
    const k = readKernelPortRanges(fakeProc('32768 60999', '40000-40099'));
    const found = findEphemeralOverlap({ first: 40000, last: 40999 }, k);
    assert.deepEqual(found?.overlap, { first: 40000, last: 40999 });
    assert.equal(found?.unreserved, 900);
    assert.match(
      describeEphemeralOverlap({ first: 40000, last: 40999 }, found!),
      /ip_local_reserved_ports=40000-40999/,
    );
    assert.equal(findEphemeralOverlap({ first: 61000, last: 61999 }, k), undefined);
  });

  it('warns once per range, and not at all when the overlap is reserved', () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const k = readKernelPortRanges(fakeProc('32768 60999', '45000-45009'));
    return new Promise<void>((resolve) => {
      warnOnceIfEphemeral({ first: 44000, last: 44009 }, k);
      warnOnceIfEphemeral({ first: 44000, last: 44009 }, k);
      warnOnceIfEphemeral({ first: 45000, last: 45009 }, k);
      setImmediate(() => {
        process.off('warning', onWarning);
        const ours = warnings.filter(
          (w) => (w as Error & { code?: string }).code === 'PORTHOLE_EPHEMERAL_OVERLAP',
        );
        assert.equal(ours.length, 1);
        assert.match(ours[0]!.message, /44000-44009/);
        resolve();
      });
    });
  });
});
