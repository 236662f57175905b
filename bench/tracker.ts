// npm run bench -- tracker [--json] [--peers 50000] [--announces 1000000]
//
// The tracker's announce path and its memory, in one process, against a baseline in the same run:
// - announcesPerCpuS: KEEPALIVE frames through TrackerCore.receive (decode, session lookup from the
//   peer's address, touch, spare upload, ACK encoded and drained) per CPU second of this process
//   (process.cpuUsage: user + system), cycling over --peers joined peers; target ≥ 100,000;
// - bytesPerPeer: heap + Buffer bytes per joined peer (gc before and after --peers challenged JOINs, the
//   clients' frames made and dropped one by one); target ≤ 2 KB;
// - baseline: a plain Map-based announce handler doing the minimum (session id → record, touch,
//   a 20-byte answer into a preallocated buffer) for both figures; ratios tracker ÷ baseline;
// - joinsPerCpuS (two HMACs and a token check each) and samplesPerCpuS (16 candidates) for scale;
// - on Redis (a redis-server started here, when installed): one instance, and two instances in this
//   process sharing it (each holds the other's peers as remote nodes): the same announce loop while
//   the store refreshes and resyncs every node each second (5× the default 5 s; that CPU counts), and the heap per peer (both instances' state ÷
//   peers), plus Redis's own used_memory per peer.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createChannel,
  encodeTrackerFrame,
  issueToken,
  TrackerCore,
  TrackerMessage,
} from '../src/live/index.ts';
import { tokenBytes, tokenProof } from '../src/live/token.ts';
import { RedisTrackerStore } from '../src/live/tracker-redis.ts';
import { BrokerCore } from '../src/punch/index.ts';
import { emit, flagValue, printTable } from './lib/report.ts';

const PEERS = Number(flagValue('peers', '50000'));
const ANNOUNCES = Number(flagValue('announces', '1000000'));
const SECRET = Buffer.alloc(32, 0x42);
const CHANNEL = createChannel(Buffer.alloc(32, 1));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const NOW = Date.now();

interface Endpoint {
  address: string;
  port: number;
}

/** Peer i's address: one per peer, 256 per IP (the default per-address cap). */
function addressOf(i: number): Endpoint {
  return { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.1`, port: 1024 + (i & 255) };
}

/** The JS heap and the Buffers' backing stores (small Buffers live in shared 8 KB pool slabs). */
function heap(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Joins peers [from, to) into `core` (challenge round and all); returns their KEEPALIVE frames. */
function joinPeers(core: TrackerCore, from: number, to: number, onEvents?: () => void): Buffer[] {
  const keepalives: Buffer[] = [];
  for (let i = from; i < to; i++) {
    const id = `peer-${i}`;
    const token = tokenBytes(
      issueToken({
        secret: SECRET,
        peerId: id,
        channelId: CHANNEL.id,
        role: 'peer',
        expiresAtMs: NOW + 3_600_000,
      }),
    );
    const at = addressOf(i);
    const join = (nonce: Buffer): Buffer =>
      encodeTrackerFrame({
        type: TrackerMessage.JOIN,
        seq: 1,
        role: 'peer',
        nat: i % 5 === 0 ? 'symmetric' : 'port-restricted',
        relay: false,
        uploadCapBps: (i % 4) * 1_000_000,
        channelId: CHANNEL.id,
        nonce,
        peerId: id,
        tokenPayload: token.subarray(0, token.length - 32),
        proof: tokenProof(token, nonce),
        edgeEndpoint: null,
        source: null,
      });
    core.receive(join(Buffer.alloc(8)), at, NOW);
    const challenge = core.drain()[0]!.data;
    core.receive(join(challenge.subarray(8, 16)), at, NOW);
    const joined = core.drain()[0]!.data;
    onEvents?.();
    const session = Buffer.from(joined.subarray(8, 16));
    keepalives.push(
      encodeTrackerFrame({ type: TrackerMessage.KEEPALIVE, seq: 2, session, spareUploadBps: 500_000 }),
    );
  }
  return keepalives;
}

/** Announces through `cores` (peer i's frame to the core that has it) for `count` frames. */
function announce(
  targets: readonly { core: TrackerCore; frames: readonly Buffer[]; from: number }[],
  count: number,
): number {
  let done = 0;
  const start = cpuMs();
  while (done < count) {
    for (const t of targets) {
      const n = t.frames.length;
      for (let k = 0; k < n && done < count; k++, done++) {
        t.core.receive(t.frames[k]!, addressOf(t.from + k), NOW + 1);
        if ((done & 63) === 63) t.core.drain();
      }
      t.core.drain();
    }
  }
  return (count / (cpuMs() - start)) * 1000;
}

/** The baseline: the least an announce handler can do with a Map. */
function baseline(): { announcesPerCpuS: number; bytesPerPeer: number } {
  interface Rec {
    address: string;
    port: number;
    lastSeenMs: number;
    spare: number;
  }
  const before = heap();
  const map = new Map<string, Rec>();
  const frames: Buffer[] = [];
  for (let i = 0; i < PEERS; i++) {
    const session = Buffer.alloc(8);
    session.writeUInt32BE(i, 4);
    const a = addressOf(i);
    map.set(session.toString('hex'), { address: a.address, port: a.port, lastSeenMs: NOW, spare: 0 });
    frames.push(encodeTrackerFrame({ type: TrackerMessage.KEEPALIVE, seq: 2, session, spareUploadBps: 1 }));
  }
  const bytesPerPeer = (heap() - before - frames.length * 100) / PEERS;
  const out = Buffer.alloc(20);
  const start = cpuMs();
  let sink = 0;
  for (let done = 0; done < ANNOUNCES; done++) {
    const f = frames[done % PEERS]!;
    const from = addressOf(done % PEERS);
    const rec = map.get(f.toString('hex', 8, 16));
    if (rec === undefined || rec.port !== from.port || rec.address !== from.address) continue;
    rec.lastSeenMs = NOW + 1;
    rec.spare = f.readUInt32BE(16);
    f.copy(out, 0, 0, 16);
    sink += out[3]!;
  }
  const announcesPerCpuS = (ANNOUNCES / (cpuMs() - start)) * 1000;
  if (sink < 0) console.log(sink);
  return { announcesPerCpuS, bytesPerPeer };
}

interface Row {
  readonly setup: string;
  readonly announcesPerCpuS: number;
  readonly bytesPerPeer: number;
  readonly vsBaselineAnnounce: number;
  readonly vsBaselineBytes: number;
  readonly redisBytesPerPeer?: number;
}

function memoryRow(base: { announcesPerCpuS: number; bytesPerPeer: number }): {
  row: Row;
  joinsPerCpuS: number;
  samplesPerCpuS: number;
} {
  const before = heap();
  const core = new TrackerCore({ secret: SECRET, maxNodes: PEERS + 10 });
  const joinStart = cpuMs();
  const frames = joinPeers(core, 0, PEERS);
  const joinsPerCpuS = (PEERS / (cpuMs() - joinStart)) * 1000;
  // The frames are the clients' (kept for the announce loop): ~100 bytes each, not the tracker's.
  const bytesPerPeer = (heap() - before - frames.length * 100) / PEERS;
  const announcesPerCpuS = announce([{ core, frames, from: 0 }], ANNOUNCES);
  const sample = Buffer.from(frames[0]!);
  sample[2] = TrackerMessage.SAMPLE;
  const sampleFrame = Buffer.concat([sample.subarray(0, 16), Buffer.from([16])]);
  const samples = 50_000;
  const sampleStart = cpuMs();
  for (let i = 0; i < samples; i++) {
    core.receive(sampleFrame, addressOf(0), NOW + 2);
    core.drain();
  }
  const samplesPerCpuS = (samples / (cpuMs() - sampleStart)) * 1000;
  return {
    row: {
      setup: 'memory, 1 instance',
      announcesPerCpuS,
      bytesPerPeer,
      vsBaselineAnnounce: announcesPerCpuS / base.announcesPerCpuS,
      vsBaselineBytes: bytesPerPeer / base.bytesPerPeer,
    },
    joinsPerCpuS,
    samplesPerCpuS,
  };
}

async function startRedis(): Promise<{ url: string; child: ChildProcess; dir: string } | undefined> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-redis-'));
  for (let attempt = 0; attempt < 8; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    const ok = await new Promise<boolean>((resolve) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept')) resolve(true);
      });
      child.once('exit', () => resolve(false));
    });
    if (ok) return { url: `redis://127.0.0.1:${port}`, child, dir };
  }
  rmSync(dir, { recursive: true, force: true });
  return undefined;
}

async function redisUsed(url: string): Promise<number> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url);
  const info = await r.info('memory');
  await r.quit();
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

async function redisRow(
  url: string,
  instances: 1 | 2,
  base: { announcesPerCpuS: number; bytesPerPeer: number },
): Promise<Row> {
  const prefix = `bench${instances}:`;
  const redisBefore = await redisUsed(url);
  const before = heap();
  const setups: { core: TrackerCore; store: RedisTrackerStore; frames: Buffer[]; from: number }[] = [];
  for (let k = 0; k < instances; k++) {
    const core = new TrackerCore({ secret: SECRET, maxNodes: PEERS + 10 });
    const store = await RedisTrackerStore.connect(url, { prefix, refreshMs: 1000, nodeTimeoutMs: 3_600_000 });
    await store.attach({
      core,
      // A tracker's broker; the bench's peers never register at it, as in the announce loop.
      broker: new BrokerCore({ credential: (id) => core.credential(id) }),
      now: () => NOW,
      flush: () => {},
      flushBroker: () => {},
    });
    setups.push({ core, store, frames: [], from: 0 });
  }
  const per = PEERS / instances;
  for (const [k, s] of setups.entries()) {
    s.from = k * per;
    const apply = (): void => {
      for (const e of s.core.drainEvents()) s.store.apply(e, NOW);
    };
    s.frames = joinPeers(s.core, s.from, s.from + per, apply);
  }
  // Let the refresh and resync run until every instance holds every peer.
  const deadline = performance.now() + 60_000;
  for (;;) {
    const all = setups.every((s) => [...s.core.channels()].some((c) => c.peers.length === PEERS));
    if (all || performance.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // The store's writes in flight (a command per join, a pipeline per refresh) are transient: the
  // least of a few samples 300 ms apart is the state the instances keep.
  let least = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 5; k++) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    least = Math.min(least, heap());
  }
  const bytesPerPeer = (least - before - PEERS * 100) / PEERS;
  // Announces in slices, yielding so the store's refresh (every node, every second) runs and counts.
  const slice = 50_000;
  const start = cpuMs();
  let done = 0;
  while (done < ANNOUNCES) {
    announce(setups, slice);
    done += slice;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const announcesPerCpuS = (done / (cpuMs() - start)) * 1000;
  const redisBytesPerPeer = ((await redisUsed(url)) - redisBefore) / PEERS;
  for (const s of setups) await s.store.close();
  return {
    setup: `redis, ${instances} instance${instances === 2 ? 's' : ''}`,
    announcesPerCpuS,
    bytesPerPeer,
    vsBaselineAnnounce: announcesPerCpuS / base.announcesPerCpuS,
    vsBaselineBytes: bytesPerPeer / base.bytesPerPeer,
    redisBytesPerPeer,
  };
}

const base = baseline();
const memory = memoryRow(base);
const rows: Row[] = [
  {
    setup: 'baseline (Map)',
    announcesPerCpuS: base.announcesPerCpuS,
    bytesPerPeer: base.bytesPerPeer,
    vsBaselineAnnounce: 1,
    vsBaselineBytes: 1,
  },
  memory.row,
];
const redis = await startRedis();
if (redis !== undefined) {
  try {
    rows.push(await redisRow(redis.url, 1, base));
    rows.push(await redisRow(redis.url, 2, base));
  } finally {
    const gone = new Promise((resolve) => redis.child.once('exit', resolve));
    redis.child.kill('SIGTERM');
    await gone;
    rmSync(redis.dir, { recursive: true, force: true });
  }
}
const result = {
  peers: PEERS,
  announces: ANNOUNCES,
  announcesPerCpuS: Math.round(memory.row.announcesPerCpuS),
  bytesPerPeer: Math.round(memory.row.bytesPerPeer),
  joinsPerCpuS: Math.round(memory.joinsPerCpuS),
  samplesPerCpuS: Math.round(memory.samplesPerCpuS),
  baseline: {
    announcesPerCpuS: Math.round(base.announcesPerCpuS),
    bytesPerPeer: Math.round(base.bytesPerPeer),
  },
  ratioAnnounce: memory.row.vsBaselineAnnounce,
  ratioBytes: memory.row.vsBaselineBytes,
  redis: redis === undefined ? null : rows.slice(2),
};
emit(result, () => {
  printTable(`tracker: ${PEERS} peers, ${ANNOUNCES} announces (KEEPALIVE → ACK) per setup`, rows as never);
  console.log(
    `\njoins (challenged, token proof): ${Math.round(memory.joinsPerCpuS)}/CPU s; samples of 16: ${Math.round(memory.samplesPerCpuS)}/CPU s`,
  );
  console.log('targets: ≥ 100,000 announces per CPU second in memory; ≤ 2,048 bytes per peer');
});
