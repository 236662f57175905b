/**
 * The Main profile's framing for a sender or receiver driver: wraps the cores' RTP and RTCP in
 * GRE (reduced overhead header, PSK encryption when a secret is set), unwraps what arrives on the
 * single socket, and makes the TR-06-2 keepalive. With a secret nothing in the clear is taken
 * (but keepalives), and a nonce's datagrams are delivered only once one of them decoded as a
 * sender would send it (an RTCP compound, or RTP of a flow already known from that source): a
 * wrong passphrase delivers nothing, every datagram counted in `decryptFailures`. RTP that looks
 * right under a nonce not proven yet (a flow's first packets, when its first RTCP was lost) is
 * held — at most {@link MAX_HELD_PER_KEY} per nonce, {@link MAX_HELD_KEYS} nonces — and
 * released ({@link MainFraming.drainReleased}) once the nonce is proven.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { ParseError } from '../errors/index.ts';
import type { Endpoint } from '../internal/endpoint.ts';
import { droppedChannel } from './diagnostics.ts';
import {
  decodeGreInto,
  encodeKeepalive,
  GRE_HEADER_BYTES,
  GRE_KEY_SEQ_HEADER_BYTES,
  GreProtocol,
  greBodyScratch,
  greHeaderScratch,
  REDUCED_HEADER_BYTES,
  readGreBody,
  writeGreHeader,
} from './gre.ts';
import { type PskBits, PskOpener, PskSealer } from './psk.ts';
import { decodeRtcp } from './rtcp.ts';
import { decodeRtp } from './rtp.ts';

/** RTP datagrams held for a nonce not proven yet, at most. */
export const MAX_HELD_PER_KEY = 512;
/** Nonces with held datagrams, at most (the oldest's are dropped). */
export const MAX_HELD_KEYS = 4;

/** Main-profile settings shared by sender and receiver. */
export interface MainProfileOptions {
  /** PSK passphrase (1–127 bytes): encrypts everything but keepalives; peers must share it. */
  readonly secret?: string;
  /** AES key size with a secret, bits. Default 128 (librist's `-encryption 128`). */
  readonly encryption?: PskBits;
  /** Datagrams after which the sender picks a new nonce (0: never, librist's default). */
  readonly keyRotation?: number;
}

/** Counters of the Main-profile framing. */
export interface MainFramingStats {
  readonly keepalivesSent: number;
  readonly keepalivesReceived: number;
  /** Datagrams refused for their protection: in the clear with a secret set, or encrypted without one. */
  readonly authFailures: number;
  /** Encrypted datagrams that did not decrypt to RIST (a wrong passphrase or key size, or forged). */
  readonly decryptFailures: number;
  /** GRE protocols porthole does not carry (librist's full IP header, EAPOL, VSF others). */
  readonly unsupported: number;
  /** PSK keys derived (the sender's nonces, the receiver's nonces met). */
  readonly keyDerivations: number;
  /** Encrypted datagrams dropped because too many new nonces arrived in one second. */
  readonly derivationsRefused: number;
  /** RTP datagrams held now for a nonce not proven yet. */
  readonly heldForKey: number;
  /** Held RTP datagrams released once their nonce was proven. */
  readonly releasedForKey: number;
}

/** What one datagram was, once unwrapped. */
export type Unwrapped =
  | {
      readonly kind: 'rtp' | 'rtcp';
      /** The RTP or RTCP packet (a view of the received datagram, decrypted in place). */
      readonly packet: Buffer;
      readonly srcPort: number;
      readonly dstPort: number;
    }
  | { readonly kind: 'keepalive' };

/** Whether `from` already has a flow of `ssrc` (proves an encrypted RTP datagram's key right). */
export type KnownFlow = (ssrc: number, from: Endpoint) => boolean;

type MutableUnwrapped = { kind: 'rtp' | 'rtcp'; packet: Buffer; srcPort: number; dstPort: number };

const KEEPALIVE: Unwrapped = Object.freeze({ kind: 'keepalive' });
/** The key fields written before sealing (the real ones are written after). */
const PLACEHOLDER_KEY = Object.freeze({ nonce: 0, seq: 0, aes256: false });

/** Virtual ports of the reduced overhead header. */
export interface VirtualPorts {
  readonly src: number;
  readonly dst: number;
}

/** See the module doc. */
export class MainFraming {
  readonly encrypted: boolean;
  readonly #sealer: PskSealer | undefined;
  readonly #opener: PskOpener | undefined;
  readonly #mac = randomBytes(6);
  #keepalivesSent = 0;
  #keepalivesReceived = 0;
  #authFailures = 0;
  #decryptFailures = 0;
  #unsupported = 0;
  readonly #held = new Map<object, Unwrapped[]>();
  #heldCount = 0;
  #releasedCount = 0;
  #released: Unwrapped[] = [];
  readonly #gre = greHeaderScratch();
  readonly #body = greBodyScratch();
  readonly #result: MutableUnwrapped = { kind: 'rtp', packet: Buffer.alloc(0), srcPort: 0, dstPort: 0 };

  constructor(options: MainProfileOptions = {}) {
    const secret = options.secret;
    this.encrypted = secret !== undefined;
    if (secret !== undefined) {
      const bits = options.encryption ?? 128;
      this.#sealer = new PskSealer(secret, bits, options.keyRotation ?? 0);
      this.#opener = new PskOpener(secret, bits);
    }
    this.#mac[0] = ((this.#mac[0] as number) | 0x02) & 0xfe; // locally administered, unicast
  }

  /** `inner` (an RTP or RTCP datagram) in GRE with the reduced header, encrypted with a secret. */
  wrap(inner: Uint8Array, ports: VirtualPorts): Buffer {
    const head = this.#sealer === undefined ? GRE_HEADER_BYTES : GRE_KEY_SEQ_HEADER_BYTES;
    const out = Buffer.allocUnsafe(head + REDUCED_HEADER_BYTES + inner.length);
    out.set(inner, head + REDUCED_HEADER_BYTES);
    if (this.#sealer === undefined) {
      writeGreHeader(out, GreProtocol.REDUCED, undefined, ports);
      return out;
    }
    // The reduced header is written first: it is encrypted with the rest of the body.
    writeGreHeader(out, GreProtocol.REDUCED, PLACEHOLDER_KEY, ports);
    const key = this.#sealer.seal(out, head);
    writeGreHeader(out, GreProtocol.REDUCED, key);
    return out;
  }

  /** A TR-06-2 keepalive (in the clear, as librist sends and ignores it). */
  keepalive(): Buffer {
    this.#keepalivesSent++;
    return encodeKeepalive(this.#mac, 0);
  }

  /**
   * Unwraps one datagram from `from`. Undefined: dropped and counted here (protection,
   * decryption, an unsupported protocol). `knownFlow(ssrc, from)`: whether that source already has
   * a flow of this SSRC (proves an encrypted RTP datagram right). The result is one object reused
   * by the next call (read it before); the packet is a view of `data`, decrypted in place.
   * @throws ParseError (a rist code): a GRE, reduced or inner header that does not decode.
   */
  unwrap(data: Buffer, from: Endpoint, nowMs: number, knownFlow: KnownFlow): Unwrapped | undefined {
    const gre = decodeGreInto(data, this.#gre);
    if (gre.protocol === GreProtocol.KEEPALIVE || gre.protocol === GreProtocol.VSF) {
      // Keepalives are in the clear whatever the secret; a VSF header may also carry data.
      if (!gre.keyed && readGreBody(gre.protocol, data, gre.offset, this.#body).kind === 'keepalive') {
        this.#keepalivesReceived++;
        return KEEPALIVE;
      }
    }
    if (gre.keyed !== (this.#opener !== undefined)) {
      this.#authFailures++;
      if (droppedChannel.hasSubscribers) publishDrop('auth', data.length);
      return undefined;
    }
    let entry: { trusted: boolean } | undefined;
    if (this.#opener !== undefined) {
      const o = gre;
      entry = this.#opener.open(
        from.address,
        from.port,
        o.nonce,
        o.seq,
        o.version,
        o.aes256,
        data,
        o.offset,
        nowMs,
      );
      if (entry === undefined) {
        if (droppedChannel.hasSubscribers) publishDrop('key-rate', data.length);
        return undefined;
      }
    }
    let body: ReturnType<typeof readGreBody>;
    try {
      body = readGreBody(gre.protocol, data, gre.offset, this.#body);
    } catch (error) {
      if (entry === undefined || !(error instanceof ParseError)) throw error;
      this.#decryptFailures++;
      if (droppedChannel.hasSubscribers) publishDrop('decrypt', data.length);
      return undefined;
    }
    if (body.kind === 'keepalive') {
      this.#keepalivesReceived++;
      return KEEPALIVE;
    }
    if (body.kind === 'unsupported') {
      this.#unsupported++;
      if (droppedChannel.hasSubscribers) publishDrop('unsupported', data.length);
      return undefined;
    }
    const result = this.#result;
    result.kind = body.kind;
    result.packet = data.subarray(body.offset);
    result.srcPort = body.srcPort;
    result.dstPort = body.dstPort;
    if (entry !== undefined && !entry.trusted) {
      const verdict = checkKey(body.kind, result.packet, from, knownFlow);
      if (verdict === 'wrong') {
        this.#decryptFailures++;
        if (droppedChannel.hasSubscribers) publishDrop('decrypt', data.length);
        return undefined;
      }
      if (verdict === 'unproven') {
        this.#hold(entry, { ...result });
        return undefined;
      }
      entry.trusted = true;
      const held = this.#held.get(entry);
      if (held !== undefined) {
        this.#held.delete(entry);
        this.#heldCount -= held.length;
        this.#releasedCount += held.length;
        this.#released.push(...held);
      }
    }
    return result;
  }

  /** Held RTP datagrams released by the last {@link unwrap} (their nonce was proven), in arrival order. */
  drainReleased(): Unwrapped[] {
    if (this.#released.length === 0) return EMPTY;
    const out = this.#released;
    this.#released = [];
    return out;
  }

  #hold(entry: object, unwrapped: Unwrapped): void {
    let list = this.#held.get(entry);
    if (list === undefined) {
      if (this.#held.size >= MAX_HELD_KEYS) {
        const [oldest, dropped] = this.#held.entries().next().value as [object, Unwrapped[]];
        this.#held.delete(oldest);
        this.#heldCount -= dropped.length;
        this.#decryptFailures += dropped.length;
      }
      list = [];
      this.#held.set(entry, list);
    }
    if (list.length >= MAX_HELD_PER_KEY) {
      list.shift();
      this.#heldCount--;
      this.#decryptFailures++;
    }
    list.push(unwrapped);
    this.#heldCount++;
  }

  stats(): MainFramingStats {
    return {
      keepalivesSent: this.#keepalivesSent,
      keepalivesReceived: this.#keepalivesReceived,
      authFailures: this.#authFailures,
      decryptFailures: this.#decryptFailures,
      unsupported: this.#unsupported,
      keyDerivations: (this.#sealer?.rotations ?? 0) + (this.#opener?.derivations ?? 0),
      derivationsRefused: this.#opener?.derivationsRefused ?? 0,
      heldForKey: this.#heldCount,
      releasedForKey: this.#releasedCount,
    };
  }
}

const EMPTY: Unwrapped[] = [];

function publishDrop(reason: 'auth' | 'decrypt' | 'unsupported' | 'key-rate', size: number): void {
  if (droppedChannel.hasSubscribers) droppedChannel.publish({ reason, stream: 'media', size });
}

/**
 * Whether a packet decrypted under a nonce not proven yet is what a RIST peer sends: an RTCP
 * compound that decodes, or RTP of a known flow whose MPEG-TS payload starts with a sync byte,
 * proves the key (a wrong one passes about once in 2^40 datagrams); RTP that looks right but of
 * a flow not known yet is `unproven` (held); anything else is `wrong`.
 */
function checkKey(
  kind: 'rtp' | 'rtcp',
  packet: Buffer,
  from: Endpoint,
  knownFlow: KnownFlow,
): 'proven' | 'unproven' | 'wrong' {
  try {
    if (kind === 'rtcp') return decodeRtcp(packet).length > 0 ? 'proven' : 'wrong';
    const rtp = decodeRtp(packet);
    if (rtp.payloadType === 33 && rtp.payload[0] !== 0x47) return 'wrong';
    return knownFlow((rtp.ssrc & ~1) >>> 0, from) ? 'proven' : 'unproven';
  } catch (error) {
    if (error instanceof ParseError) return 'wrong';
    throw error;
  }
}
