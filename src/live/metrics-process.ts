/**
 * The metrics of one live process in one call, for the CLIs: a registry with the collectors that
 * fit the process (node, tracker, component stats, diagnostics channels) and, with `--metrics
 * host:port`, the `/metrics` server.
 * @module
 */
import type { Registry } from 'prom-client';
import { ComponentStats } from './metrics-collect.ts';
import { collectDiagnosticsMetrics, type DiagnosticsMetrics } from './metrics-diagnostics.ts';
import { collectNodeMetrics } from './metrics-node.ts';
import {
  createMetricsRegistry,
  type MetricsProcess,
  type MetricsServer,
  serveMetricsFlag,
} from './metrics-server.ts';
import { collectSourceMetrics, type SourceStatsView } from './metrics-source.ts';
import type { SwarmView } from './metrics-swarm.ts';
import { collectTrackerMetrics } from './metrics-tracker.ts';
import type { LivePeerStats } from './peer-stats.ts';

/** Settings of {@link startProcessMetrics}. */
export interface ProcessMetricsOptions {
  readonly process: MetricsProcess;
  /** `--metrics host:port`: serve `/metrics` there; absent: the registry only (a dashboard may mount it). */
  readonly listen?: string | undefined;
  /** A peer's or edge's core counters (`peer.node.core.stats()`): the `porthole_live_*` series. */
  readonly node?: () => LivePeerStats;
  /** The node's ARQ round-trip times, ms (`node.rttsMs()`): `porthole_live_arq_rtt_ms`. */
  readonly arqRttsMs?: () => readonly number[];
  /** A tracker's swarm (`tracker.swarm()`): the `porthole_tracker_*` series. */
  readonly swarm?: () => SwarmView;
  /** A source's counters (`source.stats()`; undefined while stopped): the `porthole_source_*` series. */
  readonly source?: () => SourceStatsView | undefined;
  /** Components whose `stats()` fields become `porthole_stat{component, field}` (`{ tracker: () => t.stats() }`). */
  readonly components?: Readonly<Record<string, () => unknown>>;
  /** This process's NAT class, for the punch series. */
  readonly natClass?: () => string | undefined;
  /** Node's process metrics too. Default true. */
  readonly defaultMetrics?: boolean;
}

/** A process's registry, its optional server, and the diagnostics subscription. */
export interface ProcessMetrics extends AsyncDisposable {
  readonly registry: Registry;
  readonly server: MetricsServer | undefined;
  /** Stops the server and unsubscribes from the diagnostics channels. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds the registry of a process and serves it at `listen`.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming `--metrics` when `listen` is not host:port.
 */
export async function startProcessMetrics(options: ProcessMetricsOptions): Promise<ProcessMetrics> {
  const registry = createMetricsRegistry(options.process, {
    ...(options.defaultMetrics === undefined ? {} : { defaultMetrics: options.defaultMetrics }),
  });
  if (options.node !== undefined)
    collectNodeMetrics(registry, {
      stats: options.node,
      ...(options.arqRttsMs === undefined ? {} : { arqRttsMs: options.arqRttsMs }),
    });
  if (options.swarm !== undefined) collectTrackerMetrics(registry, { swarm: options.swarm });
  if (options.source !== undefined) collectSourceMetrics(registry, { stats: options.source });
  const components = new ComponentStats(registry);
  for (const [name, stats] of Object.entries(options.components ?? {})) components.add(name, stats);
  const diagnostics: DiagnosticsMetrics = collectDiagnosticsMetrics(
    registry,
    options.natClass === undefined ? {} : { natClass: options.natClass },
  );
  let server: MetricsServer | undefined;
  try {
    server = await serveMetricsFlag(options.listen, registry);
  } catch (error) {
    diagnostics.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      diagnostics.close();
      await server?.close();
    })();
    return closing;
  };
  return { registry, server, close, [Symbol.asyncDispose]: close };
}
