/**
 * The `/metrics` endpoint of a live process: a prom-client registry per process and a small
 * node:http server (or a handler another server mounts) that renders it at each scrape.
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { InvalidOptionError } from '../errors/index.ts';
import { parseHostPort } from '../internal/host-port.ts';
import { promClient } from './metrics-prom.ts';

// node:http through getBuiltinModule, not an ESM import: the ESM facade reads every export,
// and node:http's lazy WebSocket getters then load undici (about 9 MB and 40 ms per process).
const { createServer } = process.getBuiltinModule('node:http');

/** The process kinds that serve metrics; the `process` label of every series. */
export type MetricsProcess = 'tracker' | 'edge' | 'source' | 'peer' | 'demo';

/** Settings of {@link createMetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** Also export Node's process metrics (`process_*`, `nodejs_*`). Default true. */
  readonly defaultMetrics?: boolean;
}

/** A fresh registry whose series all carry `process="<kind>"`. */
export function createMetricsRegistry(
  process: MetricsProcess,
  options: MetricsRegistryOptions = {},
): Registry {
  const { collectDefaultMetrics, Registry } = promClient();
  const registry = new Registry();
  registry.setDefaultLabels({ process });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Answers `GET /metrics` (HEAD too) from `registry`; returns false for any other path so a server
 * mounting it can route the rest.
 */
export function metricsHandler(registry: Registry): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`);
      },
    );
    return true;
  };
}

/** Settings of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  readonly registry: Registry;
  /** Address to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** TCP port; 0 picks one. Default 0. */
  readonly port?: number;
  readonly signal?: AbortSignal;
}

/** A listening `/metrics` server. */
export interface MetricsServer extends AsyncDisposable {
  /** `http://host:port/metrics`. */
  readonly url: string;
  address(): AddressInfo;
  /** Stops listening and ends open connections. Idempotent. */
  close(): Promise<void>;
}

/** Starts an HTTP server answering `/metrics` from `registry` (404 elsewhere). */
export async function serveMetrics(options: ServeMetricsOptions): Promise<MetricsServer> {
  const handle = metricsHandler(options.registry);
  const server = createServer((req, res) => {
    if (!handle(req, res)) res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics\n');
  });
  await listen(server, options.host ?? '127.0.0.1', options.port ?? 0, options.signal);
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= closeServer(server);
    return closing;
  };
  return {
    url: `${httpOrigin(address)}/metrics`,
    address: () => address,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * `--metrics host:port` of a CLI: serves `registry` there, or does nothing when `spec` is absent.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming `--metrics` for text that is not host:port.
 */
export async function serveMetricsFlag(
  spec: string | undefined,
  registry: Registry,
): Promise<MetricsServer | undefined> {
  if (spec === undefined) return undefined;
  const { host, port } = parseHostPort(spec, { option: '--metrics', minPort: 0 });
  if (port === undefined) throw new InvalidOptionError('--metrics', `"${spec}" needs a port (host:port)`);
  return serveMetrics({ registry, host, port });
}

/** `http://address:port`, IPv6 bracketed. */
export function httpOrigin(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Listens, rejecting on a bind error or abort. */
export function listen(server: Server, host: string, port: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    };
    const onAbort = (): void => {
      server.off('error', onError);
      server.close();
      reject(signal?.reason);
    };
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** Closes a server and every connection it holds. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
