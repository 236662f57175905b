import type { Command } from 'commander';
import type { SwarmDashboard } from '../live/index.ts';
import { hostPort, numberIn, onStopSignal } from './fail.ts';

interface DemoCommandOptions {
  peers: number;
  edges: number;
  bitrate: number;
  seconds?: number;
  dashboard: string | false;
}

/** `porthole demo` (`npm start`): a whole live system on loopback, with live figures. */
export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run a live channel on loopback: tracker, edge, source (test pattern) and peers; watch it with ffplay',
    )
    .option('--peers <n>', 'peers to start', numberIn({ min: 0, max: 200, integer: true }), 5)
    .option('--edges <n>', 'edges to start', numberIn({ min: 1, max: 8, integer: true }), 1)
    .option(
      '--bitrate <kbps>',
      'video bitrate of the test pattern, kbit/s',
      numberIn({ min: 100, max: 20_000, integer: true }),
      1000,
    )
    .option('--dashboard <host:port>', 'serve the dashboard here', hostPort({ minPort: 0 }), '127.0.0.1:0')
    .option('--no-dashboard', 'no dashboard')
    .option(
      '--seconds <n>',
      'stop after this many seconds (default: at Ctrl-C)',
      numberIn({ min: 1, max: 86_400 }),
    )
    .action(async (o: DemoCommandOptions) => {
      const { DemoView, LiveDemo, startSwarmDashboard } = await import('../live/index.ts');
      const stop = onStopSignal();
      const out = process.stdout;
      const view = new DemoView(out);
      out.write(
        'porthole demo: starting a tracker, an edge, the test-pattern source and peers on 127.0.0.1 ...\n',
      );
      const demo = await LiveDemo.start({ peers: o.peers, edges: o.edges, bitrateKbps: o.bitrate });
      let dashboard: SwarmDashboard | undefined;
      try {
        if (o.dashboard !== false)
          dashboard = await startSwarmDashboard(demo, {
            listen: o.dashboard,
            source: () => demo.sourceStats(),
            components: { tracker: () => demo.tracker.stats() },
          });
      } catch (error) {
        await demo.close();
        throw error;
      }
      const header = (): string[] => {
        const url = demo.playerUrl();
        const t = demo.trackerEndpoint;
        const src = demo.sourceStats();
        return [
          `porthole live demo - tracker ${t.address}:${t.port} - ${demo.edges.length} edge(s) - channel ${demo.channelId.slice(0, 16)}...`,
          `source: test pattern, ${src === undefined ? '-' : `${(src.bitrateBps / 1e6).toFixed(2)} Mbit/s, ${src.chunks} chunks`}`,
          url === undefined
            ? 'watch: (waiting for a peer)'
            : `watch: ffplay ${url}    (or VLC: Media > Open Network Stream > ${url})`,
          ...(dashboard === undefined ? [] : [`dashboard: ${dashboard.url}`]),
        ];
      };
      const footer = (): string[] => {
        const s = demo.swarm();
        const ch = s.channels[0];
        const c = ch?.counters;
        return [
          `tracker: ${ch?.nodes.length ?? 0} nodes, joins ${c?.joins ?? 0}, leaves ${c?.leaves ?? 0}, expired ${c?.expired ?? 0}`,
          view.tty ? 'Ctrl-C stops everything.' : '',
        ];
      };
      const draw = (): void => view.draw({ header: header(), peers: demo.viewPeers(), footer: footer() });
      const ticker = setInterval(draw, 1000);
      draw();
      const done =
        o.seconds === undefined
          ? new Promise<void>(() => {})
          : new Promise<void>((r) => setTimeout(r, o.seconds! * 1000).unref());
      await Promise.race([stop.signal, done]);
      stop.off();
      clearInterval(ticker);
      view.draw({ header: header(), peers: demo.viewPeers(), footer: [] });
      out.write('porthole demo: stopping ...\n');
      await dashboard?.close();
      await demo.close();
      out.write('porthole demo: stopped, nothing left running.\n');
    });
}
