import { createSocket, type Socket, type SocketType } from 'node:dgram';
import { throwIfAborted } from '../errors/index.ts';
import { PortBindError, PortErrorCode } from './errors.ts';
import { validatePort } from './port-number.ts';

/** A UDP socket family. */
export type SocketFamily = SocketType;

/** Settings of one {@link bindUdpSocket} call. */
export interface BindUdpSocketOptions {
  /** `udp4` or `udp6`. */
  readonly family: SocketFamily;
  /** Local address to bind, e.g. `0.0.0.0`, `::`, `127.0.0.1`. */
  readonly address: string;
  /** Local port; 0 lets the kernel choose. */
  readonly port: number;
  /**
   * Bind exclusively (no port sharing across cluster workers). Default true; the pool always binds
   * exclusively so that a port is held by exactly one socket.
   */
  readonly exclusive?: boolean;
  /** SO_REUSEPORT (Linux, BSD; Node ≥ 22.12). Default false. Used by reuse-port groups only. */
  readonly reusePort?: boolean;
  /** `ipv6Only` for udp6 sockets. Default false. */
  readonly ipv6Only?: boolean;
  /** SO_RCVBUF in bytes, applied after the bind; the kernel may clamp it. */
  readonly recvBufferSize?: number;
  /** SO_SNDBUF in bytes, applied after the bind; the kernel may clamp it. */
  readonly sendBufferSize?: number;
  readonly signal?: AbortSignal;
  /** Socket factory (tests). Default `node:dgram` `createSocket`. */
  readonly createSocket?: typeof createSocket;
}

/** errno values that another port of the same range might not hit. */
const PORT_SPECIFIC_ERRNOS = new Set(['EADDRINUSE']);

/**
 * Binds one UDP socket and resolves once it is bound. Rejects `ERR_INVALID_OPTION` when
 * `port` is not an integer 0–65535 (Node would wrap or truncate it), or with a {@link PortBindError}:
 * - `ERR_PORT_IN_USE` (EADDRINUSE): another socket holds the port — try another port;
 * - `ERR_ADDRESS_NOT_AVAILABLE` (EADDRNOTAVAIL): the address is not on this machine;
 * - `ERR_PORT_ACCESS_DENIED` (EACCES): a privileged port or a security policy;
 * - `ERR_FILE_DESCRIPTORS_EXHAUSTED` (EMFILE, ENFILE): raise `ulimit -n` or close sockets;
 * - `ERR_PORT_BIND_FAILED`: anything else (the errno is kept).
 * The socket is closed on failure; no listener is left behind.
 */
export function bindUdpSocket(options: BindUdpSocketOptions): Promise<Socket> {
  throwIfAborted(options.signal);
  try {
    validatePort(options.port, 'port');
  } catch (error) {
    return Promise.reject(error);
  }
  const make = options.createSocket ?? createSocket;
  let socket: Socket;
  try {
    socket = make({
      type: options.family,
      reuseAddr: false,
      ...(options.reusePort === true ? { reusePort: true } : {}),
      ipv6Only: options.ipv6Only ?? false,
    });
  } catch (error) {
    return Promise.reject(translateBindError(error, options.address, options.port));
  }
  return new Promise<Socket>((resolve, reject) => {
    const onError = (error: Error): void => {
      socket.off('listening', onListening);
      socket.close();
      reject(translateBindError(error, options.address, options.port));
    };
    const onListening = (): void => {
      socket.off('error', onError);
      try {
        if (options.recvBufferSize !== undefined) socket.setRecvBufferSize(options.recvBufferSize);
        if (options.sendBufferSize !== undefined) socket.setSendBufferSize(options.sendBufferSize);
      } catch (error) {
        socket.close();
        reject(translateBindError(error, options.address, options.port));
        return;
      }
      resolve(socket);
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ address: options.address, port: options.port, exclusive: options.exclusive ?? true });
  });
}

/** Whether `error` is a bind failure that another port could avoid (EADDRINUSE). */
export function isPortSpecificBindError(error: unknown): boolean {
  return error instanceof PortBindError && PORT_SPECIFIC_ERRNOS.has(error.errno);
}

function translateBindError(error: unknown, address: string, port: number): PortBindError {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
  const where = `${address}:${port}`;
  switch (errno) {
    case 'EADDRINUSE':
      return new PortBindError(
        PortErrorCode.IN_USE,
        `UDP ${where} is held by another socket`,
        errno,
        address,
        port,
        error,
      );
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
    case 'ENOTFOUND':
    case 'EINVAL':
      return new PortBindError(
        PortErrorCode.ADDRESS_NOT_AVAILABLE,
        `cannot bind UDP ${where} (${errno}): the address is not on this machine or not of this family; ` +
          'use an address of a local interface, 0.0.0.0 or ::',
        errno,
        address,
        port,
        error,
      );
    case 'EACCES':
    case 'EPERM':
      return new PortBindError(
        PortErrorCode.ACCESS_DENIED,
        `binding UDP ${where} was denied (${errno}): ports below 1024 need CAP_NET_BIND_SERVICE, ` +
          'or a security policy forbids the port',
        errno,
        address,
        port,
        error,
      );
    case 'EMFILE':
    case 'ENFILE':
      return new PortBindError(
        PortErrorCode.FILE_DESCRIPTORS_EXHAUSTED,
        `cannot open another socket for UDP ${where} (${errno}): raise the file limit (ulimit -n) or close sockets`,
        errno,
        address,
        port,
        error,
      );
    default:
      return new PortBindError(
        PortErrorCode.BIND_FAILED,
        `binding UDP ${where} failed (${errno})`,
        errno,
        address,
        port,
        error,
      );
  }
}
