// The punching matrix (issue 6) on real NATs: one lab with two NATs of each type (fc, ar, pr, sym
// and their twins fc2…sym2), a porthole Broker and coturn (as TURN) on the rendezvous address
// 172.31.0.3 in the internet namespace, one peer process per host. For all 10 unordered pairs the
// first peer connects to the second, pings, and the second echoes: data both ways. Paths: direct for
// the 8 textbook pairs, predicted for pr ↔ sym, relay for sym ↔ sym. Then a conntrack flush on a NAT
// mid-link: the link must see the path go, re-punch and carry data again on its own. Prints pair × path × time.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { baseNatType, checkLabSupport, missingTool, NatLab } from '../../src/lab/index.ts';
import type { PathKind } from '../../src/punch/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import {
  BROKER_PORT,
  expectedPaths,
  fixture,
  type Line,
  lines,
  PAIRS,
  RENDEZVOUS,
  startPeer,
  startRendezvous,
  stop,
  waitFor,
} from './punch-harness.ts';

checkLeaks();

const support = await checkLabSupport();
let skip: string | false = support.supported ? false : support.reason;
if (skip === false) skip = (await missingTool('turnserver', 'coturn')) ?? false;
if (skip === false) skip = (await missingTool('conntrack', 'conntrack')) ?? false;

interface PairResult {
  readonly path: PathKind | null;
  readonly responderPath: PathKind | null;
  readonly connectMs: number;
  readonly firstDataMs: number;
  readonly rttMs: number;
}

describe('punch matrix: every pair of lab NATs connects, through a broker and coturn', { skip }, () => {
  let lab: NatLab;
  let workdir: string;
  const results = new Map<string, PairResult | Error>();
  const brokerAddress = `${RENDEZVOUS}:${BROKER_PORT}`;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'porthole-punchlab-'));
    lab = await NatLab.create({ nats: ['fc', 'ar', 'pr', 'sym', 'fc2', 'ar2', 'pr2', 'sym2'] });
    await startRendezvous(lab, workdir);
  });

  after(async () => {
    const rows = PAIRS.map(([a, b]) => {
      const r = results.get(`${a}-${b}`);
      const pair = `${baseNatType(a)}-${baseNatType(b)}`;
      if (r === undefined) return `| ${pair} | (not run) | | | |`;
      if (r instanceof Error) return `| ${pair} | FAILED: ${r.message.slice(0, 60)} | | | |`;
      return `| ${pair} | ${r.path}/${r.responderPath} | ${r.connectMs} | ${r.firstDataMs} | ${r.rttMs} |`;
    });
    process.stdout.write(
      `\npunch matrix (initiator-responder)\n| pair | path | connect ms | first data ms | rtt ms |\n|---|---|---|---|---|\n${rows.join('\n')}\n`,
    );
    await lab?.close();
    if (workdir !== undefined) await rm(workdir, { recursive: true, force: true });
  });

  for (const [a, b] of PAIRS) {
    const expected = expectedPaths(a, b);
    test(`${baseNatType(a)} ↔ ${baseNatType(b)}: connects, data both ways, path ${expected.join(' or ')}`, async () => {
      const key = `${a}-${b}`;
      const children: ChildProcess[] = [];
      try {
        const [responder, responderOut] = await startPeer(lab, b, { id: `${key}-r` });
        children.push(responder);
        const [initiator, initiatorOut] = await startPeer(lab, a, { id: `${key}-i`, peer: `${key}-r` });
        children.push(initiator);
        const linked = await waitFor(initiatorOut, (l) => l.connectMs !== undefined, 40_000, `${key} links`);
        const first = await waitFor(
          initiatorOut,
          (l) => l.firstDataMs !== undefined,
          10_000,
          `${key} echoes`,
        );
        const answered = await waitFor(responderOut, (l) => l.path !== undefined, 10_000, `${key} accepts`);
        const result: PairResult = {
          path: first.path as PathKind,
          responderPath: answered.path as PathKind,
          connectMs: linked.connectMs as number,
          firstDataMs: first.firstDataMs as number,
          rttMs: first.rttMs as number,
        };
        results.set(key, result);
        assert.ok(expected.includes(result.path as PathKind), `initiator path ${result.path}`);
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

  test('a forged punch (right addresses and sequence numbers, wrong HMAC) never becomes a path', async () => {
    const children: ChildProcess[] = [];
    try {
      const forger = lab.spawnNode('h-ar', fixture('punch-forger'), [brokerAddress, 'forger']);
      children.push(forger);
      const forgerOut = lines(forger);
      await waitFor(forgerOut, (l) => l.ready === true, 30_000, 'the forger registers');
      const [victim, out] = await startPeer(lab, 'fc', {
        id: 'victim',
        peer: 'forger',
        turn: null,
        punchTimeoutMs: 3_000,
      });
      children.push(victim);
      const failed = await waitFor(
        out,
        (l) => l.error !== undefined || l.path !== undefined,
        20_000,
        'victim ends',
      );
      assert.equal(failed.error, 'ERR_PUNCH_FAILED', `the victim got ${JSON.stringify(failed)}`);
      assert.ok(!out.some((l) => l.path !== undefined), 'no path ever');
      // The victim itself counted the forgeries it refused: the forger's frames (answers to the
      // victim's probes and its own probes) reached it and failed the HMAC check, each one.
      assert.ok((failed.badMac as number) > 0, `the victim refused ${String(failed.badMac)} forged frames`);
      assert.ok((failed.probesSent as number) > 0, 'the victim punched');
      const seen = await waitFor(
        forgerOut,
        (l) => typeof l.probesSeen === 'number' && l.probesSeen > 0,
        5_000,
        'the forger saw probes',
      );
      assert.ok((seen.forged as number) >= (seen.probesSeen as number), 'the forger answered every probe');
    } finally {
      await Promise.all(children.map(stop));
    }
  });

  test('a conntrack flush on the symmetric NAT mid-link: the link loses the path and re-punches by itself', async () => {
    const children: ChildProcess[] = [];
    try {
      const [responder, responderOut] = await startPeer(lab, 'sym', { id: 'flush-r', keepaliveMs: 1_000 });
      children.push(responder);
      const [initiator, out] = await startPeer(lab, 'fc', {
        id: 'flush-i',
        peer: 'flush-r',
        keepaliveMs: 1_000,
      });
      children.push(initiator);
      await waitFor(out, (l) => l.firstDataMs !== undefined, 40_000, 'flush pair echoes');
      const before = await waitFor(out, (l) => typeof l.echo === 'number', 10_000, 'echoes go on');
      assert.ok(![...out, ...responderOut].some((l) => 'pathChange' in l), 'no path change before the flush');
      await lab.flushConntrack('sym');
      // The mapping is gone: a side whose keepalives go unanswered reports the path lost ('path'
      // null), re-punches (repunches counts it) and reports the new path.
      const sides = [
        { name: 'initiator', out },
        { name: 'responder', out: responderOut },
      ];
      const remade = (l: Line[]): boolean => {
        const lost = l.findIndex((x) => 'pathChange' in x && x.pathChange === null);
        return lost >= 0 && l.slice(lost + 1).some((x) => typeof x.pathChange === 'string');
      };
      await waitFor(
        out,
        () => sides.some((side) => remade(side.out)),
        30_000,
        'a side loses the path and makes a new one',
      );
      // Pings go every 100 ms: an echo 30 pings after the last one seen before the flush was sent
      // well after the flush, so it crossed the re-punched path.
      const after = await waitFor(
        out,
        (l) => typeof l.echo === 'number' && l.echo >= (before.echo as number) + 30,
        30_000,
        'echo after the flush',
      );
      for (const side of sides) {
        const changes = side.out.filter((l) => 'pathChange' in l);
        process.stdout.write(`conntrack flush, ${side.name}: path changes ${JSON.stringify(changes)}\n`);
        if (!remade(side.out)) continue;
        const last = changes.at(-1)!;
        assert.ok(
          last.pathChange === 'direct' || last.pathChange === 'predicted',
          `${side.name} ends on ${String(last.pathChange)}`,
        );
        assert.ok(
          (last.repunches as number) >= 1,
          `${side.name} counted ${String(last.repunches)} re-punches`,
        );
      }
      assert.ok(after.path === 'direct' || after.path === 'predicted', `echo on ${String(after.path)}`);
    } finally {
      await Promise.all(children.map(stop));
    }
  });
});
