/**
 * The sans-I/O core of every DTLS session on one socket: client sessions this side opened and,
 * when a server listens, the sessions of its clients, keyed by address and port. A datagram from
 * an address without a session goes to the server's stateless cookie exchange (RFC 6347 §4.2.1):
 * no state exists for a client until its ClientHello carries a valid cookie, and the
 * HelloVerifyRequest is never larger than the datagram that asked for it (no amplification).
 *
 * Sessions that gave out a connection ID (RFC 9146) are also found by it: a tls12_cid record from
 * an address without a session goes to the session whose CID it carries, and when it authenticates
 * with a sequence number newer than any before, the session moves to that address (RFC 9146 §6,
 * NAT rebinding). Without a CID, records from another address never reach a session.
 * @module
 */
import type { CoreTransmit, SansIoCore } from '../internal/core-driver.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import type { SessionConfig } from './config.ts';
import { ConnectionIds } from './connection-ids.ts';
import { ContentType } from './constants.ts';
import { helloVerifyChannel } from './diagnostics.ts';
import type { DtlsError } from './errors.ts';
import { DtlsHelloVerifier } from './hello-verifier.ts';
import { DtlsSession } from './session.ts';

/** What the endpoint core emits. */
export type EndpointEvent =
  | { readonly type: 'accepted'; readonly session: DtlsSession }
  | { readonly type: 'connected'; readonly session: DtlsSession }
  | { readonly type: 'data'; readonly session: DtlsSession; readonly data: Buffer }
  | { readonly type: 'closed'; readonly session: DtlsSession; readonly error: DtlsError | undefined };

/** The server side of an endpoint. */
export interface ServerSide {
  readonly config: SessionConfig;
  readonly maxSessions: number;
}

/** Counters of the stateless server path. */
export interface EndpointCounters {
  /** HelloVerifyRequests sent. */
  helloVerifyRequests: number;
  /** ClientHellos whose cookie checked out (a session was made). */
  cookiesAccepted: number;
  /** Datagrams from addresses without a session that were not a usable ClientHello. */
  unclaimed: number;
  /** Valid ClientHellos refused because the server holds `maxSessions`. */
  sessionLimit: number;
  /** Bytes received from addresses without a session. */
  unverifiedBytesIn: number;
  /** Bytes sent to addresses without a session (HelloVerifyRequests). */
  unverifiedBytesOut: number;
  /** Sessions moved to a new peer address by an authenticated connection-ID record (RFC 9146 §6). */
  rebinds: number;
}

/** What drain() and drainEvents() return when there is nothing (no array per datagram). */
const NOTHING: CoreTransmit[] = [];
const NO_EVENTS: EndpointEvent[] = [];

/** See the module doc. */
export class DtlsEndpointCore implements SansIoCore<EndpointEvent> {
  readonly #sessions = new Map<string, Map<number, DtlsSession>>();
  #count = 0;
  #server: ServerSide | undefined;
  #verifier: DtlsHelloVerifier | undefined;
  readonly #dirty = new Set<DtlsSession>();
  /** Sessions that may have a timer (handshaking): established ones never wake, so a poll or a
   *  nextWakeMs() walks these only, not every session the server holds. */
  readonly #timed = new Set<DtlsSession>();
  readonly #out: CoreTransmit[] = [];
  readonly #events: EndpointEvent[] = [];
  readonly counters: EndpointCounters = {
    helloVerifyRequests: 0,
    cookiesAccepted: 0,
    unclaimed: 0,
    sessionLimit: 0,
    unverifiedBytesIn: 0,
    unverifiedBytesOut: 0,
    rebinds: 0,
  };
  readonly #cids = new ConnectionIds<DtlsSession>();

  /** Sessions held now (clients and servers'). */
  get size(): number {
    return this.#count;
  }

  /** Whether a server listens on this endpoint. */
  get listening(): boolean {
    return this.#server !== undefined;
  }

  /**
   * Starts (or, with undefined, stops) accepting clients; `verifier` shares the cookie secrets of
   * another server path (a UdpServer that ran the cookie exchange before this endpoint existed).
   */
  listen(server: ServerSide | undefined, nowMs: number, verifier?: DtlsHelloVerifier): void {
    this.#server = server;
    this.#verifier =
      server === undefined
        ? undefined
        : (verifier ?? new DtlsHelloVerifier({ nowMs, random: server.config.random }));
  }

  /** The session with `remote`, if any. */
  session(remote: Endpoint): DtlsSession | undefined {
    return this.#sessions.get(remote.address)?.get(remote.port);
  }

  /** Opens a client session to `remote` and sends its ClientHello. */
  connect(remote: Endpoint, config: SessionConfig, nowMs: number): DtlsSession {
    const session = new DtlsSession('client', { address: remote.address, port: remote.port }, config, nowMs);
    this.#giveCid(session);
    this.#add(session);
    session.start();
    this.#dirty.add(session);
    return session;
  }

  /** Marks a session touched from outside (its send or close queued datagrams). */
  touch(session: DtlsSession): void {
    this.#dirty.add(session);
  }

  /** Gives the session a connection ID unique on this endpoint, when its config asks for one. */
  #giveCid(session: DtlsSession): void {
    const length = session.config.connectionIdBytes;
    if (length === undefined) return;
    session.ownCid =
      length === 0 ? Buffer.alloc(0) : this.#cids.allocate(length, session, session.config.random);
  }

  #add(session: DtlsSession): void {
    let ports = this.#sessions.get(session.remote.address);
    if (ports === undefined) {
      ports = new Map();
      this.#sessions.set(session.remote.address, ports);
    }
    ports.set(session.remote.port, session);
    this.#count++;
    this.#timed.add(session);
  }

  #remove(session: DtlsSession): void {
    const ports = this.#sessions.get(session.remote.address);
    if (ports?.get(session.remote.port) !== session) return;
    ports.delete(session.remote.port);
    this.#timed.delete(session);
    if (ports.size === 0) this.#sessions.delete(session.remote.address);
    this.#count--;
    if (session.ownCid !== undefined && session.ownCid.length > 0)
      this.#cids.release(session.ownCid, session);
  }

  /** A tls12_cid record from an address without a session: its CID's session, moved there if it proves itself. */
  #byConnectionId(data: Buffer, from: Endpoint, nowMs: number): boolean {
    const session = this.#cids.find(data);
    if (session === undefined || session.connectionIds === undefined) return false;
    session.takeAdvanced(); // what came from its own address does not count
    session.receive(data, nowMs);
    this.#dirty.add(session);
    if (session.takeAdvanced() && this.session(from) === undefined) {
      const ports = this.#sessions.get(session.remote.address)!;
      ports.delete(session.remote.port);
      if (ports.size === 0) this.#sessions.delete(session.remote.address);
      this.#count--;
      session.moveTo(from);
      this.#add(session);
      this.#timed.delete(session);
      if (session.state === 'handshaking') this.#timed.add(session);
      this.counters.rebinds++;
    }
    return true;
  }

  receive(data: Buffer, from: Endpoint, nowMs: number): void {
    const session = this.#sessions.get(from.address)?.get(from.port);
    if (session !== undefined) {
      session.receive(data, nowMs);
      this.#dirty.add(session);
      return;
    }
    if (data[0] === ContentType.TLS12_CID && this.#cids.size > 0 && this.#byConnectionId(data, from, nowMs))
      return;
    this.counters.unverifiedBytesIn += data.length;
    if (this.#server === undefined) {
      this.counters.unclaimed++;
      return;
    }
    this.#hello(data, from, nowMs);
  }

  /** The stateless path: a ClientHello without a session gets a cookie or, with one, a session. */
  #hello(data: Buffer, from: Endpoint, nowMs: number): void {
    const server = this.#server!;
    const verdict = this.#verifier!.check(data, from, nowMs);
    if (verdict.kind === 'verified') {
      if (this.#count >= server.maxSessions) {
        this.counters.sessionLimit++;
        return;
      }
      this.counters.cookiesAccepted++;
      const session = new DtlsSession(
        'server',
        { address: from.address, port: from.port },
        server.config,
        nowMs,
      );
      session.startAt(verdict.messageSeq, verdict.recordSeq);
      this.#giveCid(session);
      this.#add(session);
      this.#events.push({ type: 'accepted', session });
      session.receive(data, nowMs);
      this.#dirty.add(session);
      return;
    }
    if (verdict.kind === 'unclaimed') {
      this.counters.unclaimed++;
      return;
    }
    const out = verdict.reply;
    this.counters.helloVerifyRequests++;
    if (helloVerifyChannel.hasSubscribers)
      helloVerifyChannel.publish({ remote: { address: from.address, port: from.port }, bytes: out.length });
    this.counters.unverifiedBytesOut += out.length;
    this.#out.push({ data: out, to: { address: from.address, port: from.port } });
  }

  poll(nowMs: number): void {
    for (const session of this.#timed) {
      if (session.nextWakeMs() <= nowMs) {
        session.poll(nowMs);
        this.#dirty.add(session);
      }
    }
  }

  nextWakeMs(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const session of this.#timed) {
      const at = session.nextWakeMs();
      if (at < next) next = at;
    }
    return next;
  }

  drain(): CoreTransmit[] {
    this.#collect();
    return this.#out.length === 0 ? NOTHING : this.#out.splice(0);
  }

  drainEvents(): EndpointEvent[] {
    this.#collect();
    return this.#events.length === 0 ? NO_EVENTS : this.#events.splice(0);
  }

  #collect(): void {
    if (this.#dirty.size === 0) return;
    for (const session of this.#dirty) {
      for (const data of session.drain()) this.#out.push({ data, to: session.remote });
      for (const e of session.drainEvents()) {
        if (e.type === 'data') this.#events.push({ type: 'data', session, data: e.data });
        else if (e.type === 'connected') {
          this.#timed.delete(session);
          this.#events.push({ type: 'connected', session });
        } else {
          this.#remove(session);
          this.#events.push({ type: 'closed', session, error: e.error });
        }
      }
    }
    this.#dirty.clear();
  }

  /** Closes every session (close_notify to established peers). */
  close(): void {
    for (const ports of this.#sessions.values())
      for (const session of ports.values()) {
        session.close();
        this.#dirty.add(session);
      }
  }
}
