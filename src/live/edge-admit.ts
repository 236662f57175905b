/**
 * Admission by application token at an edge, without the token travelling: the ADMIT credential is
 * the token's payload (its claims), a timestamp and a proof — `tokenProof(token, nonce)` of
 * token.ts over "porthole-edge-admit" ‖ the ADMIT's nonce ‖ the timestamp. The edge holds the
 * operator's secret, so it recomputes the token's MAC from the payload and checks the proof
 * (`verifyTokenProof`), the deadline, the channel, the role, and that the timestamp lies within
 * {@link ADMIT_CLOCK_SKEW_MS} of its clock; a nonce is accepted once per peer id (a replay from
 * another address is refused), so a captured ADMIT admits nobody else.
 *
 * ```
 *  credential = token payload (43 + id bytes) | timestamp ms u64 | proof (32)
 * ```
 * @module
 */
import type { Endpoint } from '../internal/endpoint.ts';
import type { EdgeAdmitCheck } from './edge-links.ts';
import { AdmitStatus } from './edge-wire.ts';
import {
  decodeTokenPayload,
  secretBytes,
  TOKEN_MAC_BYTES,
  type TokenClaims,
  tokenBytes,
  tokenProof,
  verifyTokenProof,
} from './token.ts';

/** How far an ADMIT's timestamp may lie from the edge's clock, ms. */
export const ADMIT_CLOCK_SKEW_MS = 5 * 60_000;
/** Peer ids whose last nonce an edge remembers (the oldest are forgotten). */
const MAX_REMEMBERED = 40_000;
const LABEL = Buffer.from('porthole-edge-admit');

function nonceBytes(nonce: number, timestampMs: number): Buffer {
  const out = Buffer.alloc(LABEL.length + 12);
  LABEL.copy(out);
  out.writeUInt32BE(nonce >>> 0, LABEL.length);
  out.writeUIntBE(Math.floor(timestampMs / 2 ** 32), LABEL.length + 4, 4);
  out.writeUInt32BE(timestampMs % 2 ** 32, LABEL.length + 8);
  return out;
}

/** The dialler's credential for ADMIT `nonce` at `nowMs` (Unix ms). @throws TokenError MALFORMED. */
export function admitCredential(token: string, nonce: number, nowMs: number): Buffer {
  const bytes = tokenBytes(token);
  const payload = bytes.subarray(0, bytes.length - TOKEN_MAC_BYTES);
  const ts = Math.floor(nowMs);
  const out = Buffer.alloc(payload.length + 8 + TOKEN_MAC_BYTES);
  payload.copy(out);
  out.writeUIntBE(Math.floor(ts / 2 ** 32), payload.length, 4);
  out.writeUInt32BE(ts % 2 ** 32, payload.length + 4);
  tokenProof(bytes, nonceBytes(nonce, ts)).copy(out, payload.length + 8);
  return out;
}

/** Settings of {@link tokenAdmission}. */
export interface TokenAdmissionOptions {
  /** The operator's secret (the tracker's). */
  readonly secret: Buffer | string;
  /** The channel the edge serves (32 bytes). */
  readonly channelId: Buffer;
  /** Roles admitted; default peers only. */
  readonly roles?: readonly ('peer' | 'edge' | 'source')[];
  /** Wall clock, Unix ms; default `Date.now`. */
  readonly now?: () => number;
}

/** The edge's admission check for {@link admitCredential}s (see the module doc). */
export function tokenAdmission(options: TokenAdmissionOptions): EdgeAdmitCheck {
  const secret = secretBytes(options.secret);
  const roles = new Set(options.roles ?? ['peer']);
  const now = options.now ?? Date.now;
  const last = new Map<string, { nonce: number; timestampMs: number; from: string }>();
  return (credential: Buffer, from: Endpoint, _nowMs: number, nonce = 0) => {
    const proofAt = credential.length - TOKEN_MAC_BYTES;
    const tsAt = proofAt - 8;
    if (tsAt < 44) return AdmitStatus.BAD_TOKEN;
    const payload = credential.subarray(0, tsAt);
    const timestampMs = credential.readUIntBE(tsAt, 4) * 2 ** 32 + credential.readUInt32BE(tsAt + 4);
    const wall = now();
    if (Math.abs(wall - timestampMs) > ADMIT_CLOCK_SKEW_MS) return AdmitStatus.BAD_TOKEN;
    let claims: ReturnType<typeof verifyTokenProof>['claims'];
    try {
      claims = verifyTokenProof(
        secret,
        payload,
        nonceBytes(nonce, timestampMs),
        credential.subarray(proofAt),
        wall,
      ).claims;
    } catch {
      return AdmitStatus.BAD_TOKEN;
    }
    if (!claims.channelId.equals(options.channelId)) return AdmitStatus.WRONG_CHANNEL;
    if (!roles.has(claims.role)) return AdmitStatus.BAD_TOKEN;
    const where = `${from.address}:${from.port}`;
    const seen = last.get(claims.peerId);
    if (
      seen !== undefined &&
      (seen.timestampMs > timestampMs || (seen.nonce === nonce && seen.from !== where))
    )
      return AdmitStatus.BAD_TOKEN; // a replay, or an older ADMIT than one already accepted
    last.delete(claims.peerId);
    if (last.size >= MAX_REMEMBERED) last.delete(last.keys().next().value as string);
    last.set(claims.peerId, { nonce, timestampMs, from: where });
    return { id: claims.peerId };
  };
}

/** The claims of a token, unverified (a holder cannot verify its own token), or undefined when it is no token. */
export function peekTokenClaims(token: string): TokenClaims | undefined {
  try {
    const bytes = tokenBytes(token);
    return decodeTokenPayload(bytes.subarray(0, bytes.length - TOKEN_MAC_BYTES));
  } catch {
    return undefined;
  }
}
