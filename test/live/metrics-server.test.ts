// /metrics over a real HTTP server: the text format, the process label, 404 and 405, and the
// --metrics flag's parsing.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors/index.ts';
import {
  ComponentStats,
  createMetricsRegistry,
  type MetricsServer,
  serveMetrics,
  serveMetricsFlag,
} from '../../src/live/index.ts';
import { checkLeaks } from '../support/leaks.ts';

const servers: MetricsServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});
checkLeaks();

describe('metrics server', () => {
  it('serves the registry at /metrics, with Node process metrics and the process label', async () => {
    const registry = createMetricsRegistry('source');
    let published = 0;
    new ComponentStats(registry).add('source', () => ({
      chunks: published,
      dropped: { queueFull: 2 },
      name: 'x',
    }));
    const server = await serveMetrics({ registry });
    servers.push(server);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    published = 7;
    const res = await fetch(server.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^porthole_stat\{component="source",field="chunks",process="source"\} 7$/m);
    assert.match(text, /^porthole_stat\{component="source",field="dropped.queueFull",process="source"\} 2$/m);
    assert.match(text, /^process_cpu_user_seconds_total\{process="source"\} /m);
    published = 9;
    assert.match(
      await (await fetch(server.url)).text(),
      /field="chunks",process="source"\} 9$/m,
      'read at scrape',
    );
    assert.equal((await fetch(server.url.replace('/metrics', '/'))).status, 404);
    assert.equal((await fetch(server.url, { method: 'POST' })).status, 405);
    await server.close();
    await server.close();
  });

  it('--metrics host:port', async () => {
    const registry = createMetricsRegistry('peer', { defaultMetrics: false });
    assert.equal(await serveMetricsFlag(undefined, registry), undefined);
    await assert.rejects(serveMetricsFlag('127.0.0.1', registry), {
      code: ErrorCode.INVALID_OPTION,
      option: '--metrics',
    });
    await assert.rejects(serveMetricsFlag('nope:99999', registry), { option: '--metrics' });
    const server = await serveMetricsFlag('127.0.0.1:0', registry);
    servers.push(server!);
    assert.equal((await fetch(server!.url)).status, 200);
  });
});
