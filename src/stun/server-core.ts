import { ConfigError, ParseError } from '../errors/index.ts';
import { makeAddress } from './address.ts';
import { getChangeRequest } from './change-request.ts';
import { isComprehensionRequired, StunAttr, StunClass, StunErrorCode, StunMethod } from './constants.ts';
import { encodeStun, type StunAttributeInit } from './encode.ts';
import { makeErrorCode } from './error-code.ts';
import { hasValidFingerprint } from './fingerprint.ts';
import { decodeStun, getAttribute, isStunPacket, type StunMessage } from './message.ts';
import { makePadding } from './padding.ts';
import { type RateLimitOptions, SourceRateLimiter } from './rate-limit.ts';
import { getResponsePort } from './response-port.ts';
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
 * @module
 */

/** Default response-to-request size bound for responses steered by RESPONSE-PORT or padded by PADDING. */
export const DEFAULT_AMPLIFICATION_FACTOR = 3;

/** A local socket's address. */
export interface StunLocalAddress {
  readonly address: string;
  readonly port: number;
}

/** Settings of a {@link StunServerCore}. */
export interface StunServerCoreOptions {
  /**
   * The local sockets: one (plain Binding service) or four (RFC 5780 mode: A:p, A:p', B:p, B:p').
   * Wildcard addresses (0.0.0.0, ::) are not reported in RESPONSE-ORIGIN / OTHER-ADDRESS.
   */
  readonly locals: readonly StunLocalAddress[];
  /** SOFTWARE to put in responses; default none. RFC 8489 §14.14. */
  readonly software?: string;
  /** FINGERPRINT in responses: `'auto'` (when the request had one, the default), `'always'`, `'never'`. */
  readonly fingerprint?: 'auto' | 'always' | 'never';
  /** Per-source-IP token bucket, or false to disable. Default: 20/s, burst 40, 10 000 sources. */
  readonly rateLimit?: RateLimitOptions | false;
  /**
   * A response sent to RESPONSE-PORT or carrying PADDING may be at most this many times the request's
   * size (RFC 5780 §9.1 asks servers not to be amplifiers). PADDING is left out when it would break
   * the bound; a RESPONSE-PORT request whose response would break it is dropped. Default 3.
   */
  readonly amplificationFactor?: number;
  /** Most attributes accepted per request. Default 64. */
  readonly maxAttributes?: number;
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
    /** A RESPONSE-PORT response over the amplification bound. */
    readonly amplification: number;
    /** `via` index out of range (driver error). */
    readonly badLocal: number;
  };
  /** PADDING left out of a response because of the amplification bound. */
  readonly paddingRefused: number;
  /** Sources tracked by the rate limiter, and evictions from its full table. */
  readonly rateLimitSources: number;
  readonly rateLimitEvictions: number;
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

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/** The STUN Binding service as a pure function of its inputs, plus counters. */
export class StunServerCore {
  readonly #locals: readonly StunLocalAddress[];
  readonly #software: StunAttributeInit | undefined;
  readonly #fingerprint: 'auto' | 'always' | 'never';
  readonly #limiter: SourceRateLimiter | undefined;
  readonly #factor: number;
  readonly #decodeOptions: { maxAttributes?: number };
  /** RESPONSE-ORIGIN and OTHER-ADDRESS per local socket, built once (undefined for wildcards). */
  readonly #originAttributes: readonly (StunAttributeInit | undefined)[];
  readonly #otherAttributes: readonly (StunAttributeInit | undefined)[];
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

  /** @throws ConfigError `ERR_STUN_BAD_OPTION` for invalid settings. */
  constructor(options: StunServerCoreOptions) {
    if (options.locals.length !== 1 && options.locals.length !== 4) {
      throw new ConfigError(
        'ERR_STUN_BAD_OPTION',
        `a STUN server has 1 or 4 local sockets, not ${options.locals.length}`,
      );
    }
    this.#locals = options.locals.map((l) => ({ address: l.address, port: l.port }));
    this.#software = options.software !== undefined ? makeSoftware(options.software) : undefined;
    this.#fingerprint = options.fingerprint ?? 'auto';
    this.#limiter = options.rateLimit === false ? undefined : new SourceRateLimiter(options.rateLimit);
    this.#factor = options.amplificationFactor ?? DEFAULT_AMPLIFICATION_FACTOR;
    if (!(this.#factor >= 1)) {
      throw new ConfigError('ERR_STUN_BAD_OPTION', `amplificationFactor must be ≥ 1, not ${this.#factor}`);
    }
    this.#decodeOptions = options.maxAttributes !== undefined ? { maxAttributes: options.maxAttributes } : {};
    const rfc5780 = this.#locals.length === 4;
    this.#originAttributes = this.#locals.map((l) =>
      isWildcard(l.address) ? undefined : makeAddress(StunAttr.RESPONSE_ORIGIN, l),
    );
    this.#otherAttributes = this.#locals.map((_, i) => {
      const other = this.#locals[i ^ 3];
      return rfc5780 && other !== undefined && !isWildcard(other.address)
        ? makeAddress(StunAttr.OTHER_ADDRESS, other)
        : undefined;
    });
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
      return undefined;
    }
    // 1. Cheap checks before any work: STUN framing, then the source's rate. RFC 8489 §6.3.
    if (!isStunPacket(data)) {
      this.#notStun++;
      return undefined;
    }
    if (this.#limiter !== undefined && !this.#limiter.take(from.address, now)) return undefined;
    // 2. Decode; only requests are answered. RFC 8489 §6.3.2, §6.3.3.
    let request: StunMessage;
    try {
      request = decodeStun(data, this.#decodeOptions);
    } catch {
      this.#malformed++;
      return undefined;
    }
    if (request.class !== StunClass.REQUEST) {
      this.#notRequest++;
      return undefined;
    }
    const hasFingerprint = getAttribute(request, StunAttr.FINGERPRINT) !== undefined;
    if (hasFingerprint && !hasValidFingerprint(request)) {
      this.#badFingerprint++;
      return undefined;
    }
    const fingerprint = this.#fingerprint === 'always' || (this.#fingerprint === 'auto' && hasFingerprint);
    try {
      return this.#answer(request, data.length, from, via, fingerprint);
    } catch (error) {
      // 3. A known attribute with a malformed value: 400. RFC 8489 §6.3.1.
      if (error instanceof ParseError)
        return this.#error(request, from, via, StunErrorCode.BAD_REQUEST, fingerprint);
      this.#malformed++;
      return undefined;
    }
  }

  #answer(
    request: StunMessage,
    requestBytes: number,
    from: StunLocalAddress,
    via: number,
    fingerprint: boolean,
  ): StunServerReply | undefined {
    if (request.method !== StunMethod.BINDING) {
      return this.#error(request, from, via, StunErrorCode.BAD_REQUEST, fingerprint);
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
      return this.#error(request, from, via, StunErrorCode.UNKNOWN_ATTRIBUTE, fingerprint, unknown);
    }
    // 5. Where the response leaves from (CHANGE-REQUEST) and goes to (RESPONSE-PORT). RFC 5780 §7.2, §7.5.
    let out = via;
    if (change?.changeIp === true) out ^= 2;
    if (change?.changePort === true) out ^= 1;
    const responsePort = getResponsePort(request);
    const to = { address: from.address, port: responsePort ?? from.port };
    // 6. XOR-MAPPED-ADDRESS, RESPONSE-ORIGIN, OTHER-ADDRESS, SOFTWARE, PADDING. RFC 8489 §14.2, RFC 5780 §7.
    const attributes: StunAttributeInit[] = [makeXorMappedAddress(from)];
    const origin = this.#originAttributes[out];
    if (origin !== undefined) attributes.push(origin);
    const other = this.#otherAttributes[via];
    if (other !== undefined) attributes.push(other);
    if (this.#software !== undefined) attributes.push(this.#software);
    const padding = getAttribute(request, StunAttr.PADDING);
    const bound = this.#factor * requestBytes;
    let data: Buffer | undefined;
    if (padding !== undefined) {
      const padded = encodeStun(
        {
          method: StunMethod.BINDING,
          class: StunClass.SUCCESS_RESPONSE,
          transactionId: request.transactionId,
          attributes: [...attributes, makePadding(padding.value.length)],
        },
        { fingerprint },
      );
      if (padded.length <= bound) data = padded;
      else this.#paddingRefused++;
    }
    data ??= encodeStun(
      {
        method: StunMethod.BINDING,
        class: StunClass.SUCCESS_RESPONSE,
        transactionId: request.transactionId,
        attributes,
      },
      { fingerprint },
    );
    if (responsePort !== undefined && data.length > bound) {
      this.#amplification++;
      return undefined;
    }
    this.#responses++;
    return { data, via: out, to };
  }

  #error(
    request: StunMessage,
    from: StunLocalAddress,
    via: number,
    code: number,
    fingerprint: boolean,
    unknown?: readonly number[],
  ): StunServerReply {
    const attributes: StunAttributeInit[] = [makeErrorCode(code)];
    if (unknown !== undefined) attributes.push(makeUnknownAttributes(unknown));
    if (this.#software !== undefined) attributes.push(this.#software);
    this.#errorResponses++;
    return {
      data: encodeStun(
        {
          method: request.method,
          class: StunClass.ERROR_RESPONSE,
          transactionId: request.transactionId,
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
      rateLimitSources: this.#limiter?.size ?? 0,
      rateLimitEvictions: this.#limiter?.evictions ?? 0,
    };
  }
}
