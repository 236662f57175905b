/**
 * Option validation shared by the source and ingest classes.
 * @module
 */
import { InvalidOptionError } from '../errors/index.ts';

/**
 * `value` when it is an integer within `min`–`max`, `fallback` when undefined.
 * @throws InvalidOptionError `ERR_INVALID_OPTION` naming `name` otherwise.
 */
export function validateInteger(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(
      name,
      `${name}: must be an integer within ${min}-${max}, not ${String(value)}`,
    );
  }
  return value;
}
