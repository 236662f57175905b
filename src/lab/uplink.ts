import type { ChildProcess } from 'node:child_process';
import { debuglog } from 'node:util';
import { throwIfAborted } from '../errors/index.ts';
import { LabCommandError, LabNetemUnsupportedError } from './errors.ts';
import { isNetemMissing, type NetemOptions, netemArgs } from './netem.ts';
import { UPLINK_RELAY_SCRIPT } from './relay-script.ts';
import { NAT_WAN_IF } from './rulesets.ts';
import { runTool } from './tools.ts';
import { LAB_PREFIX_LENGTH, LabNatType, type NatType, namespaceName, natWanAddress } from './topology.ts';
import {
  checkUplinkRelaySupport,
  UPLINK_RELAY_QUEUE_CAP,
  UplinkRelay,
  type UplinkRelayStats,
} from './uplink-relay.ts';

const debug = debuglog('porthole:lab');

/** Bridge name in the internet namespace. */
export const BRIDGE = 'br0';

/**
 * How a NAT's uplink (its `wan` ↔ its port `w-<type>` on the internet bridge) is built:
 * `veth` (a veth pair, impaired with tc netem when asked) or `tap-relay` (two TAP devices joined by
 * a user-space relay that delays and drops frames, for kernels without netem).
 */
export const UplinkKind = { VETH: 'veth', TAP_RELAY: 'tap-relay' } as const;
export type UplinkKind = (typeof UplinkKind)[keyof typeof UplinkKind];

/** Starts `python3 args…` in the namespace of `nat`'s NAT box with stdin, stdout and stderr piped. */
export type SpawnRelay = (nat: NatType, args: readonly string[]) => ChildProcess;

/** Name of `nat`'s port on the internet bridge (inside the internet namespace; ≤ 15 chars). */
export function bridgePort(nat: NatType): string {
  return `w-${nat}`;
}

function ip(ns: string, ...args: string[]): Promise<unknown> {
  return runTool('ip', ['-n', ns, ...args]);
}

/**
 * The uplinks of one lab: builds each as a veth pair or a relayed tap pair, and applies
 * impairments through tc netem (veth) or the relay (tap-relay). A veth uplink is converted to a
 * relayed one the first time an impairment is asked for on a kernel without netem.
 */
export class LabUplinks {
  readonly #prefix: string;
  readonly #seed: number;
  readonly #spawnRelay: SpawnRelay;
  readonly #relays = new Map<NatType, UplinkRelay>();
  readonly #converting = new Map<NatType, Promise<UplinkRelay>>();

  /** `seed`: the relay of NAT index i seeds its generator with `seed + i`. */
  constructor(prefix: string, seed: number, spawnRelay: SpawnRelay) {
    this.#prefix = prefix;
    this.#seed = seed;
    this.#spawnRelay = spawnRelay;
  }

  /** Builds `nat`'s uplink, addressed and up. The internet namespace and its bridge must exist. */
  async build(nat: NatType, kind: UplinkKind, signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    if (kind === UplinkKind.TAP_RELAY) {
      await this.#buildRelayed(nat, signal);
      return;
    }
    const natNs = namespaceName(this.#prefix, `nat-${nat}`);
    const inetNs = namespaceName(this.#prefix, 'inet');
    await ip(
      natNs,
      'link',
      'add',
      NAT_WAN_IF,
      'type',
      'veth',
      'peer',
      'name',
      bridgePort(nat),
      'netns',
      inetNs,
    );
    await this.#finish(nat);
  }

  /** How `nat`'s uplink is built now. */
  kind(nat: NatType): UplinkKind {
    return this.#relays.has(nat) ? UplinkKind.TAP_RELAY : UplinkKind.VETH;
  }

  /** The relay's counters of `nat`'s uplink, or undefined for a veth uplink. */
  async stats(nat: NatType): Promise<UplinkRelayStats | undefined> {
    const relay = this.#relays.get(nat) ?? (await this.#converting.get(nat));
    return relay?.stats();
  }

  /** Process id of `nat`'s relay, or undefined for a veth uplink. */
  relayPid(nat: NatType): number | undefined {
    return this.#relays.get(nat)?.pid;
  }

  /** See `NatLab.setNetem`. */
  async setNetem(nat: NatType, options: NetemOptions): Promise<void> {
    const args = netemArgs(options);
    const relay = this.#relays.get(nat) ?? (await this.#converting.get(nat));
    if (relay !== undefined) {
      await relay.set(options);
      return;
    }
    if (args.length === 0) {
      await this.clearNetem(nat);
      return;
    }
    const natNs = namespaceName(this.#prefix, `nat-${nat}`);
    const inetNs = namespaceName(this.#prefix, 'inet');
    try {
      await runTool('tc', ['-n', natNs, 'qdisc', 'replace', 'dev', NAT_WAN_IF, 'root', ...args]);
      await runTool('tc', ['-n', inetNs, 'qdisc', 'replace', 'dev', bridgePort(nat), 'root', ...args]);
    } catch (error) {
      if (!(error instanceof LabCommandError && isNetemMissing(error.stderr))) throw error;
      const reason = await checkUplinkRelaySupport();
      if (reason !== undefined) throw new LabNetemUnsupportedError(error, reason);
      debug('no netem: converting the uplink of %s to a relayed tap pair', nat);
      await (await this.#convert(nat)).set(options);
    }
  }

  /** See `NatLab.clearNetem`. */
  async clearNetem(nat: NatType): Promise<void> {
    const relay = this.#relays.get(nat) ?? (await this.#converting.get(nat));
    if (relay !== undefined) {
      await relay.set({});
      return;
    }
    await Promise.allSettled([
      runTool('tc', [
        '-n',
        namespaceName(this.#prefix, `nat-${nat}`),
        'qdisc',
        'del',
        'dev',
        NAT_WAN_IF,
        'root',
      ]),
      runTool('tc', [
        '-n',
        namespaceName(this.#prefix, 'inet'),
        'qdisc',
        'del',
        'dev',
        bridgePort(nat),
        'root',
      ]),
    ]);
  }

  /** Kills every relay (their taps vanish with them). Idempotent. */
  close(): void {
    for (const relay of this.#relays.values()) relay.close();
    this.#relays.clear();
  }

  #convert(nat: NatType): Promise<UplinkRelay> {
    let converting = this.#converting.get(nat);
    if (converting === undefined) {
      converting = (async () => {
        // Deleting one end of a veth pair deletes both; rules match interface names, and
        // conntrack keeps its entries, so the NAT carries on over the new devices.
        await ip(namespaceName(this.#prefix, `nat-${nat}`), 'link', 'del', NAT_WAN_IF);
        return this.#buildRelayed(nat, undefined);
      })().finally(() => this.#converting.delete(nat));
      this.#converting.set(nat, converting);
    }
    return converting;
  }

  /**
   * 1. Start the relay in the NAT namespace: it creates taps `wan` and `w-<type>` there.
   * 2. Move `w-<type>` into the internet namespace (the relay's fd stays valid).
   * 3. Enslave it to the bridge, address `wan`, bring both up.
   */
  async #buildRelayed(nat: NatType, signal: AbortSignal | undefined): Promise<UplinkRelay> {
    const seed = this.#seed + LabNatType[nat].index;
    const child = this.#spawnRelay(nat, [
      '-c',
      UPLINK_RELAY_SCRIPT,
      NAT_WAN_IF,
      bridgePort(nat),
      String(seed),
      String(UPLINK_RELAY_QUEUE_CAP),
    ]);
    let relay: UplinkRelay | undefined;
    try {
      relay = await UplinkRelay.start(child, signal);
      const natNs = namespaceName(this.#prefix, `nat-${nat}`);
      await ip(natNs, 'link', 'set', bridgePort(nat), 'netns', namespaceName(this.#prefix, 'inet'));
      await this.#finish(nat);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    this.#relays.set(nat, relay);
    return relay;
  }

  async #finish(nat: NatType): Promise<void> {
    const natNs = namespaceName(this.#prefix, `nat-${nat}`);
    await ip(namespaceName(this.#prefix, 'inet'), 'link', 'set', bridgePort(nat), 'master', BRIDGE, 'up');
    await ip(natNs, 'addr', 'add', `${natWanAddress(nat)}/${LAB_PREFIX_LENGTH}`, 'dev', NAT_WAN_IF);
    await ip(natNs, 'link', 'set', NAT_WAN_IF, 'up');
  }
}
