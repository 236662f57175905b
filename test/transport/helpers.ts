import { createSocket, type Socket, type SocketType } from 'node:dgram';
import { once } from 'node:events';
import type { ReceivedDatagram, TransportStream } from '../../src/transport/index.ts';

/** A raw dgram socket bound on loopback (an ephemeral port), as a foreign peer. */
export async function rawSocket(type: SocketType = 'udp4', port = 0): Promise<Socket> {
  const socket = createSocket(type);
  socket.bind(port, type === 'udp4' ? '127.0.0.1' : '::1');
  await once(socket, 'listening');
  return socket;
}

/** Closes raw sockets (already closed is fine). */
export async function closeAll(sockets: readonly Socket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          try {
            s.close(() => resolve());
          } catch {
            resolve();
          }
        }),
    ),
  );
}

/** An RTP-looking datagram: version 2, payload type 96, `tag` in the last byte. */
export function rtp(tag: number): Buffer {
  return Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, tag]);
}

/** An RTCP-looking datagram (receiver report, type 201), `tag` in the last byte. */
export function rtcp(tag: number): Buffer {
  return Buffer.from([0x81, 201, 0, 1, 0, 0, 0, 1, tag]);
}

/** Reads exactly `count` datagrams from a fresh iterator that is already listening. */
export function reader(stream: TransportStream, count: number): Promise<ReceivedDatagram[]> {
  const it = stream.datagrams();
  return (async () => {
    const out: ReceivedDatagram[] = [];
    while (out.length < count) {
      const r = await it.next();
      if (r.done) break;
      out.push(r.value);
    }
    await it.return?.();
    return out;
  })();
}

/** Last byte of each datagram (the tag of {@link rtp}/{@link rtcp}). */
export function tags(items: readonly ReceivedDatagram[]): number[] {
  return items.map((d) => d.data[d.data.length - 1]!);
}

/** A fake clock. */
export function fakeClock(start = 10_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}
