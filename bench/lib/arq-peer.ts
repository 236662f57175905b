// One side of the ARQ benchmark, run inside a network namespace by bench/arq.ts:
//   arq-peer.ts recv <arq|tcp> <port> <count> <deadlineMs>
//   arq-peer.ts send <arq|tcp> <host> <port> <count> <messagesPerSecond>
// Messages are 1024 bytes: u64 LE process.hrtime (ns, CLOCK_MONOTONIC, shared by all namespaces)
// at write time, u32 LE sequence number, filler. The receiver prints one JSON line and exits.

import { connect, createServer, type Socket as TcpSocket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ARQ_TURBO, ArqEndpoint, type ArqEndpointOptions, type ArqStream } from '../../src/arq/index.ts';
import { Demux } from '../../src/mux/index.ts';
import { bindUdpSocket } from '../../src/ports/index.ts';
import { percentile } from './report.ts';

/** Message size, bytes. */
export const MESSAGE_BYTES = 1024;

/** The ARQ settings the benchmark uses: turbo, windows of 256 segments. */
export const BENCH_ARQ: Omit<ArqEndpointOptions, 'socket' | 'demux'> = {
  ...ARQ_TURBO,
  sendWindow: 256,
  receiveWindow: 256,
  maxWaitSegments: 4096,
  // Experiments: ARQ_BENCH_TUNING='{"ackRepeat":1}' overrides settings on both sides.
  ...(process.env.ARQ_BENCH_TUNING === undefined ? {} : JSON.parse(process.env.ARQ_BENCH_TUNING)),
};

const [role, proto, ...rest] = process.argv.slice(2);

function nowNs(): bigint {
  return process.hrtime.bigint();
}

async function receive(): Promise<void> {
  const [portArg, countArg, deadlineArg] = rest;
  const port = Number(portArg);
  const count = Number(countArg);
  const latencies: number[] = [];
  const seen = new Uint8Array(count);
  let firstSend = 0n;
  let lastReceive = 0n;
  let duplicates = 0;
  let finished = false;
  const record = (message: Buffer): void => {
    const sent = message.readBigUInt64LE(0);
    const seq = message.readUInt32LE(8);
    const at = nowNs();
    if (seq >= count || seen[seq]) {
      duplicates++;
      return;
    }
    seen[seq] = 1;
    if (firstSend === 0n || sent < firstSend) firstSend = sent;
    lastReceive = at;
    latencies.push(Number(at - sent) / 1e6);
    if (latencies.length === count) finish();
  };
  const finish = (): void => {
    if (finished) return;
    finished = true;
    const seconds = Number(lastReceive - firstSend) / 1e9;
    const result = {
      received: latencies.length,
      expected: count,
      duplicates,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.length === 0 ? Number.NaN : Math.max(...latencies),
      goodputKbps: seconds > 0 ? (latencies.length * MESSAGE_BYTES * 8) / 1000 / seconds : 0,
      payloadBytes: latencies.length * MESSAGE_BYTES,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
  };
  setTimeout(finish, Number(deadlineArg)).unref();
  if (proto === 'arq') {
    const socket = await bindUdpSocket({ family: 'udp4', address: '0.0.0.0', port, recvBufferSize: 4 << 20 });
    const endpoint = new ArqEndpoint({ demux: new Demux(socket), ...BENCH_ARQ, accept: 'any' });
    endpoint.on('conversation', (stream: ArqStream) => {
      stream.on('data', record);
      stream.on('error', () => {});
    });
  } else {
    const server = createServer((socket: TcpSocket) => {
      socket.setNoDelay(true);
      let pending: Buffer = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        let at = 0;
        while (pending.length - at >= MESSAGE_BYTES) {
          record(pending.subarray(at, at + MESSAGE_BYTES));
          at += MESSAGE_BYTES;
        }
        pending = pending.subarray(at);
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(port, '0.0.0.0', resolve));
  }
  process.stdout.write('ready\n');
}

async function send(): Promise<void> {
  const [host, portArg, countArg, rateArg] = rest;
  const port = Number(portArg);
  const count = Number(countArg);
  const periodNs = BigInt(Math.round(1e9 / Number(rateArg)));
  let write: (message: Buffer) => void;
  if (proto === 'arq') {
    const socket = await bindUdpSocket({
      family: 'udp4',
      address: '0.0.0.0',
      port: 0,
      recvBufferSize: 4 << 20,
    });
    const endpoint = new ArqEndpoint({ demux: new Demux(socket), ...BENCH_ARQ });
    const stream = endpoint.open({ address: host!, port }, 1);
    stream.on('error', () => {});
    if (process.env.ARQ_BENCH_DEBUG) {
      process.once('SIGTERM', () => {
        console.error(JSON.stringify({ endpoint: endpoint.stats(), stream: stream.stats() }));
        process.exit(0);
      });
    }
    stream.resume();
    write = (m) => stream.write(m);
  } else {
    const socket = connect({ host: host!, port, noDelay: true });
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    write = (m) => socket.write(m);
  }
  const filler = Buffer.alloc(MESSAGE_BYTES, 0x5a);
  const start = nowNs();
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.min(count, Number((nowNs() - start) / periodNs) + 1);
    while (sent < due) {
      const message = Buffer.allocUnsafe(MESSAGE_BYTES);
      filler.copy(message);
      message.writeBigUInt64LE(nowNs(), 0);
      message.writeUInt32LE(sent, 8);
      write(message);
      sent++;
    }
    if (sent >= count) clearInterval(timer);
  }, 1);
  process.stdout.write('ready\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (role === 'recv') await receive();
  else if (role === 'send') await send();
  else {
    console.error('usage: arq-peer.ts recv|send arq|tcp ...');
    process.exit(2);
  }
}
