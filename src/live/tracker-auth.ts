/**
 * How a node proves itself to the tracker (docs/live.md, "Tracker"): a stateless nonce bound to
 * the address it came from (return routability, as the broker's registration), then either a
 * proof under its token's MAC (`tokenProof`) or, for a source, an Ed25519 signature under the
 * channel key of {@link sourceProofMessage}.
 * @module
 */
import { createHmac, sign, timingSafeEqual, verify } from 'node:crypto';
import type { Endpoint } from '../internal/endpoint.ts';
import { type ChannelSigner, openChannel } from './channel.ts';
import { LiveTokenCode } from './errors.ts';
import { TokenError, verifyTokenProof } from './token.ts';
import {
  TRACKER_NONCE_BYTES,
  type TrackerFrame,
  type TrackerMessage,
  TrackerStatus,
  type TrackerStatusType,
} from './tracker-wire.ts';

/** A nonce is good in the period it was minted and the next: 30–60 s. */
export const TRACKER_NONCE_PERIOD_MS = 30_000;
const SOURCE_LABEL = Buffer.from('porthole-tracker-source');

/** The nonce for a JOIN of `peerId` from `from` in `period` (HMAC-SHA256 under the tracker's key, truncated). */
export function joinNonce(key: Buffer, from: Endpoint, peerId: string, period: number): Buffer {
  return createHmac('sha256', key)
    .update(`${period >>> 0}|${from.address}|${from.port}|${peerId}`)
    .digest()
    .subarray(0, TRACKER_NONCE_BYTES);
}

/** Whether `nonce` was minted for `from` and `peerId` at `nowMs` or in the period before. */
export function isJoinNonce(
  key: Buffer,
  nonce: Buffer,
  from: Endpoint,
  peerId: string,
  nowMs: number,
): boolean {
  if (nonce.length !== TRACKER_NONCE_BYTES) return false;
  const period = Math.floor(nowMs / TRACKER_NONCE_PERIOD_MS);
  return (
    timingSafeEqual(joinNonce(key, from, peerId, period), nonce) ||
    timingSafeEqual(joinNonce(key, from, peerId, period - 1), nonce)
  );
}

/** What a source signs: "porthole-tracker-source" ‖ nonce ‖ channel id ‖ peer id. */
export function sourceProofMessage(nonce: Buffer, channelId: Buffer, peerId: string): Buffer {
  return Buffer.concat([SOURCE_LABEL, nonce, channelId, Buffer.from(peerId, 'latin1')]);
}

/** The source's signature of {@link sourceProofMessage} under the channel's private key. */
export function signSourceProof(signer: ChannelSigner, nonce: Buffer, peerId: string): Buffer {
  return sign(null, sourceProofMessage(nonce, signer.id, peerId), signer.privateKey);
}

/** Whether `signature` is the channel key's over {@link sourceProofMessage}. */
export function verifySourceProof(
  keyObject: Parameters<typeof verify>[2],
  nonce: Buffer,
  channelId: Buffer,
  peerId: string,
  signature: Buffer,
): boolean {
  try {
    return verify(null, sourceProofMessage(nonce, channelId, peerId), keyObject, signature);
  } catch {
    return false;
  }
}

/** What a challenged JOIN proves. */
export interface JoinProof {
  readonly status: TrackerStatusType;
  /** The broker credential (the token's MAC), when a token proved the claim. */
  readonly key: Buffer | null;
  /** The channel's public key, when a source proved it. */
  readonly publicKey: Buffer | null;
}

/**
 * Checks a JOIN's claim: its token (proof of the nonce under the token's MAC; the token's id,
 * channel and role must be the JOIN's) and, when present, a source's signature under the channel
 * key (whose hash must be the channel id). No token and no key, or a key from a non-source, is REFUSED.
 */
export function proveJoin(
  secret: Buffer,
  frame: Extract<TrackerFrame, { type: typeof TrackerMessage.JOIN }>,
  nowMs: number,
): JoinProof {
  let key: Buffer | null = null;
  let publicKey: Buffer | null = null;
  if (frame.tokenPayload.length > 0) {
    try {
      const proven = verifyTokenProof(secret, frame.tokenPayload, frame.nonce, frame.proof, nowMs);
      const c = proven.claims;
      if (c.peerId !== frame.peerId || c.role !== frame.role || !c.channelId.equals(frame.channelId))
        return refused(TrackerStatus.REFUSED);
      key = proven.key;
    } catch (error) {
      const expired = error instanceof TokenError && error.code === LiveTokenCode.EXPIRED;
      return refused(expired ? TrackerStatus.EXPIRED : TrackerStatus.REFUSED);
    }
  } else if (frame.source === null) {
    return refused(TrackerStatus.REFUSED);
  }
  if (frame.source !== null) {
    if (frame.role !== 'source') return refused(TrackerStatus.REFUSED);
    try {
      const channelKey = openChannel(frame.source.publicKey, frame.channelId);
      const { nonce, channelId, peerId } = frame;
      if (!verifySourceProof(channelKey.keyObject, nonce, channelId, peerId, frame.source.signature))
        return refused(TrackerStatus.REFUSED);
      publicKey = channelKey.publicKey;
    } catch {
      return refused(TrackerStatus.REFUSED);
    }
  }
  return { status: TrackerStatus.OK, key, publicKey };
}

function refused(status: TrackerStatusType): JoinProof {
  return { status, key: null, publicKey: null };
}
