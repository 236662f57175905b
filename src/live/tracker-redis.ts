/**
 * The Redis store of a tracker (coming next).
 * @module
 */
import { InvalidOptionError } from '../errors/index.ts';
import type { TrackerStore } from './tracker-store.ts';

/** A tracker store on Redis. */
export class RedisTrackerStore {
  static async connect(
    _url: string,
    _options: { prefix?: string; signal?: AbortSignal },
  ): Promise<TrackerStore> {
    throw new InvalidOptionError('store', 'store: Redis is not available in this build yet');
  }
}
