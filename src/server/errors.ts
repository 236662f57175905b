import { ConfigError } from '../errors/index.ts';

/**
 * Error codes of the server layer (see docs/server.md, "Errors").
 * @module
 */
export const ServerErrorCode = {
  /** An option has a value that can never work. */
  OPTION_INVALID: 'ERR_SERVER_OPTION_INVALID',
  /** `mode: 'connected'` needs SO_REUSEPORT (Linux or FreeBSD, Node ≥ 22.12). */
  REUSEPORT_UNAVAILABLE: 'ERR_SERVER_REUSEPORT_UNAVAILABLE',
  /** A server frame (first byte 0x08) is shorter than its kind requires. */
  FRAME_TRUNCATED: 'ERR_SERVER_FRAME_TRUNCATED',
  /** A server frame has a kind byte porthole does not define. */
  FRAME_KIND: 'ERR_SERVER_FRAME_KIND',
} as const;
/** One of the {@link ServerErrorCode} values. */
export type ServerErrorCodeValue = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

/** Throws ConfigError `ERR_SERVER_OPTION_INVALID` naming the option. */
export function invalidOption(name: string, why: string): never {
  throw new ConfigError(ServerErrorCode.OPTION_INVALID, `option ${name} ${why}`);
}

/** Checks that `value` is an integer within `[min, max]`, else throws `ERR_SERVER_OPTION_INVALID`. */
export function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    invalidOption(name, `must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}
