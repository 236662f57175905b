import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DatagramQueue, OverflowPolicy } from '../../src/internal/datagram-queue.ts';

function filled(capacity: number, overflow: 'drop-oldest' | 'drop-newest', n: number) {
  const q = new DatagramQueue<number>({ capacity, overflow });
  const taken = Array.from({ length: n }, (_, i) => q.push(i));
  return { q, taken };
}

describe('internal/DatagramQueue', () => {
  it('drop-newest refuses what does not fit and counts it', () => {
    const { q, taken } = filled(3, OverflowPolicy.DROP_NEWEST, 5);
    assert.deepEqual(taken, [true, true, true, false, false]);
    assert.equal(q.dropped, 2);
    assert.equal(q.size, 3);
    assert.deepEqual(q.clear(), [0, 1, 2]);
  });

  it('drop-oldest evicts the oldest and counts it', () => {
    const { q, taken } = filled(3, OverflowPolicy.DROP_OLDEST, 5);
    assert.deepEqual(taken, [true, true, true, true, true]);
    assert.equal(q.dropped, 2);
    assert.deepEqual(q.clear(), [2, 3, 4]);
  });

  it('the default policy is drop-newest', () => {
    assert.equal(new DatagramQueue({ capacity: 1 }).overflow, 'drop-newest');
  });

  it('keeps FIFO order across ring growth and wrap-around, as a model array does', () => {
    for (const overflow of [OverflowPolicy.DROP_OLDEST, OverflowPolicy.DROP_NEWEST]) {
      const q = new DatagramQueue<number>({ capacity: 100, overflow });
      const model: number[] = [];
      let dropped = 0;
      let next = 0;
      for (let round = 0; round < 60; round++) {
        for (let i = 0; i < 7; i++) {
          const item = next++;
          const taken = q.push(item);
          if (model.length < 100) model.push(item);
          else if (overflow === OverflowPolicy.DROP_OLDEST) {
            model.shift();
            model.push(item);
            dropped++;
          } else dropped++;
          assert.equal(taken, model.at(-1) === item);
        }
        for (let i = 0; i < 3; i++) assert.equal(q.shift(), model.shift());
      }
      assert.ok(dropped > 0, 'the ring filled up');
      assert.equal(q.dropped, dropped);
      assert.deepEqual(q.clear(), model);
      assert.equal(q.size, 0);
    }
  });

  it('hands an item straight to a waiting reader (no queueing, no drop)', async () => {
    const q = new DatagramQueue<string>({ capacity: 1 });
    const pending = q.next();
    assert.equal(q.hasWaiter, true);
    assert.equal(q.push('a'), true);
    assert.equal(q.push('b'), true);
    assert.equal(q.push('c'), false);
    assert.deepEqual(await pending, { value: 'a', done: false });
    assert.equal(q.size, 1);
    assert.equal(q.dropped, 1);
  });

  it('end() lets readers drain what is queued, then done; later pushes are refused, not counted', async () => {
    const q = new DatagramQueue<number>({ capacity: 4 });
    q.push(1);
    q.push(2);
    q.end();
    q.end();
    assert.equal(q.push(3), false);
    assert.equal(q.dropped, 0);
    const seen: number[] = [];
    for await (const x of q) seen.push(x);
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(await q.next(), { value: undefined, done: true });
  });

  it('end() releases a waiting reader with done', async () => {
    const q = new DatagramQueue<number>({ capacity: 4 });
    const pending = q.next();
    q.end();
    assert.deepEqual(await pending, { value: undefined, done: true });
  });

  it('a second concurrent next() rejects', async () => {
    const q = new DatagramQueue<number>({ capacity: 4 });
    const first = q.next();
    await assert.rejects(q.next(), TypeError);
    q.push(7);
    assert.deepEqual(await first, { value: 7, done: false });
  });

  it('break ends that reader only: the queue keeps taking items and a new reader reads on', async () => {
    const q = new DatagramQueue<number>({ capacity: 8 });
    let returned = 0;
    for (let i = 0; i < 4; i++) q.push(i);
    const first: number[] = [];
    for await (const x of q.reader({ onReturn: () => returned++ })) {
      first.push(x);
      if (x === 1) break;
    }
    assert.deepEqual(first, [0, 1]);
    assert.equal(returned, 1);
    assert.equal(q.ended, false, 'break never ends the queue');
    assert.equal(q.push(4), true);
    const second: number[] = [];
    for await (const x of q) {
      second.push(x);
      if (x === 4) break;
    }
    assert.deepEqual(second, [2, 3, 4]);
  });

  it('a reader ended while waiting gives up its place: the next push reaches the next reader', async () => {
    const q = new DatagramQueue<number>({ capacity: 8 });
    const a = q.reader();
    const pendingA = a.next();
    await a.return();
    assert.deepEqual(await pendingA, { value: undefined, done: true });
    assert.equal(q.hasWaiter, false);
    const b = q.reader();
    const pendingB = b.next();
    q.push(9);
    assert.deepEqual(await pendingB, { value: 9, done: false });
    assert.deepEqual(await a.next(), { value: undefined, done: true }, 'an ended reader stays ended');
  });

  it('a reader signal ends that reader (pending next resolves done) and calls onReturn once', async () => {
    const q = new DatagramQueue<number>({ capacity: 8 });
    const controller = new AbortController();
    let returned = 0;
    const r = q.reader({ signal: controller.signal, onReturn: () => returned++ });
    const pending = r.next();
    controller.abort();
    assert.deepEqual(await pending, { value: undefined, done: true });
    await r.return();
    assert.equal(returned, 1);
    assert.equal(q.push(1), true);
    assert.equal(q.size, 1, 'the item waits for a later reader');
  });

  it('a reader made with an aborted signal ends on the next microtask', async () => {
    const q = new DatagramQueue<number>({ capacity: 2 });
    q.push(1);
    const r = q.reader({ signal: AbortSignal.abort() });
    await Promise.resolve();
    assert.deepEqual(await r.next(), { value: undefined, done: true });
    assert.equal(q.size, 1);
  });

  it('rejects a capacity that is not a whole number ≥ 1', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new DatagramQueue({ capacity }), RangeError, String(capacity));
    }
  });
});
