// The punching matrix (issue 6) over impaired NAT uplinks: 25 ms each way (50 ms RTT between a NAT
// and the internet) and 10% loss in each direction on every NAT's uplink. The same lab, broker,
// coturn and peer fixtures as punch-matrix.test.ts; every one of the 10 unordered pairs must connect
// and exchange data both ways, on the same paths as without loss (direct for the 8 textbook pairs,
// predicted or direct for pr ↔ sym, relay only for sym ↔ sym). The impairment is tc netem where the
// kernel has it, otherwise the lab's relayed tap pairs. Prints pair × path × time.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  baseNatType,
  checkLabSupport,
  checkUplinkRelaySupport,
  missingTool,
  NatLab,
  type NetemOptions,
} from '../../src/lab/index.ts';
import type { PathKind } from '../../src/punch/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { expectedPaths, NATS, PAIRS, startPeer, startRendezvous, stop, waitFor } from './punch-harness.ts';

checkLeaks();

const support = await checkLabSupport();
let skip: string | false = support.supported ? false : support.reason;
if (skip === false) skip = (await missingTool('turnserver', 'coturn')) ?? false;
if (skip === false) skip = (await checkUplinkRelaySupport()) ?? false;

/** 25 ms each way = 50 ms RTT over an uplink, and 10% of datagrams lost in each direction. */
const IMPAIRMENT: NetemOptions = { delayMs: 25, lossPercent: 10 };
/** Deadline of one pair to link (punch, predict or fall back to the relay), in milliseconds. */
const LINK_DEADLINE_MS = 40_000;

interface PairResult {
  readonly path: PathKind | null;
  readonly responderPath: PathKind | null;
  readonly connectMs: number;
  readonly firstDataMs: number;
  readonly rttMs: number;
  readonly echoes: number;
}

describe('lossy punch matrix: 50 ms RTT and 10% loss on every NAT uplink, every pair connects', {
  skip,
}, () => {
  let lab: NatLab;
  let workdir: string;
  const results = new Map<string, PairResult | Error>();

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'porthole-punchlossy-'));
    lab = await NatLab.create({
      nats: NATS,
      netem: Object.fromEntries(NATS.map((nat) => [nat, IMPAIRMENT])),
      impairSeed: 6,
    });
    await startRendezvous(lab, workdir);
  });

  after(async () => {
    const kind = lab === undefined ? '?' : lab.uplinkKind('fc');
    const rows = PAIRS.map(([a, b]) => {
      const r = results.get(`${a}-${b}`);
      const pair = `${baseNatType(a)}-${baseNatType(b)}`;
      if (r === undefined) return `| ${pair} | (not run) | | | | |`;
      if (r instanceof Error) return `| ${pair} | FAILED: ${r.message.slice(0, 60)} | | | | |`;
      return `| ${pair} | ${r.path}/${r.responderPath} | ${r.connectMs} | ${r.firstDataMs} | ${r.rttMs} | ${r.echoes} |`;
    });
    process.stdout.write(
      `\nlossy punch matrix (${IMPAIRMENT.delayMs} ms each way, ${IMPAIRMENT.lossPercent}% loss per uplink, ${kind})\n` +
        `| pair | path | connect ms | first data ms | rtt ms | echoes |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n`,
    );
    await lab?.close();
    if (workdir !== undefined) await rm(workdir, { recursive: true, force: true });
  });

  test('every NAT uplink is impaired', async () => {
    for (const nat of NATS) {
      if (lab.uplinkKind(nat) === 'veth') assert.match(await lab.showQdisc(nat), /netem .*delay 25ms/);
      else assert.notEqual(await lab.uplinkStats(nat), undefined, `${nat}: relayed uplink`);
    }
  });

  for (const [a, b] of PAIRS) {
    const pair = [baseNatType(a), baseNatType(b)].sort().join('-');
    // Under loss the pr ↔ sym nomination may land on the main sockets' pair, which only the
    // prediction probes opened: either label is right as long as prediction ran (asserted below).
    const expected: readonly PathKind[] = pair === 'pr-sym' ? ['predicted', 'direct'] : expectedPaths(a, b);
    test(`${baseNatType(a)} ↔ ${baseNatType(b)} with loss: connects, data both ways, path ${expected.join(' or ')}`, async () => {
      const key = `${a}-${b}`;
      const children: ChildProcess[] = [];
      try {
        const [responder, responderOut] = await startPeer(lab, b, { id: `${key}-r` });
        children.push(responder);
        const [initiator, initiatorOut] = await startPeer(lab, a, { id: `${key}-i`, peer: `${key}-r` });
        children.push(initiator);
        const linked = await waitFor(
          initiatorOut,
          (l) => l.connectMs !== undefined,
          LINK_DEADLINE_MS,
          `${key} links`,
        );
        const first = await waitFor(
          initiatorOut,
          (l) => l.firstDataMs !== undefined,
          10_000,
          `${key} echoes`,
        );
        const answered = await waitFor(responderOut, (l) => l.path !== undefined, 10_000, `${key} accepts`);
        // Data keeps flowing both ways over the lossy path: 5 more echoes (pings go every 100 ms).
        await waitFor(
          initiatorOut,
          () => initiatorOut.filter((l) => typeof l.echo === 'number').length >= 5,
          10_000,
          `${key} keeps echoing`,
        );
        const result: PairResult = {
          path: first.path as PathKind,
          responderPath: answered.path as PathKind,
          connectMs: linked.connectMs as number,
          firstDataMs: first.firstDataMs as number,
          rttMs: first.rttMs as number,
          echoes: initiatorOut.filter((l) => typeof l.echo === 'number').length,
        };
        results.set(key, result);
        assert.ok(expected.includes(result.path as PathKind), `initiator path ${result.path}`);
        if (pair === 'pr-sym') {
          const sockets = Number(linked.predictionSockets ?? 0) + Number(answered.predictionSockets ?? 0);
          assert.ok(sockets > 0, `pr ↔ sym linked without port prediction opening a socket (${sockets})`);
        }
        assert.ok(
          expected.includes(result.responderPath as PathKind),
          `responder path ${result.responderPath}`,
        );
      } catch (error) {
        results.set(key, error as Error);
        throw error;
      } finally {
        await Promise.all(children.map(stop));
      }
    });
  }
});
