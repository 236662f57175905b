/**
 * Where a tracker's state lives beyond its own memory. The default keeps nothing outside the
 * process; a shared store (Redis, tracker-redis.ts) mirrors each instance's nodes and channels
 * so several instances offer each other's peers and introduce them, and a restarted instance
 * loses no channel.
 * @module
 */
import type { BrokerCore, ExternalBrokerDirectory } from '../punch/index.ts';
import type { TrackerCore } from './tracker-core.ts';
import type { TrackerEvent } from './tracker-options.ts';

/** What a store is given when the tracker starts. */
export interface TrackerStoreHooks {
  readonly core: TrackerCore;
  readonly broker: BrokerCore;
  /** The tracker's wall clock, ms. */
  readonly now: () => number;
  /** Sends what the core queued (after the store drove it). */
  readonly flush: () => void;
  readonly flushBroker: () => void;
}

/** A shared store. */
export interface TrackerStore {
  /** Loads what the store keeps into the core and starts following other instances. */
  attach(hooks: TrackerStoreHooks): Promise<void>;
  /** Mirrors one core event (fire and forget; failures are counted in {@link errors}). */
  apply(event: TrackerEvent, nowMs: number): void;
  /** Store operations that failed. */
  readonly errors: number;
  /** Peers registered at other instances, for the broker's cross-instance introductions. */
  readonly directory?: ExternalBrokerDirectory;
  close(): Promise<void>;
}
