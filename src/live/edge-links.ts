/**
 * Links by remote address on one socket: the edge's table of admitted peers, and a peer's table
 * of the edges it dialled. One registration of the ARQ bytes (0x06/0x07) and of the admission
 * frame (0x0a, edge-wire.ts) on the node's Demux; each admitted remote address gets a
 * {@link DatagramLink} carrying exactly its datagrams, on which LiveArqNode runs ARQ.
 *
 * A datagram from an address that was not admitted costs a map lookup and a counter — no ARQ
 * state, no reply — so an edge serves nothing before the token was checked. Admitted links that
 * fall silent for {@link EDGE_LINK_IDLE_MS} are closed (the dialler's keepalive is an ADMIT every
 * 250 ms).
 * @module
 */
import { randomInt } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import { AbortError, ClosedError, ParseError, PortholeError, throwIfAborted } from '../errors/index.ts';
import type { DatagramLink, DatagramLinkRegistration } from '../internal/datagram-link.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { type Demux, type DemuxRegistration, frameRange, PortholeFrame } from '../mux/index.ts';
import { LiveEdgeErrorCode } from './edge-errors.ts';
import {
  AdmitStatus,
  type AdmitStatusValue,
  decodeAdmitFrame,
  encodeAdmit,
  encodeAdmitted,
} from './edge-wire.ts';

/** An admitted link falls silent this long, ms, and is closed. */
export const EDGE_LINK_IDLE_MS = 10_000;
/** A dialler repeats ADMIT this often, ms (also its keepalive). */
export const EDGE_ADMIT_EVERY_MS = 250;
/** A dialled edge that answers no ADMIT for this long is dead, ms. */
export const EDGE_DEAD_AFTER_MS = 1_500;
/**
 * A keepalive tick this much later than the one before (twice its interval) is late: the process
 * did not run meanwhile, and that tick expires no link (see `EdgeLinkTable`).
 */
export const EDGE_LATE_TICK_MS = 2 * EDGE_ADMIT_EVERY_MS;

/** What the admission check decides: the remote's id, or a refusal. */
export type EdgeAdmitResult = { readonly id: string } | AdmitStatusValue;
/**
 * Checks an ADMIT's credential (edge-admit.ts `tokenAdmission`: a proof of the application token
 * for this `nonce`).
 */
export type EdgeAdmitCheck = (
  credential: Buffer,
  from: Endpoint,
  nowMs: number,
  nonce: number,
) => EdgeAdmitResult;
/** What a dialler presents: fixed bytes, or a credential made for the ADMIT's nonce. */
export type EdgeCredential = Buffer | ((nonce: number) => Buffer);

/** One remote's link in a {@link EdgeLinkTable}. */
export interface EdgeLink extends DatagramLink {
  /** The id the admission gave it (the token's peer id), or the key of the dialled edge. */
  readonly id: string;
  readonly remote: Endpoint;
  /** The remote edge's instance (dialled links only; 0 before the first answer). */
  readonly instance: number;
  /** Whether the link was closed (by the table or its owner). */
  readonly closed: boolean;
  /** Forgets the link; datagrams from its address are dropped again until it is admitted anew. */
  close(): void;
}

/** Settings of an {@link EdgeLinkTable}. */
export interface EdgeLinkTableOptions {
  readonly demux: Demux;
  /** Inbound admission (an edge); without it ADMITs are ignored and counted. */
  readonly admit?: EdgeAdmitCheck;
  /** An admitted remote's link is ready (inbound only). */
  readonly onLink?: (link: EdgeLink) => void;
  /** A link closed by the table: silent too long, or (dialled) the edge died or restarted. */
  readonly onLost?: (link: EdgeLink, why: 'idle' | 'dead' | 'restarted') => void;
  /** Links at most; default 10,000 (more ADMITs are answered FULL). */
  readonly maxLinks?: number;
  /** This table's instance in ADMITTED; default random. */
  readonly instance?: number;
  readonly now?: () => number;
}

/** Counters of an {@link EdgeLinkTable}. */
export interface EdgeLinkTableStats {
  readonly links: number;
  readonly admitted: number;
  readonly refused: number;
  /** ARQ datagrams from addresses without a link. */
  readonly droppedUnadmitted: number;
  /** Admission frames that failed to decode. */
  readonly droppedMalformed: number;
  readonly expired: number;
}

class Entry implements EdgeLink {
  readonly id: string;
  readonly remote: Endpoint;
  instance = 0;
  closed = false;
  handler: ((data: Buffer) => void) | undefined;
  lastHeardMs: number;
  readonly nonce: number;
  /** The ADMIT a dialled link repeats (its keepalive); undefined for an admitted one. */
  readonly admit: Buffer | undefined;
  readonly #table: EdgeLinkTable;

  constructor(
    table: EdgeLinkTable,
    id: string,
    remote: Endpoint,
    nowMs: number,
    nonce: number,
    admit: Buffer | undefined,
  ) {
    this.#table = table;
    this.admit = admit;
    this.id = id;
    this.remote = remote;
    this.lastHeardMs = nowMs;
    this.nonce = nonce;
  }

  send(data: Uint8Array): void {
    if (this.closed) return;
    this.#table.sendTo(data, this.remote);
  }

  onDatagram(handler: (data: Buffer) => void): DatagramLinkRegistration {
    this.handler = handler;
    return { remove: () => this.close() };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = undefined;
    this.#table.forget(this);
  }
}

interface Dial {
  resolve: ((link: EdgeLink) => void) | undefined;
  reject: ((error: Error) => void) | undefined;
}

/** See the module doc. */
export class EdgeLinkTable {
  readonly #o: EdgeLinkTableOptions;
  readonly #demux: Demux;
  readonly #now: () => number;
  readonly #regs: DemuxRegistration[] = [];
  /** address → port → entry: two lookups per datagram, no string built. */
  readonly #byAddress = new Map<string, Map<number, Entry>>();
  readonly #dials = new Map<Entry, Dial>();
  readonly #max: number;
  readonly instance: number;
  readonly #timer: NodeJS.Timeout;
  #closed = false;
  #lastTickMs: number;
  /** The tick before was late (and expired nothing). */
  #lateBefore = false;
  readonly #c = { admitted: 0, refused: 0, droppedUnadmitted: 0, droppedMalformed: 0, expired: 0 };
  readonly #onSent = (): void => {};
  readonly #onArq = (data: Buffer, from: RemoteInfo): void => {
    const e = this.#byAddress.get(from.address)?.get(from.port);
    if (e === undefined || e.handler === undefined) {
      this.#c.droppedUnadmitted++;
      return;
    }
    e.lastHeardMs = this.#now();
    e.handler(data);
  };
  readonly #onAdmission = (data: Buffer, from: RemoteInfo): void => {
    let frame: ReturnType<typeof decodeAdmitFrame>;
    try {
      frame = decodeAdmitFrame(data);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.#c.droppedMalformed++;
      return;
    }
    if (frame.type === 'admit') this.#admit(frame.nonce, frame.token, from);
    else this.#admitted(frame.nonce, frame.status, frame.instance, from);
  };

  constructor(options: EdgeLinkTableOptions) {
    this.#o = options;
    this.#demux = options.demux;
    this.#now = options.now ?? (() => performance.now());
    this.#max = options.maxLinks ?? 10_000;
    this.instance = options.instance ?? randomInt(1, 0xffffffff);
    this.#regs.push(
      this.#demux.register(
        { first: PortholeFrame.ARQ_SEGMENT, last: PortholeFrame.ARQ_CONTROL },
        this.#onArq,
      ),
    );
    try {
      this.#regs.push(this.#demux.register(frameRange(PortholeFrame.LIVE_CONTROL), this.#onAdmission));
    } catch (error) {
      this.#regs[0]!.remove();
      throw error;
    }
    this.#lastTickMs = this.#now();
    this.#timer = setInterval(() => this.#tick(), EDGE_ADMIT_EVERY_MS);
    this.#timer.unref();
  }

  /** Links now. */
  get size(): number {
    let n = 0;
    for (const ports of this.#byAddress.values()) n += ports.size;
    return n;
  }

  /** Counters. */
  stats(): EdgeLinkTableStats {
    return { links: this.size, ...this.#c };
  }

  /** @internal Sends one datagram on the table's socket. */
  sendTo(data: Uint8Array, to: Endpoint): void {
    if (this.#closed) return;
    this.#demux.socket.send(data, to.port, to.address, this.#onSent);
  }

  /** @internal Removes a closed entry. */
  forget(e: Entry): void {
    const ports = this.#byAddress.get(e.remote.address);
    if (ports?.get(e.remote.port) !== e) return;
    ports.delete(e.remote.port);
    if (ports.size === 0) this.#byAddress.delete(e.remote.address);
    const d = this.#dials.get(e);
    if (d !== undefined) {
      this.#dials.delete(e);
      d.reject?.(new ClosedError('edge link'));
    }
  }

  /**
   * Dials the edge at `remote` with `credential`: repeats ADMIT until it answers; resolves with the
   * link once admitted, then keeps it alive (ADMIT every 250 ms) and reports it `dead` when the
   * edge stops answering, `restarted` when another instance answers.
   * Rejects `ERR_LIVE_EDGE_REFUSED` (the edge's status in the message), `ERR_TIMEOUT`-like
   * `ERR_LIVE_EDGE_UNREACHABLE` after `timeoutMs` (default 5 s), `ERR_ABORTED`, `ERR_CLOSED`.
   */
  dial(
    remote: Endpoint,
    credential: EdgeCredential,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<EdgeLink> {
    if (this.#closed) return Promise.reject(new ClosedError('edge link table'));
    throwIfAborted(options.signal);
    const old = this.#byAddress.get(remote.address)?.get(remote.port);
    old?.close();
    const id = `${remote.address}:${remote.port}`;
    const nonce = randomInt(1, 0xffffffff);
    let admit: Buffer;
    try {
      admit = encodeAdmit(nonce, typeof credential === 'function' ? credential(nonce) : credential);
    } catch (error) {
      return Promise.reject(error);
    }
    const entry = new Entry(this, id, remote, this.#now(), nonce, admit);
    this.#put(entry);
    const { promise, resolve, reject } = Promise.withResolvers<EdgeLink>();
    const dial: Dial = { resolve, reject };
    this.#dials.set(entry, dial);
    const timeout = setTimeout(() => {
      entry.close();
      fail(new PortholeError(LiveEdgeErrorCode.UNREACHABLE, `no answer from the edge ${entry.id}`));
    }, options.timeoutMs ?? 5_000);
    const onAbort = (): void => {
      entry.close();
      fail(new AbortError(options.signal?.reason));
    };
    const fail = (error: Error): void => {
      clearTimeout(timeout);
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    dial.resolve = (link) => {
      clearTimeout(timeout);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(link);
    };
    dial.reject = fail;
    this.sendTo(admit, remote);
    return promise;
  }

  /** Closes every link and frees the demux ranges. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#timer);
    for (const ports of [...this.#byAddress.values()]) for (const e of [...ports.values()]) e.close();
    this.#closed = true;
    for (const r of this.#regs) r.remove();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #put(e: Entry): void {
    let ports = this.#byAddress.get(e.remote.address);
    if (ports === undefined) {
      ports = new Map();
      this.#byAddress.set(e.remote.address, ports);
    }
    ports.set(e.remote.port, e);
  }

  #admit(nonce: number, token: Buffer, from: RemoteInfo): void {
    const check = this.#o.admit;
    if (check === undefined) {
      this.#c.droppedUnadmitted++;
      return;
    }
    const nowMs = this.#now();
    const known = this.#byAddress.get(from.address)?.get(from.port);
    if (known !== undefined && known.nonce === nonce && known.admit === undefined) {
      known.lastHeardMs = nowMs;
      this.sendTo(encodeAdmitted(nonce, AdmitStatus.OK, this.instance), from);
      return;
    }
    const result =
      this.size >= this.#max && known === undefined ? AdmitStatus.FULL : check(token, from, nowMs, nonce);
    if (typeof result === 'number') {
      this.#c.refused++;
      this.sendTo(encodeAdmitted(nonce, result, this.instance), from);
      return;
    }
    known?.close(); // the same address admitted anew (the remote restarted)
    const remote = { address: from.address, port: from.port };
    const entry = new Entry(this, result.id, remote, nowMs, nonce, undefined);
    this.#put(entry);
    this.#c.admitted++;
    this.sendTo(encodeAdmitted(nonce, AdmitStatus.OK, this.instance), from);
    this.#o.onLink?.(entry);
  }

  #admitted(nonce: number, status: AdmitStatusValue, instance: number, from: RemoteInfo): void {
    const e = this.#byAddress.get(from.address)?.get(from.port);
    if (e === undefined || e.nonce !== nonce) return;
    e.lastHeardMs = this.#now();
    const dial = this.#dials.get(e);
    if (status !== AdmitStatus.OK) {
      this.#dials.delete(e);
      e.close();
      if (dial !== undefined)
        dial.reject?.(
          new PortholeError(LiveEdgeErrorCode.REFUSED, `the edge ${e.id} refused: ${statusName(status)}`),
        );
      else this.#o.onLost?.(e, 'restarted'); // a restarted edge refused the old credential
      return;
    }
    if (dial !== undefined) {
      this.#dials.delete(e);
      e.instance = instance;
      dial.resolve?.(e);
      return;
    }
    if (e.instance !== instance) {
      e.close();
      this.#o.onLost?.(e, 'restarted');
    }
  }

  #tick(): void {
    const nowMs = this.#now();
    // A tick far later than its interval means this process did not run (starved of CPU, paused):
    // the answers of that time may wait unread in the socket buffer (timers run before I/O), so
    // this tick sends its keepalives but declares nothing dead or idle; the next one does (the
    // socket was read in between, even if that one is late too).
    const behind = nowMs - this.#lastTickMs > EDGE_LATE_TICK_MS;
    const late = behind && !this.#lateBefore;
    this.#lateBefore = late;
    this.#lastTickMs = nowMs;
    for (const ports of [...this.#byAddress.values()]) {
      for (const e of [...ports.values()]) {
        if (late) {
          if (e.admit !== undefined) this.sendTo(e.admit, e.remote);
          continue;
        }
        if (e.admit !== undefined) {
          if (!this.#dials.has(e) && nowMs - e.lastHeardMs > EDGE_DEAD_AFTER_MS) {
            e.close();
            this.#c.expired++;
            this.#o.onLost?.(e, 'dead');
          } else {
            this.sendTo(e.admit, e.remote);
          }
        } else if (nowMs - e.lastHeardMs > EDGE_LINK_IDLE_MS) {
          e.close();
          this.#c.expired++;
          this.#o.onLost?.(e, 'idle');
        }
      }
    }
  }
}

function statusName(status: AdmitStatusValue): string {
  for (const [name, value] of Object.entries(AdmitStatus)) if (value === status) return name.toLowerCase();
  return String(status);
}
