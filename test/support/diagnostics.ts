import { channel, subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach } from 'node:test';

/** Messages published on one channel while recording; `stop()` unsubscribes (idempotent). */
export interface ChannelRecording<T> {
  readonly messages: T[];
  /** Resolves with the first message (already recorded or future) that `match` accepts; rejects after `timeoutMs`. */
  next(match?: (message: T) => boolean, timeoutMs?: number): Promise<T>;
  stop(): void;
}

/** Subscribes to `name` and keeps every message published on it. */
export function recordChannel<T>(name: string): ChannelRecording<T> {
  const messages: T[] = [];
  const waiters: { match: (m: T) => boolean; resolve: (m: T) => void }[] = [];
  const onMessage = (message: unknown): void => {
    const m = message as T;
    messages.push(m);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.match(m)) {
        waiters.splice(i, 1);
        w.resolve(m);
      }
    }
  };
  subscribe(name, onMessage);
  let stopped = false;
  return {
    messages,
    next(match = () => true, timeoutMs = 5000): Promise<T> {
      const found = messages.find(match);
      if (found !== undefined) return Promise.resolve(found);
      const { promise, resolve, reject } = Promise.withResolvers<T>();
      const timer = setTimeout(
        () => reject(new Error(`no matching message on ${name} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
      return promise;
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      unsubscribe(name, onMessage);
    },
  };
}

/**
 * Counts calls of `publish` on each named channel (a spy on the channel object itself, which
 * `diagnostics_channel.channel(name)` returns to every caller) without subscribing, so
 * `hasSubscribers` stays false. `restore()` removes the spies.
 */
export function spyPublishes(names: readonly string[]): {
  readonly counts: Map<string, number>;
  restore(): void;
} {
  const counts = new Map<string, number>();
  const patched = names.map((name) => {
    const ch = channel(name) as unknown as { publish: (m: unknown) => void };
    counts.set(name, 0);
    const own = Object.hasOwn(ch, 'publish');
    const original = ch.publish;
    // Node swaps the channel's prototype when the first subscriber comes and the last goes, so
    // the real publish is looked up at each call, not captured now.
    ch.publish = function (this: object, message: unknown): void {
      counts.set(name, (counts.get(name) ?? 0) + 1);
      const proto = Object.getPrototypeOf(this) as { publish: (m: unknown) => void };
      proto.publish.call(this, message);
    };
    return { ch, own, original };
  });
  return {
    counts,
    restore(): void {
      for (const { ch, own, original } of patched) {
        if (own) ch.publish = original;
        else delete (ch as { publish?: unknown }).publish;
      }
    },
  };
}

/**
 * A `RemoteInfo`-shaped sender whose fields count their reads: a diagnostic message copies
 * `address` and `port`, so `reads === 0` after a drop proves no message was built.
 */
export function countingRemote(
  address = '127.0.0.1',
  port = 9,
): {
  readonly from: { address: string; port: number; family: 'IPv4'; size: number };
  readonly reads: () => number;
} {
  let reads = 0;
  const from = {
    get address(): string {
      reads++;
      return address;
    },
    get port(): number {
      reads++;
      return port;
    },
    family: 'IPv4' as const,
    size: 0,
  };
  return { from, reads: () => reads };
}

/**
 * A `record(name)` for one test file: every recording it starts is stopped after each test, so a
 * test never sees another's messages.
 */
export function recorder(): <T>(name: string) => ChannelRecording<T> {
  const recordings: ChannelRecording<unknown>[] = [];
  afterEach(() => {
    for (const r of recordings.splice(0)) r.stop();
  });
  return <T>(name: string): ChannelRecording<T> => {
    const r = recordChannel<T>(name);
    recordings.push(r as ChannelRecording<unknown>);
    return r;
  };
}
