import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DatagramQueue } from '../../src/internal/datagram-queue.ts';
import { type IdleLinks, IdleList } from '../../src/server/idle-list.ts';
import { Prng, replayHint, testSeed } from '../support/prng.ts';

class Item implements IdleLinks<Item> {
  idlePrev: Item | undefined = undefined;
  idleNext: Item | undefined = undefined;
  lastActiveMs = 0;
  idleLinked = false;
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

describe('IdleList', () => {
  test('keeps members by last activity and takes only the expired ones', () => {
    const list = new IdleList<Item>();
    const [a, b, c] = [new Item('a'), new Item('b'), new Item('c')];
    list.touch(a, 0);
    list.touch(b, 10);
    list.touch(c, 20);
    list.touch(a, 30); // a moves to the tail
    assert.equal(list.size, 3);
    assert.deepEqual(
      list.takeIdleBefore(25).map((i) => i.name),
      ['b', 'c'],
    );
    assert.equal(list.size, 1);
    list.remove(a);
    list.remove(a);
    assert.equal(list.size, 0);
    assert.deepEqual(list.takeIdleBefore(1_000), []);
  });

  test('random touches and removals keep the list ordered (seeded)', () => {
    const seed = testSeed(0x1d1e);
    const prng = new Prng(seed);
    const next = (): number => prng.int(2 ** 31);
    const list = new IdleList<Item>();
    const items = Array.from({ length: 50 }, (_, i) => new Item(String(i)));
    let now = 0;
    try {
      for (let step = 0; step < 5_000; step++) {
        const item = items[next() % items.length]!;
        now += next() % 3;
        if (next() % 5 === 0) list.remove(item);
        else list.touch(item, now);
      }
      const linked = items.filter((i) => i.idleLinked).length;
      assert.equal(list.size, linked);
      const taken = list.takeIdleBefore(Number.POSITIVE_INFINITY);
      for (let i = 1; i < taken.length; i++) assert.ok(taken[i - 1]!.lastActiveMs <= taken[i]!.lastActiveMs);
      assert.equal(taken.length, linked);
      assert.equal(list.size, 0);
    } catch (error) {
      console.error(`seed ${seed} (rerun with ${replayHint()})`);
      throw error;
    }
  });
});

describe('DatagramQueue as the server uses it (drop-newest)', () => {
  test('refuses past its cap, hands items to a waiting reader, ends', async () => {
    const q = new DatagramQueue<number>({ capacity: 2, overflow: 'drop-newest' });
    assert.equal(q.push(1), true);
    assert.equal(q.push(2), true);
    assert.equal(q.push(3), false);
    assert.deepEqual(await q.next(), { value: 1, done: false });
    assert.deepEqual(await q.next(), { value: 2, done: false });
    const waiting = q.next();
    assert.equal(q.hasWaiter, true);
    assert.equal(q.push(4), true);
    assert.deepEqual(await waiting, { value: 4, done: false });
    q.push(5);
    const ending = q.next();
    assert.deepEqual(await ending, { value: 5, done: false });
    const pending = q.next();
    assert.deepEqual(q.clear(), []);
    q.end();
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.equal(q.push(6), false);
  });

  test('keeps FIFO order across compaction', () => {
    const q = new DatagramQueue<number>({ capacity: 1_000, overflow: 'drop-newest' });
    let expected = 0;
    let pushed = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) q.push(pushed++);
      for (let i = 0; i < 90; i++) assert.equal(q.shift(), expected++);
    }
    assert.equal(q.size, pushed - expected);
    assert.deepEqual(q.clear().length, pushed - expected);
  });
});
