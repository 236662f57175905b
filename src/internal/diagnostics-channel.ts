import { channel } from 'node:diagnostics_channel';
import type { Endpoint } from './endpoint.ts';

/**
 * A `node:diagnostics_channel` channel whose messages have the type `T`. It is the channel object
 * itself (no wrapper, no extra call): only `publish` is typed.
 *
 * The rule at every event site: `if (ch.hasSubscribers) ch.publish({ ... })` — the message object
 * is built only when someone listens, so an unobserved event costs one boolean read.
 */
export interface DiagnosticChannel<T> {
  readonly name: string | symbol;
  readonly hasSubscribers: boolean;
  publish(message: T): void;
}

/** Creates (once, at module load of the layer's diagnostics.ts) the channel named `name`. */
export function diagnosticChannel<T>(name: string): DiagnosticChannel<T> {
  return channel(name) as DiagnosticChannel<T>;
}

/** A fresh `{address, port}` of `from` (never the caller's object, which may be a RemoteInfo). */
export function diagnosticEndpoint(from: Endpoint): Endpoint {
  return { address: from.address, port: from.port };
}
