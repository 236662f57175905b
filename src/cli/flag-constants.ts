/**
 * The few layer constants and checks the flag definitions of the subcommands name (defaults in a
 * help line, a parser that runs before the action). They are copied here because defining a flag
 * must load no layer: `porthole <command>` loads only the layers of the command it runs, when its
 * action starts (docs/cli.md "Start-up"). test/cli/startup.test.ts checks each against its layer.
 * @module
 */

/** The stun layer's `STUN_DEFAULT_PORT` (RFC 8489 §18.6). */
export const STUN_PORT = 3478;

/** The live layer's `DEFAULT_TRACKER_PORT`. */
export const TRACKER_PORT = 7000;

/** The punch layer's `MAX_TOKEN_BYTES`: the longest broker token. */
export const BROKER_TOKEN_BYTES = 512;

/** The lab layer's `NAT_TYPES`, in its order. */
export const LAB_NAT_TYPES = ['fc', 'ar', 'pr', 'sym'] as const;

/** The nat layer's `NatClass` values, in their order. */
export const NAT_CLASSES = [
  'open',
  'firewalled',
  'full-cone',
  'address-restricted',
  'port-restricted',
  'symmetric',
  'blocked',
  'unknown',
] as const;

/**
 * Whether `id` is a peer id the broker (punch `isPeerId`) and a token (live `isTokenPeerId`) accept:
 * 1-64 characters of 0x21-0x7e.
 */
export function isPeerIdText(id: string): boolean {
  return id.length >= 1 && id.length <= 64 && /^[\x21-\x7e]+$/.test(id);
}
