/**
 * The STUN sub-router of a {@link Demux}: bytes 0–3 (RFC 7983 §7) carry STUN, and a STUN
 * client, a STUN server and a TURN client on one socket all need them. Each registers a
 * {@link StunRoute}; the router reads the message class from the first two bytes (RFC 8489 §5)
 * and routes:
 *
 * ```
 *  class          goes to
 *  request        the one route with `request` (a server)
 *  indication     the routes with `indication`, in registration order, until one claims it
 *  response       the routes with `response`, in registration order, until one claims it
 *  (success/error)   — each answers for its own transaction IDs, so routing is by transaction ID
 * ```
 *
 * What nobody takes is dropped and counted by class in {@link StunRouterStats}. Nothing is
 * allocated per datagram.
 * @module
 */
import type { RemoteInfo } from 'node:dgram';
import { ConfigError, InvalidOptionError } from '../errors/index.ts';
import { datagramDroppedChannel, type MuxDropReason, publishDrop } from './diagnostics.ts';
import { MuxErrorCode } from './errors.ts';

/** Offers one STUN datagram; returns true when the route took it (its transaction, its indication). */
export type StunClaimHandler = (data: Buffer, from: RemoteInfo) => boolean;

/** What one STUN user of a {@link Demux} takes. Give at least one handler. */
export interface StunRoute {
  /** Requests (a server). At most one route of a demux takes requests. */
  readonly request?: (data: Buffer, from: RemoteInfo) => void;
  /** Indications (e.g. TURN Data indications): return true when yours. */
  readonly indication?: StunClaimHandler;
  /** Success and error responses: return true when the transaction ID is one of yours. */
  readonly response?: StunClaimHandler;
}

/** Counters of the STUN sub-router. */
export interface StunRouterStats {
  /** Requests handed to the request route. */
  readonly requests: number;
  /** Indications a route claimed. */
  readonly indications: number;
  /** Responses a route claimed. */
  readonly responses: number;
  /** Requests dropped: no route takes requests. */
  readonly unclaimedRequests: number;
  /** Indications no route claimed. */
  readonly unclaimedIndications: number;
  /** Responses no route claimed (an unknown or finished transaction). */
  readonly unclaimedResponses: number;
  /** Datagrams on bytes 0–3 shorter than a STUN header (20 bytes). */
  readonly tooShort: number;
}

const UNCLAIMED: readonly [MuxDropReason, MuxDropReason] = [
  'stun-unclaimed-indication',
  'stun-unclaimed-response',
];

/** Bytes of a STUN header. RFC 8489 §5. */
const STUN_HEADER_BYTES = 20;

/** The STUN sub-router itself; a Demux owns one and registers it on bytes 0–3 while it has routes. */
export class StunRouter {
  #routes: StunRoute[] = [];
  #request: StunRoute['request'];
  #indications: StunClaimHandler[] = [];
  #responses: StunClaimHandler[] = [];
  #requestsIn = 0;
  #indicationsIn = 0;
  #responsesIn = 0;
  #unclaimedRequests = 0;
  #unclaimedIndications = 0;
  #unclaimedResponses = 0;
  #tooShort = 0;

  /** Routes currently registered. */
  get size(): number {
    return this.#routes.length;
  }

  /**
   * Adds `route`.
   * @throws ConfigError `ERR_MUX_RANGE_TAKEN` when another route already takes requests,
   *   `ERR_INVALID_OPTION` for a route without any handler.
   */
  add(route: StunRoute): void {
    if (route.request === undefined && route.indication === undefined && route.response === undefined) {
      throw new InvalidOptionError('route', 'a STUN route needs a request, indication or response handler');
    }
    if (route.request !== undefined && this.#request !== undefined) {
      throw new ConfigError(
        MuxErrorCode.RANGE_TAKEN,
        'STUN requests on this demux already go to a server; one route takes requests',
      );
    }
    this.#routes = [...this.#routes, route];
    this.#rebuild();
  }

  /** Removes `route` (no-op when absent). */
  delete(route: StunRoute): void {
    const routes = this.#routes.filter((r) => r !== route);
    if (routes.length === this.#routes.length) return;
    this.#routes = routes;
    this.#rebuild();
  }

  /** The demux handler of bytes 0–3. */
  readonly dispatch = (data: Buffer, from: RemoteInfo): void => {
    if (data.length < STUN_HEADER_BYTES) {
      this.#tooShort++;
      if (datagramDroppedChannel.hasSubscribers) publishDrop('stun-too-short', data, from);
      return;
    }
    // Message class bits C1 (0x0100) and C0 (0x0010) of the type. RFC 8489 §5.
    const type = (data[0]! << 8) | data[1]!;
    const cls = ((type >> 7) & 2) | ((type >> 4) & 1);
    if (cls === 0) {
      const request = this.#request;
      if (request === undefined) {
        this.#unclaimedRequests++;
        if (datagramDroppedChannel.hasSubscribers) publishDrop('stun-unclaimed-request', data, from);
        return;
      }
      this.#requestsIn++;
      request(data, from);
      return;
    }
    const handlers = cls === 1 ? this.#indications : this.#responses;
    for (let i = 0; i < handlers.length; i++) {
      if (handlers[i]!(data, from)) {
        if (cls === 1) this.#indicationsIn++;
        else this.#responsesIn++;
        return;
      }
    }
    if (cls === 1) this.#unclaimedIndications++;
    else this.#unclaimedResponses++;
    if (datagramDroppedChannel.hasSubscribers) publishDrop(UNCLAIMED[cls === 1 ? 0 : 1], data, from);
  };

  /** A snapshot of the counters. */
  stats(): StunRouterStats {
    return {
      requests: this.#requestsIn,
      indications: this.#indicationsIn,
      responses: this.#responsesIn,
      unclaimedRequests: this.#unclaimedRequests,
      unclaimedIndications: this.#unclaimedIndications,
      unclaimedResponses: this.#unclaimedResponses,
      tooShort: this.#tooShort,
    };
  }

  #rebuild(): void {
    const routes = this.#routes;
    this.#request = routes.find((r) => r.request !== undefined)?.request;
    this.#indications = routes.flatMap((r) => (r.indication === undefined ? [] : [r.indication]));
    this.#responses = routes.flatMap((r) => (r.response === undefined ? [] : [r.response]));
  }
}
