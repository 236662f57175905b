// The indexed min-heap behind the endpoint's single timer, against a sorted-array model.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type Wakeable, WakeHeap } from '../../src/arq/wake-heap.ts';
import { Prng, testSeed } from '../support/prng.ts';

it('pops in wake order under random schedule/move/remove (seeded)', (t) => {
  const seed = testSeed(1234);
  const prng = new Prng(seed);
  t.diagnostic(`seed ${seed}`);
  const heap = new WakeHeap<Wakeable & { id: number }>();
  const items = Array.from({ length: 200 }, (_, id) => ({
    id,
    wakeAt: Number.POSITIVE_INFINITY,
    heapIndex: -1,
  }));
  for (let step = 0; step < 20_000; step++) {
    const item = items[prng.int(items.length)]!;
    const r = prng.next();
    if (r < 0.7) heap.schedule(item, prng.int(1000));
    else if (r < 0.85) heap.schedule(item, Number.POSITIVE_INFINITY);
    else heap.remove(item);
    if (step % 1000 === 0) {
      const scheduled = items.filter((i) => i.heapIndex >= 0);
      assert.equal(heap.size, scheduled.length, `seed ${seed}`);
      const min = scheduled.length === 0 ? undefined : Math.min(...scheduled.map((i) => i.wakeAt));
      assert.equal(heap.peek()?.wakeAt, min, `seed ${seed}`);
    }
  }
  const order: number[] = [];
  for (let item = heap.popDue(1e9); item !== undefined; item = heap.popDue(1e9)) order.push(item.wakeAt);
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
    `seed ${seed}`,
  );
  assert.equal(heap.size, 0);
  assert.ok(items.every((i) => i.heapIndex === -1));
});

it('popDue leaves entries that are not due', () => {
  const heap = new WakeHeap<Wakeable>();
  const a = { wakeAt: Number.POSITIVE_INFINITY, heapIndex: -1 };
  heap.schedule(a, 50);
  assert.equal(heap.popDue(49), undefined);
  assert.equal(heap.popDue(50), a);
});
