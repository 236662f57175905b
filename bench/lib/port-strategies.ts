// Port-finding strategies compared by bench/ports.ts: PortPool and the ways peers find ports.
//
// Every strategy binds and holds real sockets through the same bind primitive (bindUdpSocket,
// exclusive), so only the search differs. The baselines do what the peers do: try bind() and,
// on EADDRINUSE, move on. None of them remembers a port that another process holds.
import type { Socket } from 'node:dgram';
import {
  bindUdpSocket,
  isPortSpecificBindError,
  PortAllocator,
  type PortLease,
  PortPool,
  type PortRange,
  PortRangeExhaustedError,
} from '../../src/ports/index.ts';

/** One port (a single) or an even/odd pair (RTP P + RTCP P+1). */
export type AllocationKind = 'single' | 'pair';

/** Ports held by one allocation, one bound socket per port. */
export interface Allocation {
  readonly ports: readonly number[];
  readonly sockets: readonly Socket[];
}

/** A way to find free ports in a range and hold them. */
export interface PortStrategy {
  /** Name in the report (`porthole` is the PortPool). */
  readonly name: string;
  /** Who finds ports this way. */
  readonly peers: string;
  /** bind() calls made so far (failed ones included). */
  readonly bindCalls: number;
  /**
   * Brings the strategy to `count` held allocations before the measurement. The baselines bind
   * `candidates` (ports, or even first ports of pairs) directly, uncounted; PortPool can only be
   * filled through its own `bind()`, so it allocates (this is its first pass over the range).
   */
  fill(count: number, kind: AllocationKind, candidates: readonly number[]): Promise<Allocation[]>;
  /** Finds and binds one allocation; undefined when the strategy gives up. */
  allocate(kind: AllocationKind): Promise<Allocation | undefined>;
  release(allocation: Allocation): Promise<void>;
  /** Releases everything still held. */
  close(): Promise<void>;
}

/** Janus: random candidates per allocation before giving up. */
export const RANDOM_RETRY_ATTEMPTS = 100;

/** A small seeded PRNG (mulberry32): reproducible choices for the bench, `below(n)` in [0, n). */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  below(n: number): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000) * n);
  }
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/** What every baseline shares: the counted bind, pair binding, and the bookkeeping of what it holds. */
abstract class BindingStrategy implements PortStrategy {
  abstract readonly name: string;
  abstract readonly peers: string;
  bindCalls = 0;
  protected readonly range: PortRange;
  protected readonly size: number;
  protected readonly random: SeededRandom;
  /** Ports this process holds, by offset into the range (only some peers consult it). */
  protected readonly own: Uint8Array;
  readonly #host: string;
  readonly #family: 'udp4' | 'udp6';
  readonly #live = new Set<Allocation>();

  constructor(range: PortRange, host: string, seed: number) {
    this.range = range;
    this.size = range.last - range.first + 1;
    this.random = new SeededRandom(seed);
    this.own = new Uint8Array(this.size);
    this.#host = host;
    this.#family = host.includes(':') ? 'udp6' : 'udp4';
  }

  abstract allocate(kind: AllocationKind): Promise<Allocation | undefined>;

  async fill(count: number, kind: AllocationKind, candidates: readonly number[]): Promise<Allocation[]> {
    const filled: Allocation[] = [];
    // A candidate that a stranger took since the pre-flight check is skipped (the next one is as random).
    for (let i = 0; i < candidates.length && filled.length < count; i++) {
      const first = candidates[i]!;
      const allocation = kind === 'single' ? await this.#bindSingle(first) : await this.tryBindPair(first);
      if (allocation !== undefined) filled.push(allocation);
    }
    if (filled.length < count)
      throw new Error(`fill: only ${filled.length} of ${count} candidates could be bound`);
    return filled;
  }

  async release(allocation: Allocation): Promise<void> {
    if (!this.#live.delete(allocation)) return;
    for (const port of allocation.ports) this.own[port - this.range.first] = 0;
    await Promise.all(allocation.sockets.map(closeSocket));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#live].map((allocation) => this.release(allocation)));
  }

  /** One counted bind() of `port`; undefined on EADDRINUSE (someone holds it), throws otherwise. */
  protected async tryBind(port: number): Promise<Socket | undefined> {
    this.bindCalls++;
    try {
      return await bindUdpSocket({ family: this.#family, address: this.#host, port, exclusive: true });
    } catch (error) {
      if (isPortSpecificBindError(error)) return undefined;
      throw error;
    }
  }

  /** Binds P, then P+1; when P+1 is taken, closes P again. Two counted binds at most. */
  protected async tryBindPair(port: number): Promise<Allocation | undefined> {
    const rtp = await this.tryBind(port);
    if (rtp === undefined) return undefined;
    const rtcp = await this.tryBind(port + 1);
    if (rtcp === undefined) {
      await closeSocket(rtp);
      return undefined;
    }
    return this.hold([port, port + 1], [rtp, rtcp]);
  }

  protected hold(ports: readonly number[], sockets: readonly Socket[]): Allocation {
    for (const port of ports) this.own[port - this.range.first] = 1;
    const allocation = { ports, sockets };
    this.#live.add(allocation);
    return allocation;
  }

  /** Offset of the first even port of the range, and how many even pairs fit. */
  protected pairStarts(): { firstEven: number; count: number } {
    const firstEven = this.range.first % 2 === 0 ? 0 : 1;
    return { firstEven, count: Math.floor((this.size - firstEven) / 2) };
  }

  async #bindSingle(port: number): Promise<Allocation | undefined> {
    const socket = await this.tryBind(port);
    return socket === undefined ? undefined : this.hold([port], [socket]);
  }
}

/**
 * portfinder, werift: walk the range from its first port (pairs: from its first even port) and
 * take the first port that binds. No memory: ports this process already holds fail with
 * EADDRINUSE like any other.
 */
export class LinearScanStrategy extends BindingStrategy {
  readonly name = 'linear-scan';
  readonly peers = 'portfinder, werift';

  async allocate(kind: AllocationKind): Promise<Allocation | undefined> {
    if (kind === 'single') {
      for (let offset = 0; offset < this.size; offset++) {
        const port = this.range.first + offset;
        const socket = await this.tryBind(port);
        if (socket !== undefined) return this.hold([port], [socket]);
      }
      return undefined;
    }
    const { firstEven, count } = this.pairStarts();
    for (let i = 0; i < count; i++) {
      const pair = await this.tryBindPair(this.range.first + firstEven + 2 * i);
      if (pair !== undefined) return pair;
    }
    return undefined;
  }
}

/**
 * Janus: try a random port (pairs: a random even port, then P+1) up to
 * {@link RANDOM_RETRY_ATTEMPTS} times, then give up. No memory of what it holds or met.
 */
export class RandomRetryStrategy extends BindingStrategy {
  readonly name = 'random-retry';
  readonly peers = 'Janus';

  async allocate(kind: AllocationKind): Promise<Allocation | undefined> {
    const { firstEven, count } = this.pairStarts();
    for (let attempt = 0; attempt < RANDOM_RETRY_ATTEMPTS; attempt++) {
      if (kind === 'single') {
        const port = this.range.first + this.random.below(this.size);
        const socket = await this.tryBind(port);
        if (socket !== undefined) return this.hold([port], [socket]);
      } else {
        const pair = await this.tryBindPair(this.range.first + firstEven + 2 * this.random.below(count));
        if (pair !== undefined) return pair;
      }
    }
    return undefined;
  }
}

/**
 * mediasoup (PortManager), libnice, pion: start at a random port and walk the range once, wrapping
 * around. Like mediasoup it skips the ports it holds itself; ports another process holds are
 * forgotten, so every allocation that walks over them binds them again.
 */
export class RandomStartScanStrategy extends BindingStrategy {
  readonly name = 'random-start-scan';
  readonly peers = 'mediasoup, libnice, pion';

  async allocate(kind: AllocationKind): Promise<Allocation | undefined> {
    if (kind === 'single') {
      let offset = this.random.below(this.size);
      for (let attempt = 0; attempt < this.size; attempt++) {
        offset = (offset + 1) % this.size;
        if (this.own[offset] === 1) continue;
        const port = this.range.first + offset;
        const socket = await this.tryBind(port);
        if (socket !== undefined) return this.hold([port], [socket]);
      }
      return undefined;
    }
    const { firstEven, count } = this.pairStarts();
    let index = this.random.below(count);
    for (let attempt = 0; attempt < count; attempt++) {
      index = (index + 1) % count;
      const offset = firstEven + 2 * index;
      if (this.own[offset] === 1 || this.own[offset + 1] === 1) continue;
      const pair = await this.tryBindPair(this.range.first + offset);
      if (pair !== undefined) return pair;
    }
    return undefined;
  }
}

/**
 * porthole's PortPool with cooldown 0 (the baselines have none), binding through bindUdpSocket
 * with every bind() counted. Filled through its own `bind()`: that is its first pass, during which
 * it meets (and remembers) the ports another process holds.
 */
export class PortholeStrategy implements PortStrategy {
  readonly name = 'porthole';
  readonly peers = 'PortPool';
  bindCalls = 0;
  readonly pool: PortPool;
  readonly #live = new Set<PortLease>();
  #skewMs = 0;

  constructor(range: PortRange, host: string) {
    this.pool = new PortPool({
      range,
      host,
      family: host.includes(':') ? 'udp6' : 'udp4',
      cooldownMs: 0,
      warnEphemeralOverlap: false,
      now: () => performance.now() + this.#skewMs,
      bindSocket: (options) => {
        this.bindCalls++;
        return bindUdpSocket(options);
      },
    });
  }

  /** Moves the pool's clock `ms` ahead of real time (to let foreign back-offs run out). */
  skipAhead(ms: number): void {
    this.#skewMs += ms;
  }

  async fill(count: number, kind: AllocationKind): Promise<Allocation[]> {
    const filled: Allocation[] = [];
    for (let i = 0; i < count; i++) {
      const allocation = await this.allocate(kind);
      if (allocation === undefined) throw new Error(`fill: PortPool exhausted after ${i} of ${count}`);
      filled.push(allocation);
    }
    return filled;
  }

  async allocate(kind: AllocationKind): Promise<Allocation | undefined> {
    try {
      const lease = await this.pool.bind(kind === 'single' ? { count: 1 } : { count: 2, parity: 'even' });
      this.#live.add(lease);
      return lease;
    } catch (error) {
      if (error instanceof PortRangeExhaustedError) return undefined;
      throw error;
    }
  }

  async release(allocation: Allocation): Promise<void> {
    const lease = allocation as PortLease;
    if (!this.#live.delete(lease)) return;
    await lease.release();
  }

  async close(): Promise<void> {
    this.#live.clear();
    await this.pool.close();
  }
}

/**
 * The baselines' bookkeeping without sockets, for the bookkeeping benchmark: mediasoup's table of
 * used ports (one flag per port) searched from a random start, wrapping around.
 */
export class ScanBookkeeping {
  readonly #first: number;
  readonly #used: Uint8Array;
  readonly #random: SeededRandom;

  constructor(range: PortRange, seed: number) {
    this.#first = range.first;
    this.#used = new Uint8Array(range.last - range.first + 1);
    this.#random = new SeededRandom(seed);
  }

  /** Takes a free single (step 1) or even/odd pair (step 2, first port even); -1 when none. */
  take(count: 1 | 2): number {
    const size = this.#used.length;
    const firstAligned = count === 2 && this.#first % 2 === 1 ? 1 : 0;
    const starts = count === 1 ? size : Math.floor((size - firstAligned) / 2);
    let index = this.#random.below(starts);
    for (let attempt = 0; attempt < starts; attempt++) {
      index = index + 1 === starts ? 0 : index + 1;
      const offset = firstAligned + index * count;
      if (this.#used[offset] === 1 || (count === 2 && this.#used[offset + 1] === 1)) continue;
      this.#used[offset] = 1;
      if (count === 2) this.#used[offset + 1] = 1;
      return this.#first + offset;
    }
    return -1;
  }

  release(port: number, count: 1 | 2): void {
    this.#used[port - this.#first] = 0;
    if (count === 2) this.#used[port - this.#first + 1] = 0;
  }
}

/**
 * CPU milliseconds of this thread: throughput per CPU second does not drop when other processes
 * compete for the cores (the machines this runs on are small and shared).
 */
function cpuMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}

/**
 * PortAllocator take()+release() per CPU second with `held` allocations of `count` ports (no
 * sockets, cooldown 0, an injected clock that ticks once per operation), for about `ms` of CPU.
 */
export function measureAllocatorChurn(
  range: PortRange,
  count: 1 | 2,
  held: number,
  ms: number,
  seed: number,
): number {
  const allocator = new PortAllocator({ range, cooldownMs: 0 });
  const parity = count === 2 ? 'even' : 'any';
  const ports = new Int32Array(held);
  const random = new SeededRandom(seed);
  let now = 0;
  for (let i = 0; i < held; i++) ports[i] = allocator.take(count, parity, now);
  let ops = 0;
  const start = cpuMs();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 10_000; i++) {
      now++;
      const index = random.below(held);
      const port = ports[index]!;
      allocator.release(port, now);
      if (count === 2) allocator.release(port + 1, now);
      const next = allocator.take(count, parity, now);
      if (next < 0) throw new Error(`PortAllocator found no free ${count === 1 ? 'port' : 'pair'}`);
      ports[index] = next;
    }
    ops += 10_000;
    elapsed = cpuMs() - start;
  }
  return ops / (elapsed / 1000);
}

/** The same churn as {@link measureAllocatorChurn} on {@link ScanBookkeeping}. */
export function measureScanChurn(
  range: PortRange,
  count: 1 | 2,
  held: number,
  ms: number,
  seed: number,
): number {
  const scan = new ScanBookkeeping(range, seed);
  const ports = new Int32Array(held);
  const random = new SeededRandom(seed);
  for (let i = 0; i < held; i++) ports[i] = scan.take(count);
  let ops = 0;
  const start = cpuMs();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 10_000; i++) {
      const index = random.below(held);
      scan.release(ports[index]!, count);
      const next = scan.take(count);
      if (next < 0) throw new Error(`scan found no free ${count === 1 ? 'port' : 'pair'}`);
      ports[index] = next;
    }
    ops += 10_000;
    elapsed = cpuMs() - start;
  }
  return ops / (elapsed / 1000);
}
