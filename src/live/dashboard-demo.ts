/**
 * The dashboard of `porthole demo` (and of `porthole tracker --dashboard`): a {@link Dashboard} on
 * the swarm's snapshot, with the demo's buttons and player, and the process's metrics at
 * `/metrics`.
 * @module
 */
import type { Logger } from 'pino';
import { InvalidOptionError } from '../errors/index.ts';
import { parseHostPort } from '../internal/host-port.ts';
import { Dashboard, type DashboardActions } from './dashboard-server.ts';
import { type ProcessMetrics, startProcessMetrics } from './metrics-process.ts';
import type { MetricsProcess } from './metrics-server.ts';
import type { SourceStatsView } from './metrics-source.ts';
import type { SwarmView } from './metrics-swarm.ts';

/** What a dashboard needs of a running swarm: `LiveDemo` has all of it, a `Tracker` the first line. */
export interface DashboardSubject extends DashboardActions {
  swarm(): SwarmView;
  /** The live stream of a peer that plays (`GET /live.ts`). */
  playerUrl?(): string | undefined;
}

/** Settings of {@link startSwarmDashboard}. */
export interface SwarmDashboardOptions {
  /** `host:port` to listen on; default `127.0.0.1:0`. */
  readonly listen?: string;
  /** Required when `listen` is not loopback (16 characters at least). */
  readonly token?: string | undefined;
  /** The `process` label of the metrics; default `demo`. */
  readonly process?: MetricsProcess;
  /** Components whose stats() become `porthole_stat` (the tracker's, the source's). */
  readonly components?: Readonly<Record<string, () => unknown>>;
  /** The source's counters when it runs in this process (the demo's `sourceStats()`). */
  readonly source?: () => SourceStatsView | undefined;
  /** Show the demo's buttons (default: whichever actions the subject has). */
  readonly actions?: boolean;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

/** A running dashboard with its metrics. */
export interface SwarmDashboard extends AsyncDisposable {
  readonly dashboard: Dashboard;
  readonly metrics: ProcessMetrics;
  /** The link to open (with the token when there is one). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the dashboard of `subject` at `options.listen`.
 * @throws InvalidOptionError `ERR_INVALID_OPTION`: `--dashboard` not host:port, or `token` missing
 *   off loopback.
 */
export async function startSwarmDashboard(
  subject: DashboardSubject,
  options: SwarmDashboardOptions = {},
): Promise<SwarmDashboard> {
  const { host, port } = parseHostPort(options.listen ?? '127.0.0.1:0', {
    option: '--dashboard',
    minPort: 0,
  });
  if (port === undefined)
    throw new InvalidOptionError('--dashboard', `"${options.listen}" needs a port (host:port)`);
  const swarm = (): SwarmView => subject.swarm();
  const metrics = await startProcessMetrics({
    process: options.process ?? 'demo',
    swarm,
    ...(options.components === undefined ? {} : { components: options.components }),
    ...(options.source === undefined ? {} : { source: options.source }),
  });
  const bind = <K extends keyof DashboardActions>(name: K): Partial<DashboardActions> => {
    const fn = subject[name];
    return fn === undefined ? {} : { [name]: fn.bind(subject) };
  };
  const actions: DashboardActions =
    options.actions === false
      ? {}
      : { ...bind('addPeer'), ...bind('killPeer'), ...bind('addPolluter'), ...bind('impair') };
  const playerUrl = subject.playerUrl?.bind(subject);
  let dashboard: Dashboard;
  try {
    dashboard = await Dashboard.start({
      swarm,
      host,
      port,
      registry: metrics.registry,
      actions,
      ...(playerUrl === undefined ? {} : { player: playerUrl }),
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    await metrics.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await dashboard.close();
      await metrics.close();
    })();
    return closing;
  };
  return { dashboard, metrics, url: dashboard.url, close, [Symbol.asyncDispose]: close };
}
