// The server example of docs/arq.md ("A server"), run as printed in a child process (imports mapped
// to src/), survives a hostile peer: a single RST frame (07 03 <conv> <sn>) from the peer's address,
// and a well-behaved client that calls endpoint.close() (which resets its conversations). It keeps
// serving afterwards.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ArqEndpoint } from '../../src/arq/index.ts';
import { Demux, PortholeFrame } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { collect } from './helpers/peers.ts';

checkLeaks();

const src = fileURLToPath(new URL('../../src/', import.meta.url));
const HOST = '127.0.0.1';

async function startExample(t: {
  after(fn: () => unknown): void;
}): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const doc = await readFile(new URL('../../docs/arq.md', import.meta.url), 'utf8');
  const code = /## A server\n\n[\s\S]*?```ts\n([\s\S]*?)\n```/.exec(doc)?.[1];
  assert.ok(code, 'example block found');
  assert.doesNotMatch(code, /'error'/, "the example attaches no 'error' listener (that is the point)");
  const mapped = code.replace(
    /'porthole\/(\w+)'/g,
    (_, layer: string) => `'${join(src, layer, 'index.ts')}'`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'porthole-arq-server-'));
  const file = join(dir, 'server.ts');
  await writeFile(file, mapped);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  });
  const port = await waitFor(() => Number(/listening on (\d+)/.exec(out)?.[1] ?? 0), {
    what: 'the example to listen',
    detail: () => out,
  });
  return { child, port, output: () => out };
}

/** Opens conversation `conv` from a fresh muxed client endpoint and checks the echo. */
async function echoOnce(port: number, conv: number): Promise<{ close(): void }> {
  const socket = await bindUdpSocket({ family: 'udp4', address: HOST, port: 0 });
  const demux = new Demux(socket);
  const client = new ArqEndpoint({ demux });
  const stream = client.open({ address: HOST, port }, conv);
  stream.on('error', () => {});
  stream.write(Buffer.from(`hello ${conv}`));
  let echo: Buffer | undefined;
  void collect(stream, 1).then(([m]) => {
    echo = m;
  });
  try {
    await waitFor(() => echo !== undefined, { what: `the echo on conversation ${conv}` });
  } finally {
    if (echo === undefined) {
      client.close();
      demux.detach();
      socket.close();
    }
  }
  assert.equal(String(echo), `hello ${conv}`);
  return {
    close(): void {
      client.close(); // RST for every open conversation
      demux.detach();
      socket.close();
    },
  };
}

it("docs/arq.md's server survives a peer's RST and a client's endpoint.close()", async (t) => {
  const { child, port, output } = await startExample(t);
  // 1. A peer opens conversation 5 (PUSH sn 0), gets its echo, then sends one RST from its address.
  const peer = await bindUdpSocket({ family: 'udp4', address: HOST, port: 0 });
  t.after(() => peer.close());
  const conv = 5;
  const segment = Buffer.alloc(1 + 24 + 2);
  segment[0] = PortholeFrame.ARQ_SEGMENT;
  segment.writeUInt32LE(conv, 1);
  segment[5] = 81; // PUSH
  segment.writeUInt16LE(128, 7);
  segment.write('hi', 25);
  segment.writeUInt32LE(2, 21);
  let answered = false;
  peer.once('message', () => {
    answered = true;
  });
  peer.send(segment, port, HOST);
  await waitFor(() => answered, { what: 'the answer to conversation 5' });
  const rst = Buffer.alloc(10);
  rst[0] = PortholeFrame.ARQ_CONTROL;
  rst[1] = 3; // RST
  rst.writeUInt32LE(conv, 2);
  peer.send(rst, port, HOST);
  // 2. A well-behaved client finishes with endpoint.close(): its conversation is reset.
  const client = await echoOnce(port, 9);
  client.close();
  // 3. The server is still there and still serving.
  const later = await echoOnce(port, 10);
  later.close();
  const again = await echoOnce(port, 11);
  again.close();
  assert.equal(child.exitCode, null, `the server exited: ${output()}`);
  assert.doesNotMatch(output(), /ArqError|reset by the peer/);
});
