// npm run bench -- dtls [--json] [--handshakes 100] [--records 20000] [--only handshakes|records|concurrent]
// porthole's DTLS 1.2 against OpenSSL in the same run:
//  1. CPU per full handshake (ECDHE-ECDSA P-256 certificate; X25519 and P-256 groups), each side's
//     core measured alone (in-memory wire; process CPU time, not wall time, as OpenSSL's is), and OpenSSL's `s_server -dtls1_2` CPU per handshake
//     (from /proc, porthole clients on loopback) — the server-side ratio.
//  2. Records per CPU second (both ends) for AES-128-GCM and CHACHA20-POLY1305 at 200 and 1,200
//     bytes over loopback sockets (4 MiB receive buffers), against plaintext dgram of the same
//     sizes (ratio); at most 256 in flight, the median of 5 runs each (`--runs`),
//     interleaved with a floor: dgram plus one bare node:crypto AEAD object per record each way.
//  3. Handshakes per second of one server core with 100 concurrent clients (in-memory).

import { type CipherGCMTypes, createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { SessionConfig } from '../src/dtls/config.ts';
import { DtlsEndpointCore } from '../src/dtls/endpoint-core.ts';
import { type DtlsCertificate, DtlsConnection, DtlsServer, generateCertificate } from '../src/dtls/index.ts';
import { resolveConfig } from '../src/dtls/options.ts';
import { Peer, pemFiles } from '../test/dtls/peers.ts';
import { emit, flagValue, printTable, round } from './lib/report.ts';

/** CPU time of this process, ms (wall time would count the moments a busy machine runs others). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const HANDSHAKES = Number(flagValue('handshakes', '100'));
const RECORDS = Number(flagValue('records', '20000'));
/** Runs one part only (`handshakes`, `records` or `concurrent`); all by default. */
const ONLY = flagValue('only', 'all');
const runs = (part: string): boolean => ONLY === 'all' || ONLY === part;
const LOCAL = '127.0.0.1';
const SERVER = { address: '192.0.2.1', port: 4433 };

const certificate: DtlsCertificate = await generateCertificate();

function configs(group: 'x25519' | 'P-256'): { server: SessionConfig; client: SessionConfig } {
  return {
    server: resolveConfig({ certificate, groups: [group] }, 'server', {}),
    client: resolveConfig(
      { fingerprints: [certificate.fingerprint], groups: [group, 'P-256'] },
      'client',
      {},
    ),
  };
}

/** Runs `clients` handshakes against one server core in memory; returns ms spent in each side. */
function memoryHandshakes(
  group: 'x25519' | 'P-256',
  clients: number,
  rounds: number,
): { serverMs: number; clientMs: number; done: number } {
  const { server: sc, client: cc } = configs(group);
  let serverMs = 0;
  let clientMs = 0;
  let done = 0;
  for (let r = 0; r < rounds; r++) {
    const server = new DtlsEndpointCore();
    server.listen({ config: sc, maxSessions: clients + 1 }, 0);
    const cores = Array.from({ length: clients }, () => new DtlsEndpointCore());
    let t = cpuMs();
    for (const c of cores) c.connect(SERVER, cc, 0);
    clientMs += cpuMs() - t;
    let moving = true;
    while (moving) {
      moving = false;
      for (let i = 0; i < clients; i++) {
        const from = { address: '198.51.100.1', port: 10_000 + i };
        t = cpuMs();
        const out = cores[i]!.drain();
        cores[i]!.drainEvents();
        clientMs += cpuMs() - t;
        for (const d of out) {
          moving = true;
          t = cpuMs();
          server.receive(d.data as Buffer, from, 0);
          const back = server.drain();
          for (const e of server.drainEvents()) if (e.type === 'connected') done++;
          serverMs += cpuMs() - t;
          t = cpuMs();
          for (const b of back) cores[b.to.port - 10_000]!.receive(b.data as Buffer, SERVER, 0);
          clientMs += cpuMs() - t;
        }
      }
    }
  }
  return { serverMs, clientMs, done };
}

function procCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, clock ticks at 100 Hz
}

async function opensslServerHandshakes(
  group: 'X25519' | 'P-256',
  n: number,
): Promise<{ cpuMsPerHandshake: number; ok: number }> {
  const files = pemFiles(certificate);
  const peer = new Peer('openssl', [
    's_server',
    '-dtls1_2',
    '-accept',
    `${LOCAL}:0`,
    '-cert',
    files.cert,
    '-key',
    files.key,
    '-groups',
    group,
  ]);
  try {
    const port = Number((await peer.waitFor(/ACCEPT \S+:(\d+)/))[1]);
    const before = procCpuMs(peer.child.pid!);
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const c = await DtlsConnection.connect({
        remote: { address: LOCAL, port },
        fingerprints: [certificate.fingerprint],
        groups: group === 'X25519' ? ['x25519', 'P-256'] : ['P-256'],
        retransmitInitialMs: 200,
      });
      ok++;
      await c.close();
      await new Promise((r) => setTimeout(r, 5));
    }
    return { cpuMsPerHandshake: (procCpuMs(peer.child.pid!) - before) / n, ok };
  } finally {
    await peer.kill();
    files.remove();
  }
}

/**
 * Records in flight at most (both record benchmarks): what the receiver has not taken yet stays
 * well below the socket buffer ({@link SOCKET_BUFFER_BYTES}), so neither side pays for datagrams
 * the kernel drops.
 */
const WINDOW = 256;
/** Receive buffer of every record-benchmark socket (plaintext and DTLS alike). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Records still unreceived this long after the last arrival count as lost (the window moves on). */
const STALL_MS = 50;
/** Each record measurement is the median of this many runs (`--runs`). */
const RUNS = Number(flagValue('runs', '5'));

/**
 * Sends `n` records with at most {@link WINDOW} unreceived: `pump()` sends until the window is
 * full, `received()` counts one in and schedules the next burst once half the window is free (no
 * busy loop while waiting); it returns true at the n-th. A watchdog declares what is missing
 * {@link STALL_MS} after the last arrival lost, so a kernel drop never stalls the run.
 */
class Window {
  readonly #n: number;
  readonly #send: () => void;
  #sent = 0;
  #got = 0;
  #lost = 0;
  #scheduled = false;
  #seen = -1;
  #done: (() => void) | undefined;
  readonly #burst = (): void => {
    this.#scheduled = false;
    this.pump();
  };
  readonly #watchdog = setInterval(() => {
    if (this.#got !== this.#seen) {
      this.#seen = this.#got;
      return;
    }
    this.#lost = this.#sent - this.#got;
    if (this.#got + this.#lost >= this.#n) this.#finish();
    else this.pump();
  }, STALL_MS);

  constructor(n: number, send: () => void) {
    this.#n = n;
    this.#send = send;
  }

  /** Resolves once every record arrived or was declared lost. */
  run(): Promise<void> {
    return new Promise((resolve) => {
      this.#done = resolve;
      this.pump();
    });
  }

  pump(): void {
    while (this.#sent < this.#n && this.#sent - this.#got - this.#lost < WINDOW) {
      this.#sent++;
      this.#send();
    }
  }

  received(): void {
    this.#got++;
    if (this.#got + this.#lost >= this.#n) this.#finish();
    else if (!this.#scheduled && this.#sent < this.#n && this.#sent - this.#got - this.#lost <= WINDOW / 2) {
      this.#scheduled = true;
      setImmediate(this.#burst);
    }
  }

  #finish(): void {
    clearInterval(this.#watchdog);
    this.#done?.();
    this.#done = undefined;
  }

  /** Records received so far. */
  get count(): number {
    return this.#got;
  }

  /** Records declared lost. */
  get lost(): number {
    return this.#lost;
  }
}

/** A record measurement: records received per CPU second of this process, and records lost. */
interface Rate {
  readonly perCpuSecond: number;
  readonly lost: number;
}

/** The median rate of `runs` (lost: the sum). */
function median(runs: readonly Rate[]): Rate {
  const rates = runs.map((r) => r.perCpuSecond).sort((a, b) => a - b);
  const lost = runs.reduce((sum, r) => sum + r.lost, 0);
  return { perCpuSecond: rates[Math.floor(rates.length / 2)]!, lost };
}

/** A udp4 socket on loopback with the benchmark's receive buffer. */
async function boundSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, LOCAL, r));
  socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
  return socket;
}

/** Runs `window` with this process's CPU time measured around it. */
async function measured(window: Window): Promise<Rate> {
  const cpu = process.cpuUsage();
  await window.run();
  const used = process.cpuUsage(cpu);
  return { perCpuSecond: window.count / ((used.user + used.system) / 1e6), lost: window.lost };
}

async function plainRecords(size: number, n: number): Promise<Rate> {
  const a = await boundSocket();
  const b = await boundSocket();
  const payload = Buffer.alloc(size, 7);
  const port = b.address().port;
  const window = new Window(n, () => a.send(payload, port, LOCAL));
  b.on('message', () => window.received());
  const rate = await measured(window);
  a.close();
  b.close();
  return rate;
}

/**
 * The floor of any DTLS on node:crypto: plaintext dgram plus one bare AEAD object per record on
 * each side (createCipheriv, setAAD, update, final, getAuthTag into one datagram; the same to
 * open it), no record layer at all. node:crypto takes one IV per cipher object, so no record
 * layer built on it can go below this.
 */
async function floorRecords(
  aead: 'aes-128-gcm' | 'chacha20-poly1305',
  size: number,
  n: number,
): Promise<Rate> {
  const a = await boundSocket();
  const b = await boundSocket();
  const key = randomBytes(aead === 'aes-128-gcm' ? 16 : 32);
  const options = { authTagLength: 16 } as const;
  const sealNonce = Buffer.alloc(12);
  const openNonce = Buffer.alloc(12);
  const aad = Buffer.alloc(13);
  const payload = Buffer.alloc(size, 7);
  const port = b.address().port;
  let sequence = 0;
  const window = new Window(n, () => {
    sealNonce.writeUInt32BE(sequence++, 8);
    const out = Buffer.allocUnsafe(13 + 8 + size + 16);
    sealNonce.copy(out, 13, 4, 12);
    const cipher = createCipheriv(aead as CipherGCMTypes, key, sealNonce, options);
    cipher.setAAD(aad);
    cipher.update(payload).copy(out, 21);
    cipher.final();
    cipher.getAuthTag().copy(out, 21 + size);
    a.send(out, port, LOCAL);
  });
  b.on('message', (data: Buffer) => {
    data.copy(openNonce, 4, 13, 21);
    const decipher = createDecipheriv(aead as CipherGCMTypes, key, openNonce, options);
    decipher.setAAD(aad);
    decipher.setAuthTag(data.subarray(data.length - 16));
    decipher.update(data.subarray(21, data.length - 16));
    decipher.final();
    window.received();
  });
  const rate = await measured(window);
  a.close();
  b.close();
  return rate;
}

async function dtlsRecords(suite: string, size: number, n: number, iterator = false): Promise<Rate> {
  const serverSocket = await boundSocket();
  const clientSocket = await boundSocket();
  const server = await DtlsServer.listen({
    socket: serverSocket,
    certificate,
    cipherSuites: [suite],
    receiveQueue: 1_000_000,
  });
  const accepted = server.accept();
  const client = await DtlsConnection.connect({
    socket: clientSocket,
    remote: { address: LOCAL, port: server.address().port },
    fingerprints: [certificate.fingerprint],
  });
  const peer = await accepted;
  const payload = Buffer.alloc(size, 7);
  const window = new Window(n, () => client.send(payload));
  if (iterator) {
    void (async () => {
      for await (const _ of peer) window.received();
    })();
  } else {
    // The callback receiver, as plaintext dgram's 'message' event: no promise per record.
    peer.setReceiver(() => window.received());
  }
  const rate = await measured(window);
  await client.close();
  await server.close();
  await new Promise<void>((r) => clientSocket.close(r));
  await new Promise<void>((r) => serverSocket.close(r));
  return rate;
}

// 1. handshake CPU
const handshakeRows: Record<string, string | number>[] = [];
for (const group of runs('handshakes') ? (['x25519', 'P-256'] as const) : []) {
  memoryHandshakes(group, 1, 5); // warm-up
  const m = memoryHandshakes(group, 1, HANDSHAKES);
  const openssl = await opensslServerHandshakes(
    group === 'x25519' ? 'X25519' : 'P-256',
    Math.min(HANDSHAKES, 100),
  );
  const serverMs = m.serverMs / m.done;
  handshakeRows.push({
    handshake: `ECDHE-ECDSA P-256 cert, ${group}`,
    'porthole server ms': round(serverMs),
    'porthole client ms': round(m.clientMs / m.done),
    'openssl s_server ms': round(openssl.cpuMsPerHandshake),
    'server ratio (porthole/openssl)': round(serverMs / openssl.cpuMsPerHandshake),
  });
}

// 2. records per CPU second
/**
 * One row: plaintext dgram, the node:crypto floor and porthole's DTLS, interleaved run by run (a
 * load change on the shared machine hits all three), the median of {@link RUNS} each.
 */
async function recordRow(
  name: string,
  suite: string,
  aead: 'aes-128-gcm' | 'chacha20-poly1305',
  size: number,
  iterator: boolean,
): Promise<Record<string, string | number>> {
  const plain: Rate[] = [];
  const floor: Rate[] = [];
  const dtls: Rate[] = [];
  for (let i = 0; i < RUNS; i++) {
    plain.push(await plainRecords(size, RECORDS));
    floor.push(await floorRecords(aead, size, RECORDS));
    dtls.push(await dtlsRecords(suite, size, RECORDS, iterator));
  }
  const p = median(plain);
  const f = median(floor);
  const d = median(dtls);
  return {
    suite: name,
    receive: iterator ? 'for await' : 'setReceiver',
    bytes: size,
    'dtls records/cpu-s': Math.round(d.perCpuSecond),
    'plain dgram/cpu-s': Math.round(p.perCpuSecond),
    ratio: round(d.perCpuSecond / p.perCpuSecond),
    'floor/cpu-s': Math.round(f.perCpuSecond),
    'floor ratio': round(f.perCpuSecond / p.perCpuSecond),
    'dtls/floor': round(d.perCpuSecond / f.perCpuSecond),
    'lost (dtls/floor/plain)': `${d.lost}/${f.lost}/${p.lost}`,
  };
}

const recordRows: Record<string, string | number>[] = [];
if (runs('records')) {
  for (const size of [200, 1200]) {
    recordRows.push(
      await recordRow('AES-128-GCM', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'aes-128-gcm', size, false),
      await recordRow(
        'CHACHA20-POLY1305',
        'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
        'chacha20-poly1305',
        size,
        false,
      ),
    );
  }
  // The same through `for await` (a promise per record), for comparison.
  recordRows.push(
    await recordRow('AES-128-GCM', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'aes-128-gcm', 1200, true),
  );
}

// 3. one server core, 100 concurrent clients
const concurrentRows: Record<string, string | number>[] = [];
if (runs('concurrent')) {
  const concurrent = memoryHandshakes('x25519', 100, 1);
  concurrentRows.push({
    clients: 100,
    completed: concurrent.done,
    'server handshakes/s (one core)': Math.round(concurrent.done / (concurrent.serverMs / 1000)),
  });
}

emit({ handshakes: handshakeRows, records: recordRows, concurrent: concurrentRows[0] }, () => {
  printTable(
    'Handshake CPU (ms per handshake; porthole cores measured alone, openssl s_server from /proc)',
    handshakeRows,
  );
  printTable('Records per CPU second, both ends on loopback (ratio to plaintext dgram)', recordRows);
  printTable('One server core, 100 concurrent clients (in-memory)', concurrentRows);
});
