// LiveSource following the tracker's edge list: a real Tracker on loopback, edges registered there
// with tokens (each an IngestServer on its own socket), the source joined with its channel key.
// The source publishes to the edges the tracker names, a second edge joining later included.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { IngestServer, LiveSource, Tracker, TrackerSession } from '../../src/live/index.ts';
import { FileTsInput } from '../../src/live/source-file.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { CHANNEL, loopbackDemux, SECRET, tokenFor } from './tracker-helpers.ts';

const VECTOR = new URL('../vectors/live/ts/h264-aac-2s.mpegts', import.meta.url).pathname;
const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});
checkLeaks();

async function edge(tracker: Tracker, id: string): Promise<{ chunks: number[] }> {
  const { demux, close } = await loopbackDemux();
  const server = new IngestServer({ demux, channel: CHANNEL });
  const chunks: number[] = [];
  server.on('chunk', (_bytes, chunk) => chunks.push(chunk.seq));
  const session = await TrackerSession.join({
    tracker: { address: '127.0.0.1', port: tracker.address().port },
    demux,
    token: tokenFor(id, 'edge'),
    channelId: CHANNEL.id,
    peerId: id,
    role: 'edge',
    edgeEndpoint: { address: '127.0.0.1', port: demux.socket.address().port },
  });
  closers.push(async () => {
    await session.close();
    await server.close();
    await close();
  });
  return { chunks };
}

describe('LiveSource with a tracker session', () => {
  it('publishes to the edges the tracker names, and to an edge that joins later', async () => {
    const tracker = await Tracker.listen({ address: '127.0.0.1', port: 0, secret: SECRET });
    closers.push(() => tracker.close());
    const first = await edge(tracker, 'edge-a');
    const { demux, close } = await loopbackDemux();
    const session = await TrackerSession.join({
      tracker: { address: '127.0.0.1', port: tracker.address().port },
      demux,
      channelId: CHANNEL.id,
      peerId: 'source',
      role: 'source',
      signer: CHANNEL,
    });
    const source = await LiveSource.start({
      channel: CHANNEL,
      input: () => new FileTsInput({ path: VECTOR }),
      demux,
      edgeDirectory: session,
    });
    closers.push(async () => {
      await source.close();
      await session.close();
      await close();
    });
    await waitFor(() => first.chunks.length >= 2, {
      what: 'chunks at the first edge',
      detail: () => source.stats(),
    });
    const second = await edge(tracker, 'edge-b');
    await waitFor(() => second.chunks.length >= 2, {
      what: 'chunks at the edge that joined later',
      detail: () => [session.edges, source.stats().edges],
    });
    assert.equal(source.stats().edges.length, 2);
    assert.ok(source.stats().edges.every((e) => e.up));
  });
});
