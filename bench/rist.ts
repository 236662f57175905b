// npm run bench -- rist [--json] [--seconds 10] [--mbps 5] [--profiles simple,main,main-psk]
//
// For each profile — Simple, Main in the clear, Main with a PSK secret (AES-128) — one porthole
// RIST sender, an MPEG-TS test stream of `--mbps` Mbit/s, through the
// same impairing relay (10 ms each way = 20 ms RTT; 5, 10 and 20 % loss each way, seeded), to two
// receivers in the same run:
//   porthole  RistReceiver in a child process (its CPU measured alone)
//   librist   Debian's ffmpeg (`-rist_profile simple|main [-secret …] -buffer_size 1000`, framemd5
//             of each packet)
// Both with 1 000 ms latency. Per row: the share of lost packets recovered (porthole: RTP packets
// by sequence; librist: video frames compared with the file), end-to-end latency p50/p99 (send →
// output; for librist, send of the frame after → ffmpeg printing the frame, as its demuxer needs
// that one to finish a frame), overhead (retransmitted bytes / media bytes at the sender: what each
// receiver's NACKs cost), and CPU ms per Mbit/s of the receiver process. Ratios are porthole /
// librist. Targets (issue 17): zero unrecovered at 5 %, overhead ≤ 1.2× and CPU ≤ 2× librist's.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type RistProfileOptions, RistReceiver, RistSender } from '../src/rist/index.ts';
import { MediaTransport } from '../src/transport/index.ts';
import {
  ffmpegReceive,
  ffmpegRistMissing,
  hashesOf,
  makeTestStream,
  portTaken,
  ristArgs,
  scratchDir,
} from '../test/rist/ffmpeg.ts';
import { ImpairRelay } from '../test/rist/impair-relay.ts';
import { testSeed } from '../test/support/prng.ts';
import { emit, flagValue, percentile, printTable } from './lib/report.ts';

const wallMs = (): number => performance.timeOrigin + performance.now();

// ---- child mode: a porthole receiver that reports what it delivered and when ----
/** The profiles benchmarked: porthole's options (librist's arguments follow from them). */
const PROFILES: Record<string, RistProfileOptions> = {
  simple: { profile: 'simple' },
  main: { profile: 'main' },
  'main-psk': { profile: 'main', secret: 'bench passphrase', encryption: 128 },
};

if (process.argv[2] === '--child-receiver') {
  const port = Number(process.argv[3]);
  const profile = PROFILES[process.argv[4] ?? 'simple'] ?? {};
  const receiver = await RistReceiver.listen('127.0.0.1', port, { latencyMs: 1000, ...profile });
  const delivered: [number, number][] = [];
  const cpu0 = process.cpuUsage();
  console.log('ready');
  const lines = createInterface({ input: process.stdin });
  lines.once('line', () => void receiver.close());
  for await (const item of receiver) if (item.type === 'data') delivered.push([item.seq, wallMs()]);
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ delivered, cpuMs: (cpu.user + cpu.system) / 1000, stats: receiver.stats() }));
  process.exit(0);
}

interface Row {
  profile: string;
  loss: string;
  receiver: string;
  recovered: string;
  unrecovered: number;
  p50Ms: number;
  p99Ms: number;
  overhead: number;
  cpuMsPerMbit: number;
}

const SECONDS = Number(flagValue('seconds', '10'));
const MBPS = Number(flagValue('mbps', '5'));
const LOSSES = [0.05, 0.1, 0.2];
const RUN = flagValue('profiles', 'simple,main,main-psk').split(',');
for (const name of RUN) {
  if (PROFILES[name] === undefined) {
    console.error(`rist bench: unknown profile ${name} (simple, main, main-psk)`);
    process.exit(1);
  }
}
const missing = ffmpegRistMissing();
if (missing !== undefined) {
  console.error(`rist bench: ${missing}`);
  process.exit(1);
}

const scratch = scratchDir();
const source = `${scratch.dir}/source.ts`;
makeTestStream(source, SECONDS, `${Math.round(MBPS * 0.8)}M`, `${MBPS}M`);
const data = readFileSync(source);
const payloads: Buffer[] = [];
for (let at = 0; at < data.length; at += 1316)
  payloads.push(data.subarray(at, Math.min(at + 1316, data.length)));
const durationMs = (data.length * 8) / (MBPS * 1000);
const mbit = (data.length * 8) / 1e6;

/** Index of the RTP payload holding each video frame start (PUSI on PID 0x100). */
const frameStarts: number[] = [];
for (let at = 0; at + 188 <= data.length; at += 188) {
  const pid = ((data[at + 1]! & 0x1f) << 8) | data[at + 2]!;
  if (pid === 0x100 && (data[at + 1]! & 0x40) !== 0) frameStarts.push(Math.floor(at / 1316));
}
const expectedFrames = hashesOf(
  spawnSync('ffmpeg', ['-v', 'error', '-i', source, '-map', '0:v', '-c', 'copy', '-f', 'framemd5', '-'], {
    encoding: 'utf8',
  }).stdout,
);

async function freePair(): Promise<number> {
  const t = await MediaTransport.listenEphemeralPair('127.0.0.1');
  const port = t.ports.media;
  await t.close();
  return port;
}

/** Sends the stream through `relayPort`, paced; returns each payload's send time and the sender stats. */
async function sendStream(
  relayPort: number,
  profile: RistProfileOptions,
): Promise<{ sentAt: number[]; stats: ReturnType<RistSender['stats']> }> {
  const sender = await RistSender.connect('127.0.0.1', relayPort, { initialSeq: 0, ...profile });
  const sentAt: number[] = [];
  const start = performance.now();
  // The stream, then its first 1.5 s again: ffmpeg holds the last ~0.5 s until more data comes.
  const total = payloads.length + Math.ceil((payloads.length * 1500) / durationMs);
  for (let i = 0; i < total; i++) {
    sentAt.push(wallMs());
    sender.send(payloads[i % payloads.length]!);
    const wait = start + (i * durationMs) / payloads.length - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await new Promise((resolve) => setTimeout(resolve, 2500)); // the last recoveries
  const stats = sender.stats();
  await sender.close();
  return { sentAt, stats };
}

function relay(port: number, loss: number): Promise<ImpairRelay> {
  return ImpairRelay.open(port, {
    forwardLoss: loss,
    backwardLoss: loss,
    delayMs: 10,
    seed: testSeed(0xbe7c + loss * 100),
  });
}

async function runPorthole(name: string, loss: number): Promise<Row> {
  const port = await freePair();
  const child = spawn(
    process.execPath,
    [new URL(import.meta.url).pathname, '--child-receiver', String(port), name],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const out: string[] = [];
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise<void>((resolve) =>
    lines.on('line', (l) => (l === 'ready' ? resolve() : out.push(l))),
  );
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await ready;
  const r = await relay(port, loss);
  const { sentAt, stats } = await sendStream(r.port, PROFILES[name] ?? {});
  await r.close();
  child.stdin.write('close\n');
  await exited;
  const report = JSON.parse(out.join('')) as {
    delivered: [number, number][];
    cpuMs: number;
    stats: { lost: number; recovered: number; unrecovered: number };
  };
  const latencies = report.delivered
    .map(([seq, at]) => at - (sentAt[seq] ?? Number.NaN))
    .filter(Number.isFinite);
  const missingSeqs = [];
  const got = new Set(report.delivered.map(([seq]) => seq));
  for (let seq = 0; seq < payloads.length; seq++) if (!got.has(seq)) missingSeqs.push(seq);
  if (missingSeqs.length > 0)
    console.error(`porthole ${name} ${loss * 100} %: not delivered ${missingSeqs.join(' ')}`);
  return {
    profile: name,
    loss: `${loss * 100} %`,
    receiver: 'porthole',
    recovered: `${report.stats.recovered}/${report.stats.lost}`,
    unrecovered: payloads.length - report.delivered.filter(([seq]) => seq < payloads.length).length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    overhead: stats.bytesRetransmitted / stats.bytesSent,
    cpuMsPerMbit: report.cpuMs / mbit,
  };
}

function cpuOfPid(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, 100 Hz ticks
  } catch {
    return Number.NaN;
  }
}

async function runLibrist(name: string, loss: number): Promise<Row> {
  const port = await freePair();
  const profile = PROFILES[name] ?? {};
  const ffmpeg = ffmpegReceive(port, {
    bufferMs: 1000,
    rist: ristArgs(profile.profile ?? 'simple', profile.secret, profile.encryption ?? 128),
  });
  const printedAt: number[] = [];
  let seen = 0;
  ffmpeg.child.stdout?.on('data', () => {
    const count = hashesOf(Buffer.concat(ffmpeg.stdout).toString()).length;
    for (; seen < count; seen++) printedAt.push(wallMs());
  });
  const bound = profile.profile === 'main' ? port : port + 1;
  while (!(await portTaken(bound))) await new Promise((resolve) => setTimeout(resolve, 20)); // librist binds
  const r = await relay(port, loss);
  const { sentAt, stats } = await sendStream(r.port, profile);
  await r.close();
  const cpuMs = cpuOfPid(ffmpeg.child.pid ?? -1);
  await ffmpeg.kill();
  const got = hashesOf(Buffer.concat(ffmpeg.stdout).toString());
  if (got.length === 0) console.error(`librist printed nothing: ${ffmpeg.stderr.join('').slice(-500)}`);
  // Match the printed frames to the file's in order (greedy): what is missing was not recovered.
  let e = 0;
  const matchedAt: [number, number][] = [];
  for (let g = 0; g < got.length; g++) {
    const k = expectedFrames.indexOf(got[g]!, e);
    if (k < 0) continue;
    matchedAt.push([k, printedAt[g] ?? Number.NaN]);
    e = k + 1;
  }
  // Frames 1 … N − 2: librist's probe takes the first; the last is cut at the seam with the repeat.
  const considered = expectedFrames.length - 2;
  const latencies = matchedAt
    .map(([k, at]) => at - (sentAt[frameStarts[k + 1] ?? Number.NaN] ?? Number.NaN))
    .filter(Number.isFinite);
  const matched = matchedAt.filter(([k]) => k >= 1 && k <= considered).length;
  return {
    profile: name,
    loss: `${loss * 100} %`,
    receiver: 'librist',
    recovered: `frames ${matched}/${considered}`,
    unrecovered: considered - matched,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    overhead: stats.bytesRetransmitted / stats.bytesSent,
    cpuMsPerMbit: cpuMs / mbit,
  };
}

const rows: Row[] = [];
const ratios: Record<string, string | number>[] = [];
for (const name of RUN)
  for (const loss of LOSSES) {
    const p = await runPorthole(name, loss);
    const l = await runLibrist(name, loss);
    rows.push(p, l);
    ratios.push({
      profile: name,
      loss: `${loss * 100} %`,
      'p50 latency ×': p.p50Ms / l.p50Ms,
      'overhead ×': p.overhead / l.overhead,
      'CPU/Mbit ×': p.cpuMsPerMbit / l.cpuMsPerMbit,
    });
  }
scratch.remove();
emit({ seconds: SECONDS, mbps: MBPS, rttMs: 20, latencyMs: 1000, profiles: RUN, rows, ratios }, () => {
  printTable(
    `RIST (${RUN.join(', ')}), ${MBPS} Mbit/s for ${SECONDS} s, 20 ms RTT, 1 000 ms latency (porthole sender)`,
    rows as never,
  );
  printTable('porthole / librist', ratios);
});
