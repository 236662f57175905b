import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { CoreTimer } from '../../src/internal/core-timer.ts';

describe('internal/CoreTimer', () => {
  let now = 0;
  beforeEach(() => {
    now = 0;
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => mock.timers.reset());

  function make(next: { at: number }) {
    const fired: number[] = [];
    const timer = new CoreTimer(
      () => now,
      () => next.at,
      (nowMs) => {
        fired.push(nowMs);
      },
    );
    return { timer, fired };
  }

  function advance(ms: number): void {
    now += ms;
    mock.timers.tick(ms);
  }

  it('fires once at the wake-up time with the clock reading', () => {
    const next = { at: 50 };
    const { timer, fired } = make(next);
    timer.arm();
    assert.equal(timer.armedAtMs, 50);
    advance(49);
    assert.deepEqual(fired, []);
    advance(1);
    assert.deepEqual(fired, [50]);
    assert.equal(timer.armedAtMs, Number.POSITIVE_INFINITY);
    advance(1000);
    assert.deepEqual(fired, [50], 'one timeout, not an interval');
  });

  it('re-arms for an earlier time and keeps the pending one for a later time', () => {
    const next = { at: 100 };
    const { timer, fired } = make(next);
    timer.arm();
    next.at = 200;
    timer.arm();
    assert.equal(timer.armedAtMs, 100, 'later: the earlier pending timeout stays');
    next.at = 30;
    timer.arm();
    assert.equal(timer.armedAtMs, 30, 'earlier: re-armed');
    advance(30);
    assert.deepEqual(fired, [30]);
    advance(200);
    assert.deepEqual(fired, [30], 'the replaced timeout never fires');
  });

  it('an idle core (Infinity) leaves no timeout pending', () => {
    const next = { at: 10 };
    const { timer, fired } = make(next);
    timer.arm();
    next.at = Number.POSITIVE_INFINITY;
    timer.arm();
    assert.equal(timer.armedAtMs, Number.POSITIVE_INFINITY);
    advance(100);
    assert.deepEqual(fired, []);
  });

  it('a wake-up in the past fires on the next turn', () => {
    now = 500;
    const { timer, fired } = make({ at: 100 });
    timer.arm();
    advance(0);
    assert.deepEqual(fired, [500]);
  });

  it('stop() clears the pending timeout for good (idempotent)', () => {
    const next = { at: 10 };
    const { timer, fired } = make(next);
    timer.arm();
    timer.stop();
    timer.stop();
    assert.equal(timer.stopped, true);
    timer.arm();
    timer.armAt(5);
    advance(100);
    assert.deepEqual(fired, []);
  });

  it('fire may re-arm from inside the callback', () => {
    const next = { at: 10 };
    const fired: number[] = [];
    const timer = new CoreTimer(
      () => now,
      () => next.at,
      (nowMs) => {
        fired.push(nowMs);
        next.at = nowMs + 10;
        if (fired.length < 3) timer.arm();
      },
    );
    timer.arm();
    advance(10);
    advance(10);
    advance(10);
    advance(10);
    assert.deepEqual(fired, [10, 20, 30]);
  });
});
