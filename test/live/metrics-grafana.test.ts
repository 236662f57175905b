// docs/grafana/porthole.json against real scrapes: every metric its queries name is served by a
// process's /metrics, and every label a query selects or groups by is one of that metric's labels.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { Registry } from 'prom-client';
import {
  collectDiagnosticsMetrics,
  collectNodeMetrics,
  collectSourceMetrics,
  collectTrackerMetrics,
  createChannel,
  createMetricsRegistry,
  LivePeerCore,
  type MetricsServer,
  serveMetrics,
} from '../../src/live/index.ts';
import { checkLeaks } from '../support/leaks.ts';

interface Panel {
  readonly title: string;
  readonly targets?: readonly { readonly expr: string }[];
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../docs/grafana/porthole.json', import.meta.url), 'utf8'),
) as {
  panels: Panel[];
  templating: { list: { query?: unknown }[] };
};
const queries = dashboard.panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
);

/** Labels Prometheus adds at scrape time or prom-client puts on every series. */
const IMPLICIT_LABELS = new Set(['instance', 'job', 'process']);

/** The metric names and the label names one PromQL expression uses. */
function parse(expr: string): { metrics: string[]; labels: string[] } {
  const metrics = [...expr.matchAll(/\bporthole_[a-z0-9_]+/g)].map((m) => m[0]);
  const labels: string[] = [];
  for (const m of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const matcher of m[1]!.split(',')) {
      const name = /^\s*([a-z_]+)\s*(=~|!=|!~|=)/.exec(matcher)?.[1];
      if (name !== undefined) labels.push(name);
    }
  }
  for (const m of expr.matchAll(/\bby\s*\(([^)]*)\)/g)) labels.push(...m[1]!.split(',').map((s) => s.trim()));
  return { metrics, labels };
}

const servers: MetricsServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});
checkLeaks();

async function scrape(registry: Registry): Promise<string> {
  const server = await serveMetrics({ registry });
  servers.push(server);
  const text = await (await fetch(server.url)).text();
  await server.close();
  return text;
}

describe('the Grafana dashboard', () => {
  it('has queries in every panel', () => {
    assert.ok(queries.length >= 20);
    for (const panel of dashboard.panels) {
      if ((panel as { type?: string }).type !== 'row')
        assert.ok((panel.targets ?? []).length > 0, panel.title);
    }
  });

  it('queries only metrics and labels that a process serves', async () => {
    // The tracker's registry, as `porthole tracker --metrics` builds it.
    const tracker = createMetricsRegistry('tracker');
    collectTrackerMetrics(tracker, { swarm: () => ({ channels: [] }) });
    const trackerDiagnostics = collectDiagnosticsMetrics(tracker);
    // A peer's, as `porthole peer --metrics` builds it.
    const peer = createMetricsRegistry('peer');
    const core = new LivePeerCore({ channel: createChannel(), role: 'peer' });
    collectNodeMetrics(peer, { stats: () => core.stats() });
    const peerDiagnostics = collectDiagnosticsMetrics(peer);
    // A source's, as `porthole source --metrics` builds it.
    const source = createMetricsRegistry('source');
    collectSourceMetrics(source, { stats: () => undefined });
    const texts = [await scrape(tracker), await scrape(peer), await scrape(source)];
    trackerDiagnostics.close();
    peerDiagnostics.close();
    const served = new Set(texts.flatMap((t) => [...t.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!)));
    const labelsOf = new Map<string, Set<string>>();
    for (const registry of [tracker, peer, source]) {
      for (const metric of registry.getMetricsAsArray() as unknown as {
        name: string;
        labelNames: string[];
      }[]) {
        labelsOf.set(metric.name, new Set(metric.labelNames));
      }
    }
    const template = JSON.stringify(dashboard.templating.list.map((v) => v.query ?? null));
    for (const { panel, expr } of [...queries, { panel: 'templating', expr: template }]) {
      const { metrics, labels } = parse(expr);
      assert.ok(metrics.length > 0 || panel === 'templating', `${panel}: no metric in ${expr}`);
      for (const name of metrics) assert.ok(served.has(name), `${panel}: ${name} is not served`);
      for (const label of labels) {
        if (IMPLICIT_LABELS.has(label)) continue;
        assert.ok(
          metrics.some((m) => labelsOf.get(m)?.has(label)),
          `${panel}: label ${label} is on none of ${metrics.join(', ')}`,
        );
      }
    }
  });
});
