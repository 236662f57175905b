// The dashboard in a real browser: Debian's headless Chromium (playwright-core, a fresh profile)
// opens the dashboard of a live swarm on loopback. The <video> plays the stream a peer outputs over
// HTTP (its time moves by 5 s, no stall), the graph shows every running peer, the charts receive
// points, the page logs no error; a peer killed from the page leaves the graph and the table and
// the charts keep moving. Screenshot: test-artifacts/dashboard.png (PORTHOLE_SCREENSHOT=<path>
// writes one more copy, e.g. docs/dashboard.png).
// porthole:test-serial — Chromium and a swarm of real processes (test/support/run-suite.ts)
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import type { Dashboard } from '../../src/live/index.ts';
import { checkLeaks } from '../support/leaks.ts';
import { waitFor } from '../support/wait.ts';
import { startDashboardSwarm } from './dashboard-swarm.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = process.env.PORTHOLE_ARTIFACTS ?? join(import.meta.dirname, '..', '..', 'test-artifacts');
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (CI installs Debian's chromium package)`;

checkLeaks({ graceMs: 5_000 });

interface PageState {
  readonly connected: boolean;
  readonly points: number;
  readonly errors: string[];
  readonly nodes: { id: string; role: string }[];
  readonly series: { t: number[]; continuity: (number | null)[]; peers: number[]; egress: number[] };
  readonly video: { stalls: number; playing: boolean; currentTime: number; errors: number };
}

describe('the dashboard in headless Chromium', { skip }, () => {
  const profile = mkdtempSync(join(tmpdir(), 'porthole-chromium-'));
  after(() => rmSync(profile, { recursive: true, force: true }));

  it('plays the stream, draws the swarm and the charts, and shows a killed peer leave', async () => {
    await using swarm = await startDashboardSwarm();
    const dashboard: Dashboard = swarm.dashboard;
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1400, height: 1000 },
    });
    const problems: string[] = [];
    try {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
      await page.goto(dashboard.url);
      const state = (): Promise<PageState> =>
        page.evaluate(() => (globalThis as unknown as { dashboard: PageState }).dashboard);

      // 1. The picture plays: once it has started, its time moves by 5 s with no stall.
      const startedAt = await waitFor(async () => (await state()).video.currentTime, {
        what: 'the video playing',
        timeoutMs: 90_000,
        intervalMs: 200,
        detail: () => problems,
      });
      await waitFor(async () => (await state()).video.currentTime >= startedAt + 5, {
        what: 'the video time moving by 5 s',
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      const playing = await state();
      assert.equal(playing.video.stalls, 0, 'no stall reported by the page');
      assert.equal(playing.video.errors, 0, 'no player error');

      // 2. The swarm shows every running peer, and the charts have points.
      const peers = swarm.peerIds();
      assert.ok(peers.length >= 3);
      await waitFor(
        async () => {
          const shown = await page.$$eval('#graph [data-node-id]', (els) =>
            els.map((e) => e.getAttribute('data-node-id')),
          );
          return peers.every((id) => shown.includes(id));
        },
        { what: 'every running peer in the graph', timeoutMs: 30_000, intervalMs: 200 },
      );
      assert.ok(playing.points >= 3, `${playing.points} chart points`);
      assert.ok(
        playing.series.continuity.some((v) => v !== null),
        'the continuity chart has values',
      );
      // The edge reports its egress to the tracker: the edge egress chart is not flat at zero.
      await waitFor(async () => (await state()).series.egress.some((v) => v > 0), {
        what: 'the edge egress chart above zero',
        timeoutMs: 15_000,
        intervalMs: 200,
      });
      const uplots = await page.$$eval('.uplot canvas', (els) => els.length);
      assert.equal(uplots, 5, 'five charts drawn');
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      if (process.env.PORTHOLE_SCREENSHOT !== undefined) copyFileSync(shot, process.env.PORTHOLE_SCREENSHOT);

      // 3. Kill a peer from the page (not the one the picture comes from, which stays the same peer
      // while it runs): it leaves, the charts move, the picture's stream is never cut.
      const player = swarm.playerPeerId();
      assert.ok(player !== undefined, 'a peer plays the picture');
      const victim = peers.find((id) => id !== player)!;
      const pointsBefore = (await state()).series.t.length;
      await page.click(`button[data-kill="${victim}"]`);
      await waitFor(async () => !(await state()).nodes.some((n) => n.id === victim), {
        what: `${victim} gone from the feed`,
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      await waitFor(
        async () =>
          (await page.$$(`#graph [data-node-id="${victim}"], #peers tr[data-node-id="${victim}"]`)).length ===
          0,
        { what: `${victim} gone from the graph and the table`, timeoutMs: 5_000, intervalMs: 100 },
      );
      assert.ok(!swarm.peerIds().includes(victim), 'the process is gone');
      assert.equal(swarm.playerPeerId(), player, 'the picture comes from the same peer');
      const moved = await waitFor(
        async () => {
          const s = await state();
          return s.series.t.length >= pointsBefore + 2 && s.series.peers.at(-1) === peers.length - 1
            ? s
            : undefined;
        },
        { what: 'the charts moving after the kill', timeoutMs: 30_000, intervalMs: 200 },
      );
      assert.ok(
        moved.series.continuity.slice(pointsBefore).some((v) => v !== null),
        'continuity points after the kill',
      );
      assert.ok((await state()).video.currentTime > playing.video.currentTime, 'the picture still plays');
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-after-kill.png'), fullPage: true });
      assert.deepEqual(problems, [], 'the page logged no error');
      assert.deepEqual((await state()).errors, []);
    } finally {
      await context.close();
    }
  });
});
