// npm run bench -- arq [--json] [--seconds 20] [--loss 0,5,10,20] [--loss-on both|forward]
//                      [--idle-seconds 5] [--conversations 10000] [--protos arq,tcp]
//                      [--app-limited-kbps 160] [--app-limited-loss 10] [--app-limited-seconds 40]
//
// 1. porthole's ARQ (turbo: no-delay, 10 ms interval, fast resend 2, no congestion window,
//    windows 256) against Node's TCP (`net`, Nagle off) over a real link between two network
//    namespaces (veth, netem 25 ms each way = 50 ms RTT, the same random loss on both directions,
//    or with --loss-on forward only on the data direction: acks and TCP's ACKs are never lost).
//    ARQ_BENCH_TUNING='{"ackRepeat":0}' overrides ARQ settings on both sides (experiments).
//    1 KB messages at 2 Mbit/s for --seconds each; the protocols run one after the other.
//    Latency per message = receive time - send time (CLOCK_MONOTONIC, shared by the namespaces).
//    Overhead = (IP bytes sent by both namespaces, counted by nftables before netem's loss,
//    including acks and retransmissions) / payload bytes delivered - 1.
//    Then the same comparison for an app-limited flow (--app-limited-kbps, default 160: 1 KB
//    messages 50 ms apart, game state or control traffic) at --app-limited-loss (default 10%),
//    --app-limited-seconds (default 40) each: there a lost message has no successors to reveal it
//    and TCP waits for its tail-loss probe or RTO. 0 skips it.
// 2. Idle cost: CPU used over --idle-seconds by one process holding --conversations idle
//    conversations on one socket, against an empty endpoint (baseline) and against the
//    reference's usual driver (a 10 ms setInterval calling update() per conversation).
// Part 1 needs root (network namespaces); without it that part is skipped and says why.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ARQ_TURBO, ArqEndpoint, Kcp } from '../src/arq/index.ts';
import { Demux } from '../src/mux/index.ts';
import { bindUdpSocket } from '../src/ports/index.ts';
import { MESSAGE_BYTES } from './lib/arq-peer.ts';
import { NetnsLink } from './lib/netns-link.ts';
import { emit, flagValue, printTable, round, wantsJson } from './lib/report.ts';

const IDLE_CHILD = process.argv.indexOf('--idle-child');
const peerFile = fileURLToPath(new URL('./lib/arq-peer.ts', import.meta.url));
const selfFile = fileURLToPath(import.meta.url);

let linkKind = 'none';
const lossOn = flagValue('loss-on', 'both');
const protos = flagValue('protos', 'arq,tcp').split(',');
/** The workload: 1 KB messages at 2 Mbit/s over 25 ms each way. */
const KBPS = 2000;
const ONE_WAY_MS = 25;
const SKIPPED: PathResult = {
  p50Ms: Number.NaN,
  p99Ms: Number.NaN,
  maxMs: Number.NaN,
  goodputKbps: Number.NaN,
  overhead: Number.NaN,
  delivered: Number.NaN,
};

interface PathResult {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  goodputKbps: number;
  overhead: number;
  delivered: number;
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        child.stdout!.off('data', onData);
        resolve(text.slice(0, nl));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`peer exited (${code}) before answering`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

async function measurePath(
  link: NetnsLink,
  proto: 'arq' | 'tcp',
  port: number,
  seconds: number,
  kbps: number,
): Promise<PathResult> {
  const rate = (kbps * 1000) / 8 / MESSAGE_BYTES;
  const count = Math.round(rate * seconds);
  const deadlineMs = seconds * 1000 + 30_000;
  const before = link.wireCount();
  const receiver = link.spawnNode(link.nsB, [
    peerFile,
    'recv',
    proto,
    String(port),
    String(count),
    String(deadlineMs),
  ]);
  let sender: ChildProcess | undefined;
  try {
    const ready = await firstLine(receiver);
    if (ready !== 'ready') throw new Error(`receiver said ${ready}`);
    const resultLine = firstLine(receiver);
    sender = link.spawnNode(link.nsA, [
      peerFile,
      'send',
      proto,
      link.addressB,
      String(port),
      String(count),
      String(rate),
    ]);
    const result = JSON.parse(await resultLine.then((l) => l));
    await stop(sender);
    const after = link.wireCount();
    const payload = result.payloadBytes as number;
    return {
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      maxMs: result.maxMs,
      goodputKbps: result.goodputKbps,
      overhead: payload > 0 ? (after.bytes - before.bytes - payload) / payload : Number.NaN,
      delivered: result.received / result.expected,
    };
  } finally {
    if (sender) await stop(sender);
    await stop(receiver);
  }
}

interface Pair {
  arq: PathResult;
  tcp: PathResult;
}

interface PathResults {
  byLoss: Record<string, Pair>;
  appLimited: (Pair & { kbps: number; loss: number }) | null;
}

async function comparePair(link: NetnsLink, port: number, seconds: number, kbps: number): Promise<Pair> {
  const arq = await measurePath(link, 'arq', port, seconds, kbps);
  if (!wantsJson) process.stderr.write('tcp… ');
  const tcp = protos.includes('tcp') ? await measurePath(link, 'tcp', port + 1, seconds, kbps) : SKIPPED;
  if (!wantsJson) process.stderr.write('\n');
  return { arq, tcp };
}

async function pathBenchmark(): Promise<PathResults | { skipped: string }> {
  if (process.getuid?.() !== 0) return { skipped: 'needs root: creates network namespaces' };
  const seconds = Number(flagValue('seconds', '20'));
  const losses = flagValue('loss', '0,5,10,20').split(',').map(Number);
  const appKbps = Number(flagValue('app-limited-kbps', '160'));
  const appLoss = Number(flagValue('app-limited-loss', '10'));
  const appSeconds = Number(flagValue('app-limited-seconds', '40'));
  if (lossOn !== 'both' && lossOn !== 'forward') throw new Error(`--loss-on ${lossOn}: use both or forward`);
  const link = await NetnsLink.create({ prefix: `pharq-${process.pid}`, delayMs: ONE_WAY_MS });
  linkKind = link.kind;
  const byLoss: Record<string, Pair> = {};
  let appLimited: PathResults['appLimited'] = null;
  try {
    let port = 41_000;
    for (const loss of losses) {
      await link.setLoss(loss, lossOn === 'forward' ? 0 : loss);
      if (!wantsJson) process.stderr.write(`loss ${loss}%: arq… `);
      byLoss[String(loss)] = await comparePair(link, port, seconds, KBPS);
      port += 2;
    }
    if (appKbps > 0) {
      await link.setLoss(appLoss, lossOn === 'forward' ? 0 : appLoss);
      if (!wantsJson) process.stderr.write(`app-limited ${appKbps} kbit/s, loss ${appLoss}%: arq… `);
      appLimited = { kbps: appKbps, loss: appLoss, ...(await comparePair(link, port, appSeconds, appKbps)) };
    }
  } finally {
    link.destroy();
  }
  return { byLoss, appLimited };
}

/**
 * The earliest a message whose first transmission is lost can arrive under any in-order ARQ
 * (KCP, TCP, anything without forward error correction): the loss shows when the next message's
 * acknowledgement returns (one message interval + one RTT after the send), and the copy then needs
 * one more one-way delay. At loss >= 1% at least 1% of messages are lost once, so this is also a
 * floor for p99.
 */
function inOrderP99FloorMs(kbps: number): number {
  const intervalMs = (MESSAGE_BYTES * 8) / kbps;
  return intervalMs + 3 * ONE_WAY_MS;
}

// ---- idle cost ----

async function idleChild(mode: string): Promise<void> {
  const conversations = Number(flagValue('conversations', '10000'));
  const seconds = Number(flagValue('idle-seconds', '5'));
  const sa = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0, recvBufferSize: 8 << 20 });
  const sb = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0, recvBufferSize: 8 << 20 });
  const a = new ArqEndpoint({ demux: new Demux(sa), ...ARQ_TURBO });
  // One trusted source holds every conversation: the per-source cap (a hostile-peer limit) is raised
  // to the count measured, and accepted conversations never idle out within the window.
  const b = new ArqEndpoint({
    demux: new Demux(sb),
    ...ARQ_TURBO,
    accept: 'any',
    maxConversationsPerAddress: conversations,
    acceptedIdleTimeoutMs: 0,
  });
  const timers: NodeJS.Timeout[] = [];
  let count = 0;
  if (mode === 'porthole') {
    const remote = { address: '127.0.0.1', port: sb.address().port };
    for (let conv = 0; conv < conversations; conv++) {
      a.open(remote, conv).write(Buffer.from('hello'));
      if (conv % 500 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    b.on('conversation', (s) => s.resume());
    const deadline = Date.now() + 60_000;
    while (
      (b.size < conversations || a.stats().scheduled + b.stats().scheduled > 0) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    count = b.size;
  } else if (mode === 'interval') {
    // The reference's usual driver: every conversation updated on its own 10 ms timer.
    for (let conv = 0; conv < conversations; conv++) {
      const kcp = new Kcp(conv, { onKcpOutput: () => {} });
      kcp.setNoDelay(1, 10, 2, true);
      timers.push(setInterval(() => kcp.update(Math.floor(performance.now())), 10));
    }
    count = conversations;
  }
  // Let start-up work (JIT, GC, socket buffers) settle before the window.
  await new Promise((r) => setTimeout(r, 1000));
  const wakeupsBefore = a.stats().timerWakeups + b.stats().timerWakeups;
  const cpuBefore = process.cpuUsage();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpuBefore);
  const result = {
    mode,
    conversations: count,
    cpuMs: (cpu.user + cpu.system) / 1000,
    timerWakeups: a.stats().timerWakeups + b.stats().timerWakeups - wakeupsBefore,
  };
  for (const t of timers) clearInterval(t);
  a.close();
  b.close();
  sa.close();
  sb.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function idleBenchmark(): Promise<
  Record<string, { conversations: number; cpuMs: number; timerWakeups: number; vsBaseline: number }>
> {
  const out: Record<
    string,
    { conversations: number; cpuMs: number; timerWakeups: number; vsBaseline: number }
  > = {};
  let baseline = Number.NaN;
  for (const mode of ['baseline', 'porthole', 'interval']) {
    const args = [selfFile, '--idle-child', mode, ...process.argv.slice(2).filter((a) => a !== '--json')];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await firstLine(child);
    await once(child, 'exit').catch(() => {});
    const r = JSON.parse(line);
    if (mode === 'baseline') baseline = r.cpuMs;
    out[mode] = {
      conversations: r.conversations,
      cpuMs: r.cpuMs,
      timerWakeups: r.timerWakeups,
      vsBaseline: r.cpuMs / baseline,
    };
  }
  return out;
}

function pairRows(label: string, r: Pair): Record<string, string | number>[] {
  return (['arq', 'tcp'] as const).map((proto) => ({
    loss: label,
    proto,
    p50Ms: r[proto].p50Ms,
    p99Ms: r[proto].p99Ms,
    maxMs: r[proto].maxMs,
    goodputKbps: r[proto].goodputKbps,
    overhead: `${round(r[proto].overhead * 100)}%`,
    delivered: `${round(r[proto].delivered * 100)}%`,
  }));
}

function ratiosOf(r: Pair, kbps: number) {
  const floor = inOrderP99FloorMs(kbps);
  return {
    p99ArqOverTcp: r.arq.p99Ms / r.tcp.p99Ms,
    p50ArqMinusTcpMs: r.arq.p50Ms - r.tcp.p50Ms,
    arqOverhead: r.arq.overhead,
    inOrderP99FloorMs: floor,
    floorOverTcpP99: floor / r.tcp.p99Ms,
  };
}

if (IDLE_CHILD >= 0) {
  await idleChild(process.argv[IDLE_CHILD + 1] ?? 'baseline');
} else {
  const paths = await pathBenchmark();
  const idle = Number(flagValue('idle-seconds', '5')) > 0 ? await idleBenchmark() : {};
  const ratios: Record<string, ReturnType<typeof ratiosOf>> = {};
  if (!('skipped' in paths)) {
    for (const [loss, r] of Object.entries(paths.byLoss)) ratios[loss] = ratiosOf(r, KBPS);
    if (paths.appLimited !== null) ratios.appLimited = ratiosOf(paths.appLimited, paths.appLimited.kbps);
  }
  const body = 'skipped' in paths ? paths : { ...paths.byLoss, appLimited: paths.appLimited };
  emit({ ...body, ratios, idle, link: linkKind, lossOn }, () => {
    const where = lossOn === 'both' ? 'both ways' : 'data direction';
    console.log(
      `link: ${linkKind}, loss on: ${lossOn === 'both' ? 'both directions' : 'the data direction only'}`,
    );
    if ('skipped' in paths) console.log(`\npath benchmark skipped: ${paths.skipped}`);
    else {
      printTable(
        `ARQ (turbo) vs TCP: 1 KB messages at ${KBPS / 1000} Mbit/s, RTT ${2 * ONE_WAY_MS} ms, loss ${where}`,
        Object.entries(paths.byLoss).flatMap(([loss, r]) => pairRows(`${loss}%`, r)),
      );
      const app = paths.appLimited;
      if (app !== null) {
        printTable(
          `app-limited flow: 1 KB messages at ${app.kbps} kbit/s (one every ${round((MESSAGE_BYTES * 8) / app.kbps)} ms), loss ${where}`,
          pairRows(`${app.loss}%`, app),
        );
      }
      printTable(
        'ratios (targets: p99 arq/tcp <= 0.33 at 10%; overhead <= 25%; p50 diff at 0% within 5 ms). ' +
          'floor = earliest arrival of a once-lost message under any in-order ARQ, a lower bound of p99',
        Object.entries(ratios).map(([loss, r]) => ({
          flow: loss === 'appLimited' ? `app-limited ${app?.loss}%` : `${loss}%`,
          'p99 arq/tcp': r.p99ArqOverTcp,
          'p50 arq-tcp (ms)': r.p50ArqMinusTcpMs,
          'arq overhead': `${round(r.arqOverhead * 100)}%`,
          'floor ms': r.inOrderP99FloorMs,
          'floor/tcp p99': r.floorOverTcpP99,
        })),
      );
    }
    if (Object.keys(idle).length > 0) {
      printTable(
        'idle cost: CPU over the idle window, one process',
        Object.entries(idle).map(([mode, r]) => ({ mode, ...r })),
      );
    }
  });
}
