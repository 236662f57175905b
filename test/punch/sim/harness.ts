// Drives BrokerCore, BrokerClientCore and AgentCore over a SimNetwork: one broker on a public
// address, peers behind NATs, every core's actions carried out at once and its wake-ups put on
// the simulation's clock. Not a test file itself.

import type { NatClassType, NatEndpoint } from '../../../src/nat/index.ts';
import {
  type AgentAction,
  AgentCore,
  type AgentCoreOptions,
  BrokerClientCore,
  BrokerCore,
  type BrokerCoreOptions,
  type Introduction,
  type PathKind,
} from '../../../src/punch/index.ts';
import { randomBytesFrom } from '../../support/prng.ts';
import { type SimHost, type SimNatType, SimNetwork, type SimSocket } from './network.ts';

export const BROKER: NatEndpoint = { address: '198.51.100.1', port: 3478 };
export const TOKEN = Buffer.from('let-me-in');

/** Calls `poll` at the core's wake-up time on the simulation clock (stale timers are skipped). */
class Waker {
  #at = Number.POSITIVE_INFINITY;
  readonly #net: SimNetwork;
  readonly #poll: (now: number) => void;
  readonly #next: () => number;

  constructor(net: SimNetwork, next: () => number, poll: (now: number) => void) {
    this.#net = net;
    this.#next = next;
    this.#poll = poll;
  }

  arm(): void {
    const at = this.#next();
    if (at === this.#at || !Number.isFinite(at)) {
      if (!Number.isFinite(at)) this.#at = Number.POSITIVE_INFINITY;
      return;
    }
    this.#at = at;
    this.#net.at(at, () => {
      if (this.#at !== at) return;
      this.#at = Number.POSITIVE_INFINITY;
      this.#poll(this.#net.nowMs);
    });
  }
}

export class SimBroker {
  readonly core: BrokerCore;
  readonly socket: SimSocket;
  readonly #net: SimNetwork;
  readonly #waker: Waker;

  constructor(net: SimNetwork, options: Partial<BrokerCoreOptions> = {}) {
    this.#net = net;
    this.core = new BrokerCore({
      authenticate: (_id, token) => token.equals(TOKEN),
      randomBytes: (n) => randomBytesFrom(net.random, n),
      ...options,
    });
    this.socket = net.host(BROKER.address, null).bind(BROKER.port);
    this.#waker = new Waker(
      net,
      () => this.core.nextWakeMs(),
      (now) => {
        this.core.poll(now);
        this.flush();
      },
    );
    this.socket.onMessage = (data, from) => {
      this.core.receive(data, from, this.#net.nowMs);
      this.flush();
    };
  }

  flush(): void {
    for (const t of this.core.drain()) this.socket.send(t.data, t.to);
    this.#waker.arm();
  }
}

export interface SimPeerOptions {
  readonly id: string;
  readonly natClass: NatClassType;
  readonly token?: Buffer;
  readonly agent?: Partial<AgentCoreOptions>;
}

/** A peer: one data socket shared by broker signalling and punching, plus prediction sockets. */
export class SimPeer {
  readonly id: string;
  readonly host: SimHost;
  readonly main: SimSocket;
  readonly client: BrokerClientCore;
  agent: AgentCore | null = null;
  readonly extra = new Map<number, SimSocket>();
  path: { socket: number; remote: NatEndpoint; kind: PathKind; atMs: number } | null = null;
  failed: string | null = null;
  pathLost = 0;
  maxExtraSockets = 0;
  readonly received: Buffer[] = [];
  introduction: Introduction | null = null;
  readonly #net: SimNetwork;
  readonly #natClass: NatClassType;
  readonly #agentOptions: Partial<AgentCoreOptions>;
  readonly #clientWaker: Waker;
  readonly #agentWaker: Waker;

  constructor(net: SimNetwork, host: SimHost, options: SimPeerOptions) {
    this.#net = net;
    this.id = options.id;
    this.host = host;
    this.#natClass = options.natClass;
    this.#agentOptions = options.agent ?? {};
    this.main = host.bind(5000);
    this.client = new BrokerClientCore({
      peerId: options.id,
      token: options.token ?? TOKEN,
      broker: BROKER,
      natClass: options.natClass,
      candidates: [{ kind: 'host', address: host.ip, port: this.main.port }],
    });
    this.#clientWaker = new Waker(
      net,
      () => this.client.nextWakeMs(),
      (now) => {
        this.client.poll(now);
        this.flush();
      },
    );
    this.#agentWaker = new Waker(
      net,
      () => this.agent?.nextWakeMs() ?? Number.POSITIVE_INFINITY,
      (now) => {
        this.agent?.poll(now);
        this.flush();
      },
    );
    this.main.onMessage = (data, from) => this.#onMessage(0, data, from);
  }

  start(): void {
    this.client.register(this.#net.nowMs);
    this.flush();
  }

  connect(target: string): number | null {
    const seq = this.client.connect(target, this.#net.nowMs);
    this.flush();
    return seq;
  }

  /** Sends application data on the path (a DATA frame). */
  sendData(payload: Buffer, header: Buffer): void {
    const path = this.path;
    if (path === null) throw new Error('no path');
    const socket = path.socket === 0 ? this.main : this.extra.get(path.socket);
    socket?.send(Buffer.concat([header, payload]), path.remote);
  }

  #onMessage(socket: number, data: Buffer, from: NatEndpoint): void {
    const now = this.#net.nowMs;
    if (data[0] === 0x05 && socket === 0) this.client.receive(data, from, now);
    else if (data[0] === 0x04 && data[2] === 3) this.received.push(data.subarray(12));
    else if (data[0] === 0x04) this.agent?.receive(data, from, socket, now);
    this.flush();
  }

  flush(): void {
    const now = this.#net.nowMs;
    for (const t of this.client.drain()) this.main.send(t.data, t.to);
    for (const event of this.client.drainEvents()) {
      if (event.type === 'introduce' && this.agent === null) {
        this.introduction = event.introduction;
        this.agent = new AgentCore({
          linkId: event.introduction.linkId,
          role: event.introduction.role,
          secret: event.introduction.secret,
          localNat: this.#natClass,
          remoteNat: event.introduction.natClass,
          remoteCandidates: event.introduction.candidates,
          random: this.#net.random,
          ...this.#agentOptions,
        });
        this.agent.start(now);
      }
    }
    if (this.agent !== null) for (const action of this.agent.drain()) this.#act(action, now);
    this.#clientWaker.arm();
    this.#agentWaker.arm();
  }

  #act(action: AgentAction, now: number): void {
    switch (action.type) {
      case 'send': {
        const socket = action.socket === 0 ? this.main : this.extra.get(action.socket);
        if (socket === undefined || socket.closed) return;
        if (action.ttl !== undefined) socket.ttl = action.ttl;
        socket.send(action.data, action.to);
        socket.ttl = 64;
        return;
      }
      case 'open-sockets': {
        for (let i = 1; i <= action.count; i++) {
          const socket = this.host.bind();
          socket.onMessage = (data, from) => this.#onMessage(i, data, from);
          this.extra.set(i, socket);
        }
        this.maxExtraSockets = Math.max(this.maxExtraSockets, this.extra.size);
        if (this.agent?.socketsOpened(action.count, now) !== true) this.#closeExtra(null);
        for (const a of this.agent?.drain() ?? []) this.#act(a, now);
        return;
      }
      case 'close-sockets':
        this.#closeExtra(action.keep);
        return;
      case 'path':
        this.path = { socket: action.socket, remote: action.remote, kind: action.kind, atMs: now };
        return;
      case 'path-lost':
        this.pathLost++;
        this.path = null;
        return;
      case 'failed':
        this.failed = action.reason;
        return;
    }
  }

  #closeExtra(keep: number | null): void {
    for (const [i, socket] of this.extra) {
      if (i === keep) continue;
      socket.close();
      this.extra.delete(i);
    }
  }

  /** Ends the link: the agent closes and every extra socket goes. */
  closeLink(): void {
    this.agent?.close();
    this.flush();
  }
}

export interface PairResult {
  readonly a: SimPeer;
  readonly b: SimPeer;
  readonly broker: SimBroker;
  readonly net: SimNetwork;
  readonly connected: boolean;
  /** Ms from the connect request to both sides having a path. */
  readonly timeMs: number;
}

/** Builds broker + two peers behind NATs of the given types, connects A→B, runs until done. */
export function runPair(
  typeA: SimNatType,
  typeB: SimNatType,
  seed: number,
  options: { agent?: Partial<AgentCoreOptions>; latencyMs?: number; loss?: number; untilMs?: number } = {},
): PairResult {
  const net = new SimNetwork({ seed, latencyMs: options.latencyMs ?? 10, loss: options.loss ?? 0 });
  const broker = new SimBroker(net);
  const natA = net.nat('203.0.113.1', typeA);
  const natB = net.nat('203.0.113.2', typeB);
  const a = new SimPeer(net, net.host('10.0.1.2', natA), {
    id: 'alice',
    natClass: typeA,
    agent: options.agent ?? {},
  });
  const b = new SimPeer(net, net.host('10.0.2.2', natB), {
    id: 'bob',
    natClass: typeB,
    agent: options.agent ?? {},
  });
  a.start();
  b.start();
  net.run(2000, () => a.client.registered && b.client.registered);
  const t0 = net.nowMs;
  a.connect('bob');
  const done = (): boolean => (a.path !== null && b.path !== null) || a.failed !== null || b.failed !== null;
  net.run(t0 + (options.untilMs ?? 15_000), done);
  const connected = a.path !== null && b.path !== null;
  return { a, b, broker, net, connected, timeMs: net.nowMs - t0 };
}
