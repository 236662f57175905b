// npm run bench -- dtls [--json] [--handshakes 100] [--records 20000]
// porthole's DTLS 1.2 against OpenSSL in the same run:
//  1. CPU per full handshake (ECDHE-ECDSA P-256 certificate; X25519 and P-256 groups), each side's
//     core measured alone (in-memory wire; process CPU time, not wall time, as OpenSSL's is), and OpenSSL's `s_server -dtls1_2` CPU per handshake
//     (from /proc, porthole clients on loopback) — the server-side ratio.
//  2. Records per CPU second (both ends) for AES-128-GCM and CHACHA20-POLY1305 at 200 and 1,200
//     bytes over loopback sockets, against plaintext dgram of the same sizes (ratio); at most 256
//     in flight, best of 3 runs each.
//  3. Handshakes per second of one server core with 100 concurrent clients (in-memory).
import { createSocket } from 'node:dgram';
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
 * below the socket buffer, so neither side pays for datagrams the kernel drops.
 */
const WINDOW = 256;
/** Each record measurement is the best of this many runs (a busy machine only ever slows one down). */
const RUNS = 3;

/**
 * Sends `n` records with at most {@link WINDOW} unreceived: `pump()` sends until the window is
 * full, `received()` counts one in and schedules the next burst once half the window is free (no
 * busy loop while waiting); it returns true at the n-th.
 */
class Window {
  readonly #n: number;
  readonly #send: () => void;
  #sent = 0;
  #got = 0;
  #scheduled = false;
  readonly #burst = (): void => {
    this.#scheduled = false;
    this.pump();
  };

  constructor(n: number, send: () => void) {
    this.#n = n;
    this.#send = send;
  }

  pump(): void {
    while (this.#sent < this.#n && this.#sent - this.#got < WINDOW) {
      this.#sent++;
      this.#send();
    }
  }

  received(): boolean {
    this.#got++;
    if (!this.#scheduled && this.#sent < this.#n && this.#sent - this.#got <= WINDOW / 2) {
      this.#scheduled = true;
      setImmediate(this.#burst);
    }
    return this.#got === this.#n;
  }

  /** Records received so far. */
  get count(): number {
    return this.#got;
  }
}

/** The best of {@link RUNS} runs of `measure`. */
async function best(measure: () => Promise<number>): Promise<number> {
  let top = 0;
  for (let i = 0; i < RUNS; i++) top = Math.max(top, await measure());
  return top;
}

async function plainRecords(size: number, n: number): Promise<number> {
  const a = createSocket('udp4');
  const b = createSocket('udp4');
  await new Promise<void>((r) => a.bind(0, LOCAL, r));
  await new Promise<void>((r) => b.bind(0, LOCAL, r));
  const payload = Buffer.alloc(size, 7);
  const port = b.address().port;
  const window = new Window(n, () => a.send(payload, port, LOCAL));
  const cpu = process.cpuUsage();
  await new Promise<void>((resolve) => {
    b.on('message', () => {
      if (window.received()) resolve();
    });
    window.pump();
    setTimeout(resolve, 20_000);
  });
  const used = process.cpuUsage(cpu);
  a.close();
  b.close();
  return window.count / ((used.user + used.system) / 1e6);
}

async function dtlsRecords(suite: string, size: number, n: number, iterator = false): Promise<number> {
  const server = await DtlsServer.listen({
    port: 0,
    host: LOCAL,
    certificate,
    cipherSuites: [suite],
    receiveQueue: 1_000_000,
  });
  const accepted = server.accept();
  const client = await DtlsConnection.connect({
    remote: { address: LOCAL, port: server.address().port },
    fingerprints: [certificate.fingerprint],
  });
  const peer = await accepted;
  const payload = Buffer.alloc(size, 7);
  const window = new Window(n, () => client.send(payload));
  const cpu = process.cpuUsage();
  await new Promise<void>((resolve) => {
    if (iterator) {
      void (async () => {
        for await (const _ of peer) if (window.received()) break;
        resolve();
      })();
    } else {
      // The callback receiver, as plaintext dgram's 'message' event: no promise per record.
      peer.setReceiver(() => {
        if (window.received()) resolve();
      });
    }
    window.pump();
    setTimeout(resolve, 20_000);
  });
  const used = process.cpuUsage(cpu);
  await client.close();
  await server.close();
  return window.count / ((used.user + used.system) / 1e6);
}

// 1. handshake CPU
const handshakeRows: Record<string, string | number>[] = [];
for (const group of ['x25519', 'P-256'] as const) {
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
const recordRows: Record<string, string | number>[] = [];
for (const size of [200, 1200]) {
  const plain = await best(() => plainRecords(size, RECORDS));
  for (const [name, suite] of [
    ['AES-128-GCM', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
    ['CHACHA20-POLY1305', 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256'],
  ] as const) {
    const dtls = await best(() => dtlsRecords(suite, size, RECORDS));
    recordRows.push({
      suite: name,
      receive: 'setReceiver',
      bytes: size,
      'dtls records/cpu-s': Math.round(dtls),
      'plain dgram/cpu-s': Math.round(plain),
      ratio: round(dtls / plain),
    });
  }
}

{
  // The same through `for await` (a promise per record), for comparison.
  const plain = await best(() => plainRecords(1200, RECORDS));
  const dtls = await best(() => dtlsRecords('TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 1200, RECORDS, true));
  recordRows.push({
    suite: 'AES-128-GCM',
    receive: 'for await',
    bytes: 1200,
    'dtls records/cpu-s': Math.round(dtls),
    'plain dgram/cpu-s': Math.round(plain),
    ratio: round(dtls / plain),
  });
}

// 3. one server core, 100 concurrent clients
const concurrent = memoryHandshakes('x25519', 100, 1);
const concurrentRow = {
  clients: 100,
  completed: concurrent.done,
  'server handshakes/s (one core)': Math.round(concurrent.done / (concurrent.serverMs / 1000)),
};

emit({ handshakes: handshakeRows, records: recordRows, concurrent: concurrentRow }, () => {
  printTable(
    'Handshake CPU (ms per handshake; porthole cores measured alone, openssl s_server from /proc)',
    handshakeRows,
  );
  printTable('Records per CPU second, both ends on loopback (ratio to plaintext dgram)', recordRows);
  printTable('One server core, 100 concurrent clients (in-memory)', [concurrentRow]);
});
