/**
 * A Demux registration plus a remote address as a {@link DatagramLink}: the datagrams of one byte
 * range that come from `remote`, and sends to it on the demux's socket.
 * @module
 */
import type { DatagramLink, DatagramLinkRegistration } from '../internal/datagram-link.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import type { Demux } from './demux.ts';
import type { ByteRange } from './ranges.ts';

/** A {@link DatagramLink} over a demux (see {@link demuxLink}); `dropped` counts other sources. */
export interface DemuxLink extends DatagramLink {
  /** Datagrams on the range from another source than the remote (dropped). */
  readonly dropped: number;
  /** Sends the socket reported as failed. */
  readonly sendErrors: number;
}

/**
 * The datagrams whose first byte lies in `range` and that come from `remote`, as a link to it.
 * The range is registered on the demux while a handler is set (`onDatagram` → `remove()`); send
 * errors the socket reports later are counted in `sendErrors`.
 * @throws ConfigError `ERR_MUX_RANGE_TAKEN` from `onDatagram` when the range already has a handler.
 */
export function demuxLink(demux: Demux, range: ByteRange, remote: Endpoint): DemuxLink {
  const address = remote.address;
  const port = remote.port;
  let dropped = 0;
  let sendErrors = 0;
  const onSent = (error: Error | null): void => {
    if (error !== null) sendErrors++;
  };
  return {
    get dropped(): number {
      return dropped;
    },
    get sendErrors(): number {
      return sendErrors;
    },
    send(data: Uint8Array): void {
      demux.socket.send(data, port, address, onSent);
    },
    onDatagram(handler: (data: Buffer) => void): DatagramLinkRegistration {
      return demux.register(range, (data, from) => {
        if (from.port === port && from.address === address) handler(data);
        else dropped++;
      });
    },
  };
}
