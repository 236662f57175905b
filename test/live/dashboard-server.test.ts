// The dashboard's HTTP server over real sockets: the token (required off loopback, refused by every
// route without it), the live feed (one message per interval, a client that does not read is
// dropped), the demo's actions, the proxied live stream, and /metrics.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ErrorCode } from '../../src/errors/index.ts';
import {
  collectTrackerMetrics,
  createMetricsRegistry,
  Dashboard,
  type SwarmView,
} from '../../src/live/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';

const TOKEN = 'a-dashboard-token-for-tests';

function swarm(peers: string[], tick: { n: number }): SwarmView {
  tick.n++;
  const report = (i: number) => ({
    uploadBps: 1e6,
    downloadBps: 1e6,
    bytesFromEdge: tick.n * 100,
    bytesFromPeers: tick.n * 300,
    bytesUp: tick.n * 300,
    continuity: 1,
    latencyP50Ms: 500 + i,
    latencyP95Ms: 800,
    stalls: 0,
    bans: 0,
    chunksPlayed: tick.n * 4,
    chunksMissed: 0,
    neighbours: [{ id: 'edge', pathKind: 'edge', rxBps: 1e5, txBps: 0 }],
  });
  return {
    channels: [
      {
        id: 'cd'.repeat(32),
        nodes: [
          { id: 'edge', role: 'edge', report: { ...report(0), neighbours: [] } },
          ...peers.map((id, i) => ({ id, role: 'peer', natClass: 'symmetric', report: report(i) })),
        ],
        joins: peers.length + 1,
        leaves: 0,
        expired: 0,
      },
    ],
  };
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function fetchRaw(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      method: options.method ?? 'GET',
      headers: options.headers,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const open: Dashboard[] = [];
after(async () => {
  for (const d of open) await d.close();
});
checkLeaks();

describe('dashboard server', () => {
  it('refuses to listen beyond loopback without a token', async () => {
    await assert.rejects(Dashboard.start({ host: '0.0.0.0', swarm: () => ({ channels: [] }) }), {
      code: ErrorCode.INVALID_OPTION,
      option: 'token',
    });
    await assert.rejects(Dashboard.start({ token: 'short', swarm: () => ({ channels: [] }) }), {
      option: 'token',
    });
  });

  it('bound beyond loopback, every route refuses a request without the token', async () => {
    const tick = { n: 0 };
    const registry = createMetricsRegistry('tracker', { defaultMetrics: false });
    collectTrackerMetrics(registry, { swarm: () => swarm(['p1'], tick) });
    const d = await Dashboard.start({
      host: '0.0.0.0',
      token: TOKEN,
      registry,
      swarm: () => swarm(['p1'], tick),
      actions: { addPeer: async () => 'added' },
    });
    open.push(d);
    const { port } = d.address();
    for (const path of ['/', '/app.js', '/feed', '/live.ts', '/api/state', '/metrics', '/vendor/mpegts.js']) {
      const plain = await fetchRaw(port, path);
      assert.equal(plain.status, 401, `${path} without a token`);
      const wrong = await fetchRaw(port, path, { headers: { authorization: 'Bearer not-the-token-at-all' } });
      assert.equal(wrong.status, 401, `${path} with a wrong token`);
    }
    const refusedPost = await fetchRaw(port, '/api/add-peer', { method: 'POST', body: '{}' });
    assert.equal(refusedPost.status, 401);
    assert.equal(d.stats().actions, 0, 'nothing ran');

    // The link the server prints: the token in the URL, then kept in a cookie.
    const page = await fetchRaw(port, `/?token=${TOKEN}`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<video id="video"/);
    const cookie = String(page.headers['set-cookie']).split(';')[0]!;
    assert.match(cookie, /^porthole_dashboard=/);
    for (const path of [
      '/app.js',
      '/style.css',
      '/vendor/mpegts.js',
      '/vendor/uPlot.iife.min.js',
      '/api/state',
    ]) {
      assert.equal((await fetchRaw(port, path, { headers: { cookie } })).status, 200, path);
    }
    const metrics = await fetchRaw(port, '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(metrics.status, 200);
    assert.match(
      metrics.body,
      /porthole_tracker_nodes\{channel="cdcdcdcdcdcdcdcd",role="peer",process="tracker"\} 1/,
    );
    const added = await fetchRaw(port, '/api/add-peer', { method: 'POST', headers: { cookie }, body: '{}' });
    assert.deepEqual(JSON.parse(added.body), { ok: true, result: 'added' });
    assert.ok(d.stats().unauthorized >= 15);
    assert.ok(d.url.includes(`?token=${TOKEN}`));
  });

  it('on loopback without a token: the feed sends one message per interval and the state', async () => {
    const peers = ['p1', 'p2', 'p3'];
    const tick = { n: 0 };
    const d = await Dashboard.start({ swarm: () => swarm(peers, tick), intervalMs: 50 });
    open.push(d);
    const { port } = d.address();
    const events: string[] = [];
    const req = request({ host: '127.0.0.1', port, path: '/feed' });
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) => {
      req.on('response', resolve);
      req.end();
    });
    assert.equal(res.headers['content-type'], 'text/event-stream');
    let buffer = '';
    res.on('data', (c: Buffer) => {
      buffer += c.toString();
      const parts = buffer.split('\n\n');
      buffer = parts.pop()!;
      events.push(...parts);
    });
    await waitFor(() => events.length >= 4, { what: 'four feed events' });
    req.destroy();
    assert.match(events[0]!, /^retry: 2000\nevent: hello\ndata: /);
    const hello = JSON.parse(events[0]!.split('data: ')[1]!);
    assert.equal(hello.player, false);
    assert.ok(Array.isArray(hello.history));
    const message = JSON.parse(events[2]!.slice('data: '.length));
    assert.deepEqual(message.nodes.map((n: { id: string }) => n.id).sort(), ['edge', 'p1', 'p2', 'p3']);
    assert.equal(message.point.peers, 3);
    assert.equal(message.point.continuity, 1);
    assert.equal(message.point.offload, 0.75);
    assert.deepEqual(message.links[0], { from: 'edge', to: 'p1', kind: 'edge', bps: 1e5 });
    assert.equal(message.links.length, 3);
    const state = JSON.parse((await fetchRaw(port, '/api/state')).body);
    assert.ok(state.history.length >= 4);
    assert.equal((await fetchRaw(port, '/api/nothing', { method: 'POST' })).status, 404);
    const cross = await fetchRaw(port, '/api/add-peer', {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
    });
    assert.equal(cross.status, 403);
  });

  it('drops a feed client that does not read', async () => {
    const peers = Array.from({ length: 400 }, (_, i) => `peer-${i}`);
    const tick = { n: 0 };
    const d = await Dashboard.start({
      swarm: () => swarm(peers, tick),
      intervalMs: 5,
      maxBufferedBytes: 64 * 1024,
    });
    open.push(d);
    const req = request({ host: '127.0.0.1', port: d.address().port, path: '/feed' });
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) => {
      req.on('response', resolve);
      req.end();
    });
    res.pause(); // never reads
    await waitFor(() => d.stats().slowClientsDropped === 1, {
      what: 'the slow client dropped',
      detail: () => d.stats(),
    });
    assert.equal(d.stats().clients, 0);
    req.destroy();
  });

  it("proxies a peer's live stream at /live.ts and runs the actions", async () => {
    const upstream = createServer((req, res) => {
      assert.equal(req.url, '/live.ts');
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      const packet = Buffer.alloc(188, 0xff);
      packet[0] = 0x47;
      res.end(Buffer.concat([packet, packet]));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const calls: unknown[] = [];
    const tick = { n: 0 };
    const d = await Dashboard.start({
      swarm: () => swarm(['p1'], tick),
      player: () => `http://127.0.0.1:${upstreamPort}/live.ts`,
      actions: {
        killPeer: async (id) => calls.push(['kill', id]),
        impair: async (i) => calls.push(['impair', i]),
        addPolluter: async () => {
          throw new Error('no polluter today');
        },
      },
    });
    open.push(d);
    const { port } = d.address();
    const live = await fetchRaw(port, '/live.ts');
    assert.equal(live.status, 200);
    assert.equal(live.headers['content-type'], 'video/mp2t');
    assert.equal(Buffer.byteLength(live.body, 'latin1'), 376);
    const post = (path: string, body: unknown) =>
      fetchRaw(port, path, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
    assert.equal((await post('/api/kill-peer', { id: 'p1' })).status, 200);
    assert.equal((await post('/api/impair', { lossPercent: 250, delayMs: 20, peer: 'p1' })).status, 200);
    const failed = await post('/api/add-polluter', {});
    assert.equal(failed.status, 500);
    assert.match(failed.body, /no polluter today/);
    assert.equal((await post('/api/add-peer', {})).status, 404, 'no addPeer: no action');
    assert.equal((await fetchRaw(port, '/api/kill-peer', { method: 'POST', body: '{' })).status, 400);
    assert.deepEqual(calls, [
      ['kill', 'p1'],
      ['impair', { peer: 'p1', lossPercent: 100, delayMs: 20 }],
    ]);
    const state = JSON.parse((await fetchRaw(port, '/api/state')).body);
    assert.deepEqual(state.actions, { addPeer: false, killPeer: true, addPolluter: true, impair: true });
    await d.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  it('porthole tracker --dashboard: refuses a wildcard address without a token, and requests without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'porthole-dashboard-cli-'));
    const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
    const base = [main, 'tracker', '--listen', '127.0.0.1:0', '--stats', '0'];
    try {
      const refused = await promisify(execFile)(process.execPath, [
        ...base,
        '--generate-secret',
        join(dir, 'a'),
        '--dashboard',
        '0.0.0.0:0',
      ]).then(
        () => assert.fail('started without a token'),
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /needs a token/);
      const child = spawn(
        process.execPath,
        [
          ...base,
          '--generate-secret',
          join(dir, 'b'),
          '--dashboard',
          '0.0.0.0:0',
          '--dashboard-token',
          TOKEN,
          '--json',
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        const line = await waitFor(() => (out.includes('\n') ? out.split('\n')[0]! : undefined), {
          what: 'the tracker printing its addresses',
          timeoutMs: 60_000,
          intervalMs: 50,
        });
        const port = Number(new URL(JSON.parse(line).dashboard as string).port);
        for (const path of ['/', '/feed', '/api/state', '/metrics', '/live.ts']) {
          assert.equal((await fetchRaw(port, path)).status, 401, path);
        }
        assert.equal((await fetchRaw(port, `/?token=${TOKEN}`)).status, 200);
        const metrics = await fetchRaw(port, '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
        assert.match(metrics.body, /^porthole_tracker_channels\{process="tracker"\} 0$/m);
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
