import { InvalidOptionError } from '../errors/index.ts';

/**
 * Specific error codes of the server layer (see docs/server.md, "Errors"). An option that can
 * never work is `ERR_INVALID_OPTION` (`ErrorCode.INVALID_OPTION` of porthole/errors).
 * @module
 */
export const ServerErrorCode = {
  /** `mode: 'connected'` needs SO_REUSEPORT (Linux or FreeBSD, Node ≥ 22.12). */
  REUSEPORT_UNAVAILABLE: 'ERR_SERVER_REUSEPORT_UNAVAILABLE',
  /** A server frame (first byte 0x08) is shorter than its kind requires. */
  FRAME_TRUNCATED: 'ERR_SERVER_FRAME_TRUNCATED',
  /** A server frame has a kind byte porthole does not define. */
  FRAME_KIND: 'ERR_SERVER_FRAME_KIND',
} as const;
/** One of the {@link ServerErrorCode} values. */
export type ServerErrorCodeValue = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

/** Throws InvalidOptionError `ERR_INVALID_OPTION` naming the option. */
export function invalidOption(name: string, why: string): never {
  throw new InvalidOptionError(name, `option ${name} ${why}`);
}

/** Checks that `value` is an integer within `[min, max]`, else throws `ERR_INVALID_OPTION`. */
export function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    invalidOption(name, `must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}
