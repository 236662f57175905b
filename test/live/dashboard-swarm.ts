// A live swarm on loopback with its dashboard, for the browser test: an edge fed ffmpeg's test
// pattern and three peers with HTTP outputs, each a real LivePeer; the dashboard reads their
// reports as the tracker would hold them and kills a peer by closing it.
import { randomBytes } from 'node:crypto';
import {
  AdmitStatus,
  createChannel,
  type Dashboard,
  LiveEdge,
  LivePeer,
  openChannel,
  type SwarmNodeView,
  startSwarmDashboard,
} from '../../src/live/index.ts';
import { cutAtKeyframes, encodeTestPattern, publishChunks } from './media.ts';

/** The running swarm and its dashboard. */
export interface DashboardSwarm extends AsyncDisposable {
  readonly dashboard: Dashboard;
  /** Ids of the peers running now. */
  peerIds(): string[];
  /** The peer whose HTTP output the dashboard plays. */
  playerPeerId(): string | undefined;
}

export async function startDashboardSwarm(peerCount = 3): Promise<DashboardSwarm> {
  const channel = createChannel();
  const key = openChannel(channel.publicKey, channel.id);
  const payloads = cutAtKeyframes(await encodeTestPattern(60));
  const admit = (token: Buffer) =>
    token.toString().startsWith('ok-') ? { id: token.toString() } : AdmitStatus.BAD_TOKEN;
  const edge = await LiveEdge.start({ channel: key, admit, address: '127.0.0.1' });
  const publisher = publishChunks(channel, payloads, (bytes) => edge.ingest(bytes));
  const peers = new Map<string, LivePeer>();
  const joinedAt = new Map<string, number>();
  let joins = 0;
  let leaves = 0;
  const addPeer = async (): Promise<string> => {
    const id = `ok-${randomBytes(4).toString('hex')}`;
    const peer = await LivePeer.start({
      channel: key,
      token: id,
      peerId: id,
      address: '127.0.0.1',
      edges: [{ id: 'edge', endpoint: edge.endpoint }],
      outputs: [{ http: 0 }],
      natClass: (['port-restricted', 'full-cone', 'symmetric'] as const)[joins % 3]!,
    });
    peers.set(id, peer);
    joinedAt.set(id, Date.now());
    joins++;
    return id;
  };
  for (let i = 0; i < peerCount; i++) await addPeer();
  const playerPeerId = (): string | undefined => peers.keys().next().value;
  const served = await startSwarmDashboard({
    swarm: () => {
      const nodes: SwarmNodeView[] = [
        { id: 'edge', role: 'edge', report: { ...edgeReport(edge), neighbours: [] } },
        ...[...peers].map(([id, peer]) => ({
          id,
          role: 'peer',
          joinedAtMs: joinedAt.get(id),
          report: peer.report(),
        })),
      ];
      return { channels: [{ id: channel.id.toString('hex'), nodes, joins, leaves, expired: 0 }] };
    },
    playerUrl: () => {
      const id = playerPeerId();
      return id === undefined ? undefined : peers.get(id)?.httpUrl;
    },
    addPeer: async () => ({ id: await addPeer() }),
    killPeer: async (id) => {
      const peer = id === undefined ? undefined : peers.get(id);
      if (peer === undefined) throw new Error(`no peer ${id}`);
      peers.delete(id!);
      leaves++;
      await peer.close();
      return { killed: id };
    },
  });
  const dashboard = served.dashboard;
  const close = async (): Promise<void> => {
    await served.close();
    publisher.stop();
    for (const peer of peers.values()) await peer.close();
    await edge.close();
  };
  return { dashboard, peerIds: () => [...peers.keys()], playerPeerId, [Symbol.asyncDispose]: close };
}

function edgeReport(edge: LiveEdge) {
  const s = edge.stats();
  return {
    role: 'edge',
    natClass: 'open',
    uploadBps: s.egressBps,
    downloadBps: 0,
    bytesFromEdge: 0,
    bytesFromPeers: 0,
    bytesUp: s.bytesUp,
    continuity: Number.NaN,
    latencyP50Ms: Number.NaN,
    latencyP95Ms: Number.NaN,
    stalls: 0,
    bans: s.bans,
    chunksPlayed: 0,
    chunksMissed: 0,
  };
}
