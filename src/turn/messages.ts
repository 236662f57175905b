import {
  encodeStun,
  getAttribute,
  getErrorCode,
  getNonce,
  getRealm,
  getXorMappedAddress,
  hasValidIntegrity,
  type StunAddress,
  StunAttr,
  StunClass,
  type StunMessage,
} from '../stun/index.ts';
import {
  getData,
  getLifetime,
  getXorPeerAddress,
  getXorRelayedAddress,
  makeData,
  makeXorPeerAddress,
} from './attributes.ts';
import { TurnMethod } from './constants.ts';
import { TurnError, TurnErrorCode } from './errors.ts';

/**
 * Reading TURN responses and indications, and building Send indications. Readers are total: a
 * value, `undefined`, or a typed error; never an exception from a malformed attribute.
 * @module
 */

/** What an error response says. */
export interface TurnErrorResponse {
  /** ERROR-CODE number; 0 when missing or malformed. */
  readonly status: number;
  readonly reason: string;
  readonly realm: string | undefined;
  readonly nonce: string | undefined;
}

/** Reads ERROR-CODE, REALM and NONCE of an error response; malformed attributes read as absent. */
export function readErrorResponse(message: StunMessage): TurnErrorResponse {
  let status = 0;
  let reason = '';
  try {
    const error = getErrorCode(message);
    status = error?.code ?? 0;
    reason = error?.reason ?? '';
  } catch {}
  let realm: string | undefined;
  let nonce: string | undefined;
  try {
    realm = getRealm(message);
  } catch {}
  try {
    nonce = getNonce(message);
  } catch {}
  return { status, reason, realm, nonce };
}

/** What an Allocate success response says. RFC 8656 §7.3. */
export interface TurnAllocateSuccess {
  readonly relayed: StunAddress;
  readonly mapped: StunAddress | undefined;
  readonly lifetimeS: number | undefined;
}

/**
 * Reads XOR-RELAYED-ADDRESS, XOR-MAPPED-ADDRESS and LIFETIME of an Allocate success response.
 * @throws TurnError `ERR_TURN_BAD_RESPONSE` when XOR-RELAYED-ADDRESS is missing or anything is malformed.
 */
export function readAllocateSuccess(message: StunMessage): TurnAllocateSuccess {
  let relayed: StunAddress | undefined;
  let mapped: StunAddress | undefined;
  let lifetimeS: number | undefined;
  try {
    relayed = getXorRelayedAddress(message);
    mapped = getXorMappedAddress(message);
    lifetimeS = getLifetime(message);
  } catch (cause) {
    throw new TurnError(TurnErrorCode.BAD_RESPONSE, 'malformed Allocate response', undefined, { cause });
  }
  if (relayed === undefined) {
    throw new TurnError(TurnErrorCode.BAD_RESPONSE, 'Allocate response without XOR-RELAYED-ADDRESS');
  }
  return { relayed, mapped, lifetimeS };
}

/** LIFETIME of a Refresh response, or undefined when absent or malformed. RFC 8656 §8. */
export function readLifetime(message: StunMessage): number | undefined {
  try {
    return getLifetime(message);
  } catch {
    return undefined;
  }
}

/** A Data indication's peer and data (a slice of the message). RFC 8656 §11.4. */
export interface TurnDataIndication {
  readonly peer: StunAddress;
  readonly data: Buffer;
}

/**
 * The peer and data of a Data indication; undefined when XOR-PEER-ADDRESS or DATA is missing or
 * malformed (RFC 8656 §11.4: such an indication is discarded).
 */
export function readDataIndication(message: StunMessage): TurnDataIndication | undefined {
  try {
    const peer = getXorPeerAddress(message);
    const data = getData(message);
    return peer === undefined || data === undefined ? undefined : { peer, data };
  } catch {
    return undefined;
  }
}

/** Encodes a Send indication carrying `data` to `peer` (no integrity: indications are not authenticated). RFC 8656 §11.1. */
export function encodeSendIndication(
  data: Uint8Array,
  peer: { readonly address: string; readonly port: number },
): Buffer {
  return encodeStun({
    method: TurnMethod.SEND,
    class: StunClass.INDICATION,
    attributes: [makeXorPeerAddress(peer), makeData(data)],
  });
}

/** Whether a response's strongest integrity attribute matches `key`. RFC 8489 §9.2.5. */
export function hasValidTurnIntegrity(message: StunMessage, key: Uint8Array): boolean {
  if (getAttribute(message, StunAttr.MESSAGE_INTEGRITY_SHA256) !== undefined) {
    return hasValidIntegrity(message, key, 'sha256');
  }
  return hasValidIntegrity(message, key, 'sha1');
}
