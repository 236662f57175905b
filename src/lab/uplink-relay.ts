import type { ChildProcess } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface, type Interface } from 'node:readline';
import { debuglog } from 'node:util';
import { AbortError, ClosedError, TimeoutError } from '../errors/index.ts';
import { LabCommandError, LabErrorCode } from './errors.ts';
import type { NetemOptions } from './netem.ts';
import { runTool } from './tools.ts';

const debug = debuglog('porthole:lab');

/** Largest number of frames one relay holds in its delay queue; beyond, frames are dropped and counted. */
export const UPLINK_RELAY_QUEUE_CAP = 10_000;

/** How long the relay may take to start or to answer one command, in milliseconds. */
export const UPLINK_RELAY_ANSWER_TIMEOUT_MS = 10_000;

/** The python3 the relay runs on: the system one when present (the one apt installs), else `$PATH`'s. */
export const UPLINK_RELAY_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Counters of one direction of a relayed uplink, in Ethernet frames. */
export interface UplinkDirectionStats {
  /** Frames read from the ingress tap. */
  readonly frames: number;
  /** Frames dropped by the loss setting (IPv4 / IPv6 only). */
  readonly lost: number;
  /** Frames dropped because the delay queue held {@link UPLINK_RELAY_QUEUE_CAP} frames. */
  readonly overflow: number;
  /** Frames written to the egress tap. */
  readonly sent: number;
  /** Writes the egress tap refused (e.g. while it was down). */
  readonly writeErrors: number;
}

/** Counters of a relayed uplink: `up` is NAT → internet, `down` internet → NAT. */
export interface UplinkRelayStats {
  readonly up: UplinkDirectionStats;
  readonly down: UplinkDirectionStats;
  /** Frames waiting in the delay queue now. */
  readonly queued: number;
}

interface Pending {
  readonly resolve: (line: string) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

let relaySupport: Promise<string | undefined> | undefined;

/**
 * Whether the user-space relay can run here: resolves undefined when it can, else the reason
 * (no `/dev/net/tun`, or no python3). Checked once per process.
 */
export function checkUplinkRelaySupport(): Promise<string | undefined> {
  relaySupport ??= (async () => {
    try {
      await access('/dev/net/tun', constants.R_OK | constants.W_OK);
    } catch {
      return 'no /dev/net/tun (the tun kernel module)';
    }
    try {
      await runTool(UPLINK_RELAY_PYTHON, ['-c', 'import fcntl, select, heapq'], { timeoutMs: 10_000 });
    } catch {
      return 'no python3 (apt package python3)';
    }
    return undefined;
  })();
  return relaySupport;
}

/**
 * The driver of one uplink relay process (see `relay-script.ts`): waits for it to be ready,
 * changes its impairments and reads its counters over its stdin / stdout. Commands are answered
 * in order, so a FIFO of pending answers is all the matching needed.
 */
export class UplinkRelay {
  readonly #child: ChildProcess;
  readonly #lines: Interface;
  readonly #pending: Pending[] = [];
  #exited = false;
  #stderr = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    if (child.stdout === null || child.stdin === null)
      throw new TypeError('the relay needs piped stdin and stdout');
    this.#lines = createInterface({ input: child.stdout });
    this.#lines.on('line', (line) => {
      const next = this.#pending.shift();
      if (next === undefined) return;
      clearTimeout(next.timer);
      next.resolve(line);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-2_000);
    });
    child.stdin.on('error', () => {
      // The relay died; its exit rejects what is pending.
    });
    child.once('exit', (code) => {
      this.#exited = true;
      this.#lines.close();
      const error = new LabCommandError(LabErrorCode.COMMAND_FAILED, child.spawnargs, code, '', this.#stderr);
      for (const pending of this.#pending.splice(0)) {
        clearTimeout(pending.timer);
        pending.reject(error);
      }
    });
  }

  /**
   * Takes over a freshly spawned relay (stdio piped) and resolves once it has created its taps.
   * Rejects with `ERR_LAB_COMMAND_FAILED` (it exited), `ERR_TIMEOUT` or `ERR_ABORTED`; the
   * caller owns (and kills) the child either way.
   */
  static async start(child: ChildProcess, signal?: AbortSignal): Promise<UplinkRelay> {
    const relay = new UplinkRelay(child);
    const onAbort = (): void => {
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const line = await relay.#answer();
      if (signal?.aborted) throw new AbortError(signal.reason);
      if (line !== 'ready')
        throw new LabCommandError(LabErrorCode.COMMAND_FAILED, child.spawnargs, null, line, '');
    } catch (error) {
      if (signal?.aborted) throw new AbortError(signal.reason);
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    debug('uplink relay %d ready', child.pid);
    return relay;
  }

  /** Process id of the relay (tests check it is gone after teardown). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /**
   * Replaces the impairments of both directions (already validated by `netemArgs`); all zero
   * makes the relay a plain (if slower) wire. Rejects with `ERR_LAB_COMMAND_FAILED`,
   * `ERR_TIMEOUT` or `ERR_CLOSED`.
   */
  async set(options: NetemOptions): Promise<void> {
    const values = [options.delayMs, options.jitterMs, options.lossPercent, options.reorderPercent];
    const command = `set both ${values.map((v) => String(v ?? 0)).join(' ')}`;
    const line = await this.#command(command);
    if (line !== 'ok') {
      throw new LabCommandError(LabErrorCode.COMMAND_FAILED, ['uplink-relay', command], null, line, line);
    }
  }

  /** The relay's counters. Rejects like {@link UplinkRelay.set}. */
  async stats(): Promise<UplinkRelayStats> {
    const line = await this.#command('stats');
    try {
      return JSON.parse(line) as UplinkRelayStats;
    } catch (error) {
      throw new LabCommandError(
        LabErrorCode.COMMAND_FAILED,
        ['uplink-relay', 'stats'],
        null,
        line,
        '',
        error,
      );
    }
  }

  /** Kills the relay (its taps vanish with it). Idempotent. */
  close(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
  }

  #command(command: string): Promise<string> {
    if (this.#exited) return Promise.reject(new ClosedError('uplink relay'));
    const answer = this.#answer();
    this.#child.stdin?.write(`${command}\n`);
    return answer;
  }

  #answer(): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A relay that misses an answer is broken; later answers could no longer be matched.
        const index = this.#pending.findIndex((p) => p.timer === timer);
        if (index >= 0) this.#pending.splice(index, 1);
        this.#child.kill('SIGKILL');
        reject(
          new TimeoutError(`the uplink relay did not answer within ${UPLINK_RELAY_ANSWER_TIMEOUT_MS} ms`),
        );
      }, UPLINK_RELAY_ANSWER_TIMEOUT_MS);
      this.#pending.push({ resolve, reject, timer });
    });
  }
}
