// Punch benchmark runner, one per lab host namespace (started by bench/lib/punch-lab.ts). It reads
// JSON commands on stdin, one per line, and answers with JSON lines on stdout, each carrying the
// command's `id`. Every attempt opens a fresh PunchPeer (new socket, new ephemeral port, own TURN
// allocation) so no state survives from one attempt to the next.
//   {"op":"listen","id","natClass","classic","punchTimeoutMs","turn"}  → {"id","ready":true} once
//       registered; {"id","path"} once a link is up; echoes every datagram as "echo:<data>".
//   {"op":"connect","id","peer",…same}  → {"id","ready":true}, then {"id","done":true,"ok":true,
//       "path","connectMs","firstDataMs","probes","predictionProbes","extraSockets"} or
//       {"id","done":true,"ok":false,"error","ms"}; the peer is closed before the line is printed.
//   {"op":"close","id"}  → {"id","closed":true,"probes","predictionProbes","path"}.
// "classic" is the P2P-Live method: brokered simultaneous punching with peer-reflexive learning,
// no port prediction, no relay. Exits when stdin ends, after closing every peer.
import { createInterface } from 'node:readline';
import type { NatClassType } from '../../src/nat/index.ts';
import {
  type PunchLink,
  PunchPeer,
  type PunchPeerOptions,
  TurnRelayProvider,
} from '../../src/punch/index.ts';

/** One command from the benchmark. */
interface Command {
  readonly op: 'listen' | 'connect' | 'close';
  readonly id: string;
  readonly peer?: string;
  readonly broker?: string;
  readonly natClass?: NatClassType;
  readonly classic?: boolean;
  readonly punchTimeoutMs?: number;
  readonly attemptTimeoutMs?: number;
  readonly turn?: { readonly server: string; readonly username: string; readonly password: string } | null;
}

/** Gap between pings until the first echo, ms. */
const PING_INTERVAL_MS = 50;
/** Longest wait for the first echo once the link is up, ms. */
const FIRST_ECHO_TIMEOUT_MS = 5_000;

interface Running {
  readonly peer: PunchPeer;
  link: PunchLink | null;
}

const running = new Map<string, Running>();

const print = (value: object): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

function endpoint(text: string): { address: string; port: number } {
  const colon = text.lastIndexOf(':');
  return { address: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : String(error);
}

async function open(c: Command, signal: AbortSignal): Promise<PunchPeer> {
  const relay =
    c.classic === true || c.turn === undefined || c.turn === null
      ? undefined
      : new TurnRelayProvider({
          server: endpoint(c.turn.server),
          username: c.turn.username,
          password: c.turn.password,
        });
  const options: PunchPeerOptions = {
    broker: endpoint(c.broker ?? ''),
    id: c.id,
    token: 'lab',
    natClass: c.natClass ?? 'unknown',
    ...(relay === undefined ? {} : { relay }),
    punch: {
      ...(c.punchTimeoutMs === undefined ? {} : { punchTimeoutMs: c.punchTimeoutMs }),
      ...(c.classic === true ? { prediction: false as const } : {}),
    },
    signal,
  };
  return PunchPeer.open(options);
}

async function listen(c: Command): Promise<void> {
  const signal = AbortSignal.timeout(c.attemptTimeoutMs ?? 60_000);
  let peer: PunchPeer;
  try {
    peer = await open(c, signal);
  } catch (error) {
    print({ id: c.id, ready: false, error: errorCode(error) });
    return;
  }
  const entry: Running = { peer, link: null };
  running.set(c.id, entry);
  print({ id: c.id, ready: true });
  try {
    const link = await peer.accept({ signal });
    entry.link = link;
    print({ id: c.id, path: link.path });
    for await (const data of link) link.send(Buffer.concat([ECHO, data]));
  } catch {
    // Closed by the benchmark, or the attempt failed: the initiator reports it.
  }
}

const ECHO = Buffer.from('echo:');
const PING = Buffer.from('ping');

async function connect(c: Command): Promise<void> {
  const signal = AbortSignal.timeout(c.attemptTimeoutMs ?? 60_000);
  let peer: PunchPeer;
  try {
    peer = await open(c, signal);
  } catch (error) {
    print({ id: c.id, ready: false, error: errorCode(error) });
    return;
  }
  running.set(c.id, { peer, link: null });
  print({ id: c.id, ready: true });
  const started = performance.now();
  let result: object;
  try {
    const link = await peer.dial(c.peer ?? '', { signal });
    const connectMs = performance.now() - started;
    const iterator = link[Symbol.asyncIterator]();
    link.send(PING);
    const timer = setInterval(() => link.send(PING), PING_INTERVAL_MS);
    let echoTimer: NodeJS.Timeout | undefined;
    try {
      const noEcho = new Promise<never>((_, reject) => {
        echoTimer = setTimeout(() => reject(new Error('ERR_BENCH_NO_ECHO')), FIRST_ECHO_TIMEOUT_MS);
      });
      for (;;) {
        const next = await Promise.race([iterator.next(), noEcho]);
        if (next.done === true) throw new Error('ERR_BENCH_LINK_ENDED');
        if (next.value.subarray(0, ECHO.length).equals(ECHO)) break;
      }
    } finally {
      clearInterval(timer);
      clearTimeout(echoTimer);
    }
    const firstDataMs = performance.now() - started;
    const stats = link.stats();
    result = {
      ok: true,
      path: link.path,
      connectMs,
      firstDataMs,
      probes: stats.probesSent,
      predictionProbes: stats.predictionProbes,
      extraSockets: stats.extraSocketsPeak,
    };
  } catch (error) {
    const code = errorCode(error);
    result = {
      ok: false,
      error: code.startsWith('Error: ') ? code.slice(7) : code,
      ms: performance.now() - started,
    };
  }
  running.delete(c.id);
  await peer.close();
  print({ id: c.id, done: true, ...result });
}

async function close(c: Command): Promise<void> {
  const entry = running.get(c.id);
  running.delete(c.id);
  const stats = entry?.link?.stats();
  await entry?.peer.close();
  print({
    id: c.id,
    closed: true,
    path: stats?.path ?? null,
    probes: stats?.probesSent ?? 0,
    predictionProbes: stats?.predictionProbes ?? 0,
  });
}

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  let c: Command;
  try {
    c = JSON.parse(line) as Command;
  } catch {
    return;
  }
  if (c.op === 'listen') void listen(c);
  else if (c.op === 'connect') void connect(c);
  else if (c.op === 'close') void close(c);
});
input.on('close', () => {
  void Promise.all([...running.values()].map((r) => r.peer.close())).then(() => process.exit(0));
});
print({ host: true, ready: true });
