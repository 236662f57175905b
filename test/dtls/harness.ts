// An in-memory network for the DTLS endpoint cores, on a virtual clock: a client core and a server
// core exchange datagrams through `tap`, which may drop, duplicate, delay, reorder or rewrite each
// one (the loss matrix, the mbedTLS proxy cases, the MITM and state-machine attacks). No socket and
// no real time: a run at 50 % loss over 30 virtual seconds takes milliseconds.
import type { SessionConfig } from '../../src/dtls/config.ts';
import { DtlsEndpointCore, type EndpointEvent } from '../../src/dtls/endpoint-core.ts';
import { type DtlsCommonOptions, resolveConfig } from '../../src/dtls/options.ts';
import type { DtlsSession } from '../../src/dtls/session.ts';
import type { Endpoint } from '../../src/internal/endpoint.ts';

export const CLIENT: Endpoint = { address: '192.0.2.10', port: 40000 };
export const SERVER: Endpoint = { address: '192.0.2.20', port: 4433 };

/** Which way a datagram goes. */
export type Direction = 'to-server' | 'to-client';

/** What the tap makes of one datagram: the datagrams to deliver, each after `delayMs`. */
export type Tap = (
  data: Buffer,
  direction: Direction,
  net: Net,
) => readonly { data: Buffer; delayMs: number }[];

/** Passes everything through after 1 ms. */
export const PASS: Tap = (data) => [{ data, delayMs: 1 }];

interface InFlight {
  readonly atMs: number;
  readonly order: number;
  readonly data: Buffer;
  readonly direction: Direction;
}

/** Two endpoint cores and the wire between them. */
export class Net {
  nowMs = 0;
  readonly client = new DtlsEndpointCore();
  readonly server = new DtlsEndpointCore();
  readonly clientEvents: EndpointEvent[] = [];
  readonly serverEvents: EndpointEvent[] = [];
  /** Every datagram sent, before the tap, by direction. */
  readonly sent: { direction: Direction; data: Buffer }[] = [];
  tap: Tap;
  #wire: InFlight[] = [];
  #order = 0;

  constructor(server: SessionConfig, tap: Tap = PASS) {
    this.tap = tap;
    this.server.listen({ config: server, maxSessions: 100 }, 0);
  }

  /** Starts a client session towards the server. */
  connect(config: SessionConfig): DtlsSession {
    const session = this.client.connect(SERVER, config, this.nowMs);
    this.#pump();
    return session;
  }

  /** The server's session with the client, once it exists. */
  serverSession(): DtlsSession | undefined {
    return this.server.session(CLIENT);
  }

  /** Delivers `data` to one side now, bypassing the tap (an attacker's injection). */
  inject(direction: Direction, data: Buffer): void {
    if (direction === 'to-server') this.server.receive(data, CLIENT, this.nowMs);
    else this.client.receive(data, SERVER, this.nowMs);
    this.#pump();
  }

  #pump(): void {
    for (const [core, direction, events] of [
      [this.client, 'to-server', this.clientEvents],
      [this.server, 'to-client', this.serverEvents],
    ] as const) {
      for (const t of core.drain()) {
        this.sent.push({ direction, data: Buffer.from(t.data) });
        for (const d of this.tap(Buffer.from(t.data), direction, this)) {
          this.#wire.push({ atMs: this.nowMs + d.delayMs, order: this.#order++, data: d.data, direction });
        }
      }
      events.push(...core.drainEvents());
    }
  }

  /** Runs until `done()` or `limitMs` of virtual time passed; returns whether `done()` held. */
  run(done: () => boolean, limitMs = 60_000): boolean {
    const end = this.nowMs + limitMs;
    this.#pump();
    while (!done()) {
      this.#wire.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
      const next = Math.min(
        this.#wire[0]?.atMs ?? Number.POSITIVE_INFINITY,
        this.client.nextWakeMs(),
        this.server.nextWakeMs(),
      );
      if (!(next <= end)) return false;
      this.nowMs = Math.max(this.nowMs, next);
      while (this.#wire.length > 0 && this.#wire[0]!.atMs <= this.nowMs) {
        const d = this.#wire.shift()!;
        if (d.direction === 'to-server') this.server.receive(d.data, CLIENT, this.nowMs);
        else this.client.receive(d.data, SERVER, this.nowMs);
        this.#pump();
      }
      if (this.client.nextWakeMs() <= this.nowMs) this.client.poll(this.nowMs);
      if (this.server.nextWakeMs() <= this.nowMs) this.server.poll(this.nowMs);
      this.#pump();
    }
    return true;
  }

  /** Whether both sides emitted `connected`. */
  connected(): boolean {
    return (
      this.clientEvents.some((e) => e.type === 'connected') &&
      this.serverEvents.some((e) => e.type === 'connected')
    );
  }

  /** The `closed` event of one side, if any. */
  closed(side: 'client' | 'server'): Extract<EndpointEvent, { type: 'closed' }> | undefined {
    const events = side === 'client' ? this.clientEvents : this.serverEvents;
    return events.find((e): e is Extract<EndpointEvent, { type: 'closed' }> => e.type === 'closed');
  }

  /** Application records one side received. */
  received(side: 'client' | 'server'): string[] {
    const events = side === 'client' ? this.clientEvents : this.serverEvents;
    return events.flatMap((e) => (e.type === 'data' ? [e.data.toString()] : []));
  }
}

/** A resolved config for one role (the public options, validated). */
export function config(
  role: 'client' | 'server',
  options: DtlsCommonOptions,
  extra: Parameters<typeof resolveConfig>[2] = {},
): SessionConfig {
  return resolveConfig(options, role, extra);
}

/** The content type, epoch and (for handshake records) message types of each record of a datagram. */
export function recordsOf(data: Buffer): {
  type: number;
  epoch: number;
  seq: number;
  offset: number;
  length: number;
  hsType: number | undefined;
}[] {
  const out = [];
  let offset = 0;
  while (offset + 13 <= data.length) {
    const type = data[offset]!;
    const epoch = data.readUInt16BE(offset + 3);
    const seq = data.readUIntBE(offset + 5, 6);
    const length = data.readUInt16BE(offset + 11);
    const hsType = type === 22 && epoch === 0 ? data[offset + 13] : undefined;
    out.push({ type, epoch, seq, offset, length, hsType });
    offset += 13 + length;
  }
  return out;
}
