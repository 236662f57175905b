import type { Socket } from 'node:dgram';
import { debuglog } from 'node:util';

const debug = debuglog('porthole:transport');

/** Warning code emitted (once per process and direction) when the kernel clamps a socket buffer. */
export const BUFFER_CLAMPED_WARNING = 'PORTHOLE_BUFFER_CLAMPED';

const warned = { recv: false, send: false };

/**
 * Sets SO_RCVBUF / SO_SNDBUF (0 keeps the system's) and warns once per process when the kernel
 * granted less than asked. Linux doubles the request for bookkeeping and caps it at
 * `2 × net.core.rmem_max` (`wmem_max`), so on Linux less than double the request means clamped.
 * Never throws: a failure to set a buffer is logged and the socket is used as it is.
 */
export function applySocketBuffers(socket: Socket, recvBytes: number, sendBytes: number): void {
  if (recvBytes > 0) apply(socket, 'recv', recvBytes);
  if (sendBytes > 0) apply(socket, 'send', sendBytes);
}

function apply(socket: Socket, kind: 'recv' | 'send', bytes: number): void {
  let granted: number;
  try {
    if (kind === 'recv') {
      socket.setRecvBufferSize(bytes);
      granted = socket.getRecvBufferSize();
    } else {
      socket.setSendBufferSize(bytes);
      granted = socket.getSendBufferSize();
    }
  } catch (error) {
    debug('setting the %s buffer to %d bytes failed: %o', kind, bytes, error);
    return;
  }
  const expected = process.platform === 'linux' ? bytes * 2 : bytes;
  if (granted >= expected || warned[kind]) return;
  warned[kind] = true;
  const sysctl = kind === 'recv' ? 'net.core.rmem_max' : 'net.core.wmem_max';
  const option = kind === 'recv' ? 'SO_RCVBUF' : 'SO_SNDBUF';
  process.emitWarning(
    `${option} of ${bytes} bytes was clamped by the kernel to ${process.platform === 'linux' ? granted / 2 : granted}; ` +
      `bursts may be dropped. Raise the limit: sysctl -w ${sysctl}=${bytes}`,
    { type: 'PortholeWarning', code: BUFFER_CLAMPED_WARNING },
  );
}
