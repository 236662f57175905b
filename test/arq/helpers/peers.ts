// Two ARQ endpoints on real loopback sockets, raw or muxed, closed by `dispose()`.
import type { Socket, SocketType } from 'node:dgram';
import { once } from 'node:events';
import { ArqEndpoint, type ArqEndpointOptions, type ArqStream } from '../../../src/arq/index.ts';
import { type Demux, demuxOf } from '../../../src/mux/index.ts';
import { bindUdpSocket } from '../../../src/ports/index.ts';

export interface Peers {
  readonly a: ArqEndpoint;
  readonly b: ArqEndpoint;
  readonly sockets: readonly [Socket, Socket];
  readonly demuxes: readonly Demux[];
  /** b's address as seen by a. */
  readonly bRemote: { address: string; port: number };
  dispose(): void;
}

type EndpointSettings = Omit<ArqEndpointOptions, 'socket' | 'demux'>;

export async function makePeers(
  framing: 'raw' | 'muxed',
  aOptions: EndpointSettings,
  bOptions: EndpointSettings,
  family: SocketType = 'udp4',
): Promise<Peers> {
  const address = family === 'udp4' ? '127.0.0.1' : '::1';
  const sa = await bindUdpSocket({ family, address, port: 0 });
  const sb = await bindUdpSocket({ family, address, port: 0 });
  const demuxes = [demuxOf(sa), demuxOf(sb)];
  const a = new ArqEndpoint({ ...aOptions, demux: demuxes[0]!, framing });
  const b = new ArqEndpoint({ ...bOptions, demux: demuxes[1]!, framing });
  return {
    a,
    b,
    sockets: [sa, sb],
    demuxes,
    bRemote: { address, port: sb.address().port },
    dispose(): void {
      a.close();
      b.close();
      for (const d of demuxes) d.detach();
      sa.close();
      sb.close();
    },
  };
}

/** Resolves with the next conversation `endpoint` accepts. */
export async function nextConversation(endpoint: ArqEndpoint): Promise<ArqStream> {
  const [stream] = (await once(endpoint, 'conversation')) as [ArqStream];
  return stream;
}

/** Collects `count` messages (or bytes in stream mode) from `stream`. */
export function collect(stream: ArqStream, count: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const onData = (m: Buffer): void => {
      got.push(m);
      if (got.length === count) {
        stream.off('data', onData);
        stream.off('error', reject);
        resolve(got);
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
}
