import { type Endpoint, isWildcardAddress } from '../internal/endpoint.ts';
import { makeAddress } from './address.ts';
import { STUN_ATTRIBUTE_HEADER_BYTES, StunAttr } from './constants.ts';
import type { StunAttributeInit } from './encode.ts';

/**
 * What a STUN server's local sockets say about themselves in responses, built once per server: per
 * local socket index, the address it answers from and the address of its partner (other IP, other
 * port: index `i ^ 3`), as RFC 5780 attributes for modern clients and as their RFC 3489 twins for
 * classic ones. Wildcard addresses (0.0.0.0, ::) are never reported.
 * @module
 */

/** A local socket's address: the one `{ address, port }` endpoint type of porthole. */
export type StunLocalAddress = Endpoint;

/** Address attributes by local socket index (`undefined`: nothing to report). */
export interface LocalAddressAttributes {
  /** RESPONSE-ORIGIN of each socket. RFC 5780 §7.3. */
  readonly origin: readonly (StunAttributeInit | undefined)[];
  /** OTHER-ADDRESS seen from each socket (RFC 5780 mode only). RFC 5780 §7.4. */
  readonly other: readonly (StunAttributeInit | undefined)[];
  /** SOURCE-ADDRESS of each socket. RFC 3489 §11.2.5. */
  readonly source: readonly (StunAttributeInit | undefined)[];
  /** CHANGED-ADDRESS seen from each socket (RFC 5780 mode only). RFC 3489 §11.2.3. */
  readonly changed: readonly (StunAttributeInit | undefined)[];
}

/** Whether `address` is a wildcard address that says nothing to a client. */
export function isWildcard(address: string): boolean {
  return address === '' || isWildcardAddress(address);
}

/**
 * The address attributes of 1 or 4 local sockets (4: A:p, A:p', B:p, B:p').
 * @throws InvalidOptionError `ERR_INVALID_OPTION` for an address that is not an IP.
 */
export function buildLocalAddressAttributes(locals: readonly StunLocalAddress[]): LocalAddressAttributes {
  const rfc5780 = locals.length === 4;
  const own = (type: number) => locals.map((l) => (isWildcard(l.address) ? undefined : makeAddress(type, l)));
  const partner = (type: number) =>
    locals.map((_, i) => {
      const o = locals[i ^ 3];
      return rfc5780 && o !== undefined && !isWildcard(o.address) ? makeAddress(type, o) : undefined;
    });
  return {
    origin: own(StunAttr.RESPONSE_ORIGIN),
    other: partner(StunAttr.OTHER_ADDRESS),
    source: own(StunAttr.SOURCE_ADDRESS),
    changed: partner(StunAttr.CHANGED_ADDRESS),
  };
}

/** Encoded size of an attribute in bytes, header and padding included (0 for none). RFC 8489 §14. */
export function attributeBytes(attr: StunAttributeInit | undefined): number {
  if (attr === undefined) return 0;
  const length = 'value' in attr ? attr.value.length : attr.length;
  return STUN_ATTRIBUTE_HEADER_BYTES + ((length + 3) & ~3);
}
