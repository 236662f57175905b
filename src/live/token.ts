/**
 * Application tokens: what an operator hands a peer, an edge or a source so the tracker (and the
 * edges, given the same secret) admit it to one channel until a deadline. HMAC-SHA256 under the
 * operator's secret; the format is in docs/live.md, "Tokens":
 *
 * ```
 *  0  version (1)          1 byte
 *  1  role                 1 byte   0 peer, 1 edge, 2 source
 *  2  expires at, ms       8 bytes  big-endian, Unix epoch, ≤ 2^53
 * 10  channel id          32 bytes  SHA-256 of the channel's public key
 * 42  peer id length       1 byte   1–64
 * 43  peer id              n bytes  visible ASCII (0x21–0x7e)
 *  …  MAC                 32 bytes  HMAC-SHA256(secret, "porthole-token-v1" ‖ bytes 0 … 42+n)
 * ```
 *
 * The token string is base64url (no padding) of those bytes. The MAC doubles as the holder's
 * key: the tracker never needs the token itself on the wire, only a proof under the MAC
 * ({@link tokenProof}) of a nonce it chose, so a captured JOIN cannot be replayed.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidOptionError, PortholeError } from '../errors/index.ts';
import { CHANNEL_ID_BYTES } from './constants.ts';
import { LiveTokenCode, type LiveTokenCodeType } from './errors.ts';

/** Version byte of the token format. */
export const TOKEN_VERSION = 1;
/** Bytes of a token's MAC (HMAC-SHA256). */
export const TOKEN_MAC_BYTES = 32;
/** Shortest operator secret accepted: 16 bytes. */
export const TOKEN_MIN_SECRET_BYTES = 16;
/** Longest peer id in a token (the broker's limit). */
export const TOKEN_MAX_PEER_ID_BYTES = 64;
/** Bytes before the peer id. */
const HEADER_BYTES = 43;
/** Longest token in bytes (before base64url). */
export const TOKEN_MAX_BYTES = HEADER_BYTES + TOKEN_MAX_PEER_ID_BYTES + TOKEN_MAC_BYTES;

const LABEL = Buffer.from('porthole-token-v1');
const PROOF_LABEL = Buffer.from('porthole-tracker-proof');

/** Token roles, as the wire numbers them. */
export const TokenRole = { peer: 0, edge: 1, source: 2 } as const;
/** A role a token admits. */
export type TokenRoleValue = keyof typeof TokenRole;
const ROLES: readonly TokenRoleValue[] = ['peer', 'edge', 'source'];

/** What a token says. */
export interface TokenClaims {
  readonly peerId: string;
  /** 32 bytes. */
  readonly channelId: Buffer;
  readonly role: TokenRoleValue;
  /** Deadline, ms since the Unix epoch. */
  readonly expiresAtMs: number;
}

/** Arguments of {@link issueToken}. */
export interface IssueTokenOptions extends TokenClaims {
  /** The operator's secret (≥ 16 bytes; a string is taken as UTF-8). */
  readonly secret: Buffer | string;
}

/** A token that does not admit its holder; `code` is one of {@link LiveTokenCode}. */
export class TokenError extends PortholeError {
  constructor(code: LiveTokenCodeType, message: string) {
    super(code, message);
  }
}

/**
 * A token for `peerId` in `channelId` as `role` until `expiresAtMs`.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming the field that can never work.
 */
export function issueToken(options: IssueTokenOptions): string {
  const key = secretBytes(options?.secret);
  const { peerId, channelId, role, expiresAtMs } = options;
  if (!isTokenPeerId(peerId)) {
    throw new InvalidOptionError(
      'peerId',
      `peerId must be 1-${TOKEN_MAX_PEER_ID_BYTES} visible ASCII characters`,
    );
  }
  if (!(channelId instanceof Uint8Array) || channelId.length !== CHANNEL_ID_BYTES) {
    throw new InvalidOptionError('channelId', `channelId must be ${CHANNEL_ID_BYTES} bytes`);
  }
  if (!Object.hasOwn(TokenRole, role)) {
    throw new InvalidOptionError('role', `role must be peer, edge or source, got ${String(role)}`);
  }
  if (!Number.isSafeInteger(expiresAtMs) || expiresAtMs < 0) {
    throw new InvalidOptionError('expiresAtMs', 'expiresAtMs must be a whole number of ms since the epoch');
  }
  const body = Buffer.alloc(HEADER_BYTES + peerId.length + TOKEN_MAC_BYTES);
  body[0] = TOKEN_VERSION;
  body[1] = TokenRole[role];
  body.writeUIntBE(Math.floor(expiresAtMs / 2 ** 32), 2, 4);
  body.writeUInt32BE(expiresAtMs % 2 ** 32, 6);
  Buffer.from(channelId).copy(body, 10);
  body[42] = peerId.length;
  body.write(peerId, HEADER_BYTES, 'latin1');
  const payloadEnd = HEADER_BYTES + peerId.length;
  mac(key, body.subarray(0, payloadEnd)).copy(body, payloadEnd);
  return body.toString('base64url');
}

/**
 * The claims of `token` after checking its MAC under `secret` and its deadline against `nowMs`
 * (ms since the Unix epoch).
 * @throws TokenError `ERR_LIVE_TOKEN_MALFORMED`, `ERR_LIVE_TOKEN_BAD_MAC`, `ERR_LIVE_TOKEN_EXPIRED`.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` for a secret shorter than 16 bytes.
 */
export function verifyToken(secret: Buffer | string, token: string, nowMs: number): TokenClaims {
  const key = secretBytes(secret);
  const bytes = tokenBytes(token);
  const payload = bytes.subarray(0, bytes.length - TOKEN_MAC_BYTES);
  const claims = decodeTokenPayload(payload);
  if (!timingSafeEqual(mac(key, payload), bytes.subarray(payload.length))) {
    throw new TokenError(LiveTokenCode.BAD_MAC, 'token: the MAC does not verify under this secret');
  }
  expireCheck(claims, nowMs);
  return claims;
}

/** The decoded bytes of a token string (payload ‖ MAC), unchecked but for its shape. @throws TokenError MALFORMED. */
export function tokenBytes(token: string): Buffer {
  if (typeof token !== 'string' || token.length > 2 * TOKEN_MAX_BYTES || !/^[A-Za-z0-9_-]+$/.test(token)) {
    throw new TokenError(LiveTokenCode.MALFORMED, 'token: not a base64url string');
  }
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.length < HEADER_BYTES + 1 + TOKEN_MAC_BYTES || bytes.length > TOKEN_MAX_BYTES) {
    throw new TokenError(LiveTokenCode.MALFORMED, `token: ${bytes.length} bytes is not a token's size`);
  }
  decodeTokenPayload(bytes.subarray(0, bytes.length - TOKEN_MAC_BYTES));
  return bytes;
}

/** The claims of a token's payload (the bytes before the MAC). @throws TokenError MALFORMED. */
export function decodeTokenPayload(payload: Buffer): TokenClaims {
  if (payload.length < HEADER_BYTES + 1) {
    throw new TokenError(LiveTokenCode.MALFORMED, 'token: shorter than its header');
  }
  if (payload[0] !== TOKEN_VERSION) {
    throw new TokenError(
      LiveTokenCode.MALFORMED,
      `token: version ${payload[0]} (this speaks ${TOKEN_VERSION})`,
    );
  }
  const role = ROLES[payload[1]!];
  if (role === undefined) throw new TokenError(LiveTokenCode.MALFORMED, `token: role ${payload[1]} unknown`);
  const high = payload.readUInt32BE(2);
  if (high > 0x1fffff) throw new TokenError(LiveTokenCode.MALFORMED, 'token: deadline past 2^53 ms');
  const expiresAtMs = high * 2 ** 32 + payload.readUInt32BE(6);
  const n = payload[42]!;
  if (n < 1 || n > TOKEN_MAX_PEER_ID_BYTES || payload.length !== HEADER_BYTES + n) {
    throw new TokenError(LiveTokenCode.MALFORMED, 'token: peer id length disagrees with its size');
  }
  const peerId = payload.toString('latin1', HEADER_BYTES);
  if (!isTokenPeerId(peerId))
    throw new TokenError(LiveTokenCode.MALFORMED, 'token: peer id not visible ASCII');
  return { peerId, channelId: Buffer.from(payload.subarray(10, 42)), role, expiresAtMs };
}

/**
 * The tracker's side of a proven join: the claims of `payload` when `proof` is
 * {@link tokenProof} of `nonce` under the MAC `secret` gives that payload, and the token has
 * not expired at `nowMs`. Returns the claims and the MAC (the holder's broker credential).
 * @throws TokenError `ERR_LIVE_TOKEN_MALFORMED`, `ERR_LIVE_TOKEN_BAD_MAC`, `ERR_LIVE_TOKEN_EXPIRED`.
 */
export function verifyTokenProof(
  secret: Buffer,
  payload: Buffer,
  nonce: Buffer,
  proof: Buffer,
  nowMs: number,
): { claims: TokenClaims; key: Buffer } {
  const claims = decodeTokenPayload(payload);
  const key = mac(secret, payload);
  if (proof.length !== TOKEN_MAC_BYTES || !timingSafeEqual(proofOf(key, nonce), proof)) {
    throw new TokenError(LiveTokenCode.BAD_MAC, 'token: the proof does not verify under this secret');
  }
  expireCheck(claims, nowMs);
  return { claims, key };
}

/** The holder's proof of its token for `nonce`: HMAC-SHA256(MAC, "porthole-tracker-proof" ‖ nonce). */
export function tokenProof(token: Buffer, nonce: Buffer): Buffer {
  return proofOf(token.subarray(token.length - TOKEN_MAC_BYTES), nonce);
}

/** The holder's key (its token's MAC): the credential it registers at the tracker's broker with. */
export function tokenKey(token: Buffer): Buffer {
  return Buffer.from(token.subarray(token.length - TOKEN_MAC_BYTES));
}

/** Whether `id` is a peer id a token (and the broker) accepts. */
export function isTokenPeerId(id: unknown): id is string {
  return (
    typeof id === 'string' &&
    id.length >= 1 &&
    id.length <= TOKEN_MAX_PEER_ID_BYTES &&
    /^[\x21-\x7e]+$/.test(id)
  );
}

function proofOf(key: Buffer, nonce: Buffer): Buffer {
  return createHmac('sha256', key).update(PROOF_LABEL).update(nonce).digest();
}

function mac(key: Buffer, payload: Buffer): Buffer {
  return createHmac('sha256', key).update(LABEL).update(payload).digest();
}

function expireCheck(claims: TokenClaims, nowMs: number): void {
  if (!(nowMs < claims.expiresAtMs)) {
    throw new TokenError(
      LiveTokenCode.EXPIRED,
      `token: expired at ${new Date(claims.expiresAtMs).toISOString()}`,
    );
  }
}

/** The secret as bytes. @throws InvalidOptionError for one under 16 bytes. */
export function secretBytes(secret: Buffer | string | undefined): Buffer {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (!Buffer.isBuffer(key) || key.length < TOKEN_MIN_SECRET_BYTES) {
    throw new InvalidOptionError('secret', `secret must be at least ${TOKEN_MIN_SECRET_BYTES} bytes`);
  }
  return key;
}
