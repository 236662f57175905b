// EdgeLinkTable's liveness on real loopback sockets with a clock the test moves: a dialled edge
// that stops answering is dead after EDGE_DEAD_AFTER_MS, but a keepalive tick that comes late (the
// process did not run: starved of CPU) declares nothing dead — the edge's answers of that time may
// still wait in the socket buffer. Behind the NAT lab on a loaded machine, peers dropped their one
// edge this way again and again (11 times in a run), each time losing its in-flight chunks.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EDGE_DEAD_AFTER_MS, EdgeLinkTable } from '../../src/live/index.ts';
import { Demux } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';

const closers: (() => void)[] = [];
after(() => {
  for (const close of closers.splice(0)) close();
});
checkLeaks();

/** An edge table that admits anyone, a peer table on a clock `offset` ms ahead of the real one. */
async function pair(): Promise<{
  edge: EdgeLinkTable;
  peer: EdgeLinkTable;
  endpoint: { address: string; port: number };
  clock: { offset: number };
  lost: string[];
}> {
  const clock = { offset: 0 };
  const lost: string[] = [];
  const sockets = await Promise.all(
    [0, 1].map(() => bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0 })),
  );
  const [edgeDemux, peerDemux] = sockets.map((s) => new Demux(s));
  const edge = new EdgeLinkTable({ demux: edgeDemux!, admit: () => ({ id: 'peer' }) });
  const peer = new EdgeLinkTable({
    demux: peerDemux!,
    now: () => performance.now() + clock.offset,
    onLost: (_link, why) => lost.push(why),
  });
  closers.push(() => {
    void edge.close();
    void peer.close();
    for (const s of sockets) s.close();
  });
  return { edge, peer, endpoint: { address: '127.0.0.1', port: sockets[0]!.address().port }, clock, lost };
}

describe('EdgeLinkTable liveness', () => {
  it('a late keepalive tick (the process did not run) declares no edge dead; an edge that went silent still dies', async () => {
    const { edge, peer, endpoint, clock, lost } = await pair();
    const link = await peer.dial(endpoint, Buffer.from('credential'));
    // The process "sleeps" 3 s: the next tick sees the edge last heard 3 s ago (> 1.5 s).
    clock.offset += 3 * EDGE_DEAD_AFTER_MS;
    await new Promise((r) => setTimeout(r, 1_000)); // several ticks: the late one, then on-time ones
    assert.deepEqual(lost, [], 'the late tick expired nothing; the answers to its ADMIT kept the edge');
    assert.equal(link.closed, false);
    // Now the edge is gone for real: on-time ticks declare it dead.
    await edge.close();
    await waitFor(() => lost.length > 0, { what: 'the silent edge declared dead', timeoutMs: 10_000 });
    assert.deepEqual(lost, ['dead']);
    assert.equal(link.closed, true);
  });
});
