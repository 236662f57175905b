// A two-namespace link for benchmarks: namespaces <prefix>-a and <prefix>-b, addresses 10.213.0.1
// and 10.213.0.2 that exist only inside those namespaces, a fixed one-way delay and a settable
// random loss on both directions, and an nftables output counter in each namespace (it counts every
// IP packet a namespace sends, before the link drops any: the bytes put on the wire).
//
// The link is a veth pair with netem when the kernel has sch_netem. Kernels without it (e.g. some
// microVM kernels) get the same behaviour from a tun pair joined by a small userspace relay
// (python3, stdlib only) that delays each packet and drops it with the loss probability: the TCP
// and UDP stacks on both sides are still the kernel's. `kind` says which one is in use.
// Needs root, iproute2 and nftables (and python3 for the relay). Always call destroy(); it also
// runs on exit, SIGINT and SIGTERM, and kills the processes started with spawnNode().
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export interface NetnsLinkOptions {
  /** Unique prefix, e.g. `pharq-<pid>`; namespaces are `<prefix>-a` and `<prefix>-b`. */
  readonly prefix: string;
  /** One-way delay on each direction, ms. */
  readonly delayMs: number;
  /** Seed of the relay's loss generator. */
  readonly seed?: number;
}

/** Bytes and packets counted by the namespaces' output counters. */
export interface WireCount {
  readonly bytes: number;
  readonly packets: number;
}

const RELAY = String.raw`
import os, sys, fcntl, struct, select, heapq, random, time
def tun(name):
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, 0x400454CA, struct.pack('16sH', name.encode(), 0x0001 | 0x1000))
    return fd
a = tun(sys.argv[1]); b = tun(sys.argv[2]); delay = float(sys.argv[3]) / 1000.0
random.seed(int(sys.argv[4])); loss = {a: 0.0, b: 0.0}; heap = []; seq = 0; cmd = b''
sys.stdout.write('ready\n'); sys.stdout.flush()
while True:
    timeout = max(0.0, heap[0][0] - time.monotonic()) if heap else None
    ready, _, _ = select.select([a, b, 0], [], [], timeout)
    for fd in ready:
        if fd == 0:
            data = os.read(0, 4096)
            if not data: sys.exit(0)
            cmd += data
            while b'\n' in cmd:
                line, cmd = cmd.split(b'\n', 1)
                parts = line.split()
                if len(parts) == 3 and parts[0] == b'loss': loss = {a: float(parts[1]) / 100.0, b: float(parts[2]) / 100.0}
                sys.stdout.write('ok\n'); sys.stdout.flush()
            continue
        try: pkt = os.read(fd, 65536)
        except OSError: sys.exit(0)
        if loss[fd] > 0 and random.random() < loss[fd]: continue
        heapq.heappush(heap, (time.monotonic() + delay, seq, b if fd == a else a, pkt)); seq += 1
    now = time.monotonic()
    while heap and heap[0][0] <= now:
        _, _, out, pkt = heapq.heappop(heap)
        try: os.write(out, pkt)
        except OSError: pass
`;

function run(cmd: string, args: readonly string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function nextLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      resolve(text.slice(0, nl));
    };
    const onExit = (code: number | null): void => reject(new Error(`link relay exited (${code})`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

export class NetnsLink {
  readonly nsA: string;
  readonly nsB: string;
  readonly addressA = '10.213.0.1';
  readonly addressB = '10.213.0.2';
  readonly #devA: string;
  readonly #devB: string;
  readonly #delayMs: number;
  #kind: 'netem' | 'tun-relay' = 'netem';
  #relay: ChildProcess | undefined;
  readonly #children = new Set<ChildProcess>();
  #destroyed = false;
  readonly #onExit = (): void => this.destroy();
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    this.destroy();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  private constructor(options: NetnsLinkOptions) {
    this.nsA = `${options.prefix}-a`;
    this.nsB = `${options.prefix}-b`;
    const tag = options.prefix.replace(/[^0-9]/g, '').slice(-7);
    this.#devA = `pha${tag}`;
    this.#devB = `phb${tag}`;
    this.#delayMs = options.delayMs;
    process.once('exit', this.#onExit);
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
  }

  /** Builds the link (netem, or the relay when the kernel has no netem). */
  static async create(options: NetnsLinkOptions): Promise<NetnsLink> {
    const link = new NetnsLink(options);
    try {
      await link.#build(options.seed ?? 1);
    } catch (error) {
      link.destroy();
      throw error;
    }
    return link;
  }

  /** `netem` (veth + tc netem) or `tun-relay` (tun pair + userspace relay). */
  get kind(): string {
    return this.#kind;
  }

  async #build(seed: number): Promise<void> {
    run('ip', ['netns', 'add', this.nsA]);
    run('ip', ['netns', 'add', this.nsB]);
    run('ip', [
      'link',
      'add',
      this.#devA,
      'netns',
      this.nsA,
      'type',
      'veth',
      'peer',
      'name',
      this.#devB,
      'netns',
      this.nsB,
    ]);
    try {
      run('tc', [
        '-n',
        this.nsA,
        'qdisc',
        'add',
        'dev',
        this.#devA,
        'root',
        'netem',
        'delay',
        `${this.#delayMs}ms`,
      ]);
    } catch (error) {
      if (!String((error as { stderr?: string }).stderr).includes('unknown')) throw error;
      this.#kind = 'tun-relay';
    }
    if (this.#kind === 'netem') {
      run('tc', [
        '-n',
        this.nsB,
        'qdisc',
        'add',
        'dev',
        this.#devB,
        'root',
        'netem',
        'delay',
        `${this.#delayMs}ms`,
      ]);
    } else {
      run('ip', ['-n', this.nsA, 'link', 'del', this.#devA]);
      const relay = spawn(
        'python3',
        ['-c', RELAY, this.#devA, this.#devB, String(this.#delayMs), String(seed)],
        {
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
      this.#relay = relay;
      const ready = await nextLine(relay);
      if (ready !== 'ready') throw new Error(`link relay said ${ready}`);
      run('ip', ['link', 'set', this.#devA, 'netns', this.nsA]);
      run('ip', ['link', 'set', this.#devB, 'netns', this.nsB]);
    }
    for (const [ns, dev, address, peer] of [
      [this.nsA, this.#devA, this.addressA, this.addressB],
      [this.nsB, this.#devB, this.addressB, this.addressA],
    ] as const) {
      run('ip', ['-n', ns, 'addr', 'add', address, 'peer', peer, 'dev', dev]);
      run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      run(
        'ip',
        ['netns', 'exec', ns, 'nft', '-f', '-'],
        'table inet phbench {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    counter\n  }\n}\n',
      );
    }
  }

  /**
   * Sets the random loss, percent (0–100), of the a→b direction and of the b→a direction
   * (default: the same as a→b).
   */
  async setLoss(forwardPercent: number, reversePercent = forwardPercent): Promise<void> {
    if (this.#relay !== undefined) {
      const answer = nextLine(this.#relay);
      this.#relay.stdin!.write(`loss ${forwardPercent} ${reversePercent}\n`);
      await answer;
      return;
    }
    for (const [ns, dev, percent] of [
      [this.nsA, this.#devA, forwardPercent],
      [this.nsB, this.#devB, reversePercent],
    ] as const) {
      const args = ['-n', ns, 'qdisc', 'change', 'dev', dev, 'root', 'netem', 'delay', `${this.#delayMs}ms`];
      if (percent > 0) args.push('loss', `${percent}%`);
      run('tc', args);
    }
  }

  /** Sum of both namespaces' output counters (IP bytes, before the link's loss). */
  wireCount(): WireCount {
    let bytes = 0;
    let packets = 0;
    for (const ns of [this.nsA, this.nsB]) {
      const json = JSON.parse(
        run('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'table', 'inet', 'phbench']),
      );
      for (const item of json.nftables as Record<string, { expr?: { counter?: WireCount }[] }>[]) {
        for (const expr of item.rule?.expr ?? []) {
          if (expr.counter) {
            bytes += expr.counter.bytes;
            packets += expr.counter.packets;
          }
        }
      }
    }
    return { bytes, packets };
  }

  /** Starts `node <args>` inside namespace `ns`; stdout is piped, stderr inherited. */
  spawnNode(ns: string, args: readonly string[]): ChildProcess {
    return spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  }

  /** Stops the relay and deletes both namespaces (and their devices). Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    process.off('exit', this.#onExit);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
    for (const child of this.#children) child.kill('SIGKILL');
    this.#relay?.kill('SIGKILL');
    for (const ns of [this.nsA, this.nsB]) {
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        // never created
      }
    }
  }
}
