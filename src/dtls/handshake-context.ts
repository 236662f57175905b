/**
 * What the client and server handshakes share: the host interface the session gives them, the
 * abort they throw to fail with an alert, and the secrets they derive.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { ParseError } from '../errors/index.ts';
import type { CipherSuite } from './cipher-suites.ts';
import type { SessionConfig } from './config.ts';
import { AlertDescription } from './constants.ts';
import { DtlsErrorCode, type DtlsErrorCodeType } from './errors.ts';
import { finishedData, keyBlock, masterSecret, transcriptHash } from './prf.ts';
import type { HandshakeMessage } from './reassembly.ts';

/** What a handshake asks of its session. */
export interface HandshakeHost {
  readonly config: SessionConfig;
  /** The handshake messages so far, each with its header (RFC 5246 §7.4.9 handshake_messages). */
  readonly transcript: Buffer[];
  /** Appends a message to the flight being built (at the current write epoch) and the transcript. */
  addMessage(type: number, body: Buffer): void;
  /** Appends a received message to the transcript (with its header, as if unfragmented). */
  addReceived(message: HandshakeMessage): void;
  /** Appends a ChangeCipherSpec and moves the write side to epoch 1 (keys from {@link installKeys}). */
  addChangeCipherSpec(): void;
  /** Sends the flight built so far; `final`: no reply is expected (no timer, resent on demand). */
  sendFlight(final: boolean): void;
  /** Epoch-1 keys: `write` for our records, `read` for the peer's (used after its CCS). */
  installKeys(
    suite: CipherSuite,
    write: { key: Buffer; iv: Buffer },
    read: { key: Buffer; iv: Buffer },
  ): void;
  /** Our connection ID to offer (RFC 9146); undefined: the extension is not offered. */
  readonly ownCid: Buffer | undefined;
  /** Both sides sent connection_id: `peer` goes into our protected records (before {@link installKeys}). */
  useConnectionIds(peer: Buffer): void;
  /** Whether a ChangeCipherSpec from the peer is acceptable now. */
  expectChangeCipherSpec: boolean;
  /** The handshake is done. */
  complete(): void;
}

/** A handshake of one role. */
export interface Handshake {
  start(): void;
  onMessage(message: HandshakeMessage): void;
  /** The peer's ChangeCipherSpec was accepted (its epoch 1 is now read). */
  onChangeCipherSpec(): void;
  /** What was negotiated (after completion). */
  readonly negotiated: Negotiated | undefined;
}

/** The result of a handshake. */
export interface Negotiated {
  readonly suite: CipherSuite;
  readonly master: Buffer;
  readonly clientRandom: Buffer;
  readonly serverRandom: Buffer;
  readonly extendedMasterSecret: boolean;
  readonly srtpProfile: number | undefined;
  /** The ALPN protocol agreed on (RFC 7301), if any. */
  readonly alpnProtocol: string | undefined;
  readonly group: number | undefined;
  /** The peer's certificate chain (DER, leaf first); empty when it sent none. */
  readonly peerCertificates: readonly Buffer[];
  /** The PSK identity used, if any. */
  readonly pskIdentity: Buffer | undefined;
}

/** Thrown inside a handshake to fail it: the session sends `alert` and fails with `code`. */
export class HandshakeAbort extends Error {
  readonly alert: number;
  readonly code: DtlsErrorCodeType;

  constructor(alert: number, message: string, code: DtlsErrorCodeType = DtlsErrorCode.HANDSHAKE_FAILED) {
    super(message);
    this.alert = alert;
    this.code = code;
  }
}

/** Fails with `unexpected_message`: `message` arrived where the state machine does not allow it. */
export function unexpected(message: HandshakeMessage, state: string): never {
  throw new HandshakeAbort(
    AlertDescription.UNEXPECTED_MESSAGE,
    `handshake message type ${message.type} is not allowed in state ${state}`,
  );
}

/** Takes `message` into the transcript when it is of `type`; else fails with `unexpected_message`. */
export function expectMessage(
  host: HandshakeHost,
  message: HandshakeMessage,
  type: number,
  state: string,
): void {
  if (message.type !== type) unexpected(message, state);
  host.addReceived(message);
}

/** Runs a decoder; a ParseError becomes a `decode_error` abort. */
export function decodeOrAbort<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof ParseError) throw new HandshakeAbort(AlertDescription.DECODE_ERROR, error.message);
    throw error;
  }
}

/** The pre-master secret of a suite (RFC 8422 §5.10, RFC 4279 §2, RFC 5489 §2). */
export function preMasterSecret(
  suite: CipherSuite,
  shared: Buffer | undefined,
  psk: Buffer | undefined,
): Buffer {
  if (suite.keyExchange === 'ecdhe-ecdsa' || suite.keyExchange === 'ecdhe-rsa') return shared!;
  const other = shared ?? Buffer.alloc(psk!.length);
  const out = Buffer.alloc(4 + other.length + psk!.length);
  out.writeUInt16BE(other.length, 0);
  other.copy(out, 2);
  out.writeUInt16BE(psk!.length, 2 + other.length);
  psk!.copy(out, 4 + other.length);
  return out;
}

/** Derives the master secret and installs the epoch-1 keys for `role`. */
export function deriveKeys(
  host: HandshakeHost,
  role: 'client' | 'server',
  suite: CipherSuite,
  preMaster: Buffer,
  extended: boolean,
  clientRandom: Buffer,
  serverRandom: Buffer,
): Buffer {
  const sessionHash = extended ? transcriptHash(suite.hash, host.transcript) : Buffer.alloc(0);
  const master = masterSecret(suite, preMaster, extended, sessionHash, clientRandom, serverRandom);
  const keys = keyBlock(suite, master, clientRandom, serverRandom);
  if (role === 'client') host.installKeys(suite, keys.client, keys.server);
  else host.installKeys(suite, keys.server, keys.client);
  return master;
}

/** The verify_data we expect (or send) for `fromClient` over the transcript so far. */
export function expectedFinished(
  host: HandshakeHost,
  suite: CipherSuite,
  master: Buffer,
  fromClient: boolean,
): Buffer {
  return finishedData(suite, master, fromClient, transcriptHash(suite.hash, host.transcript));
}

/** Checks a received Finished (constant time); aborts with `decrypt_error` when it differs. */
export function checkFinished(received: Buffer, expected: Buffer): void {
  if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
    throw new HandshakeAbort(AlertDescription.DECRYPT_ERROR, 'the peer Finished does not verify');
  }
}
