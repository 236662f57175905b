/**
 * MPEG-TS over UDP (what `ffmpeg -f mpegts udp://host:port` and OBS send: usually 7 packets per
 * datagram), unicast or multicast. The socket is read by its Demux (every first byte: it carries
 * only TS); datagrams need not be aligned (the packet reader resyncs).
 * @module
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { InvalidOptionError } from '../errors/index.ts';
import { demuxOf } from '../mux/index.ts';
import { bindUdpSocket } from '../ports/index.ts';
import { QueuedTsInput } from './source-input.ts';

/** Every first byte: the socket carries only MPEG-TS. */
const ALL_BYTES = { first: 0, last: 255 } as const;
/** SO_RCVBUF asked for, bytes (a few seconds of a 10 Mbit/s stream; the kernel may clamp it). */
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;

/** Settings of {@link openUdpInput}. */
export interface UdpInputOptions {
  /** Local address to bind (unicast), or the multicast group to join. */
  readonly address: string;
  /** Local port, 0–65535 (0: any, for tests; see {@link UdpTsInput.port}). */
  readonly port: number;
  /** Multicast: the local interface address to join on. Default the system's choice. */
  readonly interfaceAddress?: string;
}

/** Whether `address` is an IPv4 multicast address (224.0.0.0/4). */
export function isMulticastAddress(address: string): boolean {
  if (isIP(address) !== 4) return false;
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

/** A UDP MPEG-TS input; see the module doc. */
export class UdpTsInput extends QueuedTsInput {
  readonly kind = 'udp';
  readonly #socket: Socket;
  readonly #registration: { remove(): void };
  /** Datagrams taken. */
  datagrams = 0;

  /** @internal Made by {@link openUdpInput}. */
  constructor(socket: Socket) {
    super();
    this.#socket = socket;
    this.#registration = demuxOf(socket).register(ALL_BYTES, (data) => {
      this.datagrams++;
      this.write(data);
    });
  }

  /** The bound port. */
  get port(): number {
    return this.#socket.address().port;
  }

  protected async stop(): Promise<void> {
    this.#registration.remove();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

/**
 * Binds `address:port` (or `0.0.0.0:port` joined to the multicast group `address`) and receives
 * MPEG-TS datagrams on it.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` for an address that is not IPv4; a PortBindError
 *   when the port cannot be bound.
 */
export async function openUdpInput(options: UdpInputOptions): Promise<UdpTsInput> {
  const { address, port } = options;
  if (isIP(address) !== 4)
    throw new InvalidOptionError('address', `udp input: ${address} is not an IPv4 address`);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidOptionError('port', `udp input: port ${port} must be 0-65535`);
  }
  let socket: Socket;
  if (isMulticastAddress(address)) {
    // Several receivers of one group share the port (SO_REUSEADDR), as every multicast receiver does.
    socket = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '0.0.0.0', () => {
        socket.off('error', reject);
        resolve();
      });
    }).catch((error: unknown) => {
      socket.close();
      throw error;
    });
    try {
      socket.addMembership(address, options.interfaceAddress);
    } catch (error) {
      socket.close();
      throw new InvalidOptionError(
        'address',
        `udp input: cannot join ${address}: ${(error as Error).message}`,
      );
    }
  } else {
    socket = await bindUdpSocket({ family: 'udp4', address, port, recvBufferSize: RECV_BUFFER_BYTES });
  }
  try {
    socket.setRecvBufferSize(RECV_BUFFER_BYTES);
  } catch {
    // The kernel keeps its own limit: the default buffer still works at modest rates.
  }
  return new UdpTsInput(socket);
}
