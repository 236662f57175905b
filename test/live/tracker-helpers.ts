// Shared set-up of the tracker tests: a secret, a channel, tokens, and loopback nodes on their own demux.
import { createSocket } from 'node:dgram';
import { createChannel, issueToken, type TokenRoleValue } from '../../src/live/index.ts';
import { Demux } from '../../src/mux/index.ts';

/** The operator secret of the tests. */
export const SECRET = Buffer.alloc(32, 0x5e);
/** The channel of the tests. */
export const CHANNEL = createChannel(Buffer.alloc(32, 0x11));

/** A token for `peerId` in {@link CHANNEL} valid for an hour (or until `expiresAtMs`). */
export function tokenFor(
  peerId: string,
  role: TokenRoleValue = 'peer',
  expiresAtMs = Date.now() + 3_600_000,
): string {
  return issueToken({ secret: SECRET, peerId, channelId: CHANNEL.id, role, expiresAtMs });
}

/** A loopback socket with its demux; `close()` detaches and closes it. */
export async function loopbackDemux(): Promise<{ demux: Demux; close: () => Promise<void> }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const demux = new Demux(socket);
  return {
    demux,
    close: () =>
      new Promise<void>((resolve) => {
        demux.detach();
        socket.close(() => resolve());
      }),
  };
}
