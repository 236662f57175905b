/**
 * The data phase of `porthole connect`: stdin to the peer and the peer's bytes to stdout, over the
 * project's ARQ on the punch link (direct, predicted or relayed), so what goes in comes out byte for
 * byte, with backpressure both ways (a slow stdout closes the receive window; a full send window
 * stops reading stdin).
 *
 * Two conversations, opened by both sides with the same conv (KCP is symmetric):
 * - {@link DATA_CONV}, stream mode: the bytes. The end of stdin is `end()` (a FIN once everything
 *   is acknowledged); the peer's FIN ends stdout.
 * - {@link CONTROL_CONV}, message mode: a heartbeat every {@link HEARTBEAT_MS} (PING u32 / PONG u32)
 *   that measures the round-trip time and tells a silent peer from an idle one.
 *
 * Success is both directions finished (our FIN acknowledged, the peer's FIN received and stdout
 * flushed). Anything else — the peer's CLOSE before that, a reset or dead conversation, no
 * heartbeat for `peerTimeoutMs`, the link failing — is a {@link CliFailure} with PEER_LOST.
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import { ARQ_TURBO, ArqEndpoint, ArqErrorCode } from '../arq/index.ts';
import type { PathKind, PunchLink } from '../punch/index.ts';
import { CliFailure, ExitCode } from './fail.ts';

/** Conversation of the bytes. */
export const DATA_CONV = 1;
/** Conversation of the heartbeat. */
export const CONTROL_CONV = 2;
/** Heartbeat interval, ms. */
export const HEARTBEAT_MS = 500;
/** After both directions are done, how long to keep answering the peer before closing the link, ms. */
const LINGER_MS = 500;
/** ARQ datagram size (stays under a 1280-byte IPv6 path MTU with the punch and TURN headers). */
const ARQ_MTU = 1_200;
const PING = 1;
const PONG = 2;

/** What `porthole connect` prints once the link carries data. */
export interface LinkStatus {
  readonly peer: string;
  readonly path: PathKind | null;
  readonly remote: string | null;
  readonly rttMs: number | null;
}

/** Settings of {@link relayStdio}. */
export interface RelayStdioOptions {
  readonly input: Readable;
  readonly output: Writable;
  /** A peer silent this long (no heartbeat) has gone away, ms. */
  readonly peerTimeoutMs: number;
  /** Called once, with the first round-trip time (or null when none came within 5 s). */
  readonly onLinked: (status: LinkStatus) => void;
  /** A progress line for people (path changes). */
  readonly note: (line: string) => void;
  /** Ctrl-C: abort the transfer (the peer is told by the link's CLOSE). */
  readonly signal: AbortSignal;
}

/** Bytes carried each way, when the relay finished. */
export interface RelayResult {
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/**
 * Relays until both directions are done; rejects with a CliFailure (PEER_LOST, INTERRUPTED or
 * FAILED for a broken stdout) otherwise. Closes the ARQ endpoint; the link stays the caller's.
 */
export async function relayStdio(link: PunchLink, options: RelayStdioOptions): Promise<RelayResult> {
  const arq = new ArqEndpoint({
    link,
    ...ARQ_TURBO,
    mode: 'stream',
    mtu: ARQ_MTU,
    sendWindow: 256,
    receiveWindow: 256,
  });
  const data = arq.open(DATA_CONV);
  const control = arq.open(CONTROL_CONV, { mode: 'message' });
  const peer = link.peerId;
  let bytesIn = 0;
  let bytesOut = 0;
  let sentDone = false;
  let receivedDone = false;
  let settle: (error?: CliFailure) => void = () => {};
  const outcome = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error));
  });
  const done = (): boolean => sentDone && receivedDone;
  const lost = (message: string, hint: string): void => {
    if (!done()) settle(new CliFailure(message, ExitCode.PEER_LOST, hint));
  };
  const counts = (): string => `${bytesOut} bytes sent, ${bytesIn} received`;
  const closedEarly = (): void =>
    lost(`peer "${peer}" closed the link before the transfer finished (${counts()})`, 'see its error');
  /** A conversation failed: reset by the peer (it stopped early) or dead (no acknowledgement). */
  const failed = (error: Error): void => {
    if ((error as { code?: string }).code === ArqErrorCode.RESET) closedEarly();
    else lost(`the transfer with "${peer}" failed: ${error.message} (${counts()})`, 'run both sides again');
  };

  // Heartbeat: PING every HEARTBEAT_MS, PONG for each PING; any message proves the peer alive.
  // The round-trip time is that of the first PING sent after the peer was first heard (earlier
  // ones may have waited for the peer to open its conversation).
  let lastHeardAt = performance.now();
  let heard = false;
  let rttMs: number | null = null;
  let linked = false;
  const linkedAt = performance.now();
  const sentAt = new Map<number, number>();
  let seq = 0;
  const reportLinked = (): void => {
    if (linked) return;
    linked = true;
    options.onLinked({
      peer,
      path: link.path,
      remote: link.remote === null ? null : `${link.remote.address}:${link.remote.port}`,
      rttMs: rttMs === null ? null : Math.round(rttMs * 100) / 100,
    });
  };
  const send = (type: number, n: number): void => {
    if (control.destroyed || !control.writable) return;
    const frame = Buffer.allocUnsafe(5);
    frame[0] = type;
    frame.writeUInt32BE(n, 1);
    control.write(frame);
  };
  const ping = (now: number): void => {
    seq = (seq + 1) >>> 0;
    if (rttMs === null) sentAt.set(seq, now);
    send(PING, seq);
  };
  control.on('data', (message: Buffer) => {
    lastHeardAt = performance.now();
    if (!heard) {
      heard = true;
      sentAt.clear();
      ping(lastHeardAt);
    }
    if (message.length !== 5) return;
    const n = message.readUInt32BE(1);
    if (message[0] === PING) send(PONG, n);
    else if (message[0] === PONG && rttMs === null) {
      const at = sentAt.get(n);
      if (at !== undefined) {
        rttMs = performance.now() - at;
        sentAt.clear();
        reportLinked();
      }
    }
  });
  const heartbeat = setInterval(() => {
    const now = performance.now();
    if (now - lastHeardAt >= options.peerTimeoutMs) {
      lost(
        `peer "${peer}" stopped answering for ${Math.round(options.peerTimeoutMs / 1000)} s (${counts()})`,
        'it exited or the path broke: run both sides again',
      );
      return;
    }
    if (!linked && now - linkedAt >= 5_000) reportLinked();
    ping(now);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  ping(performance.now());
  control.on('error', (error) => failed(error));

  const onPath = (path: PathKind | null): void => {
    if (path === null) options.note(`path to ${peer} lost, re-punching`);
    else options.note(`path to ${peer} now ${path}`);
  };
  const onClose = (reason: string): void => {
    if (reason === 'remote') closedEarly();
    else if (reason === 'failed') {
      lost(`the path to "${peer}" broke and could not be re-punched (${counts()})`, 'run both sides again');
    }
  };
  link.on('path', onPath);
  link.on('close', onClose);
  const onAbort = (): void =>
    settle(new CliFailure(`interrupted (${counts()})`, ExitCode.INTERRUPTED, 'the peer was told'));
  options.signal.addEventListener('abort', onAbort, { once: true });
  if (options.signal.aborted) onAbort();

  // stdin → data: pipe() pauses stdin while the send window is full (write() returned false).
  data.on('error', (error) => failed(error));
  options.input.on('data', (chunk: Buffer) => {
    bytesOut += chunk.length;
  });
  options.input.pipe(data);
  options.input.once('error', (error) =>
    settle(new CliFailure(`cannot read stdin: ${error.message}`, ExitCode.FAILED)),
  );
  data.once('finish', () => {
    sentDone = true;
    if (done()) settle();
  });
  // data → stdout, pausing the conversation (closing its receive window) while stdout is full.
  data.on('data', (chunk: Buffer) => {
    bytesIn += chunk.length;
    if (!options.output.write(chunk)) {
      data.pause();
      options.output.once('drain', () => data.resume());
    }
  });
  options.output.once('error', (error) =>
    settle(
      new CliFailure(`cannot write stdout: ${error.message}`, ExitCode.FAILED, 'is the reader still there?'),
    ),
  );
  data.once('end', () => {
    const flushed = (): void => {
      receivedDone = true;
      if (done()) settle();
    };
    options.output.write('', flushed);
  });

  try {
    await outcome;
    reportLinked();
    // Both directions are done; keep answering (a lost FIN_ACK is asked again) until the peer closes.
    if (link.closeReason === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, LINGER_MS);
        link.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return { bytesIn, bytesOut };
  } finally {
    clearInterval(heartbeat);
    options.signal.removeEventListener('abort', onAbort);
    link.off('path', onPath);
    link.off('close', onClose);
    options.input.unpipe(data);
    options.input.pause();
    await arq.close();
  }
}
