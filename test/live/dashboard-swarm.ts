// The real demo with its dashboard, for the browser test: `LiveDemo` (the tracker and the
// test-pattern source in this process, the edge and the peers as `porthole edge` / `porthole peer`
// child processes) and `startSwarmDashboard` on it, as `porthole demo` (npm start) runs them.
import { type Dashboard, LiveDemo, type SwarmDashboard, startSwarmDashboard } from '../../src/live/index.ts';

/** The running demo and its dashboard. */
export interface DashboardSwarm extends AsyncDisposable {
  readonly demo: LiveDemo;
  readonly served: SwarmDashboard;
  readonly dashboard: Dashboard;
  /** Ids of the honest peers running now. */
  peerIds(): string[];
  /** The peer whose HTTP output the dashboard plays. */
  playerPeerId(): string | undefined;
}

export async function startDashboardSwarm(peerCount = 3): Promise<DashboardSwarm> {
  const demo = await LiveDemo.start({ peers: peerCount });
  let served: SwarmDashboard;
  try {
    served = await startSwarmDashboard(demo, {
      source: () => demo.sourceStats(),
      components: { tracker: () => demo.tracker.stats() },
    });
  } catch (error) {
    await demo.close();
    throw error;
  }
  const running = () => [...demo.peers.values()].filter((p) => p.child.running && !p.killed && !p.polluter);
  return {
    demo,
    served,
    dashboard: served.dashboard,
    peerIds: () => running().map((p) => p.id),
    playerPeerId: () => demo.playerId(),
    [Symbol.asyncDispose]: async () => {
      await served.close();
      await demo.close();
    },
  };
}
