// An in-memory NAT and RFC 5780 server for discovery tests: a scripted DiscoveryTransport whose
// NAT maps and filters as told (RFC 4787 behaviours) and whose clock only moves when sleep() is
// called. Not a test file itself.
import type { BindingProbe, BindingResult, DiscoveryTransport, NatEndpoint } from '../../src/nat/index.ts';

export type FakeMapping = 'EIM' | 'ADM' | 'APDM';
export type FakeFiltering = 'EIF' | 'ADF' | 'APDF';

export interface FakeNetworkSpec {
  readonly mapping?: FakeMapping;
  readonly filtering?: FakeFiltering;
  /** false: no NAT, the host has the public address (filtering still applies, as a firewall). */
  readonly nat?: boolean;
  readonly hairpin?: boolean;
  readonly preservePorts?: boolean;
  /** Idle lifetime of a binding, in seconds. */
  readonly lifetimeS?: number;
  /** Nothing gets through. */
  readonly blocked?: boolean;
  /** The server sends OTHER-ADDRESS (true), none (false), or one with the primary's IP ('same-ip'). */
  readonly otherAddress?: boolean | 'same-ip';
  /** The alternate IP neither receives nor sends. */
  readonly alternateDown?: boolean;
  /** The server honours RESPONSE-PORT. */
  readonly responsePort?: boolean;
  /** Transport exposes probeHairpin. */
  readonly canProbeHairpin?: boolean;
}

export const PRIMARY: NatEndpoint = { address: '198.51.100.1', port: 3478 };
export const ALTERNATE: NatEndpoint = { address: '198.51.100.2', port: 3479 };
export const PUBLIC_IP = '203.0.113.5';
export const PRIVATE_IP = '192.168.1.10';
const FIRST_LOCAL_PORT = 50_000;

interface Binding {
  readonly localPort: number;
  readonly externalPort: number;
  lastOutboundMs: number;
  readonly contacted: Set<string>;
}

export interface LoggedRequest extends BindingProbe {
  readonly atMs: number;
}

export class FakeNetwork {
  readonly spec: Required<FakeNetworkSpec>;
  readonly log: LoggedRequest[] = [];
  nowMs = 0;
  #nextExternalPort = 61_000;
  readonly #bindings = new Map<string, Binding>();
  readonly #byExternalPort = new Map<number, Binding>();
  readonly #timers: { atMs: number; resolve: () => void }[] = [];
  #timerScheduled = false;

  constructor(spec: FakeNetworkSpec = {}) {
    this.spec = {
      mapping: 'EIM',
      filtering: 'EIF',
      nat: true,
      hairpin: false,
      preservePorts: true,
      lifetimeS: 30,
      blocked: false,
      otherAddress: true,
      alternateDown: false,
      responsePort: true,
      canProbeHairpin: true,
      ...spec,
    };
  }

  /** This network as a DiscoveryTransport (with probeHairpin when `canProbeHairpin`). */
  transport(): DiscoveryTransport {
    return {
      bindingRequest: (probe, options) => this.bindingRequest(probe, options?.signal),
      localPort: (socketIndex) => this.localPort(socketIndex),
      isLocalAddress: (address) => this.isLocalAddress(address),
      ...(this.spec.canProbeHairpin ? { probeHairpin: this.#probeHairpin } : {}),
    };
  }

  /**
   * Virtual sleep: timers fire in order of their deadline once every pending async step has run
   * (checked with setImmediate), so concurrent sleepers see one consistent clock.
   */
  readonly sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      this.#timers.push({ atMs: this.nowMs + ms, resolve });
      this.#scheduleTimers();
    });

  #scheduleTimers(): void {
    if (this.#timerScheduled) return;
    this.#timerScheduled = true;
    setImmediate(() => {
      this.#timerScheduled = false;
      this.#timers.sort((a, b) => a.atMs - b.atMs);
      const timer = this.#timers.shift();
      if (timer === undefined) return;
      this.nowMs = Math.max(this.nowMs, timer.atMs);
      timer.resolve();
      if (this.#timers.length > 0) this.#scheduleTimers();
    });
  }

  async localPort(socketIndex: number): Promise<number> {
    return FIRST_LOCAL_PORT + socketIndex;
  }

  isLocalAddress(address: string): boolean {
    return address === (this.spec.nat ? PRIVATE_IP : PUBLIC_IP);
  }

  async bindingRequest(probe: BindingProbe, signal?: AbortSignal): Promise<BindingResult | 'timeout'> {
    signal?.throwIfAborted();
    this.log.push({ ...probe, atMs: this.nowMs });
    this.nowMs += 10;
    if (this.spec.blocked) return 'timeout';
    const localPort = FIRST_LOCAL_PORT + probe.socketIndex;
    const to = probe.server;
    if (this.spec.alternateDown && to.address === ALTERNATE.address) return 'timeout';
    const source = this.#outbound(localPort, to);
    // The server answers from the address the CHANGE-REQUEST asks for (RFC 5780 §6.1).
    const other = this.#serverOther(to);
    const origin: NatEndpoint = {
      address: probe.changeIp ? other.address : to.address,
      port: probe.changePort ? other.port : to.port,
    };
    if (this.spec.alternateDown && origin.address === ALTERNATE.address) return 'timeout';
    const destPort =
      this.spec.responsePort && probe.responsePort !== undefined ? probe.responsePort : source.port;
    const receiver = this.#inbound(destPort, origin);
    if (receiver !== FIRST_LOCAL_PORT + (probe.receiveOn ?? probe.socketIndex)) return 'timeout';
    return { mapped: source, otherAddress: this.#otherAttribute(), origin };
  }

  readonly #probeHairpin = async (from: number, to: number, target: NatEndpoint): Promise<boolean> => {
    const source = this.#outbound(FIRST_LOCAL_PORT + from, target);
    if (target.address !== PUBLIC_IP || !this.spec.hairpin) return false;
    const binding = this.#byExternalPort.get(target.port);
    return (
      binding !== undefined && binding.localPort === FIRST_LOCAL_PORT + to && source.port !== target.port
    );
  };

  #otherAttribute(): NatEndpoint | null {
    if (this.spec.otherAddress === false) return null;
    if (this.spec.otherAddress === 'same-ip') return { address: PRIMARY.address, port: ALTERNATE.port };
    return ALTERNATE;
  }

  #serverOther(to: NatEndpoint): NatEndpoint {
    return {
      address: to.address === PRIMARY.address ? ALTERNATE.address : PRIMARY.address,
      port: to.port === PRIMARY.port ? ALTERNATE.port : PRIMARY.port,
    };
  }

  /** A datagram leaves local port `localPort` for `to`: returns its public source. */
  #outbound(localPort: number, to: NatEndpoint): NatEndpoint {
    if (!this.spec.nat) {
      const firewall = this.#binding(`${localPort}`, localPort);
      firewall.contacted.add(to.address).add(`${to.address}:${to.port}`);
      firewall.lastOutboundMs = this.nowMs;
      return { address: PUBLIC_IP, port: localPort };
    }
    const key =
      this.spec.mapping === 'EIM'
        ? `${localPort}`
        : this.spec.mapping === 'ADM'
          ? `${localPort}|${to.address}`
          : `${localPort}|${to.address}:${to.port}`;
    const binding = this.#binding(key, localPort);
    binding.contacted.add(to.address).add(`${to.address}:${to.port}`);
    binding.lastOutboundMs = this.nowMs;
    return { address: PUBLIC_IP, port: binding.externalPort };
  }

  #binding(key: string, localPort: number): Binding {
    const existing = this.#bindings.get(key);
    if (existing !== undefined && this.#alive(existing)) return existing;
    const externalPort =
      !this.spec.nat || (this.spec.preservePorts && !this.#byExternalPort.has(localPort))
        ? localPort
        : this.#nextExternalPort++;
    const binding: Binding = { localPort, externalPort, lastOutboundMs: this.nowMs, contacted: new Set() };
    this.#bindings.set(key, binding);
    this.#byExternalPort.set(externalPort, binding);
    return binding;
  }

  #alive(binding: Binding): boolean {
    return this.nowMs - binding.lastOutboundMs < this.spec.lifetimeS * 1000;
  }

  /** A datagram from `from` reaches the public port `port`: returns the local port it lands on. */
  #inbound(port: number, from: NatEndpoint): number | undefined {
    const binding = this.#byExternalPort.get(port);
    if (binding === undefined || !this.#alive(binding)) return undefined;
    switch (this.spec.filtering) {
      case 'EIF':
        return binding.localPort;
      case 'ADF':
        return binding.contacted.has(from.address) ? binding.localPort : undefined;
      case 'APDF':
        return binding.contacted.has(`${from.address}:${from.port}`) ? binding.localPort : undefined;
    }
  }
}
