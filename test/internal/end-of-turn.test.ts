// EndOfTurn: deferred work runs once per item, after the turn's callbacks; clear() drops it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { EndOfTurn } from '../../src/internal/end-of-turn.ts';

describe('EndOfTurn', () => {
  it('runs each item once at the end of the turn, however often it was added', async () => {
    const ran: string[] = [];
    const turn = new EndOfTurn<string>((item) => ran.push(item));
    turn.add('a');
    turn.add('b');
    turn.add('a');
    assert.equal(turn.size, 2);
    assert.deepEqual(ran, [], 'nothing runs synchronously');
    await nextTurn();
    assert.deepEqual(ran, ['a', 'b']);
    assert.equal(turn.size, 0);
  });

  it('runs items added while it runs in the same pass, and an item re-added by itself again', async () => {
    const ran: string[] = [];
    let again = true;
    const turn = new EndOfTurn<string>((item) => {
      ran.push(item);
      if (item === 'a') turn.add('c');
      if (item === 'b' && again) {
        again = false;
        turn.add('b');
      }
    });
    turn.add('a');
    turn.add('b');
    await nextTurn();
    await nextTurn();
    assert.deepEqual(ran, ['a', 'b', 'c', 'b']);
  });

  it('clear() forgets waiting items and the pending immediate', async () => {
    const ran: string[] = [];
    const turn = new EndOfTurn<string>((item) => ran.push(item));
    turn.add('x');
    turn.clear();
    assert.equal(turn.size, 0);
    await nextTurn();
    assert.deepEqual(ran, []);
    turn.add('y');
    await nextTurn();
    assert.deepEqual(ran, ['y']);
  });
});
