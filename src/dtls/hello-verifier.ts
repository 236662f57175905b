/**
 * `DtlsHelloVerifier`: the stateless half of a DTLS server (RFC 6347 §4.2.1), usable on its own —
 * what Qt ships as `QDtlsClientVerifier`. It looks at one datagram from one address and says
 * whether it is a ClientHello with a valid cookie (then a session may be made for that address),
 * a ClientHello that gets a HelloVerifyRequest (the reply, never larger than the datagram: no
 * amplification), or nothing a server should answer. It keeps two secrets and nothing per client.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Endpoint } from '../internal/endpoint.ts';
import { ContentType, DTLS_1_0, HandshakeType, RECORD_HEADER_BYTES } from './constants.ts';
import { CookieJar } from './cookie.ts';
import { encodeFragment, readFragment } from './handshake-header.ts';
import { decodeClientHello, encodeHelloVerifyRequest } from './messages.ts';
import { createRecordView, readRecord, writeRecordHeader } from './record.ts';

/** What {@link DtlsHelloVerifier.check} says about one datagram. */
export type DtlsHelloVerdict =
  /** Not a whole epoch-0 ClientHello, or its HelloVerifyRequest would be larger than it: drop it. */
  | { readonly kind: 'unclaimed' }
  /** A ClientHello without a valid cookie: send `reply` (a HelloVerifyRequest) back to the sender. */
  | { readonly kind: 'hello-verify'; readonly reply: Buffer }
  /** A ClientHello with a valid cookie for this address: a session may start with it. */
  | { readonly kind: 'verified'; readonly messageSeq: number; readonly recordSeq: number };

/** Settings of a {@link DtlsHelloVerifier}. */
export interface DtlsHelloVerifierOptions {
  /** The clock's reading now, ms (the secrets rotate every 60 s on it). Default `performance.now()`. */
  readonly nowMs?: number;
  /** Random bytes for the secrets (tests). Default `crypto.randomBytes`. */
  readonly random?: (bytes: number) => Buffer;
}

const UNCLAIMED: DtlsHelloVerdict = { kind: 'unclaimed' };
const view = createRecordView();

/** See the module doc. */
export class DtlsHelloVerifier {
  readonly #cookies: CookieJar;

  constructor(options: DtlsHelloVerifierOptions = {}) {
    this.#cookies = new CookieJar(options.nowMs ?? performance.now(), options.random ?? randomBytes);
  }

  /** What `data` from `from` is (see {@link DtlsHelloVerdict}); never throws on bad input. */
  check(data: Buffer, from: Endpoint, nowMs: number): DtlsHelloVerdict {
    let hello: ReturnType<typeof decodeClientHello>;
    let messageSeq: number;
    let recordSeq: number;
    try {
      readRecord(data, 0, view);
      if (view.type !== ContentType.HANDSHAKE || view.epoch !== 0) return UNCLAIMED;
      const record = data.subarray(view.fragmentOffset, view.fragmentOffset + view.fragmentLength);
      const { fragment } = readFragment(record, 0);
      if (
        fragment.type !== HandshakeType.CLIENT_HELLO ||
        fragment.fragmentOffset !== 0 ||
        fragment.body.length !== fragment.length
      ) {
        return UNCLAIMED;
      }
      hello = decodeClientHello(fragment.body);
      messageSeq = fragment.messageSeq;
      recordSeq = view.sequence;
    } catch {
      return UNCLAIMED;
    }
    const cookies = this.#cookies;
    if (hello.cookie.length > 0 && cookies.check(hello, from, nowMs))
      return { kind: 'verified', messageSeq, recordSeq };
    const body = encodeHelloVerifyRequest({ version: DTLS_1_0, cookie: cookies.make(hello, from, nowMs) });
    const fragment = encodeFragment(HandshakeType.HELLO_VERIFY_REQUEST, messageSeq, body, 0, body.length);
    const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + fragment.length);
    writeRecordHeader(out, 0, ContentType.HANDSHAKE, 0, recordSeq, fragment.length);
    fragment.copy(out, RECORD_HEADER_BYTES);
    if (out.length > data.length) return UNCLAIMED;
    return { kind: 'hello-verify', reply: out };
  }
}
