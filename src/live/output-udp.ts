/**
 * UDP output: the played MPEG-TS as datagrams of seven packets (1316 bytes, what ffmpeg, VLC and
 * set-top boxes expect of MPEG-TS over UDP) to a unicast or multicast address. A send-only socket.
 * @module
 */
import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { InvalidOptionError } from '../errors/index.ts';
import { parseHostPort } from '../internal/host-port.ts';
import { bindUdpSocket } from '../ports/index.ts';
import { TS_PACKET_BYTES } from './constants.ts';
import type { OutputStats, PlayedChunk, PlayoutOutput } from './output.ts';

/** TS packets per datagram. */
export const UDP_OUTPUT_PACKETS_PER_DATAGRAM = 7;

/** Sends the played stream to `host:port`. */
export class UdpOutput implements PlayoutOutput {
  readonly #socket: Socket;
  readonly #address: string;
  readonly #port: number;
  #chunks = 0;
  #bytes = 0;
  #errors = 0;
  #closed = false;
  readonly #onSent = (error: Error | null): void => {
    if (error !== null) this.#errors++;
  };

  private constructor(socket: Socket, address: string, port: number) {
    this.#socket = socket;
    this.#address = address;
    this.#port = port;
  }

  /**
   * Opens the socket for `target` (`host:port`, an IPv4 address; multicast gets `ttl`, default 1).
   * @throws InvalidOptionError `ERR_INVALID_OPTION` (option `udp`) for a target that is not `ipv4:port`.
   */
  static async open(target: string, ttl = 1): Promise<UdpOutput> {
    const { host, port } = parseHostPort(target, { option: 'udp' });
    if (port === undefined || isIP(host) !== 4)
      throw new InvalidOptionError('udp', `udp output ${target}: expected an IPv4 address and a port`);
    const socket = await bindUdpSocket({ family: 'udp4', address: '0.0.0.0', port: 0 });
    const first = Number(host.split('.')[0]);
    if (first >= 224 && first <= 239) socket.setMulticastTTL(ttl);
    return new UdpOutput(socket, host, port);
  }

  write(chunk: PlayedChunk): void {
    if (this.#closed) return;
    const step = UDP_OUTPUT_PACKETS_PER_DATAGRAM * TS_PACKET_BYTES;
    const p = chunk.payload;
    for (let i = 0; i < p.length; i += step) {
      this.#socket.send(p.subarray(i, Math.min(p.length, i + step)), this.#port, this.#address, this.#onSent);
    }
    this.#chunks++;
    this.#bytes += p.length;
  }

  stats(): OutputStats {
    return {
      kind: 'udp',
      target: `udp://${this.#address}:${this.#port}`,
      chunksWritten: this.#chunks,
      bytesWritten: this.#bytes,
      dropped: this.#errors,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}
