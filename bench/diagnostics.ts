// npm run bench -- diagnostics [--json] [--iterations 2000000] [--rounds 5]
// What a diagnostics channel costs on a hot path: the Demux drop path and the STUN transaction
// core, each with nobody subscribed (the gate: one boolean read) and with a no-op subscriber (a
// message built and published per event). Baseline in the same run: the Demux routing the same
// datagrams to a handler, and the transaction core with nobody subscribed. The cases alternate for
// `rounds` rounds and each reports its median (tens of nanoseconds are noisy on a shared machine).

import type { RemoteInfo, Socket } from 'node:dgram';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Demux, frameRange, MuxDiagnostics, PortholeFrame } from '../src/mux/index.ts';
import {
  decodeStun,
  encodeStun,
  makeBindingRequest,
  StunClass,
  StunDiagnostics,
  StunMethod,
  StunTransactions,
} from '../src/stun/index.ts';
import { emit, flagValue, printTable, round } from './lib/report.ts';

const iterations = Number(flagValue('iterations', '2000000'));
const rounds = Number(flagValue('rounds', '5'));
const from: RemoteInfo = { address: '192.0.2.9', port: 40000, family: 'IPv4', size: 0 };
let sink = 0;

function nsPerOp(count: number, body: () => void): number {
  for (let i = 0; i < Math.min(50_000, count); i++) body(); // warm-up
  const start = performance.now();
  for (let i = 0; i < count; i++) body();
  return ((performance.now() - start) * 1e6) / count;
}

/** Runs every case `rounds` times, alternating, and returns each case's median. */
function medians(cases: readonly (() => number)[]): number[] {
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const [i, run] of cases.entries()) samples[i]!.push(run());
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]!);
}

function withSubscribers<T>(names: readonly string[], run: () => T): T {
  const noop = (message: unknown): void => {
    sink += message === undefined ? 0 : 1;
  };
  for (const name of names) subscribe(name, noop);
  try {
    return run();
  } finally {
    for (const name of names) unsubscribe(name, noop);
  }
}

// --- demux ------------------------------------------------------------------------------------

const demux = new Demux(new EventEmitter() as unknown as Socket);
demux.register(frameRange(PortholeFrame.APPLICATION), (data) => {
  sink += data.length;
});
const routed = Buffer.from([PortholeFrame.APPLICATION, 1, 2, 3]);
const unclaimed = Buffer.from([0xff, 1, 2, 3]);
const [demuxRouted, demuxDropped, demuxObserved] = medians([
  () => nsPerOp(iterations, () => demux.inject(routed, from)),
  () => nsPerOp(iterations, () => demux.inject(unclaimed, from)),
  () =>
    withSubscribers([MuxDiagnostics.DATAGRAM_DROPPED], () =>
      nsPerOp(iterations, () => demux.inject(unclaimed, from)),
    ),
]) as [number, number, number];
const demuxRows = [
  { case: 'routed to a handler (baseline)', nsPerDatagram: demuxRouted, ratio: 1 },
  {
    case: 'dropped (unclaimed), nobody subscribed',
    nsPerDatagram: demuxDropped,
    ratio: demuxDropped / demuxRouted,
  },
  {
    case: 'dropped (unclaimed), one subscriber',
    nsPerDatagram: demuxObserved,
    ratio: demuxObserved / demuxRouted,
  },
];

// --- STUN transactions ------------------------------------------------------------------------

const to = { address: '192.0.2.1', port: 3478 };
const transactionCount = Math.max(1, Math.floor(iterations / 20));
const requests = Array.from({ length: 1024 }, () => encodeStun(makeBindingRequest()));
const responses = requests.map((r) =>
  decodeStun(
    encodeStun({
      method: StunMethod.BINDING,
      class: StunClass.SUCCESS_RESPONSE,
      transactionId: r.subarray(8, 20),
      attributes: [],
    }),
  ),
);
function transactions(): number {
  const core = new StunTransactions<number>();
  let i = 0;
  return nsPerOp(transactionCount, () => {
    const k = i++ & 1023;
    core.start(requests[k]!, to, 0, k);
    sink += core.poll(0)?.type === 'send' ? 1 : 0;
    sink += core.receive(responses[k]!) ?? 0;
  });
}
const [stunQuiet, stunObserved] = medians([
  transactions,
  () => withSubscribers(Object.values(StunDiagnostics), transactions),
]) as [number, number];
const stunRows = [
  { case: 'start + send + response, nobody subscribed (baseline)', nsPerTransaction: stunQuiet, ratio: 1 },
  {
    case: 'start + send + response, subscribers',
    nsPerTransaction: stunObserved,
    ratio: stunObserved / stunQuiet,
  },
];

emit(
  {
    benchmark: 'diagnostics',
    node: process.version,
    settings: { iterations, rounds },
    demux: demuxRows,
    stun: stunRows,
    sink,
  },
  () => {
    printTable(
      `Demux.inject, ns per datagram (${iterations} each, median of ${rounds} rounds)`,
      demuxRows.map((r) => ({ ...r, ratio: round(r.ratio) })),
    );
    printTable(
      `StunTransactions, ns per transaction (${transactionCount} each, median of ${rounds} rounds; 2 messages published when observed)`,
      stunRows.map((r) => ({ ...r, ratio: round(r.ratio) })),
    );
  },
);
