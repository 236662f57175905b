// A link on the relay ends the other side too: the CLOSE travels through the relayed channel.
// Two PunchLinks whose data sockets drop everything (no direct path can be made) fall back to an
// in-process relay that joins them; closing one must close the other with 'remote'.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { checkLeaks } from '../support/leaks.ts';
import { relayedLinks } from './relay-pair.ts';

checkLeaks();

describe('a link on the relay', () => {
  it('sends its CLOSE through the relay: the other side closes with "remote"', async () => {
    const { alice, bob, relays } = relayedLinks();
    const signal = AbortSignal.timeout(5000);
    await Promise.all([alice.ready(signal), bob.ready(signal)]);
    assert.equal(alice.path, 'relay');
    assert.equal(bob.path, 'relay');
    alice.send(Buffer.from('over the relay'));
    const first = await bob[Symbol.asyncIterator]().next();
    assert.equal(String(first.value), 'over the relay', 'payloads travel unframed and arrive');
    const paths: unknown[] = [];
    bob.on('path', (p) => paths.push(p));
    const closed = once(bob, 'close', { signal });
    await alice.close();
    assert.deepEqual(await closed, ['remote']);
    assert.equal(alice.closeReason, 'local');
    assert.equal(bob.stats().remoteCloses, 1);
    assert.deepEqual(paths, []);
    assert.equal(relays.closed, 2, 'both relayed channels closed');
  });
});
