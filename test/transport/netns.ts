// Network namespaces and agents for the multicast tests. Everything this file creates carries the
// test process id in its name, so parallel runs never collide, and is deleted in cleanup.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const agentScript = fileURLToPath(new URL('./fixtures/mc-agent.ts', import.meta.url));

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root: creates network namespaces';
  if (spawnSync('ip', ['-V']).status !== 0) return 'needs iproute2 (ip)';
  return undefined;
}

/** Runs a command; throws with its stderr when it fails. */
export function sh(command: string, args: readonly string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.error?.message}`);
  }
  return r.stdout;
}

/** Runs `command` inside namespace `ns`. */
export function nsh(ns: string, command: string, args: readonly string[]): string {
  return sh('ip', ['netns', 'exec', ns, command, ...args]);
}

/**
 * Two namespaces joined by a veth pair:
 * sender  `<prefix>-s`, interface `phs<pid>`: 10.231.0.1/24 and 10.231.0.3/24, fd00:231::1/64
 * receiver `<prefix>-r`, interface `phr<pid>`: 10.231.0.2/24, fd00:231::2/64
 * with IPv4 and IPv6 multicast routed out of the veth.
 */
export class MulticastLink {
  readonly prefix = `phmc-${process.pid}`;
  readonly sender = `${this.prefix}-s`;
  readonly receiver = `${this.prefix}-r`;
  readonly senderIf = `phs${process.pid}`.slice(0, 15);
  readonly receiverIf = `phr${process.pid}`.slice(0, 15);

  /** Builds the link; on failure removes what it made and rethrows. */
  static create(): MulticastLink {
    removeStaleNamespaces();
    const link = new MulticastLink();
    try {
      link.#build();
    } catch (error) {
      link.destroy();
      throw error;
    }
    return link;
  }

  #build(): void {
    sh('ip', ['netns', 'add', this.sender]);
    sh('ip', ['netns', 'add', this.receiver]);
    sh('ip', ['link', 'add', this.senderIf, 'type', 'veth', 'peer', 'name', this.receiverIf]);
    sh('ip', ['link', 'set', this.senderIf, 'netns', this.sender]);
    sh('ip', ['link', 'set', this.receiverIf, 'netns', this.receiver]);
    const plan = [
      [this.sender, this.senderIf, ['10.231.0.1/24', '10.231.0.3/24'], 'fd00:231::1/64'],
      [this.receiver, this.receiverIf, ['10.231.0.2/24'], 'fd00:231::2/64'],
    ] as const;
    for (const [ns, dev, v4, v6] of plan) {
      nsh(ns, 'ip', ['link', 'set', 'lo', 'up']);
      for (const a of v4) nsh(ns, 'ip', ['addr', 'add', a, 'dev', dev]);
      nsh(ns, 'ip', ['-6', 'addr', 'add', v6, 'dev', dev, 'nodad']);
      nsh(ns, 'ip', ['link', 'set', dev, 'up']);
      nsh(ns, 'ip', ['route', 'add', '224.0.0.0/4', 'dev', dev]);
      nsh(ns, 'ip', ['-6', 'route', 'add', 'ff00::/8', 'dev', dev, 'table', 'main']);
    }
  }

  /** Deletes both namespaces (and with them the veth pair). Safe to call twice. */
  destroy(): void {
    for (const ns of [this.sender, this.receiver])
      spawnSync('ip', ['netns', 'delete', ns], { timeout: 20_000 });
  }
}

/** Deletes `phmc-<pid>-*` namespaces of test processes that died before their cleanup ran. */
function removeStaleNamespaces(): void {
  for (const line of sh('ip', ['netns', 'list']).split('\n')) {
    const match = /^(phmc-(\d+)-[sr])\b/.exec(line);
    if (match === null) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || isAlive(pid)) continue;
    spawnSync('ip', ['netns', 'delete', match[1]!], { timeout: 20_000 });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A datagram an agent reported. */
export interface Rx {
  readonly id: string;
  readonly stream: 'media' | 'rtcp';
  readonly from: string;
  readonly tag: number;
}

interface Waiter {
  readonly match: (rx: Rx) => boolean;
  readonly resolve: () => void;
}

/** One mc-agent process inside a namespace, driven by JSON lines. */
export class Agent {
  readonly received: Rx[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, (reply: Record<string, unknown>) => void>();
  #waiters: Waiter[] = [];
  #seq = 0;
  #stderr = '';
  readonly #exited: Promise<void>;
  readonly ready: Promise<void>;

  constructor(ns: string) {
    this.#child = spawn('ip', ['netns', 'exec', ns, process.execPath, agentScript], { stdio: 'pipe' });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.ready = promise;
    this.#child.once('exit', (code) => reject(new Error(`agent exited (${code}): ${this.#stderr}`)));
    let buffered = '';
    this.#child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const message = JSON.parse(buffered.slice(0, i)) as Record<string, unknown>;
        buffered = buffered.slice(i + 1);
        if (message.ready === true) resolve();
        else if (message.op === 'rx') this.#onRx(message as unknown as Rx);
        else this.#pending.get(message.seq as number)?.(message);
      }
    });
  }

  /** Sends one command; resolves with the reply, rejects when the agent reports an error. */
  async call(op: string, id: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    await this.ready;
    const seq = ++this.#seq;
    const reply = await new Promise<Record<string, unknown>>((resolve) => {
      this.#pending.set(seq, resolve);
      this.#child.stdin.write(`${JSON.stringify({ seq, op, id, ...args })}\n`);
    });
    this.#pending.delete(seq);
    if (reply.ok !== true) {
      throw Object.assign(new Error(`${op} ${id}: ${String(reply.message)}`), { code: reply.code });
    }
    return reply;
  }

  /** Resolves once a datagram matching `match` has been reported (including earlier ones). */
  until(match: (rx: Rx) => boolean): Promise<void> {
    if (this.received.some(match)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  /** Ends the agent (it closes its transports); kills it when it does not exit in 10 s. */
  async stop(): Promise<void> {
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }

  #onRx(rx: Rx): void {
    this.received.push(rx);
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.match(rx)) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }
}
