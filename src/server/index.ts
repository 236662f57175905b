export type { UdpClientOptions, UdpClientStats } from './client.ts';
export { connectUdp, UdpClient } from './client.ts';
export {
  AMPLIFICATION_FACTOR,
  DEFAULT_BACKLOG,
  DEFAULT_COOKIE_PERIOD_MS,
  DEFAULT_GRACE_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_SESSION_QUEUE,
} from './constants.ts';
export type { CookieJarOptions } from './cookie.ts';
export { CookieJar } from './cookie.ts';
export type {
  ServerDatagramDroppedMessage,
  ServerDtlsHandshakeMessage,
  ServerSessionClosedMessage,
  ServerSessionCloseReason,
  ServerSessionOpenedMessage,
} from './diagnostics.ts';
export { ServerDiagnostics } from './diagnostics.ts';
export type { ServerErrorCodeValue } from './errors.ts';
export { ServerErrorCode } from './errors.ts';
export type { ServerFrame, ServerFrameKindValue } from './frame.ts';
export {
  COOKIE_FRAME_BYTES,
  decodeServerFrame,
  encodeCookieFrame,
  encodeHello,
  isServerFrame,
  ServerFrameKind,
} from './frame.ts';
export type { ServerModeValue, UdpServerOptions } from './options.ts';
export { isLoopbackHost, ServerMode } from './options.ts';
export { isReusePortAvailable } from './reuse-port.ts';
export type { CloseOptions, UdpServerEvents } from './server.ts';
export { UdpServer } from './server.ts';
export type { SessionReceiver, UdpSessionEvents, UdpSessionStats } from './session.ts';
export { UdpSession } from './session.ts';
export type { DropCounts, DropReasonValue, UdpServerStats } from './stats.ts';
export { DropReason, totalDrops } from './stats.ts';
