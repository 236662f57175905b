import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planPrediction, predictionSuccessProbability, RandomPortSampler } from '../../src/punch/index.ts';
import { mulberry32 } from '../support/prng.ts';

describe('port prediction math and planning', () => {
  it('matches the birthday numbers (256 mappings, 64 512 ports)', () => {
    const m = 65_535 - 1024 + 1;
    const cases: [number, number, number][] = [
      [256, 0.63],
      [1024, 0.98],
      [2048, 0.999],
    ].map(([k, p]) => [256, k!, p!]);
    for (const [n, k, atLeast] of cases) {
      const p = predictionSuccessProbability(n, k, m);
      assert.ok(p >= atLeast && p < 1, `P(${n}, ${k}) = ${p}`);
      assert.ok(Math.abs(p - (1 - Math.exp((-n * k) / m))) < 0.01, 'close to 1 − e^(−nk/M)');
    }
    assert.equal(predictionSuccessProbability(0, 100, m), 0);
    assert.equal(predictionSuccessProbability(10, 20, 25), 1);
  });

  it('plans prediction only when exactly one side is symmetric', () => {
    assert.deepEqual(planPrediction('symmetric', 'port-restricted'), { role: 'hard', delayMs: 0 });
    assert.deepEqual(planPrediction('port-restricted', 'symmetric'), { role: 'easy', delayMs: 0 });
    assert.deepEqual(planPrediction('full-cone', 'symmetric', 1500), { role: 'easy', delayMs: 1500 });
    assert.deepEqual(planPrediction('symmetric', 'address-restricted', 1500), {
      role: 'hard',
      delayMs: 1500,
    });
    assert.equal(planPrediction('symmetric', 'symmetric'), null);
    assert.equal(planPrediction('port-restricted', 'full-cone'), null);
    assert.equal(planPrediction('symmetric', 'blocked'), null);
  });

  it('draws every port of a range exactly once, in a seeded random order', () => {
    const sampler = new RandomPortSampler({ min: 1000, max: 1999 }, mulberry32(4));
    const seen = new Set<number>();
    let previous = -1;
    let ascending = 0;
    for (let i = 0; i < 1000; i++) {
      const port = sampler.next();
      assert.ok(port >= 1000 && port <= 1999);
      assert.ok(!seen.has(port), `port ${port} drawn twice`);
      if (port > previous) ascending++;
      previous = port;
      seen.add(port);
    }
    assert.equal(sampler.next(), -1);
    assert.equal(sampler.remaining, 0);
    assert.ok(ascending > 300 && ascending < 700, 'not in order');
  });
});
