// RFC 5780 §4.6 binding lifetime probe against a real NAT: the port-restricted lab NAT with its
// conntrack UDP timeouts shortened to 3 s, probed up to 8 s with porthole's server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkLabSupport, INTERNET_ADDRESSES, NatLab, readJsonLine } from '../../src/lab/index.ts';
import type { NatBehavior } from '../../src/nat/index.ts';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));
const support = await checkLabSupport();
const CONNTRACK_TIMEOUT_S = 3;

describe('binding lifetime probe behind a real NAT', {
  skip: support.supported ? false : support.reason,
}, () => {
  let lab: NatLab;
  before(async () => {
    lab = await NatLab.create({ nats: ['pr'] });
    await lab.setConntrackTimeouts('pr', { udpS: CONNTRACK_TIMEOUT_S, udpStreamS: CONNTRACK_TIMEOUT_S });
    const server = lab.spawnNode('inet', fixture('stun-server'), [
      INTERNET_ADDRESSES.stunPrimary,
      INTERNET_ADDRESSES.stunAlternate,
      '3478',
    ]);
    await readJsonLine(server, (v) => v.ready === true, { timeoutMs: 30_000 });
  });
  after(() => lab?.close());

  test(`brackets the ${CONNTRACK_TIMEOUT_S} s conntrack timeout`, async () => {
    const child = lab.spawnNode('h-pr', fixture('discover'), [
      `${INTERNET_ADDRESSES.stunPrimary}:3478`,
      'lifetime',
      '8',
      '1',
    ]);
    const result = await readJsonLine<NatBehavior>(child, (v) => 'natClass' in v, { timeoutMs: 60_000 });
    assert.equal(result.natClass, 'port-restricted');
    const lifetime = result.bindingLifetime;
    assert.ok(lifetime !== null, `lifetime measured: ${result.notes.join('; ')}`);
    assert.ok(lifetime.expiredS !== null, 'the binding expired within 8 s');
    // conntrack expires entries lazily (garbage collection), so allow one step of slack.
    assert.ok(lifetime.aliveS >= CONNTRACK_TIMEOUT_S - 1, JSON.stringify(lifetime));
    assert.ok(lifetime.expiredS <= CONNTRACK_TIMEOUT_S + 3, JSON.stringify(lifetime));
    assert.match(result.sentence, /bindings expire after/);
  });
});
