/**
 * A user-space impaired link for the demo and the benchmark on loopback, where there is no netem
 * without root: every datagram a socket sends is dropped with probability `lossRate` and otherwise
 * sent `delayMs` (± `jitterMs`) later. Applied to each node's own socket, so a path between two
 * impaired nodes has the loss and the delay once per direction. Settings change while running.
 * @module
 */
import type { Socket } from 'node:dgram';
import { InvalidOptionError } from '../errors/index.ts';

/** Impairment settings. */
export interface ImpairOptions {
  /** Share of datagrams dropped, 0–1; default 0. */
  readonly lossRate?: number;
  /** One-way delay added, ms; default 0. */
  readonly delayMs?: number;
  /** Uniform jitter around the delay, ms; default 0 (kept below the delay: no reordering past it). */
  readonly jitterMs?: number;
}

/** Counters of an impaired socket. */
export interface ImpairStats {
  readonly sent: number;
  readonly dropped: number;
  readonly delayed: number;
}

/** Handle of {@link impairSocket}: change the settings, read the counters, restore the socket. */
export interface Impairment {
  set(options: ImpairOptions): void;
  stats(): ImpairStats;
  restore(): void;
}

/**
 * Parses `loss=0.05,delay=20,jitter=2` (percent also: `loss=5%`).
 * @throws InvalidOptionError `ERR_INVALID_OPTION` (option `--impair`) for anything else.
 */
export function parseImpair(text: string): ImpairOptions {
  const out: { lossRate?: number; delayMs?: number; jitterMs?: number } = {};
  for (const part of text.split(',')) {
    const m = /^(loss|delay|jitter)=([0-9.]+)(%?)$/.exec(part.trim());
    if (m === null)
      throw new InvalidOptionError('--impair', `--impair: expected loss=R,delay=MS,jitter=MS, got "${part}"`);
    const v = Number(m[2]) / (m[3] === '%' ? 100 : 1);
    if (m[1] === 'loss') out.lossRate = v;
    else if (m[1] === 'delay') out.delayMs = v;
    else out.jitterMs = v;
  }
  validate(out);
  return out;
}

function validate(o: ImpairOptions): void {
  if (o.lossRate !== undefined && !(o.lossRate >= 0 && o.lossRate <= 1))
    throw new InvalidOptionError('lossRate', 'lossRate must lie within 0-1');
  if (o.delayMs !== undefined && !(o.delayMs >= 0 && o.delayMs <= 10_000))
    throw new InvalidOptionError('delayMs', 'delayMs must lie within 0-10000');
  if (o.jitterMs !== undefined && !(o.jitterMs >= 0 && o.jitterMs <= 10_000))
    throw new InvalidOptionError('jitterMs', 'jitterMs must lie within 0-10000');
}

/** Impairs what `socket` sends from now on (see the module doc). */
export function impairSocket(
  socket: Socket,
  options: ImpairOptions = {},
  random: () => number = Math.random,
): Impairment {
  validate(options);
  let loss = options.lossRate ?? 0;
  let delay = options.delayMs ?? 0;
  let jitter = Math.min(options.jitterMs ?? 0, delay);
  const c = { sent: 0, dropped: 0, delayed: 0 };
  const original = socket.send;
  // biome-ignore lint/suspicious/noExplicitAny: dgram's send has many overloads; they pass through
  const send = original.bind(socket) as (...args: any[]) => void;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  socket.send = function impairedSend(this: Socket, ...args: any[]): void {
    c.sent++;
    if (loss > 0 && random() < loss) {
      c.dropped++;
      const callback = args[args.length - 1];
      if (typeof callback === 'function') queueMicrotask(() => callback(null, 0));
      return;
    }
    if (delay <= 0) {
      send(...args);
      return;
    }
    c.delayed++;
    // The caller may reuse its buffer after send returns (dgram copies on a later tick anyway).
    const first = args[0];
    if (first instanceof Uint8Array) args[0] = Buffer.from(first);
    const wait = delay + (jitter > 0 ? (random() * 2 - 1) * jitter : 0);
    setTimeout(() => {
      try {
        send(...args);
      } catch {
        // the socket closed meanwhile: the datagram is lost, as on a link
      }
    }, wait).unref();
  } as typeof socket.send;
  return {
    set(o: ImpairOptions): void {
      validate(o);
      loss = o.lossRate ?? loss;
      delay = o.delayMs ?? delay;
      jitter = Math.min(o.jitterMs ?? jitter, delay);
    },
    stats: () => ({ ...c }),
    restore(): void {
      socket.send = original;
    },
  };
}
