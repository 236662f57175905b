// npm run bench -- transport [--json] [--duration ms] [--rounds n]
//
// Datagrams per second through MediaTransport (with its mux) versus a raw dgram socket, same run:
// - receive: one sender process (this file, forked with --sender) blasts as fast as it can at a
//   receiver in this process: a raw socket, a transport (callback), and a transport read by an
//   async iterator (informational); the receiver counts over a fixed window;
// - send: this process sends as fast as it can with raw socket.send(), then with sendMedia(), to a
//   sink in the sender process.
// One Node sender barely outruns one Node receiver on loopback, and the machine is shared, so
// besides the wall-clock rate each phase reports its capacity: datagrams per CPU-second of this
// process (process.cpuUsage). The ratios (transport / raw, target ≥ 0.95) compare capacities;
// wall-clock ratios are reported too. Phases run in ABBA order per round; figures are medians.
// 200- and 1200-byte datagrams. Last, the in-process cost of delivery without the kernel: ns per
// datagram emitted as 'message' on a raw socket versus on a transport's socket (demux, latch,
// counters, callback), a figure the machine's load barely moves.
import { type ChildProcess, fork } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { MediaTransport } from '../src/transport/index.ts';
import { emit, flagValue, percentile, printTable, round } from './lib/report.ts';

const SIZES = [200, 1200] as const;
const BATCH = 256;
const BUFFER_BYTES = 2 * 1024 * 1024;

interface BlastMessage {
  readonly op: 'blast';
  readonly port: number;
  readonly size: number;
  readonly durationMs: number;
}

function payload(size: number): Buffer {
  const b = Buffer.alloc(size, 0x55);
  b[0] = 0x80;
  b[1] = 96;
  return b;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function bind(port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(port, '127.0.0.1');
  await once(s, 'listening');
  s.setRecvBufferSize(BUFFER_BYTES);
  s.setSendBufferSize(BUFFER_BYTES);
  return s;
}

/** A rate and a capacity (datagrams per CPU-second of this process). */
interface Rate {
  readonly perSec: number;
  readonly perCpuSec: number;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Sends batches of `send()` calls for `durationMs`, yielding to the loop between batches. */
async function blastWith(send: () => void, durationMs: number): Promise<Rate & { sent: number }> {
  const start = performance.now();
  const cpu = cpuSeconds();
  const end = start + durationMs;
  let sent = 0;
  while (performance.now() < end) {
    for (let i = 0; i < BATCH; i++) send();
    sent += BATCH;
    await yieldToLoop();
  }
  return {
    sent,
    perSec: sent / ((performance.now() - start) / 1000),
    perCpuSec: sent / (cpuSeconds() - cpu),
  };
}

async function runSender(): Promise<void> {
  const sink = await bind();
  const sockets = new Map<number, Socket>();
  const connected = async (port: number): Promise<Socket> => {
    let s = sockets.get(port);
    if (s === undefined) {
      s = await bind();
      s.connect(port, '127.0.0.1');
      await once(s, 'connect');
      sockets.set(port, s);
    }
    return s;
  };
  sink.on('message', () => {});
  process.send?.({ op: 'ready', sinkPort: sink.address().port });
  process.on('message', (m: BlastMessage | { op: 'exit' }) => {
    if (m.op === 'exit') {
      for (const s of sockets.values()) s.close();
      sink.close();
      process.disconnect?.();
      return;
    }
    const data = payload(m.size);
    void connected(m.port)
      .then((socket) => blastWith(() => socket.send(data), m.durationMs))
      .then(({ sent }) => process.send?.({ op: 'blasted', sent }));
  });
}

/** Has the sender blast `port`; counts what `count()` reports over the window after the first datagram. */
async function measureReceive(
  sender: ChildProcess,
  port: number,
  size: number,
  windowMs: number,
  count: () => number,
): Promise<Rate> {
  const before = count();
  const blasted = once(sender, 'message');
  sender.send({ op: 'blast', port, size, durationMs: windowMs + 400 } satisfies BlastMessage);
  while (count() === before) await new Promise((resolve) => setTimeout(resolve, 1));
  const start = performance.now();
  const cpu = cpuSeconds();
  const first = count();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const received = count() - first;
  const rate = {
    perSec: received / ((performance.now() - start) / 1000),
    perCpuSec: received / (cpuSeconds() - cpu),
  };
  await blasted;
  await new Promise((resolve) => setTimeout(resolve, 100)); // let the socket drain between phases
  return rate;
}

/** ns per datagram of 'message' delivery on a raw socket and on a transport's media socket. */
function measureDispatch(
  raw: Socket,
  transport: MediaTransport,
  sink: () => number,
): { raw: number; transport: number } {
  const data = payload(200);
  const from = { address: '127.0.0.1', family: 'IPv4', port: 40_000, size: 200 };
  const iterations = 1_000_000;
  const time = (socket: Socket): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) socket.emit('message', data, from);
    return Number(process.hrtime.bigint() - start) / iterations;
  };
  const samples = { raw: [] as number[], transport: [] as number[] };
  for (let r = 0; r < 5; r++) {
    samples.raw.push(time(raw));
    samples.transport.push(time(transport.media.socket));
  }
  if (sink() < 0) throw new Error('unreachable: keeps the counters alive');
  return { raw: round(percentile(samples.raw, 50)), transport: round(percentile(samples.transport, 50)) };
}

async function main(): Promise<void> {
  const durationMs = Number(flagValue('duration', '1000'));
  const rounds = Number(flagValue('rounds', '5'));
  const sender = fork(fileURLToPath(import.meta.url), ['--sender'], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const [ready] = (await once(sender, 'message')) as [{ sinkPort: number }];
  const sink = { address: '127.0.0.1', port: ready.sinkPort };

  let rawCount = 0;
  const raw = await bind();
  raw.on('message', () => {
    rawCount++;
  });
  let cbCount = 0;
  const viaCallback = await MediaTransport.listenEphemeralPair('127.0.0.1', {
    onMedia: () => {
      cbCount++;
    },
  });
  let itCount = 0;
  const viaIterator = await MediaTransport.listenEphemeralPair('127.0.0.1');
  const reading = (async () => {
    for await (const _ of viaIterator.media) itCount++;
  })();
  const rawSender = await bind();
  const txTransport = await MediaTransport.listenEphemeralPair('127.0.0.1');

  type Phase = 'rawRecv' | 'recv' | 'iterRecv' | 'rawSend' | 'send';
  const phases: Record<Phase, (size: number) => Promise<Rate>> = {
    rawRecv: (size) => measureReceive(sender, raw.address().port, size, durationMs, () => rawCount),
    recv: (size) => measureReceive(sender, viaCallback.ports.media, size, durationMs, () => cbCount),
    iterRecv: (size) => measureReceive(sender, viaIterator.ports.media, size, durationMs, () => itCount),
    rawSend: (size) => {
      const data = payload(size);
      return blastWith(() => rawSender.send(data, sink.port, sink.address), durationMs);
    },
    send: (size) => {
      const data = payload(size);
      return blastWith(() => txTransport.sendMedia(data, sink), durationMs);
    },
  };
  const results = new Map<number, Record<Phase, Rate>>();
  for (const size of SIZES) {
    const samples = new Map<Phase, Rate[]>();
    for (let r = 0; r < rounds; r++) {
      const order: Phase[] =
        r % 2 === 0
          ? ['rawRecv', 'recv', 'iterRecv', 'rawSend', 'send']
          : ['iterRecv', 'recv', 'rawRecv', 'send', 'rawSend'];
      for (const phase of order) {
        const list = samples.get(phase) ?? [];
        list.push(await phases[phase](size));
        samples.set(phase, list);
      }
    }
    const med = (phase: Phase): Rate => ({
      perSec: percentile(
        samples.get(phase)!.map((x) => x.perSec),
        50,
      ),
      perCpuSec: percentile(
        samples.get(phase)!.map((x) => x.perCpuSec),
        50,
      ),
    });
    results.set(size, {
      rawRecv: med('rawRecv'),
      recv: med('recv'),
      iterRecv: med('iterRecv'),
      rawSend: med('rawSend'),
      send: med('send'),
    });
  }

  const dispatch = measureDispatch(raw, viaCallback, () => rawCount + cbCount);
  sender.send({ op: 'exit' });
  await once(sender, 'exit');
  raw.close();
  rawSender.close();
  await Promise.all([viaCallback.close(), viaIterator.close(), txTransport.close()]);
  await reading;

  const ratios = (size: number) => {
    const r = results.get(size)!;
    return {
      recvRatio: round(r.recv.perCpuSec / r.rawRecv.perCpuSec),
      sendRatio: round(r.send.perCpuSec / r.rawSend.perCpuSec),
      iteratorRecvRatio: round(r.iterRecv.perCpuSec / r.rawRecv.perCpuSec),
      recvWallRatio: round(r.recv.perSec / r.rawRecv.perSec),
      sendWallRatio: round(r.send.perSec / r.rawSend.perSec),
    };
  };
  const pick = (size: number, phase: Phase) => ({
    perSec: round(results.get(size)![phase].perSec),
    perCpuSec: round(results.get(size)![phase].perCpuSec),
  });
  const json = {
    recvRatio: Math.min(...SIZES.map((s) => ratios(s).recvRatio)),
    sendRatio: Math.min(...SIZES.map((s) => ratios(s).sendRatio)),
    raw: Object.fromEntries(SIZES.map((s) => [s, { recv: pick(s, 'rawRecv'), send: pick(s, 'rawSend') }])),
    transport: Object.fromEntries(
      SIZES.map((s) => [
        s,
        { recv: pick(s, 'recv'), iteratorRecv: pick(s, 'iterRecv'), send: pick(s, 'send') },
      ]),
    ),
    bySize: Object.fromEntries(SIZES.map((s) => [s, ratios(s)])),
    dispatchNs: dispatch,
    durationMs,
    rounds,
  };
  emit(json, () => {
    const rows = SIZES.flatMap((s) => {
      const r = results.get(s)!;
      const q = ratios(s);
      const row = (path: string, a: Rate, ratio: number | string, wall: number | string) => ({
        size: s,
        path,
        'dgram/s': a.perSec,
        'dgram/cpu-s': a.perCpuSec,
        ratio,
        'wall ratio': wall,
      });
      return [
        row('recv raw dgram', r.rawRecv, 1, 1),
        row('recv transport (callback)', r.recv, q.recvRatio, q.recvWallRatio),
        row('recv transport (iterator)', r.iterRecv, q.iteratorRecvRatio, '-'),
        row('send raw socket.send', r.rawSend, 1, 1),
        row('send transport.sendMedia', r.send, q.sendRatio, q.sendWallRatio),
      ];
    });
    printTable(`MediaTransport vs raw dgram (median of ${rounds} × ${durationMs} ms, loopback)`, rows);
    printTable('In-process delivery cost (no kernel), ns per datagram', [
      { path: "raw socket 'message' listener", ns: dispatch.raw, ratio: 1 },
      {
        path: 'transport: demux + latch + callback',
        ns: dispatch.transport,
        ratio: dispatch.transport / dispatch.raw,
      },
    ]);
    console.log(
      `\nrecvRatio ${json.recvRatio}  sendRatio ${json.sendRatio}  (capacity ratios, worst size; target ≥ 0.95)`,
    );
  });
}

if (process.argv.includes('--sender')) await runSender();
else await main();
