// npm run bench -- arq [--json] [--seconds 20] [--loss 0,5,10,20] [--loss-on both|forward]
//                      [--idle-seconds 5] [--conversations 10000]
//
// 1. porthole's ARQ (turbo: no-delay, 10 ms interval, fast resend 2, no congestion window,
//    windows 256) against Node's TCP (`net`, Nagle off) over a real link between two network
//    namespaces (veth, netem 25 ms each way = 50 ms RTT, the same random loss on both directions,
//    or with --loss-on forward only on the data direction: acks and TCP's ACKs are never lost).
//    1 KB messages at 2 Mbit/s for --seconds each; the protocols run one after the other.
//    Latency per message = receive time - send time (CLOCK_MONOTONIC, shared by the namespaces).
//    Overhead = (IP bytes sent by both namespaces, counted by nftables before netem's loss,
//    including acks and retransmissions) / payload bytes delivered - 1.
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
): Promise<PathResult> {
  const rate = 2_000_000 / 8 / MESSAGE_BYTES;
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

async function pathBenchmark(): Promise<
  Record<string, { arq: PathResult; tcp: PathResult }> | { skipped: string }
> {
  if (process.getuid?.() !== 0) return { skipped: 'needs root: creates network namespaces' };
  const seconds = Number(flagValue('seconds', '20'));
  const losses = flagValue('loss', '0,5,10,20').split(',').map(Number);
  if (lossOn !== 'both' && lossOn !== 'forward') throw new Error(`--loss-on ${lossOn}: use both or forward`);
  const link = await NetnsLink.create({ prefix: `pharq-${process.pid}`, delayMs: 25 });
  linkKind = link.kind;
  const results: Record<string, { arq: PathResult; tcp: PathResult }> = {};
  try {
    let port = 41_000;
    for (const loss of losses) {
      await link.setLoss(loss, lossOn === 'forward' ? 0 : loss);
      if (!wantsJson) process.stderr.write(`loss ${loss}%: arq… `);
      const arq = await measurePath(link, 'arq', port++, seconds);
      if (!wantsJson) process.stderr.write('tcp…\n');
      const tcp = await measurePath(link, 'tcp', port++, seconds);
      results[String(loss)] = { arq, tcp };
    }
  } finally {
    link.destroy();
  }
  return results;
}

// ---- idle cost ----

async function idleChild(mode: string): Promise<void> {
  const conversations = Number(flagValue('conversations', '10000'));
  const seconds = Number(flagValue('idle-seconds', '5'));
  const sa = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0, recvBufferSize: 8 << 20 });
  const sb = await bindUdpSocket({ family: 'udp4', address: '127.0.0.1', port: 0, recvBufferSize: 8 << 20 });
  const a = new ArqEndpoint({ demux: new Demux(sa), ...ARQ_TURBO });
  const b = new ArqEndpoint({ demux: new Demux(sb), ...ARQ_TURBO, accept: 'any' });
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

if (IDLE_CHILD >= 0) {
  await idleChild(process.argv[IDLE_CHILD + 1] ?? 'baseline');
} else {
  const paths = await pathBenchmark();
  const idle = await idleBenchmark();
  const ratios: Record<string, { p99ArqOverTcp: number; p50ArqMinusTcpMs: number; arqOverhead: number }> = {};
  if (!('skipped' in paths)) {
    for (const [loss, r] of Object.entries(paths)) {
      ratios[loss] = {
        p99ArqOverTcp: r.arq.p99Ms / r.tcp.p99Ms,
        p50ArqMinusTcpMs: r.arq.p50Ms - r.tcp.p50Ms,
        arqOverhead: r.arq.overhead,
      };
    }
  }
  emit({ ...paths, ratios, idle, link: linkKind, lossOn }, () => {
    console.log(
      `link: ${linkKind}, loss on: ${lossOn === 'both' ? 'both directions' : 'the data direction only'}`,
    );
    if ('skipped' in paths) console.log(`\npath benchmark skipped: ${paths.skipped}`);
    else {
      const rows = Object.entries(paths).flatMap(([loss, r]) =>
        (['arq', 'tcp'] as const).map((proto) => ({
          loss: `${loss}%`,
          proto,
          p50Ms: r[proto].p50Ms,
          p99Ms: r[proto].p99Ms,
          maxMs: r[proto].maxMs,
          goodputKbps: r[proto].goodputKbps,
          overhead: `${round(r[proto].overhead * 100)}%`,
          delivered: `${round(r[proto].delivered * 100)}%`,
        })),
      );
      printTable(
        `ARQ (turbo) vs TCP: 1 KB messages at 2 Mbit/s, RTT 50 ms, loss ${lossOn === 'both' ? 'both ways' : 'data direction'}`,
        rows,
      );
      printTable(
        'ratios (targets: p99 arq/tcp <= 0.33 at 10%; overhead <= 25%; p50 diff at 0% within 5 ms)',
        Object.entries(ratios).map(([loss, r]) => ({
          loss: `${loss}%`,
          'p99 arq/tcp': r.p99ArqOverTcp,
          'p50 arq-tcp (ms)': r.p50ArqMinusTcpMs,
          'arq overhead': `${round(r.arqOverhead * 100)}%`,
        })),
      );
    }
    printTable(
      'idle cost: CPU over the idle window, one process',
      Object.entries(idle).map(([mode, r]) => ({ mode, ...r })),
    );
  });
}
