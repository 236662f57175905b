// The punch benchmark's lab: one NatLab with every NAT type and its twin, the test suite's broker
// fixture and coturn on the rendezvous address in the internet namespace, and one long-lived
// runner (bench/lib/punch-host.ts) per host namespace, driven over stdin/stdout JSON lines.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { INTERNET_ADDRESSES, NatLab, type NatType, readJsonLine } from '../../src/lab/index.ts';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../test/lab/fixtures/${name}.ts`, import.meta.url));
const HOST_RUNNER = fileURLToPath(new URL('./punch-host.ts', import.meta.url));

/** The lab's NATs: the four types and their twins (for same-type pairs). */
export const PUNCH_LAB_NATS: readonly NatType[] = ['fc', 'ar', 'pr', 'sym', 'fc2', 'ar2', 'pr2', 'sym2'];
const BROKER_PORT = 3478;
const TURN_PORT = 3479;
const RENDEZVOUS = INTERNET_ADDRESSES.rendezvous;

/** A JSON line of a host runner. */
export type HostLine = Readonly<Record<string, unknown>>;

/** One host runner: send commands, wait for the line answering a given id. */
export class PunchHost {
  readonly #child: ChildProcess;
  readonly #lines: HostLine[] = [];
  readonly #waiters = new Set<() => void>();
  #exited = false;

  constructor(child: ChildProcess) {
    this.#child = child;
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        try {
          const value: unknown = JSON.parse(line);
          if (typeof value === 'object' && value !== null) this.#lines.push(value as HostLine);
        } catch {
          return;
        }
        for (const wake of this.#waiters) wake();
      });
    }
    child.once('exit', () => {
      this.#exited = true;
      for (const wake of this.#waiters) wake();
    });
  }

  send(command: object): void {
    this.#child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  /** The first unconsumed line matching `match`, within `timeoutMs`; removes it. */
  async next(match: (l: HostLine) => boolean, timeoutMs: number, what: string): Promise<HostLine> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.#lines.findIndex(match);
      if (i >= 0) return this.#lines.splice(i, 1)[0]!;
      if (this.#exited) throw new Error(`${what}: the host runner exited`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${what}: no answer within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  /** Drops buffered lines about `id` (late output of a finished attempt). */
  forget(id: string): void {
    for (let i = this.#lines.length - 1; i >= 0; i--) if (this.#lines[i]!.id === id) this.#lines.splice(i, 1);
  }

  close(): void {
    this.#child.stdin?.end();
  }
}

/** The running lab of the punch benchmark. */
export class PunchLab {
  readonly lab: NatLab;
  readonly brokerAddress = `${RENDEZVOUS}:${BROKER_PORT}`;
  readonly turn = { server: `${RENDEZVOUS}:${TURN_PORT}`, username: 'lab', password: 'lab-secret' };
  readonly hosts = new Map<NatType, PunchHost>();
  readonly #workdir: string;

  private constructor(lab: NatLab, workdir: string) {
    this.lab = lab;
    this.#workdir = workdir;
  }

  /** Builds the lab, starts broker, coturn and the host runners; tears everything down on failure. */
  static async create(): Promise<PunchLab> {
    const workdir = await mkdtemp(join(tmpdir(), 'porthole-punchbench-'));
    let lab: NatLab;
    try {
      lab = await NatLab.create({ nats: PUNCH_LAB_NATS });
    } catch (error) {
      await rm(workdir, { recursive: true, force: true });
      throw error;
    }
    const p = new PunchLab(lab, workdir);
    try {
      await p.#start();
      return p;
    } catch (error) {
      await p.close();
      throw error;
    }
  }

  async #start(): Promise<void> {
    const broker = this.lab.spawnNode('inet', fixture('punch-broker'), [
      RENDEZVOUS,
      String(BROKER_PORT),
      'lab',
    ]);
    await readJsonLine(broker, (v) => v.ready === true, { timeoutMs: 30_000 });
    const w = this.#workdir;
    // biome-ignore format: one coturn option per line pair
    this.lab.spawn('inet', 'turnserver', [
      '-n', '--no-cli', '--no-tcp', '--no-tls', '--no-dtls',
      '-L', RENDEZVOUS, '--relay-ip', RENDEZVOUS, '--listening-port', String(TURN_PORT),
      '--min-port', '50000', '--max-port', '50999',
      '--lt-cred-mech', '--user', `${this.turn.username}:${this.turn.password}`, '--realm', 'porthole.lab',
      '--pidfile', join(w, 'turnserver.pid'), '--db', join(w, 'turndb'),
      '--log-file', join(w, 'turnserver.log'), '--no-stdout-log',
    ], { stdio: 'ignore' });
    const ping = this.lab.spawnNode('inet', fixture('stun-ping'), [this.turn.server]);
    const { ready } = await readJsonLine<{ ready: boolean }>(ping, () => true, { timeoutMs: 30_000 });
    if (!ready) throw new Error('coturn does not answer in the lab');
    for (const nat of PUNCH_LAB_NATS) {
      const child = this.lab.spawnNode(`h-${nat}`, HOST_RUNNER, [], { stdio: ['pipe', 'pipe', 'inherit'] });
      this.hosts.set(nat, new PunchHost(child));
    }
    await Promise.all(
      [...this.hosts.values()].map((h) => h.next((l) => l.host === true, 30_000, 'host runner starts')),
    );
  }

  host(nat: NatType): PunchHost {
    const h = this.hosts.get(nat);
    if (h === undefined) throw new Error(`no host runner behind ${nat}`);
    return h;
  }

  /** Forgets every translation of both NATs, so the next attempt starts cold. */
  async flush(a: NatType, b: NatType): Promise<void> {
    await Promise.all([this.lab.flushConntrack(a), this.lab.flushConntrack(b)]);
  }

  /** Stops the runners and tears the lab down (idempotent). */
  async close(): Promise<void> {
    for (const h of this.hosts.values()) h.close();
    this.hosts.clear();
    await this.lab.close();
    await rm(this.#workdir, { recursive: true, force: true });
  }
}
