// npm run bench -- stun [--json] [--seconds 2] [--window 32]
// STUN codec speed against a plain Buffer copy of the same bytes, and STUN server responses per
// second over loopback against a raw dgram echo server, both measured in this run.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import {
  decodeStun,
  encodeStun,
  getXorMappedAddress,
  makeBindingRequest,
  makeSoftware,
  makeXorMappedAddress,
  StunClass,
  StunMethod,
  StunServer,
} from '../src/stun/index.ts';
import { emit, flagValue, printTable, round } from './lib/report.ts';

const seconds = Number(flagValue('seconds', '2'));
const window = Number(flagValue('window', '32'));
const codecIterations = Number(flagValue('iterations', '300000'));

// --- codec ------------------------------------------------------------------------------------

const transactionId = Buffer.from('0123456789ab');
const mapped = { address: '203.0.113.7', port: 40001 };
const requestInit = makeBindingRequest({ transactionId, software: 'porthole-bench' });
const responseAttributes = [makeXorMappedAddress(mapped), makeSoftware('porthole-bench')];
const responseInit = {
  method: StunMethod.BINDING,
  class: StunClass.SUCCESS_RESPONSE,
  transactionId,
  attributes: responseAttributes,
};
const requestBytes = encodeStun(requestInit, { fingerprint: true });
const responseBytes = encodeStun(responseInit, { fingerprint: true });

function opsPerSecond(iterations: number, body: () => void): number {
  for (let i = 0; i < Math.min(10_000, iterations); i++) body(); // warm-up
  const start = performance.now();
  for (let i = 0; i < iterations; i++) body();
  return (iterations / (performance.now() - start)) * 1000;
}

let sink = 0;
const copyBaseline = opsPerSecond(codecIterations, () => {
  const copy = Buffer.allocUnsafe(responseBytes.length);
  copy.set(responseBytes);
  sink += copy[0]!;
});
const codecRows = [
  {
    name: 'encode Binding request (+FINGERPRINT)',
    run: () => {
      sink += encodeStun(requestInit, { fingerprint: true }).length;
    },
  },
  {
    name: 'decode Binding request',
    run: () => {
      sink += decodeStun(requestBytes).attributes.length;
    },
  },
  {
    name: 'encode Binding response (+FINGERPRINT)',
    run: () => {
      sink += encodeStun(responseInit, { fingerprint: true }).length;
    },
  },
  {
    name: 'decode response + read XOR-MAPPED-ADDRESS',
    run: () => {
      sink += getXorMappedAddress(decodeStun(responseBytes))!.port;
    },
  },
].map(({ name, run }) => {
  const ops = opsPerSecond(codecIterations, run);
  return {
    case: name,
    opsPerSec: Math.round(ops),
    baselineOpsPerSec: Math.round(copyBaseline),
    ratio: round(ops / copyBaseline),
  };
});

// --- server over loopback ---------------------------------------------------------------------

function bind(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

function close(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

/** Keeps `window` requests in flight to `port` for `seconds`; returns responses per second. */
async function load(port: number, payload: Buffer): Promise<{ perSecond: number; responses: number }> {
  const client = await bind();
  let responses = 0;
  let lastProgress = performance.now();
  const send = (): void => client.send(payload, port, '127.0.0.1');
  client.on('message', () => {
    responses++;
    lastProgress = performance.now();
    send();
  });
  const start = performance.now();
  for (let i = 0; i < window; i++) send();
  // Refill the window when loss stalls it; stop after `seconds`.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (now - start >= seconds * 1000) {
        clearInterval(timer);
        resolve();
      } else if (now - lastProgress > 50) {
        for (let i = 0; i < window; i++) send();
        lastProgress = now;
      }
    }, 10);
  });
  const elapsed = performance.now() - start;
  client.removeAllListeners('message');
  await close(client);
  return { perSecond: (responses / elapsed) * 1000, responses };
}

const echo = await bind();
echo.on('message', (data: Buffer, from: RemoteInfo) => echo.send(data, from.port, from.address));
const echoResult = await load(echo.address().port, requestBytes);
await close(echo);

const server = await StunServer.listen({ listen: { address: '127.0.0.1' }, rateLimit: false });
const stunResult = await load(server.addresses[0]!.port, requestBytes);
const serverStats = server.stats();
await server.close();

const serverRows = [
  {
    case: 'raw dgram echo (baseline)',
    responsesPerSec: Math.round(echoResult.perSecond),
    responses: echoResult.responses,
    ratio: 1,
  },
  {
    case: 'StunServer Binding',
    responsesPerSec: Math.round(stunResult.perSecond),
    responses: stunResult.responses,
    ratio: round(stunResult.perSecond / echoResult.perSecond),
  },
];

emit(
  {
    benchmark: 'stun',
    node: process.version,
    settings: { seconds, window, codecIterations },
    codec: codecRows,
    server: serverRows,
    serverStats,
    sink,
  },
  () => {
    printTable(
      `STUN codec (ops/s; baseline: copying the ${responseBytes.length}-byte response Buffer)`,
      codecRows,
    );
    printTable(`STUN server over loopback (${window} in flight, ${seconds} s each)`, serverRows);
  },
);
