/**
 * prom-client, loaded on first use: the metrics files are part of the live layer's face, and a
 * process that serves no metrics (a `porthole peer` without `--metrics`) does not load the package
 * and the OpenTelemetry API it pulls in (a few MB of every peer's memory). prom-client is CommonJS,
 * so the load is synchronous and the metrics API stays synchronous.
 * @module
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const require = createRequire(import.meta.url);
let loaded: typeof PromClient | undefined;

/** The prom-client module (loaded by the first call). */
export function promClient(): typeof PromClient {
  loaded ??= require('prom-client') as typeof PromClient;
  return loaded;
}
