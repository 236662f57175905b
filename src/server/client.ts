import type { RemoteInfo, Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { AbortError, ClosedError, TimeoutError, throwIfAborted } from '../errors/index.ts';
import { DatagramQueue } from '../internal/datagram-queue.ts';
import { wildcardAddress } from '../internal/endpoint.ts';
import { Demux, frameRange, PortholeFrame } from '../mux/index.ts';
import { bindUdpSocket } from '../ports/index.ts';
import {
  DEFAULT_CLIENT_QUEUE,
  DEFAULT_HANDSHAKE_RETRY_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
} from './constants.ts';
import { checkInteger, invalidOption } from './errors.ts';
import {
  decodeServerFrame,
  encodeCookieFrame,
  encodeHello,
  type ServerFrame,
  ServerFrameKind,
} from './frame.ts';
import { DEFAULT_RANGES } from './options.ts';
import type { SessionReceiver } from './session.ts';

/** Settings of {@link connectUdp}. `host` and `port` are required. */
export interface UdpClientOptions {
  /** The server's IP address. */
  readonly host: string;
  /** The server's port. */
  readonly port: number;
  /** Local address to bind. Default the wildcard of the server's family. */
  readonly localAddress?: string;
  /** Run the cookie handshake before resolving (needed by cookie-protected servers). Default true. */
  readonly handshake?: boolean;
  /** Give up the handshake after this long, in ms. Default 5 000. */
  readonly timeoutMs?: number;
  /** Resend the handshake frame this often, in ms. Default 200. */
  readonly retryMs?: number;
  /** Datagrams kept for the reader, at most. Default 1 024. */
  readonly queue?: number;
  readonly signal?: AbortSignal;
}

/** Counters of a {@link UdpClient}. */
export interface UdpClientStats {
  readonly datagramsIn: number;
  readonly datagramsOut: number;
  /** Datagrams dropped because the queue was full. */
  readonly dropped: number;
  /** Server frames received (handshake and its repeats). */
  readonly control: number;
  /** Server frames that did not parse. */
  readonly malformed: number;
}

/** Events of a {@link UdpClient}. */
export interface UdpClientEvents {
  /** ICMP said the server cannot be reached (ECONNREFUSED and kin). */
  unreachable: [error: Error];
  close: [];
}

/**
 * Connects a UDP socket to a {@link UdpServer} and, by default, does the cookie handshake
 * (HELLO → COOKIE → ECHO → ACCEPT, resent every `retryMs`) so that cookie-protected servers
 * accept it. Then: `send()`, datagrams through the iterator or a receiver, `close()`.
 * @throws TimeoutError `ERR_TIMEOUT` (no handshake within `timeoutMs`), AbortError `ERR_ABORTED`,
 *   InvalidOptionError `ERR_INVALID_OPTION`, PortBindError from the bind.
 */
export async function connectUdp(options: UdpClientOptions): Promise<UdpClient> {
  throwIfAborted(options.signal);
  const family = isIP(options.host);
  if (family === 0) invalidOption('host', `must be an IP address, got "${options.host}"`);
  checkInteger('port', options.port, 1, 65_535);
  const timeoutMs = checkInteger(
    'timeoutMs',
    options.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    1,
    2 ** 31 - 1,
  );
  const retryMs = checkInteger('retryMs', options.retryMs ?? DEFAULT_HANDSHAKE_RETRY_MS, 1, 2 ** 31 - 1);
  const queue = checkInteger('queue', options.queue ?? DEFAULT_CLIENT_QUEUE, 1, 1 << 24);
  const socket = await bindUdpSocket({
    family: family === 6 ? 'udp6' : 'udp4',
    address: options.localAddress ?? wildcardAddress(family === 6 ? 'udp6' : 'udp4'),
    port: 0,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const client = new UdpClient(socket, queue);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      try {
        socket.connect(options.port, options.host);
      } catch (error) {
        reject(error);
      }
    });
    if (options.handshake !== false) await client.handshake(timeoutMs, retryMs, options.signal);
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}

/** A connected UDP socket talking to one server. Made by {@link connectUdp}. */
export class UdpClient
  extends EventEmitter<UdpClientEvents>
  implements AsyncIterable<Buffer>, AsyncDisposable
{
  readonly #socket: Socket;
  readonly #demux: Demux;
  readonly #queue: DatagramQueue<Buffer>;
  #receiver: SessionReceiver | undefined;
  #onFrame: ((frame: ServerFrame) => void) | undefined;
  #closed: Promise<void> | undefined;
  #in = 0;
  #out = 0;
  #dropped = 0;
  #control = 0;
  #malformed = 0;

  /** @internal Use {@link connectUdp}. */
  constructor(socket: Socket, queue: number) {
    super();
    this.#socket = socket;
    this.#queue = new DatagramQueue({ capacity: queue, overflow: 'drop-newest' });
    socket.on('error', (error) => this.emit('unreachable', error));
    this.#demux = new Demux(socket);
    const onData = (data: Buffer): void => this.#deliver(data);
    for (const range of DEFAULT_RANGES) this.#demux.register(range, onData);
    this.#demux.register(frameRange(PortholeFrame.SERVER_COOKIE), (data: Buffer, _from: RemoteInfo) => {
      let frame: ServerFrame;
      try {
        frame = decodeServerFrame(data);
      } catch {
        this.#malformed++;
        return;
      }
      this.#control++;
      this.#onFrame?.(frame);
    });
  }

  /** The local port. */
  get localPort(): number {
    return this.#socket.address().port;
  }

  /** The local address and port. */
  address(): { address: string; port: number; family: string } {
    return this.#socket.address();
  }

  /** @internal Runs the cookie handshake. */
  handshake(timeoutMs: number, retryMs: number, signal: AbortSignal | undefined): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    let frame = encodeHello();
    const send = (): void => {
      this.#socket.send(frame);
    };
    const retry = setInterval(send, retryMs);
    const timeout = setTimeout(
      () => finish(new TimeoutError(`no handshake with the server within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = (): void => finish(new AbortError(signal?.reason));
    const finish = (error?: Error): void => {
      clearInterval(retry);
      clearTimeout(timeout);
      signal?.removeEventListener('abort', onAbort);
      this.#onFrame = undefined;
      if (error === undefined) resolve();
      else reject(error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#onFrame = (reply) => {
      if (reply.kind === ServerFrameKind.COOKIE) {
        frame = encodeCookieFrame(ServerFrameKind.ECHO, reply.period, reply.mac);
        send();
      } else if (reply.kind === ServerFrameKind.ACCEPT) {
        finish();
      }
    };
    send();
    return promise;
  }

  /**
   * Sends one datagram to the server.
   * @throws ClosedError `ERR_CLOSED` once closed.
   */
  send(data: Uint8Array): void {
    if (this.#closed !== undefined) throw new ClosedError('UDP client');
    this.#out++;
    this.#socket.send(data);
  }

  /** Routes datagrams to `receiver` instead of the iterator (queued ones first); `undefined` to queue again. */
  setReceiver(receiver: SessionReceiver | undefined): void {
    this.#receiver = receiver;
    if (receiver === undefined) return;
    for (let d = this.#queue.shift(); d !== undefined; d = this.#queue.shift()) receiver(d);
  }

  /** Datagrams from the server until `close()`. Breaking out ends that reader only, never the client. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.#queue.reader();
  }

  /** Closes the socket (idempotent); the iterator ends. */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#queue.end();
    this.#demux.detach();
    this.#closed = new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    this.emit('close');
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A snapshot of the counters. */
  stats(): UdpClientStats {
    return {
      datagramsIn: this.#in,
      datagramsOut: this.#out,
      dropped: this.#dropped,
      control: this.#control,
      malformed: this.#malformed,
    };
  }

  #deliver(data: Buffer): void {
    this.#in++;
    const receiver = this.#receiver;
    if (receiver !== undefined) receiver(data);
    else if (!this.#queue.push(data)) this.#dropped++;
  }
}
