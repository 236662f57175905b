import { InvalidOptionError, ParseError } from '../errors/index.ts';
import { makeAddress } from './address.ts';
import { getChangeRequest } from './change-request.ts';
import {
  classOfType,
  isComprehensionRequired,
  STUN_HEADER_BYTES,
  StunAttr,
  StunClass,
  StunMethod,
  StunStatusCode,
} from './constants.ts';
import {
  publishRequestDrop,
  requestAnsweredChannel,
  requestDroppedChannel,
  type StunRequestDropReason,
  transactionIdHex,
} from './diagnostics.ts';
import { encodeStun, type StunAttributeInit } from './encode.ts';
import { makeErrorCode } from './error-code.ts';
import { FINGERPRINT_ATTRIBUTE_BYTES, hasValidFingerprint } from './fingerprint.ts';
import { decodeStun, getAttribute, isStunPacket, type StunMessage } from './message.ts';
import { makePadding } from './padding.ts';
import { type RateLimitOptions, SourceRateLimiter } from './rate-limit.ts';
import { getResponsePort } from './response-port.ts';
import {
  attributeBytes,
  buildLocalAddressAttributes,
  type LocalAddressAttributes,
  type StunLocalAddress,
} from './server-locals.ts';
import { makeSoftware } from './text.ts';
import { makeUnknownAttributes } from './unknown-attributes.ts';
import { makeXorMappedAddress } from './xor-address.ts';

/**
 * The STUN Binding service without I/O: given a request's bytes, its source and the local socket it
 * arrived on, returns the response and the local socket it must leave from. RFC 8489 §6.3, RFC 5780 §6.
 *
 * Local sockets are numbered: `0` = A:p (primary address, primary port), and in RFC 5780 mode
 * `1` = A:p', `2` = B:p, `3` = B:p' (B the alternate address, p' the alternate port). Index bit 1 is
 * the address, bit 0 the port, so CHANGE-REQUEST flips bits and OTHER-ADDRESS is `index ^ 3`.
 *
 * RFC 3489 clients (no magic cookie) are answered the way RFC 8489 §11 / RFC 5389 §12.2 say: the
 * 128-bit transaction ID copied back, MAPPED-ADDRESS instead of XOR-MAPPED-ADDRESS, and SOURCE-ADDRESS
 * and CHANGED-ADDRESS (RFC 3489 §11.2.5, §11.2.3) in place of RESPONSE-ORIGIN and OTHER-ADDRESS.
 * @module
 */

/** Default response-to-request size bound for responses steered by RESPONSE-PORT or padded by PADDING. */
export const DEFAULT_AMPLIFICATION_FACTOR = 3;

export type { StunLocalAddress } from './server-locals.ts';

/** Settings of a {@link StunServerCore}. */
export interface StunServerCoreOptions {
  /**
   * The local sockets: one (plain Binding service) or four (RFC 5780 mode: A:p, A:p', B:p, B:p').
   * Wildcard addresses (0.0.0.0, ::) are not reported in RESPONSE-ORIGIN / OTHER-ADDRESS.
   */
  readonly locals: readonly StunLocalAddress[];
  /** SOFTWARE to put in responses when it fits the amplification bound; default none. RFC 8489 §14.14. */
  readonly software?: string;
  /** FINGERPRINT in responses: `'auto'` (when the request had one, the default), `'always'`, `'never'`. */
  readonly fingerprint?: 'auto' | 'always' | 'never';
  /** Per-source-IP token bucket, or false to disable. Default: 20/s, burst 40, 10 000 sources. */
  readonly rateLimit?: RateLimitOptions | false;
  /**
   * No response is more than this many times its request's size, counting every byte (RFC 5780 §9.1
   * asks servers not to be amplifiers; the source of an unauthenticated request may be spoofed).
   * Optional attributes are left out to fit, in the order MAPPED-ADDRESS, PADDING, SOFTWARE,
   * RESPONSE-ORIGIN, OTHER-ADDRESS (each counted); a response whose minimum (header, mapped address,
   * FINGERPRINT) does not fit is dropped (`dropped.amplification`). Default 3.
   */
  readonly amplificationFactor?: number;
  /** Most attributes accepted per request. Default 64. */
  readonly maxAttributes?: number;
  /**
   * Answer RFC 3489 clients (requests without the magic cookie, e.g. stun-client's `stun`) with
   * MAPPED-ADDRESS, SOURCE-ADDRESS and CHANGED-ADDRESS; CHANGE-REQUEST is honoured the same way.
   * When false they are dropped as `notStun`. Default true. RFC 8489 §11, RFC 3489 §8.2.
   */
  readonly rfc3489?: boolean;
  /**
   * Also put MAPPED-ADDRESS in responses to RFC 5389/8489 clients (RFC 8489 §14.1 allows it; old
   * clients and coturn's `turnutils_natdiscovery` read it): 12 more bytes (24 for IPv6). It is left
   * out whenever it would make the response larger than `amplificationFactor` × the request
   * (`mappedAddressRefused`), e.g. for a bare 20-byte request in RFC 5780 mode. Default true.
   */
  readonly mappedAddress?: boolean;
}

/** What to send for one request. */
export interface StunServerReply {
  /** The encoded response. */
  readonly data: Buffer;
  /** Index of the local socket to send from (see the module note). */
  readonly via: number;
  /** Destination. */
  readonly to: StunLocalAddress;
}

/** Counters of a {@link StunServerCore}, by outcome. */
export interface StunServerStats {
  /** Datagrams given to `handle`. */
  readonly received: number;
  /** Success responses produced. */
  readonly responses: number;
  /** Error responses produced (400, 420). */
  readonly errorResponses: number;
  /** Drops by reason. */
  readonly dropped: {
    /** Not STUN at all (`isStunPacket` false). */
    readonly notStun: number;
    /** STUN-looking but rejected by the decoder. */
    readonly malformed: number;
    /** Indications and responses (never answered). */
    readonly notRequest: number;
    /** A FINGERPRINT that does not match. */
    readonly badFingerprint: number;
    /** Over the per-source rate. */
    readonly rateLimited: number;
    /** A response whose minimum (header, mapped address, FINGERPRINT) is over the amplification bound. */
    readonly amplification: number;
    /** `via` index out of range (driver error). */
    readonly badLocal: number;
  };
  /** PADDING left out of a response because of the amplification bound. */
  readonly paddingRefused: number;
  /** MAPPED-ADDRESS left out of a response to keep the amplification bound. */
  readonly mappedAddressRefused: number;
  /** SOFTWARE left out of a response (success or error) to keep the amplification bound. */
  readonly softwareRefused: number;
  /** RESPONSE-ORIGIN (SOURCE-ADDRESS for RFC 3489 clients) left out to keep the amplification bound. */
  readonly responseOriginRefused: number;
  /** OTHER-ADDRESS (CHANGED-ADDRESS for RFC 3489 clients) left out to keep the amplification bound. */
  readonly otherAddressRefused: number;
  /** Requests with RESPONSE-PORT 0, answered with 400 to their source. */
  readonly responsePortRefused: number;
  /** RFC 3489 requests handled (answered with a success or an error response). */
  readonly classicRequests: number;
  /** Sources tracked by the rate limiter, and evictions from its full table. */
  readonly rateLimitSources: number;
  readonly rateLimitEvictions: number;
}

/** Publishes a drop when someone subscribed; returns undefined (the caller's "no reply"). */
function dropped(reason: StunRequestDropReason, data: Buffer, from: StunLocalAddress): undefined {
  if (requestDroppedChannel.hasSubscribers) publishRequestDrop(reason, data, from);
  return undefined;
}

/** Publishes an answer; call only when `requestAnsweredChannel.hasSubscribers`. */
function publishAnswer(request: StunMessage, from: StunLocalAddress, reply: StunServerReply): void {
  const data = reply.data;
  const cls = classOfType(data.readUInt16BE(0));
  requestAnsweredChannel.publish({
    transactionId: transactionIdHex(data),
    method: request.method,
    from: { address: from.address, port: from.port },
    to: { address: reply.to.address, port: reply.to.port },
    via: reply.via,
    outcome: cls === StunClass.SUCCESS_RESPONSE ? 'success' : 'error',
    errorCode: cls === StunClass.ERROR_RESPONSE ? errorCodeOf(data) : undefined,
    classic: request.classic,
    size: data.length,
  });
}

/**
 * The code of an error response this module encoded: ERROR-CODE is its first attribute, so its
 * class and number are bytes 26 (low 3 bits) and 27. RFC 8489 §14.8.
 */
function errorCodeOf(data: Buffer): number {
  return (data[26]! & 7) * 100 + data[27]!;
}

/** Attributes a Binding request may carry that this server understands or may safely ignore. */
const KNOWN_REQUEST_ATTRIBUTES: ReadonlySet<number> = new Set([
  StunAttr.CHANGE_REQUEST,
  StunAttr.RESPONSE_PORT,
  StunAttr.PADDING,
  StunAttr.USERNAME,
  StunAttr.USERHASH,
  StunAttr.MESSAGE_INTEGRITY,
  StunAttr.MESSAGE_INTEGRITY_SHA256,
  StunAttr.REALM,
  StunAttr.NONCE,
  StunAttr.PASSWORD_ALGORITHM,
]);

const STRICT = { allowClassic: false } as const;
const CLASSIC = { allowClassic: true } as const;

/** The STUN Binding service as a pure function of its inputs, plus counters. */
export class StunServerCore {
  readonly #locals: readonly StunLocalAddress[];
  readonly #software: StunAttributeInit | undefined;
  readonly #fingerprint: 'auto' | 'always' | 'never';
  readonly #limiter: SourceRateLimiter | undefined;
  readonly #factor: number;
  readonly #decodeOptions: { maxAttributes?: number; allowClassic: boolean };
  readonly #packetOptions: typeof STRICT | typeof CLASSIC;
  readonly #mappedAddress: boolean;
  /** RESPONSE-ORIGIN, OTHER-ADDRESS and their RFC 3489 twins per local socket, built once. */
  readonly #addressAttributes: LocalAddressAttributes;
  #received = 0;
  #responses = 0;
  #errorResponses = 0;
  #notStun = 0;
  #malformed = 0;
  #notRequest = 0;
  #badFingerprint = 0;
  #amplification = 0;
  #badLocal = 0;
  #paddingRefused = 0;
  #mappedAddressRefused = 0;
  #softwareRefused = 0;
  #responseOriginRefused = 0;
  #otherAddressRefused = 0;
  #responsePortRefused = 0;
  #classicRequests = 0;

  /** @throws InvalidOptionError `ERR_INVALID_OPTION` for invalid settings. */
  constructor(options: StunServerCoreOptions) {
    if (options.locals.length !== 1 && options.locals.length !== 4) {
      throw new InvalidOptionError(
        'locals',
        `a STUN server has 1 or 4 local sockets, not ${options.locals.length}`,
      );
    }
    this.#locals = options.locals.map((l) => ({ address: l.address, port: l.port }));
    this.#software = options.software !== undefined ? makeSoftware(options.software) : undefined;
    this.#fingerprint = options.fingerprint ?? 'auto';
    this.#limiter = options.rateLimit === false ? undefined : new SourceRateLimiter(options.rateLimit);
    this.#factor = options.amplificationFactor ?? DEFAULT_AMPLIFICATION_FACTOR;
    if (!(this.#factor >= 1)) {
      throw new InvalidOptionError(
        'amplificationFactor',
        `amplificationFactor must be ≥ 1, not ${this.#factor}`,
      );
    }
    const allowClassic = options.rfc3489 ?? true;
    this.#decodeOptions =
      options.maxAttributes !== undefined
        ? { maxAttributes: options.maxAttributes, allowClassic }
        : { allowClassic };
    this.#packetOptions = allowClassic ? CLASSIC : STRICT;
    this.#mappedAddress = options.mappedAddress ?? true;
    this.#addressAttributes = buildLocalAddressAttributes(this.#locals);
  }

  /** Whether the server runs in RFC 5780 mode (two addresses × two ports). */
  get rfc5780(): boolean {
    return this.#locals.length === 4;
  }

  /** The local socket addresses, by index. */
  get locals(): readonly StunLocalAddress[] {
    return this.#locals;
  }

  /**
   * Handles one datagram that arrived on local socket `via` from `from` at `now` (ms). Returns the
   * reply to send, or undefined when the datagram is dropped (counted by reason). Never throws.
   */
  handle(data: Buffer, from: StunLocalAddress, via: number, now: number): StunServerReply | undefined {
    this.#received++;
    if (via < 0 || via >= this.#locals.length || !Number.isInteger(via)) {
      this.#badLocal++;
      return dropped('badLocal', data, from);
    }
    // 1. Cheap checks before any work: STUN framing, then the source's rate. RFC 8489 §6.3.
    if (!isStunPacket(data, this.#packetOptions)) {
      this.#notStun++;
      return dropped('notStun', data, from);
    }
    if (this.#limiter !== undefined && !this.#limiter.take(from.address, now))
      return dropped('rateLimited', data, from);
    // 2. Decode; only requests are answered. RFC 8489 §6.3.2, §6.3.3.
    let request: StunMessage;
    try {
      request = decodeStun(data, this.#decodeOptions);
    } catch {
      this.#malformed++;
      return dropped('malformed', data, from);
    }
    if (request.class !== StunClass.REQUEST) {
      this.#notRequest++;
      return dropped('notRequest', data, from);
    }
    if (request.classic) this.#classicRequests++;
    const hasFingerprint = getAttribute(request, StunAttr.FINGERPRINT) !== undefined;
    if (hasFingerprint && !hasValidFingerprint(request)) {
      this.#badFingerprint++;
      return dropped('badFingerprint', data, from);
    }
    const fingerprint = this.#fingerprint === 'always' || (this.#fingerprint === 'auto' && hasFingerprint);
    let reply: StunServerReply | undefined;
    try {
      reply = this.#answer(request, data.length, from, via, fingerprint);
    } catch (error) {
      // 3. A known attribute with a malformed value: 400. RFC 8489 §6.3.1.
      if (!(error instanceof ParseError)) {
        this.#malformed++;
        return dropped('malformed', data, from);
      }
      reply = this.#error(request, data.length, from, via, StunStatusCode.BAD_REQUEST, fingerprint);
    }
    if (reply === undefined) return dropped('amplification', data, from);
    if (requestAnsweredChannel.hasSubscribers) publishAnswer(request, from, reply);
    return reply;
  }

  #answer(
    request: StunMessage,
    requestBytes: number,
    from: StunLocalAddress,
    via: number,
    fingerprint: boolean,
  ): StunServerReply | undefined {
    if (request.method !== StunMethod.BINDING) {
      return this.#error(request, requestBytes, from, via, StunStatusCode.BAD_REQUEST, fingerprint);
    }
    // 4. Comprehension-required attributes we do not know: 420 + UNKNOWN-ATTRIBUTES. RFC 8489 §6.3.1.
    //    CHANGE-REQUEST asking for a change a one-socket server cannot make counts as unknown. RFC 5780 §6.1.
    const change = getChangeRequest(request);
    const unknown: number[] = [];
    for (const attr of request.attributes) {
      if (
        isComprehensionRequired(attr.type) &&
        !KNOWN_REQUEST_ATTRIBUTES.has(attr.type) &&
        !unknown.includes(attr.type)
      ) {
        unknown.push(attr.type);
      }
    }
    if (change !== undefined && (change.changeIp || change.changePort) && !this.rfc5780) {
      unknown.push(StunAttr.CHANGE_REQUEST);
    }
    if (unknown.length > 0) {
      return this.#error(
        request,
        requestBytes,
        from,
        via,
        StunStatusCode.UNKNOWN_ATTRIBUTE,
        fingerprint,
        unknown,
      );
    }
    // 5. Where the response leaves from (CHANGE-REQUEST) and goes to (RESPONSE-PORT). RFC 5780 §7.2, §7.5.
    let out = via;
    if (change?.changeIp === true) out ^= 2;
    if (change?.changePort === true) out ^= 1;
    const responsePort = getResponsePort(request);
    if (responsePort === 0) {
      // Port 0 names no socket: refused, never "sent" to whatever the stack makes of it.
      this.#responsePortRefused++;
      return this.#error(request, requestBytes, from, via, StunStatusCode.BAD_REQUEST, fingerprint);
    }
    const to = { address: from.address, port: responsePort ?? from.port };
    // 6. The attributes every response has: RFC 8489 §14.2, RFC 5780 §7.3–§7.4; for an RFC 3489
    //    client MAPPED-ADDRESS, SOURCE-ADDRESS, CHANGED-ADDRESS (RFC 8489 §11, RFC 3489 §11.2).
    const classic = request.classic;
    const first = classic ? makeAddress(StunAttr.MAPPED_ADDRESS, from) : makeXorMappedAddress(from);
    const table = this.#addressAttributes;
    const origin = (classic ? table.source : table.origin)[out];
    const other = (classic ? table.changed : table.other)[via];
    // 7. Every byte counts against the bound (RFC 5780 §9.1: the server must not be an amplifier;
    //    the source is unauthenticated and may be spoofed). The minimum is the header, the mapped
    //    address and a requested FINGERPRINT; the optional attributes follow in priority order —
    //    OTHER-ADDRESS, RESPONSE-ORIGIN, SOFTWARE, PADDING, MAPPED-ADDRESS — each only while the
    //    response stays within `amplificationFactor` × the request, each refusal counted. A response
    //    whose minimum alone breaks the bound is not sent at all.
    const bound = this.#factor * requestBytes;
    let size = STUN_HEADER_BYTES + attributeBytes(first) + (fingerprint ? FINGERPRINT_ATTRIBUTE_BYTES : 0);
    if (size > bound) {
      this.#amplification++;
      return undefined;
    }
    let otherAttr = other;
    if (otherAttr !== undefined) {
      if (size + attributeBytes(otherAttr) <= bound) size += attributeBytes(otherAttr);
      else {
        otherAttr = undefined;
        this.#otherAddressRefused++;
      }
    }
    let originAttr = origin;
    if (originAttr !== undefined) {
      if (size + attributeBytes(originAttr) <= bound) size += attributeBytes(originAttr);
      else {
        originAttr = undefined;
        this.#responseOriginRefused++;
      }
    }
    let software = this.#software;
    if (software !== undefined) {
      if (size + attributeBytes(software) <= bound) size += attributeBytes(software);
      else {
        software = undefined;
        this.#softwareRefused++;
      }
    }
    const paddingAttr = getAttribute(request, StunAttr.PADDING);
    let padding: StunAttributeInit | undefined;
    if (paddingAttr !== undefined) {
      padding = makePadding(paddingAttr.value.length);
      if (size + attributeBytes(padding) <= bound) size += attributeBytes(padding);
      else {
        padding = undefined;
        this.#paddingRefused++;
      }
    }
    let mapped: StunAttributeInit | undefined;
    if (!classic && this.#mappedAddress) {
      mapped = makeAddress(StunAttr.MAPPED_ADDRESS, from);
      if (size + attributeBytes(mapped) <= bound) size += attributeBytes(mapped);
      else {
        mapped = undefined;
        this.#mappedAddressRefused++;
      }
    }
    const attributes: StunAttributeInit[] = [first];
    if (mapped !== undefined) attributes.push(mapped);
    if (originAttr !== undefined) attributes.push(originAttr);
    if (otherAttr !== undefined) attributes.push(otherAttr);
    if (software !== undefined) attributes.push(software);
    if (padding !== undefined) attributes.push(padding);
    const data = encodeStun(
      {
        method: StunMethod.BINDING,
        class: StunClass.SUCCESS_RESPONSE,
        transactionId: request.transactionId,
        classic,
        attributes,
      },
      { fingerprint },
    );
    this.#responses++;
    return { data, via: out, to };
  }

  /** An error response, within the same bound as a success: SOFTWARE only if it fits. */
  #error(
    request: StunMessage,
    requestBytes: number,
    from: StunLocalAddress,
    via: number,
    code: number,
    fingerprint: boolean,
    unknown?: readonly number[],
  ): StunServerReply | undefined {
    const attributes: StunAttributeInit[] = [makeErrorCode(code)];
    if (unknown !== undefined) {
      // RFC 3489 §11.2.10: an odd list repeats one type so the value is a multiple of 4 bytes.
      const list = request.classic && unknown.length % 2 === 1 ? [...unknown, unknown[0]!] : unknown;
      attributes.push(makeUnknownAttributes(list));
    }
    const bound = this.#factor * requestBytes;
    let size = STUN_HEADER_BYTES + (fingerprint ? FINGERPRINT_ATTRIBUTE_BYTES : 0);
    for (const attr of attributes) size += attributeBytes(attr);
    if (size > bound) {
      this.#amplification++;
      return undefined;
    }
    if (this.#software !== undefined) {
      if (size + attributeBytes(this.#software) <= bound) attributes.push(this.#software);
      else this.#softwareRefused++;
    }
    this.#errorResponses++;
    return {
      data: encodeStun(
        {
          method: request.method,
          class: StunClass.ERROR_RESPONSE,
          transactionId: request.transactionId,
          classic: request.classic,
          attributes,
        },
        { fingerprint },
      ),
      via,
      to: { address: from.address, port: from.port },
    };
  }

  /** A snapshot of the counters. */
  stats(): StunServerStats {
    return {
      received: this.#received,
      responses: this.#responses,
      errorResponses: this.#errorResponses,
      dropped: {
        notStun: this.#notStun,
        malformed: this.#malformed,
        notRequest: this.#notRequest,
        badFingerprint: this.#badFingerprint,
        rateLimited: this.#limiter?.limited ?? 0,
        amplification: this.#amplification,
        badLocal: this.#badLocal,
      },
      paddingRefused: this.#paddingRefused,
      mappedAddressRefused: this.#mappedAddressRefused,
      softwareRefused: this.#softwareRefused,
      responseOriginRefused: this.#responseOriginRefused,
      otherAddressRefused: this.#otherAddressRefused,
      responsePortRefused: this.#responsePortRefused,
      classicRequests: this.#classicRequests,
      rateLimitSources: this.#limiter?.size ?? 0,
      rateLimitEvictions: this.#limiter?.evictions ?? 0,
    };
  }
}
