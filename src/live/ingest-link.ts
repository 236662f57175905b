/**
 * The ingest's datagrams on a Demux: frame byte 0x09 (`PortholeFrame.LIVE`), a direction byte,
 * then one ARQ datagram in muxed framing (0x06 segment / 0x07 control).
 *
 * ```
 *  +------+-----------+----------------------------------+
 *  | 0x09 | direction | ARQ datagram (0x06 ... / 0x07 ...) |
 *  +------+-----------+----------------------------------+
 *  direction 1: to an ingest server (publisher → edge), 2: to a publisher (edge → publisher)
 * ```
 *
 * The direction byte lets one socket run an {@link IngestServer} and a {@link ChunkPublisher} at
 * once (an edge that republishes) even towards the same remote. One router per Demux registers
 * 0x09 and hands each datagram to the link of its (direction, address, port): lookups in nested
 * maps, no allocation but the payload's view.
 * @module
 */
import type { RemoteInfo } from 'node:dgram';
import { InvalidStateError } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import {
  type DatagramLink,
  type DatagramLinkRegistration,
  type Demux,
  frameRange,
  PortholeFrame,
} from '../mux/index.ts';

/** The frame byte of the ingest. */
export const INGEST_FRAME = PortholeFrame.LIVE;
/** Direction byte: a datagram for an ingest server. */
export const INGEST_TO_SERVER = 1;
/** Direction byte: a datagram for a publisher. */
export const INGEST_TO_PUBLISHER = 2;
/** Bytes the ingest puts in front of an ARQ datagram. */
export const INGEST_HEADER_BYTES = 2;

/** Receives the datagrams of one direction from addresses nobody has a link for yet. */
export type IngestStrangerHandler = (data: Buffer, from: RemoteInfo) => void;

type Handler = (data: Buffer) => void;

/** The per-Demux router of frame 0x09. */
class IngestRouter {
  readonly #demux: Demux;
  readonly #routes = [new Map<string, Map<number, Handler>>(), new Map<string, Map<number, Handler>>()];
  readonly #strangers: (IngestStrangerHandler | undefined)[] = [undefined, undefined];
  #registration: { remove(): void } | undefined;
  #users = 0;
  /** Datagrams no link or stranger handler took. */
  unrouted = 0;

  constructor(demux: Demux) {
    this.#demux = demux;
  }

  get demux(): Demux {
    return this.#demux;
  }

  #retain(): void {
    if (this.#users++ === 0) {
      this.#registration = this.#demux.register(frameRange(INGEST_FRAME), (data, from) =>
        this.#route(data, from),
      );
    }
  }

  #release(): void {
    if (--this.#users === 0) {
      this.#registration?.remove();
      this.#registration = undefined;
      routers.delete(this.#demux);
    }
  }

  /** Takes the datagrams of `direction` from unknown remotes (one taker per direction). */
  strangers(direction: number, handler: IngestStrangerHandler): DatagramLinkRegistration {
    const i = direction - 1;
    if (this.#strangers[i] !== undefined) {
      throw new InvalidStateError('an ingest server already runs on this socket');
    }
    this.#retain();
    this.#strangers[i] = handler;
    let removed = false;
    return {
      remove: (): void => {
        if (removed) return;
        removed = true;
        this.#strangers[i] = undefined;
        this.#release();
      },
    };
  }

  /** A link to `remote` for the datagrams of `direction` (sending the other direction). */
  link(direction: number, remote: Endpoint): DatagramLink {
    const header = Buffer.from([
      INGEST_FRAME,
      direction === INGEST_TO_SERVER ? INGEST_TO_PUBLISHER : INGEST_TO_SERVER,
    ]);
    const routes = this.#routes[direction - 1]!;
    const { address, port } = remote;
    const socket = (): Demux['socket'] => this.#demux.socket;
    const onSent = (): void => {};
    return {
      send(data: Uint8Array): void {
        socket().send([header, data], port, address, onSent);
      },
      onDatagram: (handler: Handler): DatagramLinkRegistration => {
        let byPort = routes.get(address);
        if (byPort === undefined) {
          byPort = new Map();
          routes.set(address, byPort);
        }
        if (byPort.has(port)) throw new InvalidStateError(`an ingest link to ${address}:${port} exists`);
        byPort.set(port, handler);
        this.#retain();
        let removed = false;
        return {
          remove: (): void => {
            if (removed) return;
            removed = true;
            const map = routes.get(address);
            if (map?.get(port) === handler) {
              map.delete(port);
              if (map.size === 0) routes.delete(address);
            }
            this.#release();
          },
        };
      },
    };
  }

  #route(data: Buffer, from: RemoteInfo): void {
    const direction = data[1];
    if (
      data.length <= INGEST_HEADER_BYTES ||
      (direction !== INGEST_TO_SERVER && direction !== INGEST_TO_PUBLISHER)
    ) {
      this.unrouted++;
      return;
    }
    const handler = this.#routes[direction - 1]!.get(from.address)?.get(from.port);
    if (handler !== undefined) {
      handler(data.subarray(INGEST_HEADER_BYTES));
      return;
    }
    const stranger = this.#strangers[direction - 1];
    if (stranger !== undefined) stranger(data, from);
    else this.unrouted++;
  }
}

const routers = new WeakMap<Demux, IngestRouter>();

/** The ingest router of `demux` (made on first use; it registers 0x09 while anything uses it). */
export function ingestRouter(demux: Demux): IngestRouter {
  let router = routers.get(demux);
  if (router === undefined) {
    router = new IngestRouter(demux);
    routers.set(demux, router);
  }
  return router;
}

export type { IngestRouter };
