/**
 * The Main profile's framing for a sender or receiver driver: wraps the cores' RTP and RTCP in
 * GRE (reduced overhead header, PSK encryption when a secret is set), unwraps what arrives on the
 * single socket, and makes the TR-06-2 keepalive. With a secret nothing in the clear is taken
 * (but keepalives), and a nonce's datagrams are delivered only once one of them decoded as a
 * sender would send it (an RTCP compound, or RTP of a flow already known from that source): a
 * wrong passphrase delivers nothing, every datagram counted in `decryptFailures`.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { ParseError } from '../errors/index.ts';
import {
  decodeGre,
  decodeGreBody,
  encodeKeepalive,
  GRE_HEADER_BYTES,
  GRE_KEY_SEQ_HEADER_BYTES,
  GreProtocol,
  REDUCED_HEADER_BYTES,
  writeGreHeader,
} from './gre.ts';
import { type PskBits, PskOpener, PskSealer } from './psk.ts';
import { decodeRtcp } from './rtcp.ts';
import { decodeRtp } from './rtp.ts';

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
    writeGreHeader(out, GreProtocol.REDUCED, { nonce: 0, seq: 0, aes256: false }, ports);
    const key = this.#sealer.seal(out.subarray(head));
    writeGreHeader(out, GreProtocol.REDUCED, key);
    return out;
  }

  /** A TR-06-2 keepalive (in the clear, as librist sends and ignores it). */
  keepalive(): Buffer {
    this.#keepalivesSent++;
    return encodeKeepalive(this.#mac, 0);
  }

  /**
   * Unwraps one datagram from `source` ("address:port"). Undefined: dropped and counted here
   * (protection, decryption, an unsupported protocol). `knownFlow(ssrc)`: whether that source
   * already has a flow of this SSRC (proves an encrypted RTP datagram right).
   * @throws ParseError (a rist code): a GRE, reduced or inner header that does not decode.
   */
  unwrap(
    data: Buffer,
    source: string,
    nowMs: number,
    knownFlow: (ssrc: number) => boolean,
  ): Unwrapped | undefined {
    const gre = decodeGre(data);
    if (gre.protocol === GreProtocol.KEEPALIVE || gre.protocol === GreProtocol.VSF) {
      // Keepalives are in the clear whatever the secret; a VSF header may also carry data.
      if (!gre.keyed) {
        const body = decodeGreBody(gre.protocol, data.subarray(gre.offset));
        if (body.kind === 'keepalive') {
          this.#keepalivesReceived++;
          return { kind: 'keepalive' };
        }
      }
    }
    if (gre.keyed !== (this.#opener !== undefined)) {
      this.#authFailures++;
      return undefined;
    }
    const bodyBytes = data.subarray(gre.offset);
    let entry: { trusted: boolean } | undefined;
    if (this.#opener !== undefined) {
      entry = this.#opener.open(source, gre.nonce, gre.seq, gre.version, gre.aes256, bodyBytes, nowMs);
      if (entry === undefined) return undefined;
    }
    let body: ReturnType<typeof decodeGreBody>;
    try {
      body = decodeGreBody(gre.protocol, bodyBytes);
    } catch (error) {
      if (entry === undefined || !(error instanceof ParseError)) throw error;
      this.#decryptFailures++;
      return undefined;
    }
    if (body.kind === 'keepalive') {
      this.#keepalivesReceived++;
      return { kind: 'keepalive' };
    }
    if (body.kind === 'unsupported') {
      this.#unsupported++;
      return undefined;
    }
    const packet = bodyBytes.subarray(body.offset);
    if (entry !== undefined && !entry.trusted) {
      if (!provesKey(body.kind, packet, knownFlow)) {
        this.#decryptFailures++;
        return undefined;
      }
      entry.trusted = true;
    }
    return { kind: body.kind, packet, srcPort: body.srcPort, dstPort: body.dstPort };
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
    };
  }
}

/**
 * Whether a packet decrypted under a new nonce is what a RIST peer sends: an RTCP compound that
 * decodes, or RTP of a known flow whose MPEG-TS payload starts with a sync byte. A wrong key
 * passes this about once in 2^40 datagrams.
 */
function provesKey(kind: 'rtp' | 'rtcp', packet: Buffer, knownFlow: (ssrc: number) => boolean): boolean {
  try {
    if (kind === 'rtcp') return decodeRtcp(packet).length > 0;
    const rtp = decodeRtp(packet);
    if (!knownFlow((rtp.ssrc & ~1) >>> 0)) return false;
    return rtp.payloadType !== 33 || rtp.payload[0] === 0x47;
  } catch (error) {
    if (error instanceof ParseError) return false;
    throw error;
  }
}
