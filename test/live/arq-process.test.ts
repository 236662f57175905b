// The peer protocol on ARQ over a datagram link between two real processes: an edge and a peer,
// each on its own UDP socket (loopback), the link a demuxLink to the other's address. The peer
// plays 20 consecutive chunks, each verified. The relayed variant over a TURN PunchLink (root,
// coturn) is arq-relay.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkLeaks } from '../support/leaks.ts';

checkLeaks();

const fixture = fileURLToPath(new URL('./fixtures/arq-node.ts', import.meta.url));

function start(role: string) {
  const child = spawn(process.execPath, [fixture, role], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const port = new Promise<number>((resolve) => {
    lines.on('line', (line) => {
      if (line.startsWith('port ')) resolve(Number(line.slice(5)));
    });
  });
  return { child, lines, port };
}

describe('LiveArqNode between two processes', () => {
  it('streams signed chunks from an edge process to a peer process that plays them in order', async () => {
    const edge = start('edge');
    const peer = start('peer');
    const guard = setTimeout(() => {
      edge.child.kill();
      peer.child.kill();
    }, 30_000);
    try {
      const [edgePort, peerPort] = await Promise.all([edge.port, peer.port]);
      const played: number[] = [];
      peer.lines.on('line', (line) => {
        if (line.startsWith('played ')) played.push(Number(line.slice(7)));
      });
      edge.child.stdin!.write(`${peerPort}\n`);
      peer.child.stdin!.write(`${edgePort}\n`);
      const [code] = await once(peer.child, 'exit');
      assert.equal(code, 0, 'the peer played 20 chunks and exited cleanly');
      assert.equal(played.length, 20);
      for (let i = 1; i < played.length; i++) assert.equal(played[i], played[i - 1]! + 1);
      assert.equal(played[0]! % 4, 0, 'it started at a random-access chunk');
    } finally {
      clearTimeout(guard);
      edge.child.stdin!.end();
      peer.child.stdin!.end();
      if (edge.child.exitCode === null) await once(edge.child, 'exit');
    }
  });
});
