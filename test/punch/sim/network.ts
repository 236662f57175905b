// An in-memory network for punching tests: hosts behind NATs with the four classic behaviours
// (RFC 4787: EIM or endpoint-dependent mapping with random ports; EIF, ADF or APDF filtering; no
// hairpinning), public hosts, a fixed one-way latency, seeded loss, and a virtual clock that only
// moves when the event queue says so. Not a test file itself.
import type { NatEndpoint } from '../../../src/nat/index.ts';
import { mulberry32 } from '../../support/prng.ts';

export type SimMapping = 'EIM' | 'EDM';
export type SimFiltering = 'EIF' | 'ADF' | 'APDF';
export type SimNatType = 'full-cone' | 'address-restricted' | 'port-restricted' | 'symmetric';

/** Mapping and filtering of the four classic NAT types. */
export const NAT_BEHAVIOUR: Record<SimNatType, { mapping: SimMapping; filtering: SimFiltering }> = {
  'full-cone': { mapping: 'EIM', filtering: 'EIF' },
  'address-restricted': { mapping: 'EIM', filtering: 'ADF' },
  'port-restricted': { mapping: 'EIM', filtering: 'APDF' },
  symmetric: { mapping: 'EDM', filtering: 'APDF' },
};

export const SIM_PORT_MIN = 1024;
export const SIM_PORT_MAX = 65_535;

interface Mapping {
  readonly internal: NatEndpoint;
  readonly port: number;
  readonly contacted: Set<string>;
  lastOutMs: number;
}

/** One NAT with one public IP. */
export class SimNat {
  readonly publicIp: string;
  readonly mapping: SimMapping;
  readonly filtering: SimFiltering;
  /** EIM NATs keep the local port when it is free (set false to renumber, e.g. after a flush). */
  preservePorts = true;
  readonly #net: SimNetwork;
  readonly #byKey = new Map<string, Mapping>();
  readonly #byPort = new Map<number, Mapping>();
  mappingsCreated = 0;

  constructor(net: SimNetwork, publicIp: string, type: SimNatType) {
    this.#net = net;
    this.publicIp = publicIp;
    this.mapping = NAT_BEHAVIOUR[type].mapping;
    this.filtering = NAT_BEHAVIOUR[type].filtering;
  }

  /** A datagram leaves `from` (inside) for `to`: its public source. */
  outbound(from: NatEndpoint, to: NatEndpoint): NatEndpoint {
    const inside = `${from.address}:${from.port}`;
    const key = this.mapping === 'EIM' ? inside : `${inside}|${to.address}:${to.port}`;
    let m = this.#byKey.get(key);
    if (m !== undefined && this.#net.nowMs - m.lastOutMs > this.#net.mappingTimeoutMs) {
      this.#drop(key, m);
      m = undefined;
    }
    if (m === undefined) {
      m = {
        internal: from,
        port: this.#allocate(from.port),
        contacted: new Set(),
        lastOutMs: this.#net.nowMs,
      };
      this.#byKey.set(key, m);
      this.#byPort.set(m.port, m);
      this.mappingsCreated++;
    }
    m.lastOutMs = this.#net.nowMs;
    m.contacted.add(to.address).add(`${to.address}:${to.port}`);
    return { address: this.publicIp, port: m.port };
  }

  /** A datagram from `from` reaches public port `port`: the inside endpoint, or undefined (dropped). */
  inbound(port: number, from: NatEndpoint): NatEndpoint | undefined {
    const m = this.#byPort.get(port);
    if (m === undefined || this.#net.nowMs - m.lastOutMs > this.#net.mappingTimeoutMs) return undefined;
    if (this.filtering === 'ADF' && !m.contacted.has(from.address)) return undefined;
    if (this.filtering === 'APDF' && !m.contacted.has(`${from.address}:${from.port}`)) return undefined;
    return m.internal;
  }

  /** Forgets every mapping (conntrack flush). */
  flush(): void {
    this.#byKey.clear();
    this.#byPort.clear();
  }

  #drop(key: string, m: Mapping): void {
    this.#byKey.delete(key);
    this.#byPort.delete(m.port);
  }

  #allocate(preferred: number): number {
    if (this.mapping === 'EIM' && this.preservePorts && !this.#byPort.has(preferred)) return preferred;
    for (;;) {
      const port = SIM_PORT_MIN + Math.floor(this.#net.random() * (SIM_PORT_MAX - SIM_PORT_MIN + 1));
      if (!this.#byPort.has(port)) return port;
    }
  }
}

export type SimHandler = (data: Buffer, from: NatEndpoint) => void;

/** A bound UDP socket of a simulated host. */
export class SimSocket {
  readonly host: SimHost;
  readonly port: number;
  onMessage: SimHandler | null = null;
  closed = false;
  /** TTL of the datagram being sent (a probe with a low TTL does not leave the NAT's network). */
  ttl = 64;

  constructor(host: SimHost, port: number) {
    this.host = host;
    this.port = port;
  }

  get local(): NatEndpoint {
    return { address: this.host.ip, port: this.port };
  }

  send(data: Buffer, to: NatEndpoint): void {
    if (this.closed) throw new Error('send on a closed SimSocket');
    this.host.net.route(this, Buffer.from(data), to);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.release(this.port);
  }
}

/** A host with one IP, behind `nat` (or public when nat is null). */
export class SimHost {
  readonly net: SimNetwork;
  readonly ip: string;
  readonly nat: SimNat | null;
  readonly #sockets = new Map<number, SimSocket>();
  #nextPort = 5000;

  constructor(net: SimNetwork, ip: string, nat: SimNat | null) {
    this.net = net;
    this.ip = ip;
    this.nat = nat;
  }

  bind(port?: number): SimSocket {
    let p = port ?? this.#nextPort++;
    while (port === undefined && this.#sockets.has(p)) p = this.#nextPort++;
    if (this.#sockets.has(p)) throw new Error(`port ${p} in use`);
    const socket = new SimSocket(this, p);
    this.#sockets.set(p, socket);
    return socket;
  }

  socket(port: number): SimSocket | undefined {
    return this.#sockets.get(port);
  }

  release(port: number): void {
    this.#sockets.delete(port);
  }

  /** Sockets still open. */
  get openSockets(): number {
    return this.#sockets.size;
  }
}

interface SimEvent {
  readonly atMs: number;
  readonly order: number;
  readonly run: () => void;
}

export interface SimNetworkOptions {
  readonly seed: number;
  /** One-way latency of every datagram, ms. Default 10. */
  readonly latencyMs?: number;
  /** Probability a datagram is lost. Default 0. */
  readonly loss?: number;
  /** Idle mapping lifetime, ms. Default 60 000. */
  readonly mappingTimeoutMs?: number;
}

/** The network: hosts, NATs, the event queue and the clock. */
export class SimNetwork {
  nowMs = 0;
  readonly random: () => number;
  readonly latencyMs: number;
  readonly loss: number;
  readonly mappingTimeoutMs: number;
  delivered = 0;
  dropped = 0;
  readonly #nats = new Map<string, SimNat>();
  readonly #public = new Map<string, SimHost>();
  readonly #heap: SimEvent[] = [];
  #order = 0;

  constructor(options: SimNetworkOptions) {
    this.random = mulberry32(options.seed);
    this.latencyMs = options.latencyMs ?? 10;
    this.loss = options.loss ?? 0;
    this.mappingTimeoutMs = options.mappingTimeoutMs ?? 60_000;
  }

  nat(publicIp: string, type: SimNatType): SimNat {
    const nat = new SimNat(this, publicIp, type);
    this.#nats.set(publicIp, nat);
    return nat;
  }

  /** A host: public when `nat` is null, else on the NAT's private side. */
  host(ip: string, nat: SimNat | null): SimHost {
    const host = new SimHost(this, ip, nat);
    if (nat === null) this.#public.set(ip, host);
    else this.#public.set(`${nat.publicIp}|${ip}`, host);
    return host;
  }

  /** Runs `run` at `atMs` (not before now). */
  at(atMs: number, run: () => void): void {
    const event = { atMs: Math.max(atMs, this.nowMs), order: this.#order++, run };
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  /** Runs events in time order until `untilMs` or `stop()` is true; bounded in events. */
  run(untilMs: number, stop: () => boolean = () => false, maxEvents = 5_000_000): void {
    let events = 0;
    while (this.#heap.length > 0 && events < maxEvents && !stop()) {
      const next = this.#heap[0]!;
      if (next.atMs > untilMs) break;
      this.#pop();
      this.nowMs = next.atMs;
      next.run();
      events++;
    }
    if (events >= maxEvents) throw new Error(`simulation exceeded ${maxEvents} events`);
    if (!stop()) this.nowMs = Math.max(this.nowMs, untilMs);
  }

  route(socket: SimSocket, data: Buffer, to: NatEndpoint): void {
    const host = socket.host;
    const ttl = socket.ttl;
    let from = socket.local;
    const nat = host.nat;
    // Same LAN: deliver directly (host candidates of peers behind one NAT).
    if (nat !== null) {
      const lanPeer = this.#public.get(`${nat.publicIp}|${to.address}`);
      if (lanPeer !== undefined) {
        this.#deliver(lanPeer, to.port, data, from);
        return;
      }
      if (ttl <= 1) {
        this.dropped++;
        return; // TTL 1 expires at the NAT itself, before any mapping
      }
      from = nat.outbound(from, to);
    }
    if (this.random() < this.loss) {
      this.dropped++;
      return;
    }
    const destNat = this.#nats.get(to.address);
    if (destNat !== undefined) {
      if (destNat === nat) {
        this.dropped++; // no hairpinning
        return;
      }
      if (ttl <= 2) {
        this.dropped++; // a low-TTL punch dies on the way: it opened our NAT, it does not reach theirs
        return;
      }
      this.at(this.nowMs + this.latencyMs, () => {
        const inside = destNat.inbound(to.port, from);
        if (inside === undefined) {
          this.dropped++;
          return;
        }
        const target = this.#public.get(`${destNat.publicIp}|${inside.address}`);
        if (target !== undefined) this.#deliverNow(target, inside.port, data, from);
      });
      return;
    }
    const target = this.#public.get(to.address);
    if (target === undefined) {
      this.dropped++;
      return;
    }
    this.#deliver(target, to.port, data, from);
  }

  #deliver(host: SimHost, port: number, data: Buffer, from: NatEndpoint): void {
    this.at(this.nowMs + this.latencyMs, () => this.#deliverNow(host, port, data, from));
  }

  #deliverNow(host: SimHost, port: number, data: Buffer, from: NatEndpoint): void {
    const socket = host.socket(port);
    if (socket === undefined || socket.closed || socket.onMessage === null) {
      this.dropped++;
      return;
    }
    this.delivered++;
    socket.onMessage(data, from);
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
}
