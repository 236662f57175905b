import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { discoverNat, MAX_LIFETIME_TRIALS, probeBindingLifetime } from '../../src/nat/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { FakeNetwork, PRIMARY } from './fake-network.ts';

checkLeaks();

describe('probeBindingLifetime (RFC 5780 §4.6)', () => {
  for (const lifetimeS of [3, 17, 37, 59]) {
    test(`brackets a ${lifetimeS} s binding within the precision`, async () => {
      const net = new FakeNetwork({ mapping: 'EIM', filtering: 'APDF', lifetimeS });
      const found = await probeBindingLifetime(net.transport(), {
        server: PRIMARY,
        maxS: 60,
        precisionS: 5,
        sleep: net.sleep,
      });
      assert.ok(found !== null);
      assert.ok(found.expiredS !== null);
      assert.ok(found.aliveS < lifetimeS + 0.1 && lifetimeS <= found.expiredS + 0.1, JSON.stringify(found));
      assert.ok(found.expiredS - found.aliveS <= 5);
      // Each trial binds a fresh socket and only the helper socket 0 carries RESPONSE-PORT.
      const trialSockets = net.log.filter((r) => r.responsePort === undefined).map((r) => r.socketIndex);
      assert.equal(new Set(trialSockets).size, trialSockets.length);
      assert.ok(net.log.filter((r) => r.responsePort !== undefined).every((r) => r.socketIndex === 0));
      assert.ok(trialSockets.length <= MAX_LIFETIME_TRIALS);
      assert.ok(net.nowMs < 61_000, `the trials run side by side: ${net.nowMs} ms`);
    });
  }

  test('a finer precision than the trial cap allows widens the grid step', async () => {
    const net = new FakeNetwork({ lifetimeS: 30 });
    const found = await probeBindingLifetime(net.transport(), {
      server: PRIMARY,
      maxS: 60,
      precisionS: 1,
      sleep: net.sleep,
    });
    assert.deepEqual(found, { aliveS: 28, expiredS: 32 });
    assert.equal(net.log.filter((r) => r.responsePort === undefined).length, MAX_LIFETIME_TRIALS);
  });

  test('a binding that outlives maxS is reported as at least maxS', async () => {
    const net = new FakeNetwork({ lifetimeS: 500 });
    const found = await probeBindingLifetime(net.transport(), {
      server: PRIMARY,
      maxS: 20,
      sleep: net.sleep,
    });
    assert.deepEqual(found, { aliveS: 20, expiredS: null });
  });

  test('a server that ignores RESPONSE-PORT yields null, and discovery says why', async () => {
    const net = new FakeNetwork({ responsePort: false });
    assert.equal(await probeBindingLifetime(net.transport(), { server: PRIMARY, sleep: net.sleep }), null);
    const result = await discoverNat(new FakeNetwork({ responsePort: false }).transport(), {
      server: PRIMARY,
      lifetime: { maxS: 10 },
      sleep: net.sleep,
    });
    assert.equal(result.bindingLifetime, null);
    assert.match(result.notes.join(), /RESPONSE-PORT/);
  });

  test('discovery includes the lifetime in its result and sentence when asked', async () => {
    const net = new FakeNetwork({ mapping: 'EIM', filtering: 'ADF', lifetimeS: 12 });
    const result = await discoverNat(net.transport(), {
      server: PRIMARY,
      lifetime: { maxS: 30, precisionS: 4 },
      sleep: net.sleep,
    });
    assert.equal(result.natClass, 'address-restricted');
    assert.ok(result.bindingLifetime !== null && result.bindingLifetime.expiredS !== null);
    assert.ok(result.bindingLifetime.aliveS < 12 && result.bindingLifetime.expiredS >= 12);
    assert.match(result.sentence, /bindings expire after/);
  });

  test('bad bounds are refused', async () => {
    const net = new FakeNetwork();
    for (const [bad, option] of [
      [{ maxS: 0 }, 'maxS'],
      [{ maxS: 4000 }, 'maxS'],
      [{ maxS: 10, precisionS: 0 }, 'precisionS'],
      [{ maxS: 10, precisionS: 11 }, 'precisionS'],
    ] as const) {
      await assert.rejects(
        probeBindingLifetime(net.transport(), { server: PRIMARY, sleep: net.sleep, ...bad }),
        { code: 'ERR_INVALID_OPTION', option },
      );
    }
  });
});
