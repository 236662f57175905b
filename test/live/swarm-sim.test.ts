// The swarm simulator in CI: 200 peers on a virtual clock with 5 % loss, 30 %/min churn and 10 %
// polluters (forged chunks, lying buffer maps, request floods). Asserts on simulated figures only:
// no forged byte played, continuity ≥ 99 %, polluters caught and reported. PORTHOLE_SEED=<n>
// varies the run. The benchmark (npm run bench -- live-sim) runs the 1,000-peer scenarios.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testSeed } from '../support/prng.ts';
import { runSwarm, type SwarmConfig } from './sim/swarm.ts';

const seed = testSeed(14);
const base: SwarmConfig = {
  seed,
  strategy: 'porthole',
  peers: 200,
  joinWindowMs: 8000,
  durationMs: 30_000,
  measureFromMs: 12_000,
  lossRate: 0.05,
  churnPerMinute: 0.3,
  maliciousShare: 0.1,
  leechShare: 0.2,
  uploadCapX: 1.5,
};

describe('swarm simulator', () => {
  it('200 peers with churn and 10 % polluters: nothing forged played, continuity ≥ 99 %', (t) => {
    const r = runSwarm(base);
    t.diagnostic(JSON.stringify({ seed, ...r, totals: undefined }));
    assert.equal(r.forgedPlayed, 0);
    assert.ok(r.continuity >= 0.99, `continuity ${r.continuity}`);
    assert.ok(r.pollutersForging > 0 && r.forgedDropped > 0, 'the polluters did forge, and were caught');
    assert.ok(r.localBans >= r.pollutersForging, 'every forging polluter was banned at least once');
    assert.ok(r.pollutersBanned > 0, 'the tracker de-listed polluters on three reports');
    assert.ok(r.offload > 0.5, `offload ${r.offload}`);
    assert.ok(r.joins > 0 && r.honestPeersAtEnd > 150);
    assert.equal(r.spins, 0, 'no core asked to be woken in the past');
  });

  it('is deterministic per seed', () => {
    const small = { ...base, peers: 40, durationMs: 12_000, measureFromMs: 6000, joinWindowMs: 4000 };
    assert.deepEqual(runSwarm(small), runSwarm(small));
  });
});
