import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { debuglog } from 'node:util';
import { ClosedError, InvalidOptionError, throwIfAborted } from '../errors/index.ts';
import { deleteNamespace, deleteNamespaceSync, listNamespaces } from './cleanup.ts';
import { LabExistsError, LabNetemUnsupportedError, LabUnsupportedError } from './errors.ts';
import { type NetemOptions, netemArgs } from './netem.ts';
import { registerLab } from './registry.ts';
import { NAT_LAN_IF, NAT_WAN_IF, natRuleset, natStateFlushCommands } from './rulesets.ts';
import { checkLabSupport } from './support.ts';
import { type RunToolOptions, runTool, type ToolOutput } from './tools.ts';
import {
  generatePrefix,
  hostAddress,
  INTERNET_ADDRESSES,
  isNatType,
  LAB_PREFIX_LENGTH,
  type LabNode,
  NAT_TYPES,
  type NatType,
  namespaceName,
  natLanAddress,
  natWanAddress,
  OPEN_HOST_ADDRESS,
  validatePrefix,
} from './topology.ts';
import { BRIDGE, LabUplinks, UplinkKind } from './uplink.ts';
import { checkUplinkRelaySupport, UPLINK_RELAY_PYTHON, type UplinkRelayStats } from './uplink-relay.ts';

const debug = debuglog('porthole:lab');

/** Settings of {@link NatLab.create}; all optional. */
export interface NatLabOptions {
  /** NAT types to build, each with a NAT namespace and a host namespace. Default all four. */
  readonly nats?: readonly NatType[];
  /** Also build `h-open`, a host on the internet bridge with no NAT (172.31.0.100). Default false. */
  readonly openHost?: boolean;
  /**
   * Namespace name prefix (`<prefix>-inet`, `<prefix>-nat-fc`, …). Default a fresh
   * `phl<pid>-<rand>`, unique per call so that labs can be built concurrently.
   */
  readonly prefix?: string;
  /** Impairments per NAT uplink, applied once built (see {@link NatLab.setNetem}). */
  readonly netem?: Readonly<Partial<Record<NatType, NetemOptions>>>;
  /**
   * Build these NATs' uplinks (all built NATs for `true`) as two TAP devices joined by a
   * user-space relay that emulates netem, instead of a veth pair: impairments then work on any
   * kernel with `/dev/net/tun` and python3. Default false (veth; netem through tc, and a relay
   * only if {@link NatLab.setNetem} finds no netem).
   */
  readonly impair?: boolean | readonly NatType[];
  /** Seed of the relays' loss / jitter / reorder generator (NAT index i uses seed + i). Default 1. */
  readonly impairSeed?: number;
  /** Tear down on SIGINT / SIGTERM / SIGHUP, then re-raise the signal. Default true. */
  readonly handleSignals?: boolean;
  readonly signal?: AbortSignal;
}

/** Conntrack UDP timeouts of one NAT namespace, in seconds (Linux defaults 30 and 120). */
export interface ConntrackTimeouts {
  /** `net.netfilter.nf_conntrack_udp_timeout`: a flow that has seen no reply. */
  readonly udpS?: number;
  /** `net.netfilter.nf_conntrack_udp_timeout_stream`: a flow that has seen replies. */
  readonly udpStreamS?: number;
}

/** Interface of a host namespace. */
const HOST_IF = 'eth0';
/** How long a killed child may take to exit on close, in milliseconds. */
const CHILD_EXIT_WAIT_MS = 2_000;

/**
 * A NAT lab in network namespaces: an "internet" bridge with two STUN addresses and a rendezvous
 * address, and per NAT type a NAT box (nftables) with one host behind it. Nothing is named in the
 * root namespace; every namespace name starts with the lab's unique prefix. Linux and root only.
 *
 * ```
 *  h-fc 10.0.1.2 --lan-- nat-fc 172.31.0.11 --+
 *  h-ar 10.0.2.2 --lan-- nat-ar 172.31.0.12 --+-- inet br0: 172.31.0.1, .2 (STUN), .3
 *  ...                                        |
 *  h-open 172.31.0.100 -----------------------+
 * ```
 */
export class NatLab {
  /** Prefix of every namespace of this lab. */
  readonly prefix: string;
  /** The NAT types built. */
  readonly nats: readonly NatType[];
  /** Whether `h-open` was built. */
  readonly openHost: boolean;
  /** Addresses of the internet namespace. */
  readonly internet: typeof INTERNET_ADDRESSES = INTERNET_ADDRESSES;
  readonly #namespaces: string[] = [];
  readonly #children = new Set<ChildProcess>();
  readonly #uplinks: LabUplinks;
  #unregister: () => void = () => {};
  #closing: Promise<void> | undefined;

  private constructor(prefix: string, nats: readonly NatType[], openHost: boolean, seed: number) {
    this.prefix = prefix;
    this.nats = nats;
    this.openHost = openHost;
    this.#uplinks = new LabUplinks(prefix, seed, (nat, args) =>
      this.spawn(`nat-${nat}`, UPLINK_RELAY_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] }),
    );
  }

  /**
   * Builds a lab and resolves once every namespace, link, route and ruleset is in place. On any
   * failure the partial lab is torn down before the promise rejects. Rejects with
   * `ERR_LAB_UNSUPPORTED`, `ERR_INVALID_OPTION`, `ERR_LAB_EXISTS`, `ERR_LAB_COMMAND_FAILED`,
   * `ERR_LAB_NETEM_UNSUPPORTED` (also when `impair` is asked for and the relay cannot run) or
   * `ERR_ABORTED`.
   */
  static async create(options: NatLabOptions = {}): Promise<NatLab> {
    throwIfAborted(options.signal);
    const nats = [...new Set(options.nats ?? NAT_TYPES)];
    for (const nat of nats) {
      if (!isNatType(nat)) throw new InvalidOptionError('nats', `unknown lab NAT type "${String(nat)}"`);
    }
    for (const nat of Object.keys(options.netem ?? {})) {
      if (!isNatType(nat) || !nats.includes(nat)) {
        throw new InvalidOptionError('netem', `netem given for "${nat}", which this lab does not build`);
      }
    }
    for (const netem of Object.values(options.netem ?? {})) netemArgs(netem);
    const impaired = options.impair === true ? nats : options.impair === false ? [] : (options.impair ?? []);
    for (const nat of impaired) {
      if (!nats.includes(nat))
        throw new InvalidOptionError('impair', `impair given for "${nat}", which this lab does not build`);
    }
    const seed = options.impairSeed ?? 1;
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new InvalidOptionError('impairSeed', 'impairSeed must be a whole number ≥ 0');
    const prefix = options.prefix === undefined ? generatePrefix() : validatePrefix(options.prefix);
    const support = await checkLabSupport();
    if (!support.supported) throw new LabUnsupportedError(support.reason);
    const taken = (await listNamespaces(options.signal)).filter((name) => name.startsWith(`${prefix}-`));
    if (taken.length > 0) throw new LabExistsError(prefix, taken);
    const relayMissing = impaired.length > 0 ? await checkUplinkRelaySupport() : undefined;
    if (relayMissing !== undefined) throw new LabNetemUnsupportedError(undefined, relayMissing);

    const lab = new NatLab(prefix, nats, options.openHost ?? false, seed);
    lab.#unregister = registerLab(lab, options.handleSignals ?? true);
    try {
      await lab.#buildInternet(options.signal);
      // allSettled: no NAT may still be building while a failure tears the lab down.
      const built = await Promise.allSettled(
        nats.map((nat) => lab.#buildNat(nat, impaired.includes(nat), options.signal)),
      );
      for (const outcome of built) if (outcome.status === 'rejected') throw outcome.reason;
      if (lab.openHost) await lab.#buildOpenHost(options.signal);
      for (const [nat, netem] of Object.entries(options.netem ?? {})) {
        if (netem !== undefined) await lab.setNetem(nat as NatType, netem);
      }
    } catch (error) {
      await lab.close();
      throw error;
    }
    debug('lab %s up: %s', prefix, nats.join(' '));
    return lab;
  }

  /** The namespace name of `node`; throws InvalidOptionError `ERR_INVALID_OPTION` if not in this lab. */
  namespace(node: LabNode): string {
    const ok =
      node === 'inet' ||
      (node === 'h-open' && this.openHost) ||
      this.nats.some((nat) => node === `nat-${nat}` || node === `h-${nat}`);
    if (!ok) throw new InvalidOptionError('node', `lab ${this.prefix} has no node "${node}"`);
    return namespaceName(this.prefix, node);
  }

  /** The address of the host behind `nat` (10.0.i.2). */
  hostAddress(nat: NatType): string {
    return hostAddress(nat);
  }

  /** The public (WAN) address of the NAT box of `nat` (172.31.0.1i). */
  natWanAddress(nat: NatType): string {
    return natWanAddress(nat);
  }

  /**
   * Runs `command args…` inside `node`'s namespace (`ip netns exec`) and resolves with its output
   * once it exits 0; rejects with `ERR_LAB_COMMAND_FAILED` / `ERR_LAB_COMMAND_TIMEOUT`.
   */
  exec(
    node: LabNode,
    command: string,
    args: readonly string[] = [],
    options: RunToolOptions = {},
  ): Promise<ToolOutput> {
    this.#assertOpen();
    return runTool('ip', ['netns', 'exec', this.namespace(node), command, ...args], options);
  }

  /**
   * Starts `command args…` inside `node`'s namespace and returns the child. The lab kills it
   * (SIGKILL) on close if it still runs. Default stdio: stdin ignored, stdout/stderr piped.
   */
  spawn(
    node: LabNode,
    command: string,
    args: readonly string[] = [],
    options: SpawnOptions = {},
  ): ChildProcess {
    this.#assertOpen();
    const child = spawn('ip', ['netns', 'exec', this.namespace(node), command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options,
    });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    child.once('error', () => this.#children.delete(child));
    return child;
  }

  /** Starts a Node script (this process's `node`, so TypeScript runs) inside `node`'s namespace. */
  spawnNode(
    node: LabNode,
    script: string,
    args: readonly string[] = [],
    options: SpawnOptions = {},
  ): ChildProcess {
    return this.spawn(node, process.execPath, [script, ...args], options);
  }

  /**
   * Sets (replaces) delay / jitter / loss / reordering on the uplink of `nat`, both directions;
   * all-zero options remove them. Uses tc netem on a veth uplink; on a kernel without netem it
   * first rebuilds the uplink as a relayed tap pair (see {@link NatLabOptions.impair}), and a
   * relayed uplink is always impaired by its relay. Rejects with `ERR_LAB_NETEM_UNSUPPORTED` when
   * neither netem nor the relay can run, `ERR_INVALID_OPTION` on bad values.
   */
  setNetem(nat: NatType, options: NetemOptions): Promise<void> {
    this.namespace(`nat-${nat}`);
    return this.#uplinks.setNetem(nat, options);
  }

  /** Removes the impairments of `nat`'s uplink (no-op when there are none). */
  clearNetem(nat: NatType): Promise<void> {
    this.namespace(`nat-${nat}`);
    return this.#uplinks.clearNetem(nat);
  }

  /** How `nat`'s uplink is built now: `veth` or `tap-relay`. */
  uplinkKind(nat: NatType): UplinkKind {
    this.namespace(`nat-${nat}`);
    return this.#uplinks.kind(nat);
  }

  /**
   * The relay's frame counters of `nat`'s uplink (`up` NAT → internet, `down` the reverse: read,
   * lost, overflow, sent), or undefined for a veth uplink.
   */
  uplinkStats(nat: NatType): Promise<UplinkRelayStats | undefined> {
    this.namespace(`nat-${nat}`);
    return this.#uplinks.stats(nat);
  }

  /** The `tc qdisc show` output of `nat`'s WAN interface (to check impairments). */
  async showQdisc(nat: NatType): Promise<string> {
    const { stdout } = await runTool('tc', [
      '-n',
      this.namespace(`nat-${nat}`),
      'qdisc',
      'show',
      'dev',
      NAT_WAN_IF,
    ]);
    return stdout;
  }

  /**
   * Forgets every translation of `nat`: `conntrack -F` in its namespace, plus the learned
   * full-cone mappings and address-restricted permissions of the fc / ar rulesets. Needs the
   * `conntrack` tool (apt package conntrack).
   */
  async flushConntrack(nat: NatType): Promise<void> {
    const ns = this.namespace(`nat-${nat}`);
    await runTool('ip', ['netns', 'exec', ns, 'conntrack', '-F']);
    const flush = natStateFlushCommands(nat);
    if (flush !== '') await runTool('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: flush });
  }

  /** Sets the conntrack UDP timeouts of `nat`'s namespace (per-namespace sysctls). */
  async setConntrackTimeouts(nat: NatType, timeouts: ConntrackTimeouts): Promise<void> {
    const ns = this.namespace(`nat-${nat}`);
    const settings: string[] = [];
    for (const [key, value] of [
      ['net.netfilter.nf_conntrack_udp_timeout', timeouts.udpS],
      ['net.netfilter.nf_conntrack_udp_timeout_stream', timeouts.udpStreamS],
    ] as const) {
      if (value === undefined) continue;
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new InvalidOptionError(key, `conntrack timeout ${key} must be a whole number ≥ 1 s`);
      }
      settings.push(`${key}=${value}`);
    }
    if (settings.length > 0) await runTool('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...settings]);
  }

  /**
   * Kills every child still running and deletes every namespace (which removes their links).
   * Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.#closing ??= this.#teardown();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Synchronous teardown for process exit (registry). */
  teardownSync(): void {
    if (this.#closing !== undefined && this.#namespaces.length === 0) return;
    this.#uplinks.close();
    for (const child of this.#children) child.kill('SIGKILL');
    this.#children.clear();
    for (const ns of this.#namespaces.splice(0).reverse()) deleteNamespaceSync(ns);
    this.#unregister();
  }

  async #teardown(): Promise<void> {
    this.#uplinks.close();
    const exits = [...this.#children].map((child) => waitForExit(child));
    for (const child of this.#children) child.kill('SIGKILL');
    await Promise.all(exits);
    this.#children.clear();
    for (const ns of this.#namespaces.splice(0).reverse()) await deleteNamespace(ns);
    this.#unregister();
    debug('lab %s down', this.prefix);
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new ClosedError(`NAT lab ${this.prefix}`);
  }

  async #addNamespace(node: LabNode, signal: AbortSignal | undefined): Promise<string> {
    throwIfAborted(signal);
    const ns = namespaceName(this.prefix, node);
    await runTool('ip', ['netns', 'add', ns]);
    this.#namespaces.push(ns);
    await runTool('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  async #buildInternet(signal: AbortSignal | undefined): Promise<void> {
    const ns = await this.#addNamespace('inet', signal);
    await ip(ns, 'link', 'add', BRIDGE, 'type', 'bridge');
    await ip(ns, 'link', 'set', BRIDGE, 'up');
    for (const address of Object.values(INTERNET_ADDRESSES)) {
      await ip(ns, 'addr', 'add', `${address}/${LAB_PREFIX_LENGTH}`, 'dev', BRIDGE);
    }
  }

  async #buildNat(nat: NatType, impaired: boolean, signal: AbortSignal | undefined): Promise<void> {
    const natNs = await this.#addNamespace(`nat-${nat}`, signal);
    const hostNs = await this.#addNamespace(`h-${nat}`, signal);
    // WAN: "wan" in the NAT namespace, its peer a port of the internet bridge.
    await this.#uplinks.build(nat, impaired ? UplinkKind.TAP_RELAY : UplinkKind.VETH, signal);
    // LAN: "lan" in the NAT namespace, "eth0" in the host namespace.
    await ip(natNs, 'link', 'add', NAT_LAN_IF, 'type', 'veth', 'peer', 'name', HOST_IF, 'netns', hostNs);
    await ip(natNs, 'addr', 'add', `${natLanAddress(nat)}/${LAB_PREFIX_LENGTH}`, 'dev', NAT_LAN_IF);
    await ip(natNs, 'link', 'set', NAT_LAN_IF, 'up');
    await ip(hostNs, 'addr', 'add', `${hostAddress(nat)}/${LAB_PREFIX_LENGTH}`, 'dev', HOST_IF);
    await ip(hostNs, 'link', 'set', HOST_IF, 'up');
    await ip(hostNs, 'route', 'add', 'default', 'via', natLanAddress(nat));
    await runTool('ip', ['netns', 'exec', natNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    throwIfAborted(signal);
    await runTool('ip', ['netns', 'exec', natNs, 'nft', '-f', '-'], { input: natRuleset(nat) });
  }

  async #buildOpenHost(signal: AbortSignal | undefined): Promise<void> {
    const inet = namespaceName(this.prefix, 'inet');
    const ns = await this.#addNamespace('h-open', signal);
    await ip(ns, 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', 'w-open', 'netns', inet);
    await ip(inet, 'link', 'set', 'w-open', 'master', BRIDGE, 'up');
    await ip(ns, 'addr', 'add', `${OPEN_HOST_ADDRESS}/${LAB_PREFIX_LENGTH}`, 'dev', HOST_IF);
    await ip(ns, 'link', 'set', HOST_IF, 'up');
  }
}

function ip(ns: string, ...args: string[]): Promise<ToolOutput> {
  return runTool('ip', ['-n', ns, ...args]);
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CHILD_EXIT_WAIT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
