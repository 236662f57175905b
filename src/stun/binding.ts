import {
  getChangedAddress,
  getMappedAddress,
  getOtherAddress,
  getResponseOrigin,
  getSourceAddress,
  type StunAddress,
} from './address.ts';
import { makeChangeRequest } from './change-request.ts';
import { StunClass, StunMethod } from './constants.ts';
import type { StunAttributeInit, StunMessageInit } from './encode.ts';
import { getErrorCode, type StunErrorValue } from './error-code.ts';
import type { StunMessage } from './message.ts';
import { makePadding } from './padding.ts';
import { makeResponsePort } from './response-port.ts';
import { makeSoftware } from './text.ts';
import { getXorMappedAddress } from './xor-address.ts';

/**
 * Binding requests for NAT discovery (RFC 5780 §4) and what their responses say.
 * @module
 */

/** What to put in a Binding request. */
export interface BindingRequestOptions {
  /** CHANGE-REQUEST flags: answer from the other IP and/or port. RFC 5780 §7.2. */
  readonly changeIp?: boolean;
  readonly changePort?: boolean;
  /** RESPONSE-PORT: answer to this port of our IP. RFC 5780 §7.5. */
  readonly responsePort?: number;
  /** PADDING of this many bytes. RFC 5780 §7.6. */
  readonly paddingBytes?: number;
  /** SOFTWARE. RFC 8489 §14.14. */
  readonly software?: string;
  /** More attributes, appended after the ones above. */
  readonly attributes?: readonly StunAttributeInit[];
  /** Transaction ID (12 bytes); default random. */
  readonly transactionId?: Uint8Array;
}

/** A Binding request message. @throws ConfigError for invalid values. */
export function makeBindingRequest(options?: BindingRequestOptions): StunMessageInit {
  const attributes: StunAttributeInit[] = [];
  if (options?.software !== undefined) attributes.push(makeSoftware(options.software));
  if (options?.changeIp === true || options?.changePort === true) {
    attributes.push(
      makeChangeRequest({ changeIp: options.changeIp === true, changePort: options.changePort === true }),
    );
  }
  if (options?.responsePort !== undefined) attributes.push(makeResponsePort(options.responsePort));
  if (options?.paddingBytes !== undefined) attributes.push(makePadding(options.paddingBytes));
  if (options?.attributes !== undefined) attributes.push(...options.attributes);
  return {
    method: StunMethod.BINDING,
    class: StunClass.REQUEST,
    attributes,
    ...(options?.transactionId !== undefined ? { transactionId: options.transactionId } : {}),
  };
}

/** The addresses a Binding response reports, with RFC 3489 fallbacks. */
export interface BindingInfo {
  /** XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS: our address as the server saw it. RFC 8489 §14.2, §14.1. */
  readonly mapped: StunAddress | undefined;
  /** OTHER-ADDRESS, else CHANGED-ADDRESS (RFC 3489): the server's alternate address and port. RFC 5780 §7.4. */
  readonly otherAddress: StunAddress | undefined;
  /** RESPONSE-ORIGIN, else SOURCE-ADDRESS (RFC 3489): where the server says it sent from. RFC 5780 §7.3. */
  readonly responseOrigin: StunAddress | undefined;
  /** ERROR-CODE of an error response. */
  readonly error: StunErrorValue | undefined;
}

/**
 * Reads the addresses of a Binding response.
 * @throws ParseError when an attribute it reads is malformed.
 */
export function readBindingInfo(message: StunMessage): BindingInfo {
  return {
    mapped: getXorMappedAddress(message) ?? getMappedAddress(message),
    otherAddress: getOtherAddress(message) ?? getChangedAddress(message),
    responseOrigin: getResponseOrigin(message) ?? getSourceAddress(message),
    error: message.class === StunClass.ERROR_RESPONSE ? getErrorCode(message) : undefined,
  };
}
