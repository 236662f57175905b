// A PunchLink is a DatagramLink: ARQ conversations run over a punched loopback link.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { ARQ_TURBO, ArqEndpoint, type ArqStream } from '../../src/arq/index.ts';
import type { DatagramLink } from '../../src/mux/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { linkAliceToBob, startLoopbackBroker } from './loopback.ts';

checkLeaks();

describe('ARQ over a PunchLink', () => {
  const closers: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('carries a conversation both ways; onDatagram takes one handler at a time', async () => {
    const { brokerAddress } = await startLoopbackBroker(closers);
    const signal = AbortSignal.timeout(20_000);
    const { aliceLink, bobLink } = await linkAliceToBob(brokerAddress, closers, signal);

    const links: DatagramLink[] = [aliceLink, bobLink]; // the type check is part of the test
    const alice = new ArqEndpoint({ link: links[0]!, ...ARQ_TURBO });
    const bobArq = new ArqEndpoint({ link: links[1]!, ...ARQ_TURBO, accept: 'any' });
    closers.push(() => alice.close());
    closers.push(() => bobArq.close());
    assert.throws(() => aliceLink.onDatagram(() => {}), { code: 'ERR_INVALID_STATE' });

    const conversation = once(bobArq, 'conversation') as Promise<[ArqStream]>;
    const stream = alice.open(1);
    const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(900, i));
    for (const c of chunks) stream.write(c);
    const [remote] = await conversation;
    const got: Buffer[] = [];
    remote.on('data', (m: Buffer) => got.push(m));
    await waitFor(() => got.length >= chunks.length, { what: 'all 50 chunks over ARQ', timeoutMs: 15_000 });
    assert.deepEqual(got, chunks);
    const reply = once(stream, 'data');
    remote.write(Buffer.from('thanks'));
    assert.equal(String((await reply)[0]), 'thanks');
    assert.ok(aliceLink.stats().sent >= chunks.length / 2, 'the segments went over the punch link');
  });
});
