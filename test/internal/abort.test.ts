import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { raceAbort } from '../../src/internal/abort.ts';

describe('internal/raceAbort', () => {
  it('passes the promise through without a signal', async () => {
    assert.equal(await raceAbort(Promise.resolve(4), undefined), 4);
  });

  it('settles as the promise does and removes its listener', async () => {
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const { signal } = controller;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof remove;
    assert.equal(await raceAbort(Promise.resolve('ok'), signal), 'ok');
    await assert.rejects(raceAbort(Promise.reject(new Error('boom')), signal), { message: 'boom' });
    assert.equal(added, 2);
    assert.equal(removed, 2);
  });

  it('rejects ERR_ABORTED with the reason when the signal fires first', async () => {
    const controller = new AbortController();
    const never = new Promise<never>(() => {});
    const raced = raceAbort(never, controller.signal);
    controller.abort('stop');
    await assert.rejects(raced, (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_ABORTED');
      assert.equal(error.cause, 'stop');
      return true;
    });
  });

  it('rejects at once for a signal already aborted, and a later rejection is not unhandled', async () => {
    let rejectLater: (error: Error) => void = () => {};
    const later = new Promise<never>((_, reject) => {
      rejectLater = reject;
    });
    await assert.rejects(raceAbort(later, AbortSignal.abort()), { code: 'ERR_ABORTED' });
    rejectLater(new Error('late'));
    await new Promise((resolve) => setImmediate(resolve));
  });
});
