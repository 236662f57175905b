import type { Socket } from 'node:dgram';

/** Closes every socket, resolving when all have closed; sockets already closed are skipped. */
export function closeSockets(sockets: readonly Socket[]): Promise<void> {
  return Promise.all(sockets.map(closeSocket)).then(() => undefined);
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // ERR_SOCKET_DGRAM_NOT_RUNNING: already closed
    }
  });
}
